"""SOAP `convertLead` on the wire: `leadConverts` in, one `result` per lead out, in order.

Each `leadConverts` is an XSD sequence in the partner WSDL's (alphabetical)
order. Salesforce's parser skips an element that comes after a later one,
so a client sending `doNotCreateOpportunity` after `leadId` silently gets an
opportunity; the emulator does the same. An element the type does not have
is a fault for the whole call, as is a batch over `MAX_LEAD_CONVERTS`. One
lead's refusal never stops the others (each converts on its own, atomically).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Final

from sfsync.emulator.context import Call
from sfsync.emulator.convert import LeadConvert, LeadConvertResult
from sfsync.emulator.soap_envelope import (
    PARTNER_NS,
    SoapFault,
    element,
    envelope,
    error_element,
    is_nil,
    limit_info,
    local_name,
    partner_tag,
    unexpected_element,
)
from sfsync.emulator.wire import Response

# The `LeadConvert` type's elements, in schema order (shared/SALESFORCE.md §4).
LEAD_CONVERT_ELEMENTS: Final = (
    "accountId", "accountRecord", "bypassAccountDedupeCheck", "bypassContactDedupeCheck",
    "contactId", "contactRecord", "convertedStatus", "doNotCreateOpportunity", "leadId",
    "opportunityId", "opportunityName", "opportunityRecord", "overwriteLeadSource",
    "ownerId", "sendNotificationEmail",
)  # fmt: skip
RECORD_ELEMENTS: Final = frozenset({"accountRecord", "contactRecord", "opportunityRecord"})
# Apex documents 100 per call; the SOAP limit is not documented. [INF]
MAX_LEAD_CONVERTS: Final = 100
TOO_MANY_CODE: Final = "sf:LIMIT_EXCEEDED"

_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


def convert_lead(call: Call, operation: ET.Element) -> Response:
    """Answer one `convertLead` call: a fault, or a `convertLeadResponse`."""
    try:
        requests = read_lead_converts(operation)
    except SoapFault as refused:
        return refused.response()
    results = [call.org.convert_lead(request, user_id=call.user_id) for request in requests]
    usage = call.services.usage
    body = "".join(_result(r) for r in results)
    response = envelope(
        f"<convertLeadResponse>{body}</convertLeadResponse>", limit_info(usage.used, usage.limit)
    )
    response.records = len(results)
    return response


# -- reading ------------------------------------------------------------------------


def read_lead_converts(operation: ET.Element) -> list[LeadConvert]:
    """The call's `leadConverts`, in order; raises `SoapFault` for a malformed call."""
    items = list(operation)
    for item in items:
        if item.tag != partner_tag("leadConverts"):
            raise unexpected_element(item, "convertLead")
    if not items:
        raise SoapFault("soapenv:Client", "convertLead needs at least one leadConverts")
    if len(items) > MAX_LEAD_CONVERTS:
        raise SoapFault(
            TOO_MANY_CODE,
            f"LIMIT_EXCEEDED: Too many leadConverts: {len(items)}; "
            f"the maximum is {MAX_LEAD_CONVERTS} per call",
        )
    return [read_lead_convert(item) for item in items]


def read_lead_convert(item: ET.Element) -> LeadConvert:
    """One `leadConverts`, read as an XSD sequence (see the module docstring)."""
    values: dict[str, str | None] = {}
    position = -1
    for child in item:
        namespace, name = local_name(child)
        if namespace != PARTNER_NS or name not in LEAD_CONVERT_ELEMENTS:
            raise unexpected_element(child, "LeadConvert")
        index = LEAD_CONVERT_ELEMENTS.index(name)
        if index <= position:
            continue
        position = index
        values[name] = _value(child, name)
    return _lead_convert(values)


def _value(child: ET.Element, name: str) -> str | None:
    if is_nil(child):
        return None
    if name in RECORD_ELEMENTS:
        return name
    return (child.text or "").strip() or None


def _lead_convert(values: dict[str, str | None]) -> LeadConvert:
    return LeadConvert(
        lead_id=values.get("leadId"),
        converted_status=values.get("convertedStatus"),
        account_id=values.get("accountId"),
        contact_id=values.get("contactId"),
        opportunity_id=values.get("opportunityId"),
        owner_id=values.get("ownerId"),
        opportunity_name=values.get("opportunityName"),
        do_not_create_opportunity=_boolean(values, "doNotCreateOpportunity"),
        overwrite_lead_source=_boolean(values, "overwriteLeadSource"),
        send_notification_email=_boolean(values, "sendNotificationEmail"),
        bypass_account_dedupe_check=_boolean(values, "bypassAccountDedupeCheck"),
        bypass_contact_dedupe_check=_boolean(values, "bypassContactDedupeCheck"),
        unsupported=tuple(
            values[name] or "" for name in sorted(RECORD_ELEMENTS) if values.get(name)
        ),
    )


def _boolean(values: dict[str, str | None], name: str) -> bool:
    text = values.get(name)
    if text is None:
        return False
    if text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    raise SoapFault("soapenv:Client", f"'{text}' is not a valid value for the type xsd:boolean")


# -- writing ------------------------------------------------------------------------


def _result(result: LeadConvertResult) -> str:
    """A `LeadConvertResult`, its elements in schema order; ids of a failure are nil."""
    return (
        "<result>"
        f"{element('accountId', result.account_id)}"
        f"{element('contactId', result.contact_id)}"
        f"{''.join(error_element(e) for e in result.errors)}"
        f"{element('leadId', result.lead_id)}"
        f"{element('opportunityId', result.opportunity_id)}"
        f"{element('success', 'true' if result.success else 'false')}"
        "</result>"
    )
