"""Matched records rendered exactly as Salesforce's REST query returns them.

Each row carries `attributes {type, url}`, then the selected fields in SELECT
order under their canonical names; parent fields nest under the relationship
name (`"Owner": {"attributes": ..., "Name": ...}`), a null parent renders as
null, and values take their JSON form (datetimes `...T12:34:56.000+0000`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeAlias

from sfsync.emulator.results import Record
from sfsync.emulator.schema import FieldDef, OrgSchema
from sfsync.emulator.soql_ast import FieldPath
from sfsync.emulator.soql_paths import TableSource, TypedGetter, hop

Row = dict[str, Any]
# Relationship or field name -> nested plan for a relationship, None for a field.
Plan: TypeAlias = dict[str, "Plan | None"]
_Renderer = Callable[[str, Record], Row]


def format_datetime(value: datetime) -> str:
    """Salesforce's JSON datetime: UTC, milliseconds, `+0000`."""
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+0000"


def _format_date(value: date) -> str:
    return value.isoformat()


_FORMATS: dict[str, Callable[[Any], Any]] = {
    "datetime": format_datetime,
    "date": _format_date,
    "int": int,
    "double": float,
    "currency": float,
    "percent": float,
    "boolean": bool,
}


def json_value(field: FieldDef, value: Any) -> Any:
    """A record value in its REST JSON form (numbers as JSON numbers of the field's kind)."""
    if value is None:
        return None
    fmt = _FORMATS.get(field.type)
    return value if fmt is None else fmt(value)


def plan_for(paths: Sequence[FieldPath]) -> Plan:
    """The nesting of the selected paths; a relationship sits where it is first named."""
    plan: Plan = {}
    for path in paths:
        node = plan
        for key in path.keys[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            node = child
        node[path.keys[-1]] = None
    return plan


def renderer(
    schema: OrgSchema,
    tables: TableSource,
    root: str,
    paths: Sequence[FieldPath],
    api_version: str,
) -> Callable[[Record], Row]:
    """A function rendering one `root` record with the selected paths."""
    base = f"/services/data/v{api_version.removeprefix('v')}/sobjects"
    render = _object_renderer(schema, tables, [root], plan_for(paths), base)
    return lambda record: render(root, record)


def _object_renderer(
    schema: OrgSchema, tables: TableSource, objects: Sequence[str], plan: Plan, base: str
) -> _Renderer:
    entries: list[tuple[str, TypedGetter]] = []
    for key, sub in plan.items():
        if sub is None:
            entries.append((key, _leaf(schema, objects, key)))
        else:
            entries.append((key, _parent(schema, tables, objects, key, (sub, base))))

    def render(obj: str, record: Record) -> Row:
        row: Row = {"attributes": {"type": obj, "url": f"{base}/{obj}/{record['Id']}"}}
        for key, value in entries:
            row[key] = value(obj, record)
        return row

    return render


def _leaf(schema: OrgSchema, objects: Sequence[str], key: str) -> TypedGetter:
    fields = {obj: f for obj in objects if (f := schema.objects[obj].field(key))}

    def value(obj: str, record: Record) -> Any:
        field = fields.get(obj)
        # A polymorphic parent of a type without this field renders it as null.
        return None if field is None else json_value(field, record.get(field.name))

    return value


def _parent(
    schema: OrgSchema,
    tables: TableSource,
    objects: Sequence[str],
    key: str,
    sub: tuple[Plan, str],
) -> TypedGetter:
    targets, parent = hop(schema, tables, objects, key)
    render = _object_renderer(schema, tables, targets, *sub)

    def value(obj: str, record: Record) -> Row | None:
        found = parent(obj, record)
        return None if found is None else render(*found)

    return value
