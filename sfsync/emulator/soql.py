"""The emulator's SOQL engine: parse a query against the org's schema, run it over its tables.

    query = soql.parse("SELECT Id, Owner.Name FROM Lead WHERE Email != null", org.schema)
    with org.lock:
        result = soql.execute(query, org.tables, include_deleted=False, api_version="62.0")
    records = result.page(0, 2000)

The subset: field lists with parent paths (polymorphic ones resolved by id
prefix), `COUNT()`, WHERE with AND / OR / NOT (never mixed without
parentheses), = != <> < <= > >= LIKE IN NOT IN, string / number / boolean /
null / date / datetime literals and TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n,
NEXT_N_DAYS:n; ORDER BY with ASC / DESC and NULLS FIRST / LAST; LIMIT;
OFFSET (at most 2,000). Errors are `SoqlError`s with Salesforce's errorCode.

Parts: soql_syntax (with soql.lark) parses and checks names (soql_fields)
and literals (soql_literals, soql_values); soql_eval compiles WHERE and
ORDER BY; soql_paths reads parent fields; soql_render makes the JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sfsync.emulator.results import Record
from sfsync.emulator.schema import OrgSchema
from sfsync.emulator.soql_ast import FieldPath, Query, SoqlError
from sfsync.emulator.soql_eval import compile_where, sort_rows
from sfsync.emulator.soql_paths import Getter, TableSource, getter
from sfsync.emulator.soql_render import Row, renderer
from sfsync.emulator.soql_syntax import MAX_OFFSET, parse_query

__all__ = ["MAX_OFFSET", "Query", "QueryResult", "SoqlError", "execute", "parse"]

Tables = Mapping[str, Mapping[str, Record]]


class QueryResult:
    """The rows one execution matched, kept as references and rendered page by page.

    Records are immutable in the org (a write replaces the dict), and parent
    tables are copied at execution, so a result is a consistent snapshot that
    can be paged later without the org's lock.
    """

    def __init__(
        self,
        query: Query,
        rows: list[Record],
        render: Callable[[Record], Row],
        getters: list[Getter],
    ) -> None:
        self.sobject = query.sobject
        self.is_count = query.is_count
        # For COUNT() the count; else the rows left after LIMIT and OFFSET.
        self.total_size = len(rows)
        self.columns = tuple(path.label for path in query.fields)
        self._rows = rows
        self._render = render
        self._getters = getters

    def page(self, start: int, size: int) -> list[dict[str, Any]]:
        """The JSON-ready records `start` to `start + size` (none for COUNT())."""
        if self.is_count:
            return []
        return [self._render(record) for record in self._rows[start : start + size]]

    def flat(self, start: int, size: int) -> list[tuple[Any, ...]]:
        """Raw Python values in `columns` order, for flat renderers such as Bulk API CSV."""
        if self.is_count:
            return []
        rows = self._rows[start : start + size]
        return [tuple(get(record) for get in self._getters) for record in rows]


def parse(text: str, schema: OrgSchema) -> Query:
    """Parse SOQL `text` and check it against `schema`; raises `SoqlError` as Salesforce would."""
    return parse_query(text, schema)


def execute(
    query: Query,
    tables: Tables,
    *,
    include_deleted: bool,
    api_version: str,
    now: datetime | None = None,
) -> QueryResult:
    """Run `query` over `tables` (`Org.tables`; hold the org's lock while this runs).

    `include_deleted` is queryAll; `now` fixes TODAY and LAST_N_DAYS (default:
    the current UTC time); `api_version` ("62.0") goes into each record's url.
    """
    rows = _matching(query, tables, include_deleted, now or datetime.now(UTC))
    if query.order_by:
        rows = sort_rows(rows, query.order_by, _getter_for(query, _live(tables)))
    end = None if query.limit is None else query.offset + query.limit
    rows = rows[query.offset : end]
    snapshot = _snapshot(tables)
    render = renderer(query.schema, snapshot, query.sobject, query.fields, api_version)
    getters = [_getter_for(query, snapshot)(path) for path in query.fields]
    return QueryResult(query, rows, render, getters)


def _matching(query: Query, tables: Tables, include_deleted: bool, now: datetime) -> list[Record]:
    records = tables.get(query.sobject, {}).values()
    if query.where is None:
        if include_deleted:
            return list(records)
        return [record for record in records if not record.get("IsDeleted")]
    keep = compile_where(query.where, _getter_for(query, _live(tables)), now)
    if include_deleted:
        return [record for record in records if keep(record)]
    return [record for record in records if not record.get("IsDeleted") and keep(record)]


def _getter_for(query: Query, tables: TableSource) -> Callable[[FieldPath], Getter]:
    return lambda path: getter(query.schema, tables, query.sobject, path.keys)


def _live(tables: Tables) -> TableSource:
    return lambda name: tables.get(name, {})


def _snapshot(tables: Tables) -> TableSource:
    """A table source copying each parent table once, on first use, for lazy rendering."""
    copies: dict[str, Mapping[str, Record]] = {}

    def source(name: str) -> Mapping[str, Record]:
        if name not in copies:
            copies[name] = dict(tables.get(name, {}))
        return copies[name]

    return source
