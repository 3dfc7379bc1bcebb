"""The matching mirror on SQLite and PostgreSQL: upserts, deletes, indexed candidate retrieval."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from sfsync.store import Store
from sfsync.store.mirror import (
    candidate_statements,
    candidates,
    count_statements,
    counts,
    key_counts,
    live_by_id,
    live_records,
    query_plan,
    record,
    retire_unseen,
    upsert,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# Enough rows that PostgreSQL's planner prefers an index to reading the whole table.
FILLER = 3000


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


def row(record_id: str, sobject: str = "Lead", **values: Any) -> dict[str, Any]:
    keys = {"email_key": f"{record_id.lower()}@x.org", "phone_key": None, "name_key": "SM0J",
            "company_key": f"co{record_id.lower()}", "email_domain": "x.org"}  # fmt: skip
    return {"id": record_id, "sobject": sobject, "created_date": T0,
            "fields": {"LastName": "Smith"}, **keys, **values}  # fmt: skip


def ids(found: list[Any]) -> list[str]:
    return [r.id for r in found]


def test_the_mirror_table_and_its_indexes_exist(store: Store) -> None:
    inspector = sa.inspect(store.engine)
    names = {ix["name"] for ix in inspector.get_indexes("sfsync_mirror")}
    assert {"ix_mirror_email_key", "ix_mirror_phone_key", "ix_mirror_name_company",
            "ix_mirror_domain", "ix_mirror_company"} <= names  # fmt: skip


def test_upsert_inserts_then_replaces_by_id(store: Store) -> None:
    upsert(store.engine, [row("00QA", phone_key="+14155550134")])
    upsert(store.engine, [row("00QA", phone_key="+14155550199", owner_id="005X")])
    found = record(store.engine, "00QA")
    assert found is not None
    assert found.keys["phone_key"] == "+14155550199" and found.owner_id == "005X"
    assert found.created_date == T0
    assert counts(store.engine) == {"Lead": {"live": 1, "deleted": 0}}


@pytest.mark.parametrize(
    ("lookup", "expected"),
    [
        (("email", "00qa@x.org"), ["00QA"]),
        (("phone", "+14155550134"), ["00QA", "003B"]),
        (("name_company", "SM0J", "co00qa"), ["00QA"]),
        (("name_company", "SM0J", "nowhere"), []),
        (("company", "co001c"), ["001C"]),
        (("domain", "x.org"), ["001C"]),  # only Accounts are found by domain
        (("email", ""), []),  # an empty key finds nothing
        (("fax", "123"), []),  # an unknown kind finds nothing
    ],
)
def test_candidates_by_each_key(store: Store, lookup: tuple[str, ...], expected: list[str]) -> None:
    upsert(store.engine, [
        row("00QA", phone_key="+14155550134"),
        row("003B", "Contact", phone_key="+14155550134"),
        row("001C", "Account", name_key=None),
    ])  # fmt: skip
    assert sorted(ids(candidates(store.engine, [lookup]))) == sorted(expected)


def test_deleted_merged_and_converted_records_are_never_candidates(store: Store) -> None:
    upsert(store.engine, [
        row("00QA"),
        row("00QB", email_key="00qa@x.org", is_deleted=True, master_record_id="00QA"),
        row("00QC", email_key="00qa@x.org", is_converted=True),
    ])  # fmt: skip
    assert ids(candidates(store.engine, [("email", "00qa@x.org")])) == ["00QA"]
    merged = record(store.engine, "00QB")
    assert merged is not None  # kept, saying what became of it
    assert counts(store.engine)["Lead"] == {"live": 2, "deleted": 1}


def test_a_full_backfill_retires_what_the_org_no_longer_returns(store: Store) -> None:
    upsert(store.engine, [row("00QA", synced_at=T0), row("00QB", synced_at=T0)])
    upsert(store.engine, [row("00QA", synced_at=T0 + timedelta(hours=1))])
    assert retire_unseen(store.engine, "Lead", T0 + timedelta(minutes=30)) == 1
    assert ids(candidates(store.engine, [("name_company", "SM0J", "co00qb")])) == []
    assert ids(candidates(store.engine, [("name_company", "SM0J", "co00qa")])) == ["00QA"]


def test_live_records_pages_through_one_object(store: Store) -> None:
    upsert(store.engine, [row(f"00Q{i:03d}") for i in range(7)] + [row("003A", "Contact")])
    upsert(store.engine, [row("00Q003", is_deleted=True)])
    pages = list(live_records(store.engine, "Lead", chunk=3))
    assert [len(p) for p in pages] == [3, 3]
    assert "00Q003" not in {r.id for p in pages for r in p}


def test_many_lookups_are_chunked(store: Store) -> None:
    upsert(store.engine, [row(f"00Q{i:04d}") for i in range(1200)])
    lookups = [("email", f"00q{i:04d}@x.org") for i in range(1200)]
    assert len(list(candidate_statements(lookups))) == 3
    assert len(candidates(store.engine, lookups)) == 1200


def fill_for_planner(store: Store) -> None:
    """FILLER records with distinct keys, analysed, so that plans are those of a real mirror."""
    filler = [
        row(f"00Q{i:06d}", phone_key=f"+1415555{i:04d}", name_key=f"K{i}",
            company_key=f"co{i % 40}", email_domain=f"d{i}.org",
            sobject="Account" if i % 3 == 0 else "Lead")
        for i in range(FILLER)
    ]  # fmt: skip
    upsert(store.engine, filler)
    with store.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))


def test_candidate_retrieval_uses_an_index_for_every_key(store: Store) -> None:
    fill_for_planner(store)
    lookups = {
        "email": [("email", "00q000001@x.org"), ("email", "00q000002@x.org")],
        "phone": [("phone", "+14155550002"), ("phone", "+14155550005")],
        "name_company": [("name_company", "K3", "co3"), ("name_company", "K4", "co4")],
        "domain": [("domain", "d3.org"), ("domain", "d6.org")],
        "company": [("company", "co4"), ("company", "co5")],
    }
    indexes = {"email": "ix_mirror_email_key", "phone": "ix_mirror_phone_key",
               "name_company": "ix_mirror_name_company", "domain": "ix_mirror_domain",
               "company": "ix_mirror_company"}  # fmt: skip
    for kind, wanted in lookups.items():
        (statement,) = candidate_statements(wanted)
        plan = query_plan(store.engine, statement)
        assert indexes[kind] in plan, f"{kind}: {plan}"
        assert "SCAN sfsync_mirror" not in plan and "Seq Scan" not in plan, f"{kind}: {plan}"
        assert candidates(store.engine, wanted), kind


def test_key_counts_count_live_records_exactly_up_to_the_bound(store: Store) -> None:
    upsert(store.engine, [row(f"00Q{i:03d}", company_key="busy") for i in range(12)])
    gone = [row("00Q000", is_deleted=True), row("00Q001", is_converted=True)]
    upsert(store.engine, [{**r, "company_key": "busy"} for r in gone])
    upsert(store.engine, [row("001A", "Account", company_key="quiet")])
    wanted = [("company", "busy"), ("company", "quiet"), ("company", "nowhere")]
    # Under the bound the index's count stands, deleted and converted included.
    assert key_counts(store.engine, wanted, 20) == {("company", "busy"): 12,
                                                    ("company", "quiet"): 1}  # fmt: skip
    # Over it, live records are counted, and no further than bound + 1 (+ the discount).
    assert key_counts(store.engine, wanted, 5)[("company", "busy")] == 6
    assert key_counts(store.engine, wanted, 5, {("company", "busy"): 2})[("company", "busy")] == 8
    assert key_counts(store.engine, wanted, 11)[("company", "busy")] == 10


def test_key_counts_name_only_the_pairs_asked_for(store: Store) -> None:
    upsert(store.engine, [row("00QA", name_key="AB", company_key="c1"),
                          row("00QB", name_key="CD", company_key="c2")])  # fmt: skip
    wanted = [("name_company", "AB", "c1"), ("name_company", "CD", "c1")]
    assert key_counts(store.engine, wanted, 200) == {("name_company", "AB", "c1"): 1}


def test_live_by_id_reads_live_records_by_primary_key(store: Store) -> None:
    upsert(store.engine, [row("00QA"), row("00QB", is_deleted=True)])
    assert ids(live_by_id(store.engine, ["00QA", "00QB", "00QC"])) == ["00QA"]


def test_key_counts_read_the_index_alone(store: Store) -> None:
    fill_for_planner(store)
    wanted = [("email", "00q000001@x.org"), ("phone", "+14155550002"),
              ("name_company", "K3", "co3"), ("domain", "d3.org"), ("company", "co4")]  # fmt: skip
    for statement in count_statements(wanted):
        plan = query_plan(store.engine, statement)
        assert "SCAN sfsync_mirror" not in plan and "Seq Scan" not in plan, plan
        if store.engine.dialect.name == "sqlite":
            assert "COVERING INDEX" in plan, plan
