"""The SOAP partner API at `/services/Soap/u/XX.X`: the hook where `convertLead` plugs in.

The pipeline authenticates the `SessionHeader/sessionId` (an OAuth access
token works, as on Salesforce), counts the call and then calls `handle`,
which dispatches on the Body's operation element to `OPERATIONS`. No
operation is registered yet (lead conversion comes in a later issue), so
every call answers a SOAP fault, as Salesforce does for an unknown operation.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from xml.sax.saxutils import escape

from sfsync.emulator.context import Call
from sfsync.emulator.wire import XML_TYPE, Response

SOAP_PATH_RE = re.compile(r"^/services/Soap/u/(?P<version>\d+\.\d+)/?$")
ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"

SoapOperation = Callable[[Call, ET.Element], Response]
# Partner-API operations by element name, e.g. OPERATIONS["convertLead"] = convert_lead.
OPERATIONS: dict[str, SoapOperation] = {}


def fault(code: str, message: str, *, status: int = 500) -> Response:
    """A SOAP fault; `code` is `sf:<EXCEPTION_CODE>` or `soapenv:Client`."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>{escape(code)}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(status, body.encode(), XML_TYPE)


def invalid_session() -> Response:
    """The fault for a missing, unknown or expired `sessionId`."""
    return fault(
        "sf:INVALID_SESSION_ID",
        "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
    )


def session_id(body: bytes) -> str | None:
    """The `SessionHeader/sessionId` of an envelope, or None."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    found = root.find(f".//{{{PARTNER_NS}}}SessionHeader/{{{PARTNER_NS}}}sessionId")
    return (found.text or "").strip() or None if found is not None else None


def handle(call: Call) -> Response:
    """Run the operation named in the envelope's Body (see `OPERATIONS`)."""
    try:
        root = ET.fromstring(call.request.body)
    except ET.ParseError:
        return fault("soapenv:Client", "Unable to parse the SOAP request", status=500)
    body = root.find(f"{{{ENVELOPE_NS}}}Body")
    operation = next(iter(body), None) if body is not None else None
    if operation is None:
        return fault("soapenv:Client", "The SOAP request has no Body operation")
    handler = OPERATIONS.get(operation.tag.rpartition("}")[2])
    if handler is None:
        return fault(
            "soapenv:Client",
            f"No operation available for request {operation.tag}, "
            "please check the WSDL for the service.",
        )
    return handler(call, operation)
