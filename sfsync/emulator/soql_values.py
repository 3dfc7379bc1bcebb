"""Literals checked against the field they are compared with, as Salesforce checks them.

A datetime field takes a datetime literal or a relative date (TODAY...), a
date field a date literal; quoted text never stands for a number, a boolean
or a date. Ids are normalised to 18 characters so 15-character ids match.
"""

from __future__ import annotations

from sfsync.emulator.schema import NUMBER_TYPES
from sfsync.emulator.soql_ast import (
    INVALID_QUERY_FILTER_OPERATOR,
    MALFORMED_QUERY,
    FieldPath,
    Problem,
    Value,
)
from sfsync.emulator.soql_literals import Literal
from sfsync.ids import InvalidId, to18

# Literal kinds each kind of field accepts, besides null.
_ACCEPTS = {
    "text": {"string"},
    "id": {"string"},
    "boolean": {"boolean"},
    "number": {"number"},
    "date": {"date", "range"},
    "datetime": {"datetime", "range"},
}
_SOQL_TYPE = {
    "text": "string",
    "id": "id",
    "boolean": "boolean",
    "number": "double",
    "date": "date",
    "datetime": "dateTime",
}


def field_kind(field_type: str) -> str:
    """How SOQL compares a field of this type: text, id, boolean, number, date or datetime."""
    if field_type in ("id", "reference"):
        return "id"
    if field_type in NUMBER_TYPES:
        return "number"
    if field_type in ("boolean", "date", "datetime"):
        return field_type
    return "text"


def typed(path: FieldPath, literal: Literal) -> Value:
    """The value `literal` stands for when compared with `path`; MALFORMED_QUERY if it cannot."""
    kind = field_kind(path.type)
    if literal.kind == "null":
        return None
    if literal.kind not in _ACCEPTS[kind]:
        raise Problem(MALFORMED_QUERY, wrong_type(path), literal.token)
    # Salesforce stores no empty strings: '' is how a query says null.
    if kind in ("text", "id") and literal.value == "":
        return None
    if kind == "id":
        return _id(literal)
    return literal.value


def check_like(path: FieldPath, literal: Literal) -> None:
    """LIKE takes a quoted pattern and only applies to text fields."""
    kind = field_kind(path.type)
    if literal.kind != "string":
        raise Problem(MALFORMED_QUERY, wrong_type(path, "text"), literal.token)
    if kind != "text":
        detail = f"invalid operator on {_type_name(path, kind)} field: {path.label}"
        raise Problem(MALFORMED_QUERY, detail, literal.token)


def wrong_type(path: FieldPath, kind: str | None = None) -> str:
    """Salesforce's message for a literal of the wrong type."""
    kind = kind or field_kind(path.type)
    name = _type_name(path, kind)
    negation = "" if kind in ("text", "id") else "not "
    return (
        f"value of filter criterion for field '{path.label}' must be of type {name} "
        f"and should {negation}be enclosed in quotes"
    )


def _type_name(path: FieldPath, kind: str) -> str:
    return "integer" if path.type == "int" and kind == "number" else _SOQL_TYPE[kind]


def _id(literal: Literal) -> str:
    try:
        return to18(str(literal.value))
    except InvalidId:
        detail = f"invalid ID field: {literal.value}"
        raise Problem(INVALID_QUERY_FILTER_OPERATOR, detail, literal.token) from None
