"""Record merging through the partner API's SOAP `merge()`: at most once, never twice.

REST has no merge; `merge()` folds one or two records into a master per
request, `MAX_MERGES_PER_CALL` requests a call, each its own transaction. The
call goes through the worker's `SalesforceSession` and `RetryingCaller`, as
`connectors.soap`'s convertLead does, under the same contract:

THE CONTRACT on retries. A merge is not idempotent in form (sent twice, the
second is refused with ENTITY_IS_DELETED: the merged records are deleted), so
a call is retried only when the org provably did not run it: a SOAP fault, a
503, a connection never opened. When it may have run but its answer was lost
(dropped connection, read timeout, a gateway's 5xx page) or cannot be read,
its requests come back as RETRY with `error_code` OUTCOME_UNKNOWN or
UNREADABLE_RESPONSE (`MergeOutcome.needs_check`) and are never resent here.
`merge_records(..., recheck=query)` then re-reads the records to merge with
queryAll (`recheck_query`): all of them deleted with `MasterRecordId` = the
master is WRITTEN (whoever merged them, the goal is met); none merged is
NOT_APPLIED (RETRY: a merge is atomic, sending it again is safe). A refusal
with ENTITY_IS_DELETED is re-read the same way: merged into our master, it was
our earlier call, WRITTEN; otherwise a record is gone for another reason
(deleted, merged elsewhere) and the refusal stands (REJECTED). Without
`recheck`, the caller must re-read before sending such a request again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import requests
import structlog

from sfsync.connectors.retry import RetryingCaller
from sfsync.connectors.soap import Recheck
from sfsync.connectors.soap_call import in_calls, post, soap_url
from sfsync.connectors.soap_merge_xml import (
    ALREADY_MERGED,
    NOT_APPLIED,
    NOT_SENT,
    OUTCOME_UNKNOWN,
    MergeOutcome,
    MergeRequest,
    merge_envelope,
    outcome_without_answer,
    parse_merge_response,
)
from sfsync.connectors.soap_xml import id15
from sfsync.connectors.soql import by_ids_query
from sfsync.errors import SfsyncError
from sfsync.models import WriteOutcome

__all__ = [
    "MAX_MERGES_PER_CALL",
    "MergeOutcome",
    "MergeRequest",
    "merge_records",
    "recheck_query",
    "resolve_unknown",
]

log = structlog.get_logger("sfsync.salesforce")

# The API reference: "Up to 200 merge requests can be made in a single SOAP call."
MAX_MERGES_PER_CALL: Final = 200
# Ids per re-read query: well under the 4,000-character WHERE budget (shared/SALESFORCE.md).
RECHECK_IDS_PER_QUERY: Final = 100
RECHECK_FIELDS: Final = ("Id", "IsDeleted", "MasterRecordId")


def merge_records(
    session: requests.Session,
    caller: RetryingCaller,
    instance_url: str,
    api_version: str,
    token_getter: Callable[[], str],
    requests: Sequence[MergeRequest],
    *,
    client_name: str,
    recheck: Recheck | None = None,
) -> list[MergeOutcome]:
    """Merge records, `MAX_MERGES_PER_CALL` requests a call; one outcome each, in input order.

    `token_getter` is asked for the session id before every attempt, so a
    renewed token is used after INVALID_SESSION_ID. An error that stops a
    later call (API budget, credentials) does not lose the earlier calls'
    outcomes: the requests not sent come back as NOT_SENT; it is raised only
    when nothing was sent. See the module docstring for unknown outcomes.
    """
    url = soap_url(instance_url, api_version)

    def send(batch: Sequence[MergeRequest]) -> list[MergeOutcome]:
        return _merge_batch(session, caller, url, token_getter, batch, client_name)

    def not_sent(request: MergeRequest) -> MergeOutcome:
        return outcome_without_answer(request, NOT_SENT, "not sent")

    outcomes = in_calls(requests, MAX_MERGES_PER_CALL, send, not_sent, "merge")
    if recheck is not None:
        outcomes = _recheck(outcomes, recheck)
    return outcomes


def _merge_batch(
    session: requests.Session,
    caller: RetryingCaller,
    url: str,
    token_getter: Callable[[], str],
    batch: Sequence[MergeRequest],
    client_name: str,
) -> list[MergeOutcome]:
    def attempt() -> bytes | None:
        return post(session, url, merge_envelope(token_getter(), batch, client_name), "merge")

    answer = caller.call("soap.merge", attempt)
    if answer is None:
        log.warning("sfsync.salesforce.merge_outcome_unknown", requests=len(batch))
        message = "the org's answer was lost; re-read the records before merging them again"
        return [outcome_without_answer(r, OUTCOME_UNKNOWN, message) for r in batch]
    return parse_merge_response(answer, batch)


# -- after an unknown outcome --------------------------------------------------------


def recheck_query(sobject: str, record_ids: Sequence[str]) -> str:
    """The queryAll SOQL that tells whether these records were merged, and into what."""
    return by_ids_query(sobject, RECHECK_FIELDS, record_ids)


def resolve_unknown(
    outcomes: Sequence[MergeOutcome], records: Sequence[Mapping[str, Any]]
) -> list[MergeOutcome]:
    """Outcomes to check, settled by the merged records as the org now has them (queryAll)."""
    by_id = {id15(str(r.get("Id", ""))): r for r in records}
    return [_settle(o, by_id) if o.needs_check else o for o in outcomes]


def _settle(outcome: MergeOutcome, by_id: Mapping[str, Mapping[str, Any]]) -> MergeOutcome:
    request = outcome.request
    rows = [by_id.get(id15(i)) for i in request.merge_ids]
    if all(row is not None and _merged_into(row, request.master_id) for row in rows):
        merged = tuple(str(row["Id"]) for row in rows if row is not None)
        return MergeOutcome(request, WriteOutcome.WRITTEN, merged_ids=merged)
    if outcome.error_code == ALREADY_MERGED:
        message = "a record to merge is deleted or was merged into another record"
        return MergeOutcome(
            request, WriteOutcome.REJECTED, error_code=ALREADY_MERGED, message=message
        )
    return outcome_without_answer(request, NOT_APPLIED, "the records are not merged")


def _merged_into(row: Mapping[str, Any], master_id: str) -> bool:
    """True when the row is in the recycle bin because it was merged into `master_id`."""
    absorbed_by = str(row.get("MasterRecordId") or "")
    return bool(row.get("IsDeleted")) and id15(absorbed_by) == id15(master_id)


def _recheck(outcomes: list[MergeOutcome], recheck: Recheck) -> list[MergeOutcome]:
    unsure: dict[str, dict[str, None]] = {}  # sobject -> ids, in order, once each
    for outcome in outcomes:
        if outcome.needs_check:
            ids = unsure.setdefault(outcome.request.sobject, {})
            ids.update(dict.fromkeys(outcome.request.merge_ids))
    if not unsure:
        return outcomes
    records: list[Mapping[str, Any]] = []
    try:
        for sobject, ids in unsure.items():
            listed = list(ids)
            for start in range(0, len(listed), RECHECK_IDS_PER_QUERY):
                chunk = listed[start : start + RECHECK_IDS_PER_QUERY]
                records += recheck(recheck_query(sobject, chunk))
    except SfsyncError as exc:
        # The outcomes still say "check first": nothing is lost, the caller re-reads later.
        log.warning("sfsync.salesforce.merge_recheck_failed", error=str(exc))
        return outcomes
    log.info("sfsync.salesforce.merge_rechecked", records=sum(len(i) for i in unsure.values()))
    return resolve_unknown(outcomes, records)
