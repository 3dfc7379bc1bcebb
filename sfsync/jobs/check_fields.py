"""Checks of single fields, written values and criteria rows against the Lead describe.

Shared by every rule file: a field a rule reads must exist (a describe lists
only fields the user can read); a field it writes must be updateable; a value
it writes or compares a picklist with must be one of the picklist's values; a
text value must fit the field, or it could never be stored or matched.
Facts (`$email.free`) are not Lead fields: they are checked against the
names enrichment derives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sfsync.connectors.salesforce import FieldInfo, ObjectInfo
from sfsync.jobs.check_base import Problem, Source
from sfsync.mappings import Path_
from sfsync.rules.criteria import Criterion, Operator
from sfsync.rules.enrich_config import Fact

TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist"})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})
# Operators that test a field's value against the listed values.
_MEMBERSHIP = frozenset({Operator.EQUALS, Operator.NOT_EQUAL, Operator.IN, Operator.NOT_IN})
# Operators whose value must fit inside the field's text to ever match.
_TEXTUAL = _MEMBERSHIP | {
    Operator.CONTAINS,
    Operator.DOES_NOT_CONTAIN,
    Operator.CONTAINS_WORD,
    Operator.STARTS_WITH,
}
_FACTS = frozenset(f.value for f in Fact)
_SHOWN = 40


def readable(source: Source, key: Path_, name: str, lead: ObjectInfo) -> Problem | None:
    """A field (or `$fact`) a rule reads: the org has it, or enrichment derives it."""
    if name.startswith("$"):
        if name in _FACTS:
            return None
        known = ", ".join(sorted(_FACTS))
        return source.problem(key, f"no fact {name!r}; enrichment derives {known}")
    if name not in lead.fields:
        return source.problem(key, f"no field {name!r} on Lead in the org")
    return None


def writable(source: Source, key: Path_, name: str, lead: ObjectInfo) -> Problem | None:
    """A field a rule writes: the org has it and lets sfsync update it."""
    info = lead.fields.get(name)
    if info is None:
        return source.problem(key, f"no field {name!r} on Lead in the org")
    if not info.updateable:
        return source.problem(
            key, f"{name} is not updateable in the org (sfsync could never write it)"
        )
    return None


def constant(source: Source, key: Path_, value: str, info: FieldInfo) -> Problem | None:
    """A fixed value a rule writes: one of the picklist's values, short enough for the field."""
    if info.picklist and value not in info.picklist:
        allowed = ", ".join(info.picklist)
        return source.problem(
            key, f"{value!r} is not a value of {info.name} in the org ({allowed})"
        )
    if info.type in TEXT_TYPES and 0 < info.length < len(value):
        return source.problem(
            key, f"{_shown(value)} is longer than {info.name}'s {info.length} characters"
        )
    return None


def constants(
    source: Source, items: Iterable[tuple[Path_, str]], info: FieldInfo | None
) -> list[Problem]:
    """`constant` for each (key, value); nothing to say when the field itself is missing."""
    if info is None:
        return []
    return [p for key, value in items if (p := constant(source, key, value, info))]


def criteria(
    source: Source, key: Path_, rows: Sequence[Criterion], lead: ObjectInfo
) -> list[Problem]:
    """Every row of a rule's `criteria` list at `key`: its field, then its values."""
    problems: list[Problem] = []
    for index, row in enumerate(rows):
        at = (*key, index)
        missing = readable(source, (*at, "field"), row.field, lead)
        if missing is not None:
            problems.append(missing)
        elif not row.field.startswith("$"):
            problems += _row_values(source, at, row, lead.fields[row.field])
    return problems


def _row_values(source: Source, at: Path_, row: Criterion, info: FieldInfo) -> Iterator[Problem]:
    """Values that could never match: not in the picklist, too long, not true/false."""
    if row.operator not in _TEXTUAL:
        return
    for value_key, value in _values(at, row.value):
        message = _value_problem(row.operator, value, info)
        if message:
            yield source.problem(value_key, message)


def _value_problem(operator: Operator, value: Any, info: FieldInfo) -> str | None:
    text = value if isinstance(value, str) else None
    if info.type == "boolean" and operator in _MEMBERSHIP:
        if isinstance(value, bool) or str(value).strip().casefold() in ("true", "false"):
            return None
        return f"{info.name} is true or false; {value!r} never matches"
    if text is None or not text.strip():
        return None
    folded = {p.casefold() for p in info.picklist}
    if info.picklist and operator in _MEMBERSHIP and text.strip().casefold() not in folded:
        allowed = ", ".join(info.picklist)
        return f"{text!r} is not a value of {info.name} in the org ({allowed})"
    if info.type in TEXT_TYPES and 0 < info.length < len(text.strip()):
        return (
            f"{_shown(text)} is longer than {info.name}'s {info.length} characters: never matches"
        )
    return None


def _values(at: Path_, value: Any) -> Iterator[tuple[Path_, Any]]:
    """Each value of a row with the key of its line (list items have their own)."""
    if isinstance(value, list | tuple):
        yield from (((*at, "value", i), item) for i, item in enumerate(value))
    elif value is not None:
        yield (*at, "value"), value


def _shown(text: str) -> str:
    short = text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
    return f"{short!r} ({len(text)} characters)"
