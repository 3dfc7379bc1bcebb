"""Answer every HTTP call from a recording, offline, with `responses`.

Reads are served from the recorded answers, matched on method, URL path and
query string. Answers to the same request are served in the order they were
recorded (a 503 before the retry's 200, a 401 before the renewed token's
answer); the last one repeats. Writes are never served from the file: the
bodies of Collections PATCHes and SOAP `convertLead` calls are captured (the
writes of the replayed cycle) and every record is answered with success. A
request the recording does not hold stops the cycle with `NotInRecording`
instead of reaching the network.

Writes are compared as lead id → field → value; a conversion appears as the
pseudo-field `convertLead` whose value is its `leadConverts` elements.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

import requests
import responses
from responses.registries import FirstMatchRegistry

from sfsync.connectors.recording import Exchange, Recording, is_collections_write
from sfsync.errors import SfsyncError
from sfsync.ids import InvalidId, to18

COLLECTIONS_URL = re.compile(r"^https?://[^/]+/services/data/v[0-9.]+/composite/sobjects/?$")
SOAP_URL = re.compile(r"^https?://[^/]+/services/Soap/u/[0-9.]+/?$")
CONVERT = "convertLead"
ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"
SHOWN_QUERY_CHARS = 300

Writes = dict[str, dict[str, Any]]


class NotInRecording(SfsyncError):
    """The replayed cycle made a request the recorded run did not (exit 5)."""

    exit_code = 5


class _Registry(FirstMatchRegistry):
    """First match, in recorded order; no match is an sfsync error, not a ConnectionError.

    A ConnectionError would be retried by the connector and end as "the org
    is unreachable"; the replay must instead say which request was missing.
    """

    def find(self, request: requests.PreparedRequest) -> tuple[Any, list[str]]:
        match, reasons = super().find(request)
        if match is None:
            raise NotInRecording(_missing_message(request, self.registered))
        return match, reasons


def _missing_message(request: requests.PreparedRequest, registered: Sequence[Any]) -> str:
    url = str(request.url)
    parts = urlsplit(url)
    query = " ".join(f"{k}={v}" for k, v in parse_qsl(parts.query))
    shown = parts.path + (f" ({query[:SHOWN_QUERY_CHARS]})" if query else "")
    same_path = sum(1 for r in registered if isinstance(r.url, str) and parts.path in r.url)
    hint = f"; the recording answers {same_path} other request(s) on this path" if same_path else ""
    return (
        f"replay: {request.method} {shown} is not in the recording{hint}. The cycle asked for "
        "something the recorded run did not (e.g. the mappings read other fields): "
        "record a new fixture"
    )


class Playback:
    """While active, every `requests` call in the process is answered from `recording`."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.write_bodies: list[Any] = []
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False, registry=_Registry)

    def __enter__(self) -> Playback:
        self._mock.start()
        for exchange in self.recording.exchanges:
            if not is_write(exchange.method, exchange.url, exchange.request_body):
                self._mock.add(_response(exchange))
        self._mock.add_callback("PATCH", COLLECTIONS_URL, callback=self._answer_write)
        self._mock.add_callback("POST", SOAP_URL, callback=self._answer_soap)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._mock.stop()
        self._mock.reset()

    def _answer_write(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        raw = request.body or b"{}"
        body = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        self.write_bodies.append(body)
        records = (body.get("records") or []) if isinstance(body, dict) else []
        saved = [{"id": r.get("id"), "success": True, "errors": []} for r in records]
        return 200, {"Content-Type": "application/json"}, json.dumps(saved)

    def _answer_soap(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        text = _text(request.body)
        if CONVERT not in text:
            raise NotInRecording(f"replay: a SOAP call other than {CONVERT} is not replayable")
        self.write_bodies.append(text)
        lead_ids = [c["leadId"] for c in lead_converts(text)]
        return 200, {"Content-Type": "text/xml; charset=utf-8"}, convert_answer(lead_ids)

    @property
    def writes(self) -> Writes:
        """What the replayed cycle wrote: lead id → field → value (last write wins)."""
        return collection_writes(self.write_bodies)


def is_write(method: str, url: str, request_body: Any) -> bool:
    """A request a replay captures instead of serving: Collections updates, conversions."""
    if is_collections_write(method, url):
        return True
    return method.upper() == "POST" and bool(SOAP_URL.match(url)) and CONVERT in str(request_body)


def _text(body: Any) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return "" if body is None else str(body)


def lead_converts(envelope: str) -> list[dict[str, str]]:
    """The `leadConverts` of a convertLead request, each as element name → text."""
    try:
        root = ET.fromstring(envelope)
    except ET.ParseError:
        return []
    items = root.iter(f"{{{PARTNER_NS}}}leadConverts")
    return [{child.tag.rsplit("}", 1)[-1]: child.text or "" for child in item} for item in items]


def convert_answer(lead_ids: Sequence[str]) -> str:
    """A convertLead answer in which every lead converted (new ids made from the lead's)."""
    results = "".join(
        f"<result><accountId>{_derived('001', i)}</accountId>"
        f"<contactId>{_derived('003', i)}</contactId><leadId>{escape(i)}</leadId>"
        f"<opportunityId>{_derived('006', i)}</opportunityId><success>true</success></result>"
        for i in lead_ids
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" '
        f'xmlns="{PARTNER_NS}"><soapenv:Body><convertLeadResponse>{results}'
        "</convertLeadResponse></soapenv:Body></soapenv:Envelope>"
    )


def _response(exchange: Exchange) -> responses.Response:
    if exchange.error:
        failure = requests.ConnectionError(f"recorded: {exchange.error} (no answer)")
        return responses.Response(exchange.method, exchange.url, body=failure)
    return responses.Response(
        exchange.method,
        exchange.url,
        body=exchange.body,
        status=exchange.status,
        headers=dict(exchange.headers) or None,
        content_type=exchange.content_type or "text/plain",
    )


def _derived(prefix: str, lead_id: str) -> str:
    """A made-up id of another object, stable per lead (replays never create anything)."""
    try:
        return to18(prefix + lead_id[3:15])
    except InvalidId:
        return prefix + "000000000000AAA"


def collection_writes(bodies: Sequence[Any]) -> Writes:
    """Lead id → field → value from write request bodies, later bodies winning."""
    writes: Writes = {}
    for body in bodies:
        if isinstance(body, str) and CONVERT in body:
            for convert in lead_converts(body):
                lead_id = convert.pop("leadId", "")
                writes.setdefault(lead_id, {})[CONVERT] = convert
            continue
        records = body.get("records") if isinstance(body, Mapping) else None
        for record in records or ():
            if isinstance(record, Mapping) and isinstance(record.get("id"), str):
                fields = {k: v for k, v in record.items() if k not in ("id", "attributes")}
                writes.setdefault(record["id"], {}).update(fields)
    return writes


def recorded_writes(recording: Recording) -> Writes:
    """The writes of the recorded run: its Collections and convertLead request bodies."""
    bodies = [
        e.request_body for e in recording.exchanges if is_write(e.method, e.url, e.request_body)
    ]
    return collection_writes(bodies)
