"""SOAP 1.1 envelopes of the partner API: reading requests, writing answers and faults.

Answers are written as text with every value escaped, so their prefixes and
layout are exactly Salesforce's (`soapenv:` for the envelope, the partner
namespace as the default one); requests are read with ElementTree, refusing
any DTD, which a SOAP message may not carry and which is the door to entity
expansion attacks.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from sfsync.emulator.results import OrgError
from sfsync.emulator.wire import XML_TYPE, Response

ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
FAULT_NS = "urn:fault.partner.soap.sforce.com"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


class SoapFault(Exception):
    """A request the API refuses as a whole: becomes a SOAP fault (HTTP 500)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def response(self) -> Response:
        """The fault as the HTTP answer."""
        return fault(self.code, self.message)


def parse(body: bytes) -> ET.Element:
    """The root element of a request; raises `SoapFault` for XML that is not a SOAP message."""
    if b"<!DOCTYPE" in body.upper():
        raise SoapFault("soapenv:Client", "DTDs are not allowed in a SOAP message")
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        raise SoapFault("soapenv:Client", "Unable to parse the SOAP request") from None


def partner_tag(name: str) -> str:
    """The ElementTree tag of a partner-namespace element."""
    return f"{{{PARTNER_NS}}}{name}"


def local_name(element: ET.Element) -> tuple[str, str]:
    """(namespace, local name) of an element."""
    namespace, _, name = element.tag.rpartition("}")
    return namespace.lstrip("{"), name


def is_nil(element: ET.Element) -> bool:
    """True for `<x xsi:nil="true"/>`."""
    return element.get(f"{{{XSI_NS}}}nil", "").strip().lower() in ("true", "1")


def element(name: str, value: str | None) -> str:
    """`<name>value</name>`, escaped; None is written `xsi:nil`, as Salesforce writes nulls."""
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    return f"<{name}>{escape(value)}</{name}>"


def envelope(body: str, header: str = "") -> Response:
    """A 200 answer carrying `body` (and `header`), both already-escaped XML."""
    text = (
        f"{XML_DECLARATION}"
        f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" xmlns="{PARTNER_NS}" '
        f'xmlns:xsi="{XSI_NS}">'
        f"<soapenv:Header>{header}</soapenv:Header>"
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
    return Response(200, text.encode(), XML_TYPE)


def limit_info(used: int, limit: int) -> str:
    """The `LimitInfoHeader` Salesforce adds to every answer: the daily API usage."""
    return (
        "<LimitInfoHeader><limitInfo>"
        f"<current>{used}</current><limit>{limit}</limit><type>API REQUESTS</type>"
        "</limitInfo></LimitInfoHeader>"
    )


def fault(code: str, message: str, *, status: int = 500) -> Response:
    """A SOAP fault; `code` is `sf:<EXCEPTION_CODE>` or `soapenv:Client`."""
    body = (
        f"{XML_DECLARATION}"
        f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" xmlns:sf="{FAULT_NS}" '
        f'xmlns:xsi="{XSI_NS}">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>{escape(code)}</faultcode><faultstring>{escape(message)}</faultstring>"
        f"{_detail(code, message)}"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(status, body.encode(), XML_TYPE)


def _detail(code: str, message: str) -> str:
    """The `detail` of an API fault: its exception code and message, as Salesforce adds."""
    prefix, _, exception_code = code.partition(":")
    if prefix != "sf":
        return ""
    kind = _FAULT_TYPES.get(exception_code, "UnexpectedErrorFault")
    return (
        f'<detail><sf:{kind} xsi:type="sf:{kind}">'
        f"<sf:exceptionCode>{escape(exception_code)}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message.removeprefix(exception_code + ': '))}"
        "</sf:exceptionMessage>"
        f"</sf:{kind}></detail>"
    )


# The fault type a few exception codes come in; the rest are UnexpectedErrorFault.
_FAULT_TYPES = {"INVALID_FIELD": "InvalidFieldFault", "INVALID_ID_FIELD": "InvalidIdFault"}


def unexpected_element(child: ET.Element, parent: str) -> SoapFault:
    """The fault Salesforce answers for an element `parent` does not have."""
    namespace, name = local_name(child)
    return SoapFault(
        "sf:INVALID_FIELD",
        f"INVALID_FIELD: No such column '{name}' on entity '{parent}'"
        + ("" if namespace == PARTNER_NS else f" (namespace '{namespace}')"),
    )


def error_element(error: OrgError) -> str:
    """An `Error` of a result, its elements in schema order."""
    fields = "".join(element("fields", name) for name in error.fields)
    return (
        f"<errors>{fields}{element('message', error.message)}"
        f"{element('statusCode', error.status_code)}</errors>"
    )
