"""`sfsync backfill`: fill the matching mirror from the org, page by page, resumably.

Accounts, then Contacts (with their account's name), then Leads, each through
`queryAll` so deleted and merged records arrive too and are marked so. Each
page is upserted in one transaction and the object's cursor
(`mirror.<Object>` in the cursor table) moves to the page's last
SystemModstamp, so an interrupted backfill resumes where it stopped and a
later run reads only what changed (minus an overlap). `--full` reads
everything again and retires records the org no longer returns (purged from
the recycle bin).

Bulk API 2.0 is not used yet: REST pages of 2,000 records stream at a few
thousand records a second (docs/MATCHING.md has the figures).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from sfsync.connectors.salesforce import SalesforceClient, parse_datetime
from sfsync.connectors.soql import datetime_literal
from sfsync.jobs.match_setup import Matcher
from sfsync.models import Lead
from sfsync.rules.matching_keys import blocking_keys
from sfsync.rules.matching_records import lead_shaped, soql
from sfsync.store import Store
from sfsync.store.mirror import retire_unseen, upsert
from sfsync.store.tables import utcnow

log = structlog.get_logger("sfsync.backfill")

MIRROR_OBJECTS = ("Account", "Contact", "Lead")
CURSOR_PREFIX = "mirror."
DEFAULT_OVERLAP = timedelta(seconds=60)


class Progress(Protocol):
    """What the backfill tells a progress display (the CLI's Rich bar, or nothing)."""

    def start(self, sobject: str, total: int) -> None:
        """An object's query answered; `total` records will come."""

    def advance(self, sobject: str, count: int) -> None:
        """`count` more records of the object are in the mirror."""


class _Silent:
    def start(self, sobject: str, total: int) -> None:
        return None

    def advance(self, sobject: str, count: int) -> None:
        return None


@dataclass
class ObjectResult:
    """What a backfill did for one object."""

    read: int = 0
    deleted: int = 0
    pages: int = 0
    retired: int = 0
    incremental: bool = False


@dataclass
class BackfillResult:
    """Per object: records read, of them deleted or merged, pages, records retired."""

    objects: dict[str, ObjectResult] = field(default_factory=dict)


def mirror_row(sobject: str, record: Mapping[str, Any], matcher: Matcher) -> dict[str, Any]:
    """A queried record as a mirror row: Lead-shaped fields, keys, state (no keys when deleted)."""
    fields = lead_shaped(sobject, record)
    deleted = bool(record.get("IsDeleted"))
    keys = {} if deleted else blocking_keys(fields, sobject, matcher.data).as_columns()
    return {
        "id": str(record["Id"]),
        "sobject": sobject,
        "is_deleted": deleted,
        "is_converted": bool(record.get("IsConverted")),
        "master_record_id": record.get("MasterRecordId"),
        "owner_id": record.get("OwnerId"),
        "account_id": record.get("AccountId"),
        "created_date": _stamp(record.get("CreatedDate")),
        "system_modstamp": _stamp(record.get("SystemModstamp")),
        "fields": {k: v for k, v in fields.items() if v not in (None, "")},
        **keys,
    }


def _stamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return parse_datetime(value) if value else None


def mirror_leads(store: Store, leads: Sequence[Lead], matcher: Matcher) -> int:
    """Keep the mirror current from a pulled page of leads (the sync cycle's pull)."""
    rows = [mirror_row("Lead", {**lead.values, "Id": lead.id}, matcher) for lead in leads]
    return upsert(store.engine, rows)


def backfill(
    client: SalesforceClient,
    store: Store,
    matcher: Matcher,
    *,
    objects: Iterable[str] = MIRROR_OBJECTS,
    full: bool = False,
    overlap: timedelta = DEFAULT_OVERLAP,
    progress: Progress | None = None,
) -> BackfillResult:
    """Fill the mirror with `objects` from the org; see the module docstring."""
    result = BackfillResult()
    shown = progress or _Silent()
    for sobject in objects:
        result.objects[sobject] = _one_object(client, store, matcher, sobject, full, overlap, shown)
    return result


def _one_object(
    client: SalesforceClient,
    store: Store,
    matcher: Matcher,
    sobject: str,
    full: bool,
    overlap: timedelta,
    progress: Progress,
) -> ObjectResult:
    cursor = CURSOR_PREFIX + sobject
    watermark = None if full else store.watermark(cursor)
    since = datetime_literal(watermark - overlap) if watermark else None
    outcome = ObjectResult(incremental=since is not None)
    started, high = utcnow(), watermark
    query = soql(sobject, since)
    for page in client.pages(query, on_total=lambda n: progress.start(sobject, n)):
        rows = [mirror_row(sobject, record, matcher) for record in page]
        upsert(store.engine, rows)
        stamps = [r["system_modstamp"] for r in rows if r["system_modstamp"] is not None]
        # The overlap re-reads a little behind the cursor: it only ever moves forward.
        if stamps and (high is None or max(stamps) > high):
            high = max(stamps)
            store.set_watermark(cursor, high)
        outcome.read += len(rows)
        outcome.deleted += sum(1 for r in rows if r["is_deleted"])
        outcome.pages += 1
        progress.advance(sobject, len(rows))
        log.info("sfsync.backfill.page", sobject=sobject, records=len(rows))
    if since is None:
        outcome.retired = retire_unseen(store.engine, sobject, started)
    return outcome
