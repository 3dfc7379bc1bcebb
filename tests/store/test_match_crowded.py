"""find_matches leaves a key shared by too many records unread, and decides as if it read it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfsync.jobs.backfill import mirror_row
from sfsync.jobs.match import find_matches, lead_record, mirror_record
from sfsync.jobs.match_setup import Matcher, load_matcher
from sfsync.rules.matching_batch import match_batch
from sfsync.store import Store
from sfsync.store.mirror import live_records, upsert

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
DEFAULT = load_matcher(MAPPINGS)
CAP = 3
MATCHER = Matcher(DEFAULT.config.model_copy(update={"max_candidates_per_key": CAP}), DEFAULT.data)
CREATED = "2024-05-01T10:00:00+00:00"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


def person(record_id: str, first: str, last: str, company: str, **extra: Any) -> dict[str, Any]:
    return {"Id": record_id, "FirstName": first, "LastName": last, "Company": company,
            "Email": f"{first}.{last}@gmail.com".lower(), "Title": "CTO", "CreatedDate": CREATED,
            **extra}  # fmt: skip


def fill(store: Store) -> None:
    busy = [person(f"00QB{i:02d}", n, "Smith", "Busy Corp")
            for i, n in enumerate(("Ann", "Bob", "Cid", "Dan", "Eve"))]  # fmt: skip
    quiet = [person("00QQ01", "Ana", "Lopez", "Quiet Ltd"),
             person("00QQ02", "Ana", "Lopes", "Quiet Ltd")]  # fmt: skip
    rows = [mirror_row("Lead", r, MATCHER) for r in (*busy, *quiet)]
    rows.append(mirror_row("Account", {"Id": "001Q", "Name": "Quiet Ltd"}, MATCHER))
    rows.append(mirror_row("Account", {"Id": "001B", "Name": "Busy Corp"}, MATCHER))
    upsert(store.engine, rows)


def everything(store: Store, leads: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """What matching decides when every live record of the mirror is a candidate."""
    stored = [mirror_record(r) for s in ("Lead", "Account") for p in live_records(store.engine, s)
              for r in p]  # fmt: skip
    records = [lead_record(lead) for lead in leads]
    return match_batch(records, stored, MATCHER.config, MATCHER.data)


def stored(found: dict[str, list[Any]], lead_id: str) -> list[str]:
    """The lead's matches among stored records (leads of one page also match each other)."""
    return [m.record_id for m in found[lead_id] if not m.same_batch]


def test_a_crowded_key_finds_nothing_yet_other_keys_still_find_its_records(store: Store) -> None:
    fill(store)
    leads = [
        person("00QN01", "Bob", "Smith", "Busy Corp"),  # same e-mail as 00QB01: found by it
        # Bob Smith's formal name: only the company key finds him (the name key has an R).
        person("00QN02", "Robert", "Smith", "Busy Corp", Email=None),
        person("00QN03", "Ana", "Lopez", "Quiet Ltd", Email="ana@quiet.example"),
    ]
    found = find_matches(store, leads, MATCHER)
    assert found == everything(store, leads)
    assert stored(found, "00QN01") == ["00QB01"]
    assert stored(found, "00QN02") == []  # "busy corp" files 6 records: over CAP, not read
    with_room = find_matches(store, leads, Matcher(DEFAULT.config, DEFAULT.data))
    assert sorted(stored(with_room, "00QN02")) == ["001B", "00QB01"]  # and its account
    assert sorted(stored(found, "00QN03")) == ["001Q", "00QQ01", "00QQ02"]


def test_a_pages_own_stored_copy_does_not_count_towards_the_cap(store: Store) -> None:
    fill(store)
    # Quiet Ltd files 3 records besides 00QQ02's own copy: at the cap, not over it.
    upsert(store.engine, [mirror_row("Lead", person("00QQ03", "Zoe", "Ng", "Quiet Ltd"), MATCHER)])
    leads = [person("00QQ02", "Ana", "Lopes", "Quiet Ltd", Email=None, CreatedDate=None)]
    found = find_matches(store, leads, MATCHER)
    assert found == everything(store, leads)
    assert sorted(stored(found, "00QQ02")) == ["001Q", "00QQ01"]
