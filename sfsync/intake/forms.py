"""Reading a form post: the body into fields, the fields into Lead values. Pure, no I/O.

Everything a hostile client can send ends here as an `IntakeRefused` with a
status, a stable code and a message that names fields but never echoes their
values. Accepted text is kept exactly as sent (trimmed): a `<script>` tag is
stored and sent to Salesforce as plain text, and nothing here ever renders it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from sfsync.intake.config import FormConfig, Limits

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
ACCEPTED_TYPES = (FORM_TYPE, JSON_TYPE)
UTF8_NAMES = frozenset({"utf-8", "utf8"})
# C0 controls and DEL, except tab, line feed and carriage return (multi-line messages).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Scalar = str | int | float | bool


class IntakeRefused(Exception):
    """A post the endpoint refuses: HTTP status, a stable code, a message safe to show."""

    def __init__(
        self,
        status: HTTPStatus,
        code: str,
        message: str,
        *,
        fields: tuple[str, ...] = (),
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields, self.retry_after = fields, retry_after


def _bad(code: str, message: str, *fields: str) -> IntakeRefused:
    return IntakeRefused(HTTPStatus.BAD_REQUEST, code, message, fields=fields)


def _invalid(code: str, message: str, *fields: str) -> IntakeRefused:
    return IntakeRefused(HTTPStatus.UNPROCESSABLE_ENTITY, code, message, fields=fields)


@dataclass(frozen=True)
class Posted:
    """A parsed body: its fields (first value each) and whether it came form-encoded."""

    fields: Mapping[str, Scalar | None]
    form_encoded: bool
    # Names given more than once (checkbox groups do that; a mapped field may not).
    repeated: frozenset[str] = frozenset()


def media_type(content_type: str | None) -> str:
    """The accepted media type of a Content-Type header, or a 415 refusal."""
    if not content_type:
        raise IntakeRefused(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", _types_message()
        )
    kind, *params = (p.strip() for p in content_type.split(";"))
    kind = kind.lower()
    if kind not in ACCEPTED_TYPES:
        raise IntakeRefused(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", _types_message()
        )
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip(' "').lower() not in UTF8_NAMES:
            raise IntakeRefused(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_charset", "send UTF-8 text"
            )
    return kind


def _types_message() -> str:
    return f"send {FORM_TYPE} or {JSON_TYPE}"


def parse_body(body: bytes, kind: str, limits: Limits) -> Posted:
    """The fields of a body of an accepted media type; 400 for anything malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("not_utf8", "the body is not UTF-8 text") from None
    if kind == JSON_TYPE:
        return Posted(_json_fields(text, limits), form_encoded=False)
    return _form_fields(text, limits)


def _form_fields(text: str, limits: Limits) -> Posted:
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=limits.max_fields,
        )
    except UnicodeDecodeError:
        raise _bad("not_utf8", "a form value is not UTF-8 once decoded") from None
    except ValueError:
        raise _bad("too_many_fields", f"more than {limits.max_fields} fields") from None
    fields: dict[str, Scalar | None] = {}
    repeated = set()
    for name, value in pairs:
        if name in fields:
            repeated.add(name)
        else:
            fields[name] = value
    return Posted(fields, form_encoded=True, repeated=frozenset(repeated))


def _json_fields(text: str, limits: Limits) -> dict[str, Scalar | None]:
    try:
        data = json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_no_constant)
    except _Repeated as exc:
        raise _bad("repeated_field", f"field {_shown(exc.name)} is given more than once") from None
    except (ValueError, RecursionError):
        raise _bad("bad_json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _bad("bad_json", "the JSON body must be an object of field names and values")
    if len(data) > limits.max_fields:
        raise _bad("too_many_fields", f"more than {limits.max_fields} fields")
    for name, value in data.items():
        if isinstance(value, dict | list):
            raise _bad(
                "nested_value", f"field {_shown(name)}: nested values are not accepted", name
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad("bad_number", f"field {_shown(name)}: not a finite number", name)
    return data


class _Repeated(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise _Repeated(name)
        found[name] = value
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def honeypot_filled(posted: Posted, form: FormConfig) -> bool:
    """True when the field people never see holds anything: a bot filled it."""
    if form.honeypot is None:
        return False
    if form.honeypot in posted.repeated:
        return True
    value = posted.fields.get(form.honeypot)
    return value not in (None, "", False) and not (isinstance(value, str) and not value.strip())


def lead_values(posted: Posted, form: FormConfig, limits: Limits) -> dict[str, Scalar]:
    """The form's fields as Lead values: mapped, trimmed, checked; constants added.

    Fields the form does not map are ignored (and never stored). Blank values
    count as absent.
    """
    values: dict[str, Scalar] = {}
    for name, lead_field in form.fields.items():
        if name in posted.repeated:
            raise _bad("repeated_field", f"field {_shown(name)} is given more than once", name)
        value = _clean(name, posted.fields.get(name))
        if value is None:
            continue
        if isinstance(value, str):
            limit = form.max_length(lead_field, limits.max_field_length)
            if len(value) > limit:
                raise _invalid("too_long", f"field {_shown(name)} is longer than {limit}", name)
        values[lead_field] = value
    missing = [form.form_field(f) for f in form.required if f not in values]
    if missing:
        raise _invalid("missing_fields", f"required: {', '.join(missing)}", *missing)
    return {**dict(form.constants), **values}


def _clean(name: str, value: Scalar | None) -> Scalar | None:
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON escape ("\ud800")
        raise _bad("not_utf8", f"field {_shown(name)} is not valid Unicode text", name) from None
    if _CONTROL.search(text):
        raise _bad("control_characters", f"field {_shown(name)} holds control characters", name)
    return text or None


def _shown(name: str) -> str:
    """A field name fit for a message: client-chosen, so cut short and without controls."""
    clean = _CONTROL.sub("?", name)
    try:
        clean.encode("utf-8")
    except UnicodeEncodeError:
        clean = clean.encode("utf-8", "replace").decode("utf-8")
    return repr(clean[:60] + ("…" if len(clean) > 60 else ""))
