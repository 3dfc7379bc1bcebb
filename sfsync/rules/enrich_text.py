"""Text hygiene shared by the enrichers: what a value looks like before any rule reads it.

Lead fields hold whatever people paste into forms: NUL bytes, right-to-left
overrides, emoji, decomposed accents, 100 KB of junk. Every enricher first
turns a raw value into clean, bounded text here, so the rules themselves only
ever see printable, NFC-composed strings of a sane length.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from sfsync.errors import ConfigError

# Longest text an enricher looks at: far above any Lead text field it reads
# (Title 128, Company 255), low enough that a pasted novel costs nothing.
MAX_TEXT = 1000
# Unicode categories dropped from input: controls (NUL...), format characters
# (bidi overrides, zero-width joiners), surrogates, private use, unassigned.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_SPACES = re.compile(r"\s+")
_KEY_JUNK = re.compile(r"[^\w]+")


def clean_text(value: Any, limit: int = MAX_TEXT) -> str:
    """Printable, NFKC-normalised, single-spaced text of at most `limit` characters.

    Non-text values (numbers) become their text; None becomes "". The cut is
    made before normalising so a huge value costs no more than a short one.
    """
    if value is None or isinstance(value, bool):
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text[: limit * 2]
    if not (text.isascii() and text.isprintable()):
        text = _strip_unprintable(unicodedata.normalize("NFKC", text))
    return _SPACES.sub(" ", text).strip()[:limit]


def _strip_unprintable(text: str) -> str:
    return "".join(
        " " if ch in "\t\n\r" else ch
        for ch in text
        if ch in "\t\n\r" or unicodedata.category(ch) not in _DROPPED
    )


def fold_key(text: str) -> str:
    """A lookup key: case and accents folded, dots dropped, other punctuation as one space.

    "U.S.A." and "usa", "España" and "espana", "Baden-Württemberg" and
    "baden wurttemberg" give the same key.
    """
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = text.casefold().replace(".", "").replace("'", "").replace("\u2019", "")
    return _KEY_JUNK.sub(" ", text).strip()


def domain_candidates(domain: str) -> Iterator[str]:
    """The domain and each parent with at least two labels: a.b.acme.co.uk ... co.uk.

    Lookups walk up this chain, so a list entry "acme.com" also covers
    "eu.acme.com" without a public-suffix list.
    """
    labels = domain.split(".")
    for start in range(max(len(labels) - 1, 1)):
        yield ".".join(labels[start:])


def host_of(value: str) -> str:
    """The lower-case host of a web address or e-mail domain, without "www.", port or path."""
    text = value.strip().casefold()
    text = text.rsplit("@", 1)[-1]
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].split(":", 1)[0]
    return text.strip(".").removeprefix("www.")


def blank(value: Any) -> bool:
    """None or whitespace-only text: what Salesforce stores as null."""
    return value is None or (isinstance(value, str) and not value.strip())


def same_value(a: Any, b: Any) -> bool:
    """Equality as the org stores values: blank text is null, 45 equals 45.0.

    Mirrors `pipeline.same_value`; repeated here because the pipeline imports
    the enrichers, not the other way round.
    """
    if blank(a) and blank(b):
        return True
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def csv_rows(text: str, what: str, required: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a shipped or user CSV text, each with its line number for error messages.

    Lines starting with `#` and blank lines are skipped; every `required`
    column must exist and hold a value, else a ConfigError names the line.
    """
    numbered = [(n, raw) for n, raw in enumerate(text.splitlines(), 1) if _data_line(raw)]
    if not numbered:
        return
    reader = csv.DictReader(io.StringIO("\n".join(raw for _, raw in numbered)))
    missing = sorted(set(required) - set(reader.fieldnames or ()))
    if missing:
        raise ConfigError(f"{what}:{numbered[0][0]}: missing column(s) {missing}")
    for (line, _), row in zip(numbered[1:], reader, strict=False):
        empty = sorted(c for c in required if not (row.get(c) or "").strip())
        if empty:
            raise ConfigError(f"{what}:{line}: no value in column(s) {empty}")
        yield line, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _data_line(raw: str) -> bool:
    stripped = raw.strip()
    return bool(stripped) and not stripped.startswith("#")
