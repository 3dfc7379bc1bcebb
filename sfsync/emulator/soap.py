"""The SOAP partner API at `/services/Soap/u/XX.X`: `convertLead` and `merge`.

The pipeline authenticates the `SessionHeader/sessionId` (an OAuth access
token works, as on Salesforce), counts the call and then calls `handle`,
which dispatches on the Body's operation element to `OPERATIONS`. An
operation the emulator does not have answers a SOAP fault, as Salesforce
does for an operation its WSDL lacks.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

from sfsync.emulator.context import Call
from sfsync.emulator.soap_convert import convert_lead
from sfsync.emulator.soap_envelope import (
    ENVELOPE_NS,
    PARTNER_NS,
    SoapFault,
    fault,
    local_name,
    parse,
    partner_tag,
)
from sfsync.emulator.soap_merge import merge_records
from sfsync.emulator.wire import Response

__all__ = ["OPERATIONS", "SOAP_PATH_RE", "fault", "handle", "invalid_session", "session_id"]

SOAP_PATH_RE = re.compile(r"^/services/Soap/u/(?P<version>\d+\.\d+)/?$")

SoapOperation = Callable[[Call, ET.Element], Response]
# Partner-API operations by element name.
OPERATIONS: dict[str, SoapOperation] = {"convertLead": convert_lead, "merge": merge_records}


def invalid_session() -> Response:
    """The fault for a missing, unknown or expired `sessionId`."""
    return fault(
        "sf:INVALID_SESSION_ID",
        "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
    )


def session_id(body: bytes) -> str | None:
    """The `SessionHeader/sessionId` of an envelope, or None."""
    try:
        root = parse(body)
    except SoapFault:
        return None
    found = root.find(f"./{{{ENVELOPE_NS}}}Header/{partner_tag('SessionHeader')}")
    found = found.find(partner_tag("sessionId")) if found is not None else None
    return (found.text or "").strip() or None if found is not None else None


def handle(call: Call) -> Response:
    """Run the operation named in the envelope's Body (see `OPERATIONS`)."""
    try:
        operation = _operation(parse(call.request.body))
    except SoapFault as refused:
        return refused.response()
    namespace, name = local_name(operation)
    handler = OPERATIONS.get(name) if namespace == PARTNER_NS else None
    if handler is None:
        return fault(
            "soapenv:Client",
            f"No operation available for request {operation.tag}, "
            "please check the WSDL for the service.",
        )
    return handler(call, operation)


def _operation(root: ET.Element) -> ET.Element:
    body = root.find(f"{{{ENVELOPE_NS}}}Body") if root.tag == f"{{{ENVELOPE_NS}}}Envelope" else None
    operation = next(iter(body), None) if body is not None else None
    if operation is None:
        raise SoapFault("soapenv:Client", "The SOAP request has no Body operation")
    return operation
