"""`sfsync backfill`: fill the matching mirror from the org, page by page, resumably.

Accounts, then Contacts (with their account's name), then Leads, each through
`queryAll` so deleted and merged records arrive too and are marked so. The
REST query's first page says how many records there are (`totalSize`, as a
`SELECT COUNT()` would, but free when the REST path goes on): above
`SFSYNC_BULK_THRESHOLD` (10,000) the object is read through a Bulk API 2.0
`queryAll` job instead (`connectors.bulk`; that first page is dropped), in
pages of 10,000 rather than 2,000. Either way each page is upserted in one
transaction as it arrives; no more than one page is held in memory.

The object's cursor (`mirror.<Object>` in the cursor table) moves to the
newest SystemModstamp read, so a later run reads only what changed (minus an
overlap). REST pages come in SystemModstamp order, so the cursor moves after
every page and an interrupted backfill resumes where it stopped. A Bulk job's
pages come in no order (ORDER BY would switch off Salesforce's PK chunking),
so the cursor moves once, after the last page: an interrupted Bulk read
starts over (the upserts it made are harmless). `--full` reads everything
again and retires records the org no longer returns (purged from the
recycle bin).
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from sfsync.connectors.bulk import BulkQueries
from sfsync.connectors.bulk_records import read_datetime
from sfsync.connectors.salesforce import SalesforceClient, parse_datetime
from sfsync.connectors.soql import datetime_literal
from sfsync.jobs.match_setup import Matcher
from sfsync.models import Lead
from sfsync.rules.matching_keys import blocking_keys
from sfsync.rules.matching_records import SOQL_FIELDS, lead_shaped, soql
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
    # "rest" (queryAll pages) or "bulk" (a Bulk API 2.0 queryAll job).
    api: str = "rest"


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
    if isinstance(value, str) and value:
        return read_datetime(value)
    return parse_datetime(value) if value else None


def mirror_leads(store: Store, leads: Sequence[Lead], matcher: Matcher) -> int:
    """Keep the mirror current from a pulled page of leads (the sync cycle's pull)."""
    rows = [mirror_row("Lead", {**lead.values, "Id": lead.id}, matcher) for lead in leads]
    return upsert(store.engine, rows)


def bulk_soql(sobject: str, since: str | None = None) -> str:
    """The mirror's query for a Bulk job: `soql` without ORDER BY, which stops PK chunking."""
    where = f" WHERE SystemModstamp >= {since}" if since else ""
    return f"SELECT {', '.join(SOQL_FIELDS[sobject])} FROM {sobject}{where}"


def backfill(
    client: SalesforceClient,
    store: Store,
    matcher: Matcher,
    *,
    objects: Iterable[str] = MIRROR_OBJECTS,
    full: bool = False,
    overlap: timedelta = DEFAULT_OVERLAP,
    progress: Progress | None = None,
    bulk: BulkQueries | None = None,
    bulk_threshold: int | None = None,
) -> BackfillResult:
    """Fill the mirror with `objects` from the org; see the module docstring.

    `bulk_threshold` defaults to the client's SFSYNC_BULK_THRESHOLD; `bulk`
    (default: jobs on `client`) is how Bulk API 2.0 is read.
    """
    threshold = client.settings.sfsync_bulk_threshold if bulk_threshold is None else bulk_threshold
    run = _Run(client, store, matcher, overlap, progress or _Silent(), bulk or BulkQueries(client))
    result = BackfillResult()
    for sobject in objects:
        result.objects[sobject] = run.one_object(sobject, full, threshold)
    return result


@dataclass
class _Run:
    client: SalesforceClient
    store: Store
    matcher: Matcher
    overlap: timedelta
    progress: Progress
    bulk: BulkQueries

    def one_object(self, sobject: str, full: bool, threshold: int) -> ObjectResult:
        cursor = CURSOR_PREFIX + sobject
        watermark = None if full else self.store.watermark(cursor)
        since = datetime_literal(watermark - self.overlap) if watermark else None
        outcome = ObjectResult(incremental=since is not None)
        started = utcnow()
        totals: list[int] = []
        rest = self.client.pages(soql(sobject, since), on_total=totals.append)
        first = next(rest, None)
        total = totals[0] if totals else len(first or ())
        outcome.api = "bulk" if total > threshold else "rest"
        log.info("sfsync.backfill.object", sobject=sobject, total=total, api=outcome.api,
                 threshold=threshold, incremental=since is not None)  # fmt: skip
        self.progress.start(sobject, total)
        if outcome.api == "bulk":
            if isinstance(rest, Generator):
                rest.close()  # the rest of that REST cursor is never read
            self._bulk(sobject, since, cursor, watermark, outcome)
        else:
            pages = itertools.chain([] if first is None else [first], rest)
            self._rest(sobject, pages, cursor, watermark, outcome)
        if since is None:
            outcome.retired = retire_unseen(self.store.engine, sobject, started)
        return outcome

    def _rest(
        self,
        sobject: str,
        pages: Iterable[list[dict[str, Any]]],
        cursor: str,
        high: datetime | None,
        outcome: ObjectResult,
    ) -> None:
        """REST pages come in SystemModstamp order: the cursor follows every page."""
        for newest in self._store_pages(sobject, pages, outcome):
            # The overlap re-reads a little behind the cursor: it only ever moves forward.
            if newest is not None and (high is None or newest > high):
                high = newest
                self.store.set_watermark(cursor, high)

    def _bulk(
        self,
        sobject: str,
        since: str | None,
        cursor: str,
        high: datetime | None,
        outcome: ObjectResult,
    ) -> None:
        """A Bulk job's pages come in no order: the cursor moves once, after the last one."""
        pages = self.bulk.pages(bulk_soql(sobject, since), include_deleted=True)
        newest = max(
            (n for n in self._store_pages(sobject, pages, outcome) if n is not None), default=None
        )
        if newest is not None and (high is None or newest > high):
            self.store.set_watermark(cursor, newest)

    def _store_pages(
        self, sobject: str, pages: Iterable[list[dict[str, Any]]], outcome: ObjectResult
    ) -> Iterator[datetime | None]:
        """Upsert each page as it arrives; yield its newest SystemModstamp."""
        for page in pages:
            rows = [mirror_row(sobject, record, self.matcher) for record in page]
            upsert(self.store.engine, rows)
            outcome.read += len(rows)
            outcome.deleted += sum(1 for r in rows if r["is_deleted"])
            outcome.pages += 1
            self.progress.advance(sobject, len(rows))
            log.info("sfsync.backfill.page", sobject=sobject, records=len(rows), api=outcome.api)
            stamps = [r["system_modstamp"] for r in rows if r["system_modstamp"] is not None]
            yield max(stamps, default=None)
