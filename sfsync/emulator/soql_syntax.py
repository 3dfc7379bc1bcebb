"""From SOQL text to a checked `Query`: lark parses (grammar in soql.lark), this walks the tree.

Every error carries Salesforce's errorCode and points at the row and column
of the offending token, so an admin's typo reads like it would in a real org.
"""

from __future__ import annotations

import functools
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from sfsync.emulator.schema import ObjectSchema, OrgSchema
from sfsync.emulator.soql_ast import (
    INVALID_FIELD,
    INVALID_TYPE,
    MALFORMED_QUERY,
    NUMBER_OUTSIDE_VALID_RANGE,
    BoolOp,
    Compare,
    Condition,
    FieldPath,
    InList,
    Like,
    Not,
    OrderItem,
    Problem,
    Query,
    SoqlError,
    located_message,
)
from sfsync.emulator.soql_fields import is_long_text, resolve
from sfsync.emulator.soql_literals import decode, like_regex
from sfsync.emulator.soql_values import check_like, typed

MAX_OFFSET = 2000
_NO_OBJECT = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, "
    "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
_ONLY_COUNT = (
    "aggregate and function calls are not supported by the emulator, only COUNT() "
    "alone in the SELECT list: {call}"
)


@functools.cache
def _parser() -> Lark:
    # Built once per process: compiling the LALR tables costs tens of milliseconds.
    grammar = resources.files(__package__).joinpath("soql.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="basic")


def parse_query(text: str, schema: OrgSchema) -> Query:
    """Parse `text` and check every name and literal against `schema`."""
    try:
        tree = _parser().parse(text)
        return _build(text, schema, tree)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except Problem as problem:
        raise _located(text, problem) from None


def _build(text: str, schema: OrgSchema, tree: Tree[Token]) -> Query:
    name = _tokens(tree)[2]
    root = schema.get(str(name))
    if root is None:
        raise Problem(INVALID_TYPE, _NO_OBJECT.format(name=name), name)
    clauses = {child.data: child for child in _trees(tree)}
    builder = _Builder(schema, root)
    # Clause by clause in text order, so the first error reported is the leftmost.
    fields, is_count = builder.select(clauses["select_list"])
    where = builder.where(clauses.get("where_clause"))
    return Query(
        text=text,
        sobject=root.name,
        fields=fields,
        is_count=is_count,
        where=where,
        order_by=builder.order_by(clauses.get("order_clause"), is_count),
        limit=_count_clause(clauses.get("limit_clause")),
        offset=_offset(clauses.get("offset_clause"), root),
        schema=schema,
    )


class _Builder:
    """Turns the clauses of one parse tree into checked AST values for object `root`."""

    def __init__(self, schema: OrgSchema, root: ObjectSchema) -> None:
        self.schema = schema
        self.root = root

    def select(self, tree: Tree[Token]) -> tuple[tuple[FieldPath, ...], bool]:
        """The selected paths, or () and True for `SELECT COUNT()`."""
        items = _trees(tree)
        calls = [item for item in items if item.data == "function_call"]
        if calls:
            _check_count(items, calls[0])
            return (), True
        paths: dict[str, FieldPath] = {}
        for item in items:
            path = self._path(item)
            if path.label.lower() in paths:
                detail = f"duplicate field selected: {path.label}"
                raise Problem(MALFORMED_QUERY, detail, _first_token(item))
            paths[path.label.lower()] = path
        return tuple(paths.values()), False

    def where(self, tree: Tree[Token] | None) -> Condition | None:
        """The WHERE condition, if any."""
        return None if tree is None else self._condition(_trees(tree)[0])

    def order_by(self, tree: Tree[Token] | None, is_count: bool) -> tuple[OrderItem, ...]:
        """The ORDER BY keys; COUNT() has no rows to order."""
        if tree is None:
            return ()
        items = _trees(tree)
        if is_count:
            names = _tokens(_trees(items[0])[0])
            detail = f"Ordered field must be grouped or aggregated: {'.'.join(names)}"
            raise Problem(MALFORMED_QUERY, detail, names[0])
        return tuple(self._order_item(item) for item in items)

    def _order_item(self, tree: Tree[Token]) -> OrderItem:
        path_tree, *options = _trees(tree)
        path = self._path(path_tree, "sorted")
        words = {token.type for option in options for token in _tokens(option)}
        descending = "DESC" in words
        nulls_first = "FIRST" in words or ("LAST" not in words and not descending)
        return OrderItem(path, descending, nulls_first)

    def _condition(self, tree: Tree[Token]) -> Condition:
        if tree.data in ("and_condition", "or_condition"):
            op = "and" if tree.data == "and_condition" else "or"
            return BoolOp(op, tuple(self._condition(item) for item in _trees(tree)))
        if tree.data == "not_condition":
            return Not(self._condition(_trees(tree)[0]))
        return self._comparison(tree)

    def _comparison(self, tree: Tree[Token]) -> Condition:
        path_tree, values = _trees(tree)
        path = self._path(path_tree, "filtered")
        if tree.data == "like":
            literal = decode(_tokens(values)[0])
            check_like(path, literal)
            return Like(path, like_regex(literal.token))
        if tree.data == "compare":
            op = str(_tokens(tree)[0])
            return Compare(path, "!=" if op == "<>" else op, typed(path, decode(_value(values))))
        listed = tuple(typed(path, decode(_value(value))) for value in _trees(values))
        return InList(path, listed, negated=tree.data == "not_in_list")

    def _path(self, tree: Tree[Token], use: str | None = None) -> FieldPath:
        """The path `tree` names; `use` (filtered, sorted) refuses long text areas."""
        names = _tokens(tree)
        path, leaf = resolve(self.schema, self.root, names)
        if use is not None and is_long_text(leaf):
            detail = f"field '{leaf.name}' can not be {use} in a query call"
            raise Problem(INVALID_FIELD, detail, names[0])
        return path


def _check_count(items: list[Tree[Token]], call: Tree[Token]) -> None:
    name = _tokens(call)[0]
    if name.upper() != "COUNT" or _trees(call):
        args = ", ".join(".".join(_tokens(path)) for arg in _trees(call) for path in _trees(arg))
        raise Problem(MALFORMED_QUERY, _ONLY_COUNT.format(call=f"{name}({args})"), name)
    if len(items) > 1:
        other = _first_token(next(item for item in items if item is not call))
        detail = "COUNT() must be the only element in the SELECT list"
        raise Problem(MALFORMED_QUERY, detail, other)


def _count_clause(tree: Tree[Token] | None) -> int | None:
    """The whole number after LIMIT or OFFSET."""
    if tree is None:
        return None
    number = _tokens(tree)[1]
    if not number.isdigit():
        raise Problem(MALFORMED_QUERY, f"unexpected token: '{number}'", number)
    return int(number)


def _offset(tree: Tree[Token] | None, root: ObjectSchema) -> int:
    offset = _count_clause(tree) or 0
    if tree is not None and offset > MAX_OFFSET:
        detail = f"Maximum SOQL offset allowed for apiName {root.name} is {MAX_OFFSET}"
        raise Problem(NUMBER_OUTSIDE_VALID_RANGE, detail, _tokens(tree)[1])
    return offset


def _syntax_error(text: str, exc: UnexpectedInput) -> SoqlError:
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        line, column, detail = exc.line, exc.column, f"unexpected token: '{exc.token}'"
    elif isinstance(exc, UnexpectedCharacters):
        char = exc.char
        what = "unterminated string literal" if char == "'" else f"unexpected token: '{char}'"
        line, column, detail = exc.line, exc.column, what
    else:
        rows = text.split("\n")
        line, column, detail = len(rows), len(rows[-1]) + 1, "unexpected token: <EOF>"
    return SoqlError(MALFORMED_QUERY, located_message(text, line, column, detail))


def _located(text: str, problem: Problem) -> SoqlError:
    token = problem.token
    line = token.line if token is not None and token.line is not None else 1
    column = token.column if token is not None and token.column is not None else 1
    return SoqlError(problem.error_code, located_message(text, line, column, problem.detail))


def _value(tree: Tree[Token]) -> Token:
    return _tokens(tree)[0]


def _first_token(tree: Tree[Token]) -> Token:
    first = tree.children[0]
    return first if isinstance(first, Token) else _first_token(first)


def _trees(tree: Tree[Token]) -> list[Tree[Token]]:
    return [child for child in tree.children if isinstance(child, Tree)]


def _tokens(tree: Tree[Token]) -> list[Token]:
    return [child for child in tree.children if isinstance(child, Token)]
