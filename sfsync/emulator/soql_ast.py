"""The checked form of a SOQL query, and the error every SOQL stage raises.

A `Query` is what `soql.parse` returns: names already resolved against the
org's schema (canonical casing), literals already typed for the field they
are compared with, so `soql.execute` never has to report a query error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeAlias

from lark import Token

from sfsync.emulator.schema import OrgSchema

# Salesforce's errorCode values that a query can fail with.
MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"
INVALID_QUERY_FILTER_OPERATOR = "INVALID_QUERY_FILTER_OPERATOR"
NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"


class SoqlError(Exception):
    """A query Salesforce would refuse: `error_code` and a message pointing at the problem.

    `error_code` is MALFORMED_QUERY (syntax, literal of the wrong type,
    unsupported construct), INVALID_FIELD, INVALID_TYPE (unknown sObject),
    INVALID_QUERY_FILTER_OPERATOR (bad id literal, operator not valid for the
    field) or NUMBER_OUTSIDE_VALID_RANGE (OFFSET above 2,000), as Salesforce
    reports them in a REST error body.
    """

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


class Problem(Exception):
    """A query error found while checking the tree, still to be placed in the query text.

    Checking code knows the offending token but not the text; `parse` turns
    this into a `SoqlError` whose message quotes the row and column.
    """

    def __init__(self, error_code: str, detail: str, token: Token | None) -> None:
        super().__init__(detail)
        self.error_code = error_code
        self.detail = detail
        self.token = token


def located_message(text: str, line: int, column: int, detail: str) -> str:
    """Salesforce's error layout: the query row, a caret, the row and column, the detail."""
    rows = text.split("\n")
    row = rows[line - 1] if 0 < line <= len(rows) else ""
    return f"\n{row}\n{' ' * (column - 1)}^\nERROR at Row:{line}:Column:{column}\n{detail}"


@dataclass(frozen=True)
class FieldPath:
    """A field of the queried object, maybe reached through parent relationships.

    `keys` are canonical API names: relationship names then the field
    (`("Owner", "Name")`); they are also the JSON keys of a rendered row.
    `type` is the leaf's field type (on the first parent type that has it).
    """

    keys: tuple[str, ...]
    type: str

    @property
    def label(self) -> str:
        """The dotted name, as Salesforce prints it in messages and CSV headers."""
        return ".".join(self.keys)


@dataclass(frozen=True)
class DateRange:
    """A relative date literal (TODAY, LAST_N_DAYS:n...): `days` whole days from today+`first`.

    The range is only fixed at execution, against that execution's `now`.
    """

    first: int
    days: int


Value: TypeAlias = str | int | float | bool | date | datetime | DateRange | None


@dataclass(frozen=True)
class Compare:
    """`path op value`; `op` is one of = != < <= > >= (`<>` is stored as `!=`)."""

    path: FieldPath
    op: str
    value: Value


@dataclass(frozen=True)
class InList:
    """`path IN (...)`, or `NOT IN` when negated."""

    path: FieldPath
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    """`path LIKE '...'`; `regex` matches the case-folded value in full."""

    path: FieldPath
    regex: str


@dataclass(frozen=True)
class BoolOp:
    """A run of conditions joined by one operator (`and` or `or`): SOQL never mixes them."""

    op: str
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """`NOT condition`."""

    item: Condition


Condition: TypeAlias = Compare | InList | Like | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key; `nulls_first` is already defaulted (ASC first, DESC last)."""

    path: FieldPath
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    """A checked SOQL query, ready for `soql.execute` (any number of times)."""

    text: str
    sobject: str
    fields: tuple[FieldPath, ...]
    is_count: bool
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int
    # Parent lookups at execution pick the parent's type by id prefix.
    schema: OrgSchema = field(repr=False, compare=False)
