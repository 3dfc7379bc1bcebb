"""Fill a matching mirror straight from a seeded org's tables (the benchmarks' shortcut).

`sfsync backfill` reads the same records over HTTPS; here the org's rows are
shaped as its SOQL query returns them (a Contact carries its `Account`) and
go through the same `mirror_row`, so the mirror is identical, only faster to
make for a million records.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sfsync.emulator.seed import SeededOrg
from sfsync.jobs.backfill import MIRROR_OBJECTS, mirror_row
from sfsync.jobs.match_setup import Matcher
from sfsync.store import Store
from sfsync.store.mirror import upsert

BATCH = 5_000


def as_queried(seeded: SeededOrg, sobject: str, record: dict[str, Any]) -> dict[str, Any]:
    """An org row as the mirror's SOQL returns it (a Contact's account name and website)."""
    if sobject != "Contact":
        return record
    account = seeded.org.tables["Account"].get(record.get("AccountId") or "") or {}
    return {**record, "Account": {"Name": account.get("Name"), "Website": account.get("Website")}}


def org_rows(seeded: SeededOrg, matcher: Matcher, tag: str = "") -> Iterator[dict[str, Any]]:
    """Mirror rows of every Account, Contact and Lead; `tag` makes ids unique across orgs."""
    for sobject in MIRROR_OBJECTS:
        for record in seeded.org.tables[sobject].values():
            row = mirror_row(sobject, as_queried(seeded, sobject, record), matcher)
            if tag:
                row["id"] = retag(row["id"], tag)
            yield row


def retag(record_id: str, tag: str) -> str:
    """The id with `tag` in place of its fourth character (orgs seeded alike share ids)."""
    return record_id[:3] + tag + record_id[4:]


def fill(store: Store, rows: Iterator[dict[str, Any]]) -> int:
    """Upsert rows in batches; how many."""
    batch: list[dict[str, Any]] = []
    total = 0
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            total += upsert(store.engine, batch)
            batch = []
    return total + (upsert(store.engine, batch) if batch else 0)
