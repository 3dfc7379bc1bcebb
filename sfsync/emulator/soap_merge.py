"""SOAP `merge` on the wire: `request` elements in, one `result` per request out, in order.

A `MergeRequest` is (`additionalInformationMap`*, `masterRecord`,
`recordToMergeIds`+) in the partner namespace; the masterRecord is a partner
`sObject`: `type`, `fieldsToNull`*, `Id`, then the fields to keep, read in
any namespace (clients send `urn:sobject.partner.soap.sforce.com` or none)
[INF]. A call without requests, with more than `MAX_MERGE_REQUESTS`, with an
element the types lack, or naming an object that cannot be merged is a fault
for the whole call; otherwise each request succeeds or fails on its own
(`emulator.merge`). A scripted or planned `lock_row` fault refuses one request
with UNABLE_TO_LOCK_ROW, as a record lock held elsewhere would.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Final

from sfsync.emulator.context import Call
from sfsync.emulator.merge import MergeRequest, MergeResult, echo_id, merge, unsupported_type
from sfsync.emulator.results import OrgError
from sfsync.emulator.schema import OrgSchema
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

# The API reference: "Up to 200 merge requests can be made in a single SOAP call."
MAX_MERGE_REQUESTS: Final = 200
REQUEST_ELEMENTS: Final = frozenset(
    {"additionalInformationMap", "masterRecord", "recordToMergeIds"}
)
NO_TYPE: Final = "INVALID_TYPE: Must send a concrete entity type."
LOCKED: Final = OrgError(
    "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records"
)


def merge_records(call: Call, operation: ET.Element) -> Response:
    """Answer one `merge` call: a fault, or a `mergeResponse`."""
    try:
        requests = read_merge_requests(call.org.schema, operation)
    except SoapFault as refused:
        return refused.response()
    results = [_run(call, request) for request in requests]
    usage = call.services.usage
    body = "".join(_result(r) for r in results)
    response = envelope(
        f"<mergeResponse>{body}</mergeResponse>", limit_info(usage.used, usage.limit)
    )
    response.records = len(results)
    return response


def _run(call: Call, request: MergeRequest) -> MergeResult:
    if call.services.faults.lock_row(call.request):
        return MergeResult(echo_id(request.master_id), errors=(LOCKED,))
    return merge(call.org, request, call.user_id)


# -- reading ------------------------------------------------------------------------


def read_merge_requests(schema: OrgSchema, operation: ET.Element) -> list[MergeRequest]:
    """The call's requests, in order; raises `SoapFault` for a malformed call."""
    items = list(operation)
    for item in items:
        if item.tag != partner_tag("request"):
            raise unexpected_element(item, "merge")
    if not items:
        raise SoapFault("soapenv:Client", "merge needs at least one request")
    if len(items) > MAX_MERGE_REQUESTS:
        raise SoapFault(
            "sf:LIMIT_EXCEEDED",
            f"LIMIT_EXCEEDED: Too many merge requests: {len(items)}; "
            f"the maximum is {MAX_MERGE_REQUESTS} per call",
        )
    requests = [read_merge_request(item) for item in items]
    for request in requests:
        problem = unsupported_type(schema, request.sobject)
        if problem is not None:
            raise SoapFault(
                f"sf:{problem.status_code}", f"{problem.status_code}: {problem.message}"
            )
    return requests


def read_merge_request(item: ET.Element) -> MergeRequest:
    """One `request`: its masterRecord and the ids to merge into it."""
    master: ET.Element | None = None
    merge_ids: list[str] = []
    for child in item:
        namespace, name = local_name(child)
        if namespace != PARTNER_NS or name not in REQUEST_ELEMENTS:
            raise unexpected_element(child, "MergeRequest")
        if name == "masterRecord":
            master = child
        elif name == "recordToMergeIds":
            merge_ids.append((child.text or "").strip())
    if master is None:
        raise SoapFault("sf:INVALID_TYPE", NO_TYPE)
    sobject, master_id, values = read_sobject(master)
    return MergeRequest(sobject, master_id, tuple(merge_ids), values)


def read_sobject(record: ET.Element) -> tuple[str, str | None, dict[str, str | None]]:
    """(type, Id, field values) of a partner `sObject`; a field to null maps to None."""
    sobject = ""
    record_id: str | None = None
    values: dict[str, str | None] = {}
    for child in record:
        _, name = local_name(child)
        if len(child):
            raise unexpected_element(child, "sObject")  # a related record: not part of a merge
        text = child.text or ""
        if name == "type":
            sobject = text.strip()
        elif name == "Id":
            record_id = text.strip() or None
        elif name == "fieldsToNull":
            values[text.strip()] = None
        else:
            values[name] = None if is_nil(child) else text
    if not sobject:
        raise SoapFault("sf:INVALID_TYPE", NO_TYPE)
    return sobject, record_id, values


# -- writing ------------------------------------------------------------------------


def _result(result: MergeResult) -> str:
    """A `MergeResult`, its elements in schema order; the id of a refusal may be nil."""
    return (
        "<result>"
        f"{''.join(error_element(e) for e in result.errors)}"
        f"{element('id', result.id)}"
        f"{''.join(element('mergedRecordIds', i) for i in result.merged_ids)}"
        f"{element('success', 'true' if result.success else 'false')}"
        f"{''.join(element('updatedRelatedIds', i) for i in result.updated_related_ids)}"
        "</result>"
    )
