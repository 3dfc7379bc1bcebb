"""The wire format of SOAP `merge`: the request envelope and the answer, as pure functions.

The partner WSDL's types: `merge` holds `request`* (`MergeRequest`:
`masterRecord`, an `sObject` of `type`, `fieldsToNull`*, `Id` and the
fields to keep; then `recordToMergeIds`, one or two), and `mergeResponse`
holds one `result` per request, in order (`MergeResult`: `errors`*, `id`,
`mergedRecordIds`*, `success`, `updatedRelatedIds`*). Values are escaped and
answers parsed with `soap_xml`'s helpers (DTDs refused); faults are read by
`soap_xml.raise_for_fault`. `connectors.soap_merge` makes the call and owns
the retry contract.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Final
from xml.sax.saxutils import escape

import structlog

from sfsync.connectors.failures import Action, classify_record
from sfsync.connectors.soap_xml import (
    _NOT_XML_CHARS,
    ENVELOPE_NS,
    NOT_APPLIED,
    NOT_SENT,
    OUTCOME_UNKNOWN,
    PARTNER_NS,
    UNREADABLE_RESPONSE,
    _element,
    _tag,
    _text,
    id15,
    result_items,
)
from sfsync.ids import is_id
from sfsync.models import WriteOutcome

__all__ = [
    "ALREADY_MERGED",
    "CHECK_CODES",
    "MERGEABLE",
    "NOT_APPLIED",
    "NOT_SENT",
    "OUTCOME_UNKNOWN",
    "UNREADABLE_RESPONSE",
    "FieldValue",
    "MergeOutcome",
    "MergeRequest",
    "merge_envelope",
    "outcome_without_answer",
    "parse_merge_response",
]

log = structlog.get_logger("sfsync.salesforce")

SOBJECT_NS: Final = "urn:sobject.partner.soap.sforce.com"
MERGEABLE: Final = frozenset({"Lead", "Contact", "Account"})
MAX_RECORDS_TO_MERGE: Final = 2
# A merged record is deleted: merging it again is refused with this code. When sfsync
# sent the merge, that is most often its own earlier call whose answer was lost: the
# records are re-read and, merged into this master, settled as written.
ALREADY_MERGED: Final = "ENTITY_IS_DELETED"
CHECK_CODES: Final = frozenset({OUTCOME_UNKNOWN, UNREADABLE_RESPONSE, ALREADY_MERGED})
# Field names become element names: nothing but an API name may get into the envelope.
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SOBJECT_KEYS = frozenset({"id", "type", "fieldstonull"})

FieldValue = str | int | float | bool | date | datetime | None


@dataclass(frozen=True)
class MergeRequest:
    """Fold `merge_ids` (one or two records) into `master_id`, all of type `sobject`.

    `fields` are written to the master as part of the merge (the values it
    keeps from the others); None clears a field. Input is checked here:
    a bad id, a master among the merged, an unknown type or field name is a ValueError.
    """

    master_id: str
    merge_ids: tuple[str, ...]
    sobject: str = "Lead"
    fields: Mapping[str, FieldValue] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "merge_ids", tuple(self.merge_ids))
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        if self.sobject not in MERGEABLE:
            raise ValueError(f"only {sorted(MERGEABLE)} records merge, not {self.sobject!r}")
        _check_ids(self.master_id, self.merge_ids)
        for name, value in self.fields.items():
            _check_field(name, value)


def _check_ids(master_id: str, merge_ids: tuple[str, ...]) -> None:
    if not 1 <= len(merge_ids) <= MAX_RECORDS_TO_MERGE:
        raise ValueError(f"a merge takes 1 to {MAX_RECORDS_TO_MERGE} records, not {len(merge_ids)}")
    for value in (master_id, *merge_ids):
        if not is_id(value):
            raise ValueError(f"not a Salesforce id: {value!r}")
    bodies = [id15(master_id), *(id15(i) for i in merge_ids)]
    if len(set(bodies)) != len(bodies):
        raise ValueError("the master and the records to merge must be distinct records")


def _check_field(name: str, value: FieldValue) -> None:
    if not _API_NAME.match(name) or name.lower() in _SOBJECT_KEYS:
        raise ValueError(f"not a field the masterRecord can carry: {name!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name}: a number must be finite")
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"{name}: datetimes must be timezone-aware")


@dataclass(frozen=True)
class MergeOutcome:
    """The org's answer for one request: merged (with what moved), or why not.

    A merge settled by re-reading the records (`needs_check` was True) knows
    `merged_ids` but not `updated_related_ids`.
    """

    request: MergeRequest
    outcome: WriteOutcome
    merged_ids: tuple[str, ...] = ()
    updated_related_ids: tuple[str, ...] = ()
    error_code: str | None = None
    message: str | None = None
    fields: tuple[str, ...] = ()

    @property
    def master_id(self) -> str:
        """The record the others were (to be) merged into."""
        return self.request.master_id

    @property
    def needs_check(self) -> bool:
        """True when the org may have merged the records: re-read them before sending again."""
        return self.error_code in CHECK_CODES


def outcome_without_answer(request: MergeRequest, code: str, message: str) -> MergeOutcome:
    """RETRY for a request the org gave no usable answer about (`code` says how sure we are)."""
    return MergeOutcome(request, WriteOutcome.RETRY, error_code=code, message=message)


# -- the request ---------------------------------------------------------------------


def merge_envelope(session_id: str, requests: Sequence[MergeRequest], client_name: str) -> bytes:
    """The `merge` call: one `request` per merge, in the types' element order."""
    items = "".join(_request(r) for r in requests)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" xmlns:urn="{PARTNER_NS}" '
        f'xmlns:ens="{SOBJECT_NS}">'
        "<soapenv:Header>"
        f"<urn:SessionHeader>{_element('sessionId', session_id)}</urn:SessionHeader>"
        f"<urn:CallOptions>{_element('client', client_name)}</urn:CallOptions>"
        "</soapenv:Header>"
        f"<soapenv:Body><urn:merge>{items}</urn:merge></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    return text.encode()


