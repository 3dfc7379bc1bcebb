"""Salesforce record ids: 15-character case-sensitive and 18-character case-safe forms.

Salesforce returns 18-character ids and accepts both. sfsync normalises every id
it reads from input (mappings, CLI arguments) to 18 characters so that ids can
be compared as plain strings everywhere else.
"""

from __future__ import annotations

import re

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


class InvalidId(ValueError):
    """The text is not a 15- or 18-character Salesforce id."""


def _suffix(id15: str) -> str:
    chars = []
    for start in (0, 5, 10):
        bits = 0
        for offset, ch in enumerate(id15[start : start + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << offset
        chars.append(_SUFFIX_ALPHABET[bits])
    return "".join(chars)


def to18(value: str) -> str:
    """The 18-character form of a 15- or 18-character id.

    An 18-character id whose suffix does not match its first 15 characters is
    rejected: it was mistyped or its case was changed along the way.
    """
    text = value.strip()
    if not _ID_RE.match(text):
        raise InvalidId(f"not a Salesforce id: {value!r}")
    expected = text[:15] + _suffix(text[:15])
    if len(text) == 18 and text != expected:
        raise InvalidId(f"id {value!r} has a case-safe suffix that does not match its body")
    return expected


def is_id(value: str) -> bool:
    """True when `value` is a well-formed 15- or 18-character id."""
    try:
        to18(value)
    except InvalidId:
        return False
    return True


def key_prefix(value: str) -> str:
    """The three-character object prefix (`00Q` Lead, `005` User, `00G` queue)."""
    return value[:3]
