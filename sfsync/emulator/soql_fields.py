"""Field paths resolved against the org's schema, with Salesforce's wording for unknown names.

A path may cross parent relationships (`Account.Owner.Name`). A polymorphic
relationship (Lead `Owner` → User or Group) is followed to every type it can
point to: the path is valid when one of them has the next name.
"""

from __future__ import annotations

from collections.abc import Sequence

from lark import Token

from sfsync.emulator.schema import FieldDef, ObjectSchema, OrgSchema
from sfsync.emulator.soql_ast import INVALID_FIELD, FieldPath, Problem

_NO_COLUMN = (
    "No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
    "field, be sure to append the '__c' after the custom field name. Please reference your "
    "WSDL or the describe call for the appropriate names."
)
_NO_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a "
    "custom relationship, be sure to append the '__r' after the custom relationship name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
# Salesforce's name for the entity behind a polymorphic relationship.
_POLYMORPHIC_ENTITY = "Name"


def resolve(
    schema: OrgSchema, root: ObjectSchema, names: Sequence[Token]
) -> tuple[FieldPath, FieldDef]:
    """The canonical path for a dotted name written in any casing, and the field it ends on.

    Raises INVALID_FIELD pointing at the path's start when a name is unknown.
    """
    keys, leaf = _walk(schema, root, names)
    return FieldPath((*keys, leaf.name), leaf.type), leaf


def parent_types(schema: OrgSchema, objects: Sequence[ObjectSchema], key: str) -> list[str]:
    """The object types relationship `key` can point to from any of `objects`."""
    targets: dict[str, None] = {}
    for obj in objects:
        ref = obj.relationship(key)
        if ref is not None:
            targets.update(dict.fromkeys(ref.reference_to))
    return [found.name for name in targets if (found := schema.get(name)) is not None]


def is_long_text(leaf: FieldDef) -> bool:
    """Long text areas can be neither filtered nor sorted (describe says so too)."""
    return leaf.type == "textarea" and leaf.length > 255


def _walk(
    schema: OrgSchema, root: ObjectSchema, names: Sequence[Token]
) -> tuple[list[str], FieldDef]:
    objects = [root]
    keys: list[str] = []
    for token in names[:-1]:
        ref = next((r for o in objects if (r := o.relationship(str(token)))), None)
        if ref is None or ref.relationship_name is None:
            raise Problem(INVALID_FIELD, _NO_RELATIONSHIP.format(name=token), names[0])
        keys.append(ref.relationship_name)
        objects = [schema.objects[name] for name in parent_types(schema, objects, str(token))]
    return keys, _leaf(objects, names[-1], names[0])


def _leaf(objects: list[ObjectSchema], token: Token, start: Token) -> FieldDef:
    found = next((f for o in objects if (f := o.field(str(token)))), None)
    if found is None:
        entity = objects[0].name if len(objects) == 1 else _POLYMORPHIC_ENTITY
        raise Problem(INVALID_FIELD, _NO_COLUMN.format(name=token, entity=entity), start)
    return found
