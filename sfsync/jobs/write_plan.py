"""How a batch of updates is cut into Collections requests, and what each request locks.

Salesforce locks every record a write updates and, for each lookup field the
write sets, the record it points to (a lead's new owner, a contact's
account). Two requests in flight that need the same lock wait for each other
and, past about ten seconds, fail with UNABLE_TO_LOCK_ROW (shared/SALESFORCE.md;
Salesforce's advice: "sequence batches so that the same records aren't
updated in multiple threads simultaneously"). So:

- Lead writes are sorted by the records their patch points to (the new
  OwnerId when routing writes one), then by Id, and cut into requests of
  200: the leads going to one owner travel together, and a lead is in one
  request only;
- each request carries its lock targets; the writer threads (`writers.py`)
  never have two requests with a common target in flight at once, so an
  owner spread over several requests gets them one after the other while
  requests for other owners go ahead;
- writes to other objects (the copies onto the account, contact and
  opportunity a conversion made) all carry one shared target: a contact's
  update locks its account, whose id the outbox row does not carry, so
  they go one request at a time, as before.

Requests stay full (200 records), so grouping costs no extra API call. A
lead whose patch sets no lookup has no known target (its current owner is
not in the outbox row): such leads are kept apart by Id only. A spurious
target (a text value that looks like an id) only costs concurrency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sfsync.ids import is_id
from sfsync.store import OutboxRow

REQUEST_SIZE = 200  # records per Collections request (the connector's COLLECTION_MAX)
LEAD = "Lead"
# The one target every write to another object holds: they go one at a time.
OTHER_OBJECTS = "<objects other than Lead>"


@dataclass(frozen=True)
class Request:
    """Rows of one object sent in one Collections request, and the records it locks."""

    rows: list[OutboxRow]
    targets: frozenset[str]


def plan_requests(rows: Sequence[OutboxRow], size: int = REQUEST_SIZE) -> list[Request]:
    """The rows cut into requests of `size`: Leads grouped by lock target, then the others."""
    leads = sorted((r for r in rows if r.sobject == LEAD), key=_order)
    requests = [_request(leads[start : start + size]) for start in range(0, len(leads), size)]
    others = sorted((r for r in rows if r.sobject != LEAD), key=lambda r: (r.sobject, r.lead_id))
    for sobject in sorted({r.sobject for r in others}):
        same = [r for r in others if r.sobject == sobject]
        requests += [
            Request(same[start : start + size], frozenset({OTHER_OBJECTS}))
            for start in range(0, len(same), size)
        ]
    return requests


def lock_targets(row: OutboxRow) -> frozenset[str]:
    """Ids of the records a write points to through its lookup fields (locked while it runs)."""
    return frozenset(
        value
        for name, value in row.patch.items()
        if isinstance(value, str) and _is_lookup(name) and is_id(value)
    )


def _is_lookup(field: str) -> bool:
    # Standard lookups end in "Id" (OwnerId, AccountId); custom ones in "__c".
    return field.endswith(("Id", "__c"))


def _order(row: OutboxRow) -> tuple[tuple[str, ...], str]:
    return tuple(sorted(lock_targets(row))), row.lead_id


def _request(rows: list[OutboxRow]) -> Request:
    return Request(rows, frozenset(t for row in rows for t in lock_targets(row)))
