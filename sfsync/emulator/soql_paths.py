"""Reading a field path off a record, following parent ids through the org's tables.

The parent's type is picked by its id's key prefix, because a polymorphic
reference (Lead `OwnerId`) holds a User id or a Group id; a name the actual
parent type lacks reads as None. Getters are built once per execution so the
per-record work is a few dict lookups.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sfsync.emulator.results import Record
from sfsync.emulator.schema import OrgSchema
from sfsync.emulator.soql_fields import parent_types

Getter = Callable[[Record], Any]
# (object type of the record, record) -> value: for records whose type varies.
TypedGetter = Callable[[str, Record], Any]
# Object name -> its table; called once per parent type when a getter is built.
TableSource = Callable[[str], Mapping[str, Record]]


class ParentFinder:
    """Finds a parent record by id among the tables of the types a relationship points to."""

    def __init__(self, schema: OrgSchema, tables: TableSource, targets: Sequence[str]) -> None:
        self._by_prefix = {schema.objects[name].key_prefix: name for name in targets}
        self._tables = {name: tables(name) for name in targets}

    def __call__(self, parent_id: Any) -> tuple[str, Record] | None:
        """The parent's type and record, or None when the id is empty or dangling."""
        if not parent_id:
            return None
        name = self._by_prefix.get(parent_id[:3])
        if name is None:
            return None
        record = self._tables[name].get(parent_id)
        return None if record is None else (name, record)


def reference_fields(schema: OrgSchema, objects: Sequence[str], key: str) -> dict[str, str]:
    """Object type -> the reference field behind relationship `key` on that type."""
    found: dict[str, str] = {}
    for name in objects:
        ref = schema.objects[name].relationship(key)
        if ref is not None:
            found[name] = ref.name
    return found


def hop(
    schema: OrgSchema, tables: TableSource, objects: Sequence[str], key: str
) -> tuple[list[str], Callable[[str, Record], tuple[str, Record] | None]]:
    """The parent types of relationship `key` and a function from a record to its parent."""
    targets = parent_types(schema, [schema.objects[name] for name in objects], key)
    refs = reference_fields(schema, objects, key)
    find = ParentFinder(schema, tables, targets)

    def parent(obj: str, record: Record) -> tuple[str, Record] | None:
        ref = refs.get(obj)
        return None if ref is None else find(record.get(ref))

    return targets, parent


def getter(schema: OrgSchema, tables: TableSource, root: str, keys: Sequence[str]) -> Getter:
    """A function reading the path `keys` off a record of `root` (None along a null parent)."""
    if len(keys) == 1:
        name = keys[0]
        return lambda record: record.get(name)
    typed = _typed_getter(schema, tables, [root], keys)
    return lambda record: typed(root, record)


def _typed_getter(
    schema: OrgSchema, tables: TableSource, objects: Sequence[str], keys: Sequence[str]
) -> TypedGetter:
    if len(keys) == 1:
        return _leaf_getter(schema, objects, keys[0])
    targets, parent = hop(schema, tables, objects, keys[0])
    rest = _typed_getter(schema, tables, targets, keys[1:])

    def get(obj: str, record: Record) -> Any:
        found = parent(obj, record)
        return None if found is None else rest(*found)

    return get


def _leaf_getter(schema: OrgSchema, objects: Sequence[str], key: str) -> TypedGetter:
    names = {obj: f.name for obj in objects if (f := schema.objects[obj].field(key))}

    def get(obj: str, record: Record) -> Any:
        name = names.get(obj)
        return None if name is None else record.get(name)

    return get
