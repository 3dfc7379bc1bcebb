"""The wire format of SOAP `convertLead`: the request envelope, the answer, the faults.

Pure functions over bytes, so the exact envelope can be golden-tested and
every answer (results, per-lead errors, nils, faults, garbage) table-tested
without a network. Values are escaped and parsed with the stdlib; DTDs are
refused. `connectors.soap` makes the call and owns the retry contract.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape

import structlog

from sfsync.connectors.failures import (
    Action,
    Failure,
    Kind,
    classify,
    classify_record,
    error_body,
)
from sfsync.errors import (
    ApiLimitReached,
    AuthError,
    OrgUnavailable,
    SessionExpired,
    SfsyncError,
    TransientError,
)
from sfsync.models import WriteOutcome

log = structlog.get_logger("sfsync.salesforce")

OUTCOME_UNKNOWN: Final = "OUTCOME_UNKNOWN"
UNREADABLE_RESPONSE: Final = "UNREADABLE_RESPONSE"
NOT_SENT: Final = "NOT_SENT"
NOT_APPLIED: Final = "NOT_APPLIED"
# The org refuses to convert a converted lead. When sfsync sent the conversion,
# that is most often its own earlier call that timed out client-side and still
# ran: the lead is re-read and, converted, settled as written with its new ids.
ALREADY_CONVERTED: Final = "CANNOT_UPDATE_CONVERTED_LEAD"
CHECK_CODES: Final = frozenset({OUTCOME_UNKNOWN, UNREADABLE_RESPONSE, ALREADY_CONVERTED})
ENVELOPE_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS: Final = "urn:partner.soap.sforce.com"
XSI_NIL: Final = "{http://www.w3.org/2001/XMLSchema-instance}nil"
# A SOAP fault always comes with HTTP 500, which says nothing: its code alone is classified.
FAULT_STATUS: Final = 400
# Answers without a SOAP body that prove the call did not run (the rest leave it unknown).
NOT_RUN_STATUSES: Final = frozenset({401, 403, 404, 406, 408, 420, 429, 503})
_NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SESSION_LIKE = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._~+/=-]+")
MAX_ERROR_TEXT = 300
_ID15 = re.compile(r"^[a-zA-Z0-9]{15}")


@dataclass(frozen=True)
class LeadConvert:
    """One lead to convert (the partner API's `LeadConvert`); None leaves an element out."""

    lead_id: str
    converted_status: str
    account_id: str | None = None
    contact_id: str | None = None
    owner_id: str | None = None
    do_not_create_opportunity: bool = False
    opportunity_name: str | None = None
    overwrite_lead_source: bool = False
    send_notification_email: bool = False


@dataclass(frozen=True)
class ConvertResult:
    """The org's answer for one lead: the records it became, or why not."""

    lead_id: str
    outcome: WriteOutcome
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    fields: tuple[str, ...] = ()

    @property
    def needs_check(self) -> bool:
        """True when the org may have converted the lead: re-read it before sending it again."""
        return self.error_code in CHECK_CODES


def result_without_answer(lead_id: str, code: str, message: str) -> ConvertResult:
    """RETRY for a lead the org gave no usable answer about (`code` says how sure we are)."""
    return ConvertResult(lead_id, WriteOutcome.RETRY, error_code=code, message=message)


# -- the request ---------------------------------------------------------------------


def convert_envelope(session_id: str, converts: Sequence[LeadConvert], client_name: str) -> bytes:
    """The `convertLead` request: each `leadConverts` in schema (alphabetical) order.

    Salesforce silently skips an element sent out of sequence (an opportunity
    gets created despite `doNotCreateOpportunity`), so the order is fixed here
    and golden-tested. Every value is escaped; characters XML cannot carry are dropped.
    """
    items = "".join(_lead_convert(c) for c in converts)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" xmlns:urn="{PARTNER_NS}">'
        "<soapenv:Header>"
        f"<urn:SessionHeader>{_element('sessionId', session_id)}</urn:SessionHeader>"
        f"<urn:CallOptions>{_element('client', client_name)}</urn:CallOptions>"
        "</soapenv:Header>"
        f"<soapenv:Body><urn:convertLead>{items}</urn:convertLead></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    return text.encode()


def _lead_convert(convert: LeadConvert) -> str:
    elements = (
        ("accountId", convert.account_id),
        ("contactId", convert.contact_id),
        ("convertedStatus", convert.converted_status),
        ("doNotCreateOpportunity", _boolean(convert.do_not_create_opportunity)),
        ("leadId", convert.lead_id),
        ("opportunityName", convert.opportunity_name),
        ("overwriteLeadSource", _boolean(convert.overwrite_lead_source)),
        ("ownerId", convert.owner_id),
        ("sendNotificationEmail", _boolean(convert.send_notification_email)),
    )
    body = "".join(_element(name, value) for name, value in elements if value is not None)
    return f"<urn:leadConverts>{body}</urn:leadConverts>"


def _element(name: str, value: str) -> str:
    return f"<urn:{name}>{escape(_NOT_XML_CHARS.sub('', value))}</urn:{name}>"


def _boolean(value: bool) -> str:
    return "true" if value else "false"


# -- the answer ----------------------------------------------------------------------


def parse_convert_response(body: bytes, lead_ids: Sequence[str]) -> list[ConvertResult]:
    """One result per lead sent, matched in order; an unreadable answer makes all RETRY."""
    items = result_items(body, "convertLeadResponse", len(lead_ids))
    if items is None:
        message = "the org's answer could not be read"
        return [result_without_answer(i, UNREADABLE_RESPONSE, message) for i in lead_ids]
    return [_result(i, item) for i, item in zip(lead_ids, items, strict=True)]


def result_items(body: bytes, response: str, expected: int) -> list[ET.Element] | None:
    """The `result` elements of a `response` answer; None unless there is one per request."""
    try:
        items = _parse(body).findall(f"./{{{ENVELOPE_NS}}}Body/{_tag(response)}/{_tag('result')}")
    except ValueError:
        items = []
    if len(items) != expected:
        log.warning("sfsync.salesforce.unreadable_results", answer=response, expected=expected)
        return None
    return items


def _result(lead_id: str, item: ET.Element) -> ConvertResult:
    reported = _text(item, "leadId")
    if reported is not None and id15(reported) != id15(lead_id):
        return result_without_answer(lead_id, UNREADABLE_RESPONSE, "a result for another lead")
    if _text(item, "success") == "true":
        return ConvertResult(
            lead_id,
            WriteOutcome.WRITTEN,
            account_id=_text(item, "accountId"),
            contact_id=_text(item, "contactId"),
            opportunity_id=_text(item, "opportunityId"),
        )
    error = item.find(_tag("errors"))
    code = (_text(error, "statusCode") if error is not None else None) or "UNKNOWN_ERROR"
    again = classify_record(code).action is Action.RETRY or code in CHECK_CODES
    return ConvertResult(
        lead_id,
        WriteOutcome.RETRY if again else WriteOutcome.REJECTED,
        error_code=code,
        message=_text(error, "message") if error is not None else None,
        fields=tuple(f.text or "" for f in error.findall(_tag("fields")))
        if error is not None
        else (),
    )


def raise_for_fault(status: int, body: bytes, operation: str = "convertLead") -> None:
    """Raise the sfsync error for an answer that proves the call did not run.

    A SOAP fault is classified on its code (INVALID_SESSION_ID: SessionExpired,
    so the caller renews the token once; SERVER_UNAVAILABLE: TransientError;
    the daily limit: ApiLimitReached; the rest: AuthError or OrgUnavailable).
    An answer without a SOAP fault is classified on its status when that
    status means "not run" (401, 403, 429, 503...). Returns without raising for
    200 and for the answers that leave the outcome unknown (a gateway's 500,
    502, 504 page). Messages name `operation` and never carry a session id.
    """
    if status == 200:
        return
    fault = _fault(body)
    if fault is not None:
        code, message = fault
        failure = classify(FAULT_STATUS, code, message)
        raise _error(failure, f"{operation} fault {code or 'without a code'}: {_safe(message)}")
    if status in NOT_RUN_STATUSES:
        code, message = error_body(body)
        raise _error(classify(status, code, message), f"{operation}: HTTP {status} {code or ''}")


def _fault(body: bytes) -> tuple[str | None, str] | None:
    """(exception code or None, faultstring) of a SOAP fault, or None for anything else."""
    try:
        found = _parse(body).find(f"./{{{ENVELOPE_NS}}}Body/{{{ENVELOPE_NS}}}Fault")
    except ValueError:
        return None
    if found is None:
        return None
    prefix, _, code = (found.findtext("faultcode") or "").strip().partition(":")
    detail = next((e.text for e in found.iter() if e.tag.endswith("}exceptionCode")), None)
    exception_code = detail or (code if prefix == "sf" else None)
    return exception_code, found.findtext("faultstring") or ""


def _error(failure: Failure, text: str) -> SfsyncError:
    if failure.action is Action.RETRY:
        return TransientError(text)
    if failure.action is Action.REAUTH:
        return SessionExpired(text)
    if failure.kind is Kind.LIMIT:
        return ApiLimitReached(f"the org's API allowance is used up ({text})")
    if failure.kind is Kind.AUTH:
        return AuthError(text)
    return OrgUnavailable(text)


def _parse(body: bytes) -> ET.Element:
    """The root of an answer; ValueError for anything that is not plain XML (DTDs included)."""
    if b"<!DOCTYPE" in body.upper():
        raise ValueError("a DTD in a SOAP answer")
    try:
        return ET.fromstring(body)
    except (ET.ParseError, LookupError) as exc:  # LookupError: an unknown declared encoding
        raise ValueError("not XML") from exc


def _tag(name: str) -> str:
    return f"{{{PARTNER_NS}}}{name}"


def _text(parent: ET.Element, name: str) -> str | None:
    found = parent.find(_tag(name))
    if found is None or found.get(XSI_NIL) == "true":
        return None
    return (found.text or "").strip() or None


def _safe(text: str) -> str:
    """Text from the org fit for an exception message: no session id, bounded length."""
    return _SESSION_LIKE.sub("[session id]", text)[:MAX_ERROR_TEXT]


def id15(value: str) -> str:
    """The case-sensitive 15-character body of an id, so 15- and 18-character forms match."""
    match = _ID15.match(value)
    return match.group(0) if match else value