def _request(request: MergeRequest) -> str:
    cleared = [name for name, value in request.fields.items() if value is None]
    kept = [(name, value) for name, value in request.fields.items() if value is not None]
    record = (
        _sobject_element("type", request.sobject)
        + "".join(_sobject_element("fieldsToNull", name) for name in cleared)
        + _sobject_element("Id", request.master_id)
        + "".join(_sobject_element(name, _text_of(value)) for name, value in kept)
    )
    ids = "".join(_element("recordToMergeIds", i) for i in request.merge_ids)
    return f"<urn:request><urn:masterRecord>{record}</urn:masterRecord>{ids}</urn:request>"


def _sobject_element(name: str, value: str) -> str:
    """An element of the sObject namespace, its value escaped (`name` is an API name)."""
    return f"<ens:{name}>{escape(_NOT_XML_CHARS.sub('', value))}</ens:{name}>"


def _text_of(value: FieldValue) -> str:
    """A field value as xsd text: booleans lower-case, dates ISO 8601, floats exact."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


# -- the answer ----------------------------------------------------------------------


def parse_merge_response(body: bytes, requests: Sequence[MergeRequest]) -> list[MergeOutcome]:
    """One outcome per request sent, matched in order; an unreadable answer makes all RETRY."""
    items = result_items(body, "mergeResponse", len(requests))
    if items is None:
        message = "the org's answer could not be read"
        return [outcome_without_answer(r, UNREADABLE_RESPONSE, message) for r in requests]
    return [_outcome(r, item) for r, item in zip(requests, items, strict=True)]


def _outcome(request: MergeRequest, item: ET.Element) -> MergeOutcome:
    reported = _text(item, "id")
    succeeded = _text(item, "success") == "true"
    if (reported is not None or succeeded) and id15(reported or "") != id15(request.master_id):
        return outcome_without_answer(request, UNREADABLE_RESPONSE, "a result for another record")
    if succeeded:
        return MergeOutcome(
            request,
            WriteOutcome.WRITTEN,
            merged_ids=_texts(item, "mergedRecordIds"),
            updated_related_ids=_texts(item, "updatedRelatedIds"),
        )
    error = item.find(_tag("errors"))
    code = (_text(error, "statusCode") if error is not None else None) or "UNKNOWN_ERROR"
    message = (_text(error, "message") if error is not None else None) or ""
    again = classify_record(code, message).action is Action.RETRY or code in CHECK_CODES
    return MergeOutcome(
        request,
        WriteOutcome.RETRY if again else WriteOutcome.REJECTED,
        error_code=code,
        message=message or None,
        fields=tuple(f.text or "" for f in error.findall(_tag("fields")))
        if error is not None
        else (),
    )


def _texts(parent: ET.Element, name: str) -> tuple[str, ...]:
    return tuple(text for e in parent.findall(_tag(name)) if (text := (e.text or "").strip()))
