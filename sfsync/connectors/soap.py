"""sfsync's own small SOAP client: lead conversion through the partner API's `convertLead`.

simple-salesforce has no SOAP calls besides login, and Salesforce's REST API
has no lead conversion (shared/SALESFORCE.md §4). The call goes through the
worker's `SalesforceSession` (timeouts, client id, usage tracking) and its
`RetryingCaller` (backoff, one token renewal on INVALID_SESSION_ID).

THE CONTRACT on retries. A conversion is not idempotent: sent twice, the
second is refused (CANNOT_UPDATE_CONVERTED_LEAD) and would hide the first's
success. So a call is retried only when the org provably did not run it: a
SOAP fault (the call is refused as a whole), a 503, a connection that was
never opened. When the request may have run but its answer was lost
(dropped connection, read timeout, a gateway's 5xx page) or cannot be read,
the leads come back as RETRY with `error_code` OUTCOME_UNKNOWN or
UNREADABLE_RESPONSE (`ConvertResult.needs_check`) and are never resent here.
`convert_leads(..., recheck=query)` then re-reads those leads and reports
each as converted (WRITTEN, with the ids the lead now carries) or as
NOT_APPLIED (RETRY: safe to send again); without `recheck`, the caller must
re-read them before sending them again. A refusal with
CANNOT_UPDATE_CONVERTED_LEAD is re-read the same way: it is how an earlier
call that timed out here but ran in the org shows itself on the next try.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import requests
import structlog

from sfsync.connectors.retry import RetryingCaller
from sfsync.connectors.soap_call import in_calls, post, soap_url
from sfsync.connectors.soap_xml import (
    CHECK_CODES,
    NOT_APPLIED,
    NOT_SENT,
    OUTCOME_UNKNOWN,
    UNREADABLE_RESPONSE,
    ConvertResult,
    LeadConvert,
    convert_envelope,
    id15,
    parse_convert_response,
    raise_for_fault,
    result_without_answer,
)
from sfsync.connectors.soql import by_ids_query
from sfsync.errors import SfsyncError
from sfsync.models import WriteOutcome

__all__ = [
    "CHECK_CODES",
    "MAX_CONVERTS_PER_CALL",
    "NOT_APPLIED",
    "NOT_SENT",
    "OUTCOME_UNKNOWN",
    "UNREADABLE_RESPONSE",
    "ConvertResult",
    "LeadConvert",
    "convert_envelope",
    "convert_leads",
    "parse_convert_response",
    "raise_for_fault",
    "recheck_query",
    "resolve_unknown",
]

log = structlog.get_logger("sfsync.salesforce")

# Salesforce documents 100 per Apex convertLead call; SOAP has no published limit. [INF]
MAX_CONVERTS_PER_CALL: Final = 100
OPERATION: Final = "convertLead"
RECHECK_FIELDS: Final = (
    "Id", "IsConverted", "ConvertedAccountId", "ConvertedContactId", "ConvertedOpportunityId",
)  # fmt: skip

Recheck = Callable[[str], Sequence[Mapping[str, Any]]]


def convert_leads(
    session: requests.Session,
    caller: RetryingCaller,
    instance_url: str,
    api_version: str,
    token_getter: Callable[[], str],
    converts: Sequence[LeadConvert],
    *,
    client_name: str,
    recheck: Recheck | None = None,
) -> list[ConvertResult]:
    """Convert leads, `MAX_CONVERTS_PER_CALL` a call; one result per lead, in input order.

    `token_getter` is asked for the session id before every attempt, so a
    renewed token is used after INVALID_SESSION_ID. An error that stops a
    later call (API budget, credentials) does not lose the earlier calls'
    results: the leads not sent come back as NOT_SENT; it is raised only when
    nothing was sent. See the module docstring for unknown outcomes.
    """
    url = soap_url(instance_url, api_version)

    def send(batch: Sequence[LeadConvert]) -> list[ConvertResult]:
        return _convert_batch(session, caller, url, token_getter, batch, client_name)

    def not_sent(convert: LeadConvert) -> ConvertResult:
        return result_without_answer(convert.lead_id, NOT_SENT, "not sent")

    results = in_calls(converts, MAX_CONVERTS_PER_CALL, send, not_sent, "convert")
    if recheck is not None:
        results = _recheck(results, recheck)
    return results


def _convert_batch(
    session: requests.Session,
    caller: RetryingCaller,
    url: str,
    token_getter: Callable[[], str],
    batch: Sequence[LeadConvert],
    client_name: str,
) -> list[ConvertResult]:
    def attempt() -> bytes | None:
        return post(session, url, convert_envelope(token_getter(), batch, client_name), OPERATION)

    lead_ids = [c.lead_id for c in batch]
    answer = caller.call("soap.convertLead", attempt)
    if answer is None:
        log.warning("sfsync.salesforce.convert_outcome_unknown", leads=len(batch))
        message = "the org's answer was lost; re-read the lead before converting it again"
        return [result_without_answer(i, OUTCOME_UNKNOWN, message) for i in lead_ids]
    return parse_convert_response(answer, lead_ids)


# -- after an unknown outcome --------------------------------------------------------


def recheck_query(lead_ids: Sequence[str]) -> str:
    """The SOQL that tells whether these leads are converted (≤100 ids fit one WHERE)."""
    return by_ids_query("Lead", RECHECK_FIELDS, lead_ids)


def resolve_unknown(
    results: Sequence[ConvertResult], records: Sequence[Mapping[str, Any]]
) -> list[ConvertResult]:
    """Results whose outcome was unknown, settled by the leads as the org now has them.

    A converted lead is WRITTEN with the ids it carries (whoever converted it,
    the job's goal is met); any other lead is RETRY with NOT_APPLIED: a
    conversion is atomic, so nothing of it was written and sending it again is safe.
    """
    by_id = {id15(str(r.get("Id", ""))): r for r in records}
    return [_settle(r, by_id.get(id15(r.lead_id))) if r.needs_check else r for r in results]


def _settle(result: ConvertResult, record: Mapping[str, Any] | None) -> ConvertResult:
    if record is None or not record.get("IsConverted"):
        return result_without_answer(result.lead_id, NOT_APPLIED, "the lead is not converted")
    return ConvertResult(
        lead_id=result.lead_id,
        outcome=WriteOutcome.WRITTEN,
        account_id=record.get("ConvertedAccountId"),
        contact_id=record.get("ConvertedContactId"),
        opportunity_id=record.get("ConvertedOpportunityId"),
    )


def _recheck(results: list[ConvertResult], recheck: Recheck) -> list[ConvertResult]:
    unsure = [r.lead_id for r in results if r.needs_check]
    if not unsure:
        return results
    records: list[Mapping[str, Any]] = []
    try:
        for start in range(0, len(unsure), MAX_CONVERTS_PER_CALL):
            records += recheck(recheck_query(unsure[start : start + MAX_CONVERTS_PER_CALL]))
    except SfsyncError as exc:
        # The results still say "check first": nothing is lost, the caller re-reads later.
        log.warning("sfsync.salesforce.convert_recheck_failed", error=str(exc))
        return results
    log.info("sfsync.salesforce.convert_rechecked", leads=len(unsure))
    return resolve_unknown(results, records)
