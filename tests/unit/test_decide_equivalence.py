"""decide() gives, byte for byte, the decisions stored for 2,000 seeded leads.

The golden digests (tests/fixtures/decisions/) were made before decide() was
made faster; every later speed-up must keep every decision (its repr: values,
types, order of reasons and fields) the same. See `make_decisions` for how
to regenerate them after a change that is meant to change decisions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sfsync.models import Decision
from sfsync.rules.ruleset import RuleSet
from tests.fixtures.make_decisions import (
    DIGESTS_FILE,
    Golden,
    decisions,
    digest,
    golden_rules,
    load_golden,
)

REGENERATE = "python -m tests.fixtures.make_decisions"


@pytest.fixture(scope="module")
def golden() -> Golden:
    return load_golden()


@pytest.fixture(scope="module")
def rules(golden: Golden) -> RuleSet:
    return golden_rules(golden)


def expected() -> dict[tuple[str, str], str]:
    stored: dict[str, list[str]] = json.loads(DIGESTS_FILE.read_text(encoding="utf-8"))
    return {
        (lead_id, case): found
        for lead_id, items in stored.items()
        for case, found in (item.split(":", 1) for item in items)
    }


def decided(golden: Golden, rules: RuleSet) -> Iterator[tuple[tuple[str, str], Decision]]:
    for lead_id, case, decision in decisions(golden, rules):
        yield (lead_id, case), decision


def test_every_decision_is_the_stored_one(golden: Golden, rules: RuleSet) -> None:
    wanted = expected()
    differ: list[tuple[str, str]] = []
    first_differing: Decision | None = None
    seen: set[tuple[str, str]] = set()
    for key, decision in decided(golden, rules):
        seen.add(key)
        if wanted.get(key) != digest(decision):
            differ.append(key)
            first_differing = first_differing or decision
    missing = sorted(set(wanted) - seen)
    assert not differ and not missing, (
        f"{len(differ)} of {len(seen)} decisions differ from the golden ones, e.g. "
        f"{differ[:5]}; {len(missing)} stored decisions were not made, e.g. {missing[:5]}.\n"
        f"First differing decision now: {first_differing!r}\n"
        f"If the change is meant to change decisions, regenerate: {REGENERATE}"
    )


def test_the_golden_set_covers_the_paths_that_matter(golden: Golden, rules: RuleSet) -> None:
    # A golden file of trivial decisions would prove nothing: check what it exercises.
    made = [d for _, d in decided(golden, rules)]
    summaries = [d.summary for d in made]
    assert len(golden.work) == 2_000 and len(made) == len(expected())
    assert sum(1 for d in made if d.changes) > 2_000
    assert any(s.get("skipped") == "deleted" for s in summaries)
    assert any(s.get("skipped") == "converted" for s in summaries)
    assert sum(1 for d in made if d.convert) > 10
    assert any("conversion_blocked" in s for s in summaries)
    assert sum(1 for d in made if "OwnerId" in d.changes) > 100  # recycled to the queue
    assert len({s.get("grade") for s in summaries}) == 14  # F to A+, and no grade
    assert {d.changes.get("Status") for d in made} >= {
        "Nurturing",
        "Marketing Qualified",
        "Closed - Not Converted",
    }
    assert any(d.skipped for d in made)
    assert any(r.part == "predict" for d in made for r in d.reasons)
    assert any(r.part == "behavior" for d in made for r in d.reasons)
