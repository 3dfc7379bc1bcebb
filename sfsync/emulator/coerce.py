"""JSON values to the Python types records hold, field type by field type.

A REST body is deserialised before anything else runs, so a value of the
wrong kind, or a field the object does not have, fails the record with the
parser's error. Salesforce stores an empty string as null, rounds numbers to
the field's scale, and keeps datetimes to whole seconds; so does this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sfsync.emulator import messages
from sfsync.emulator.results import OrgError, Record
from sfsync.emulator.schema import NUMBER_TYPES, TEXT_TYPES, FieldDef, ObjectSchema
from sfsync.ids import is_id, to18

# Keys of a REST body that describe the record rather than set a field.
METADATA_KEYS = frozenset({"attributes"})


class WrongKind(ValueError):
    """The JSON value cannot become a value of the field's type."""


def parse_values(obj: ObjectSchema, values: Mapping[str, Any]) -> tuple[Record, list[OrgError]]:
    """The body's fields under their API names, as Python values, and any parser errors."""
    changes: Record = {}
    errors: list[OrgError] = []
    for name, value in values.items():
        if name in METADATA_KEYS:
            continue
        field = obj.field(name)
        if field is None:
            errors.append(messages.no_such_column(name, obj))
            continue
        try:
            changes[field.name] = coerce(field, value)
        except WrongKind:
            errors.append(_parser_error(field, value))
    return changes, errors


def coerce(field: FieldDef, value: Any) -> Any:
    """`value` as the record stores it for `field`; raises `WrongKind`."""
    if isinstance(value, list | dict):
        raise WrongKind(field.name)
    if field.type == "boolean":
        return _boolean(value)
    if value is None or value == "":
        return None
    if field.type in TEXT_TYPES:
        return _text(field, value)
    converter = _CONVERTERS.get(field.type)
    if converter is None:
        raise WrongKind(field.type)
    return converter(field, value)


def _parser_error(field: FieldDef, value: Any) -> OrgError:
    token, shown = _json_token(value)
    return messages.cannot_deserialize(_TYPE_NAMES.get(field.type, "string"), token, shown)


def _json_token(value: Any) -> tuple[str, str]:
    """The Jackson token name of a JSON value, and how the parser echoes it."""
    if isinstance(value, bool):
        return ("VALUE_TRUE" if value else "VALUE_FALSE"), str(value).lower()
    if isinstance(value, int):
        return "VALUE_NUMBER_INT", str(value)
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT", repr(value)
    if isinstance(value, list):
        return "START_ARRAY", "["
    if isinstance(value, dict):
        return "START_OBJECT", "{"
    return "VALUE_STRING", str(value)


def _boolean(value: Any) -> bool:
    # A null checkbox is saved unchecked.
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise WrongKind("boolean")


def _text(field: FieldDef, value: Any) -> str:
    # The parser turns numbers into text for text fields; a boolean it refuses.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise WrongKind(field.type)
    text = value if isinstance(value, str) else str(value)
    if field.type in ("reference", "id") and is_id(text):
        return to18(text)
    return text


def _number(field: FieldDef, value: Any) -> float:
    number = _finite(value)
    if field.scale or field.precision:
        exponent = Decimal(1).scaleb(-field.scale)
        number = float(Decimal(repr(number)).quantize(exponent, rounding=ROUND_HALF_UP))
    return number


def _integer(field: FieldDef, value: Any) -> int:
    number = _finite(value)
    if not number.is_integer():
        raise WrongKind(field.type)
    return int(number)


def _finite(value: Any) -> float:
    if isinstance(value, bool):
        raise WrongKind("number")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise WrongKind("number") from exc
    if not math.isfinite(number):
        raise WrongKind("number")
    return number


def _date(field: FieldDef, value: Any) -> date:
    if not isinstance(value, str) or len(value) != len("2024-05-01"):
        raise WrongKind(field.type)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise WrongKind(field.type) from exc


def _datetime(field: FieldDef, value: Any) -> datetime:
    """ISO 8601 with a time part; no offset means UTC, as the API assumes."""
    if not isinstance(value, str) or "T" not in value:
        raise WrongKind(field.type)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise WrongKind(field.type) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


_CONVERTERS: dict[str, Callable[[FieldDef, Any], Any]] = {
    **{kind: _number for kind in NUMBER_TYPES - {"int"}},
    "int": _integer,
    "date": _date,
    "datetime": _datetime,
}

_TYPE_NAMES = {
    **{kind: "double" for kind in NUMBER_TYPES - {"int"}},
    "int": "int",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}
