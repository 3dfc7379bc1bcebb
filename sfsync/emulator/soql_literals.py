"""SOQL literals: from a lexer token to a Python value, before any field is known.

Strings follow SOQL's escapes (\\' \\" \\\\ \\n \\r \\t \\b \\f and, for LIKE,
\\_ \\%); any other backslash is an error, as in Salesforce. Datetimes are
turned to UTC so they compare with the org's UTC audit stamps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from lark import Token

from sfsync.emulator.soql_ast import MALFORMED_QUERY, DateRange, Problem, Value

_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    "'": "'",
    '"': '"',
    "\\": "\\",
    # LIKE's literal wildcards; outside LIKE they stand for themselves.
    "_": "_",
    "%": "%",
}
_WILDCARDS = {"%": ".*", "_": "."}
_RANGES = {"TODAY": DateRange(0, 1), "YESTERDAY": DateRange(-1, 1), "TOMORROW": DateRange(1, 1)}


@dataclass(frozen=True)
class Literal:
    """A decoded literal: its SOQL kind (string, number, boolean, null, date, datetime, range)."""

    kind: str
    value: Value
    token: Token


def decode(token: Token) -> Literal:
    """The literal a value token stands for."""
    kind = token.type
    text = str(token)
    if kind == "STRING":
        return Literal("string", _unescape(token)[0], token)
    if kind == "NUMBER":
        return Literal("number", _number(text), token)
    if kind in ("TRUE", "FALSE"):
        return Literal("boolean", kind == "TRUE", token)
    if kind == "NULL":
        return Literal("null", None, token)
    if kind == "DATE":
        return Literal("date", _date(token), token)
    if kind == "DATETIME":
        return Literal("datetime", _datetime(token), token)
    return Literal("range", _range(text), token)


def like_regex(token: Token) -> str:
    """The regex (over case-folded text) that a LIKE pattern literal stands for."""
    return _unescape(token)[1]


def _unescape(token: Token) -> tuple[str, str]:
    """The value of a quoted string literal and its LIKE regex, decoded in one pass."""
    body = str(token)[1:-1]
    value: list[str] = []
    regex: list[str] = []
    run: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            char = _escape(token, body, index)
            index += 1
        elif char in _WILDCARDS:
            regex.extend((re.escape("".join(run).casefold()), _WILDCARDS[char]))
            run.clear()
            value.append(char)
            index += 1
            continue
        value.append(char)
        run.append(char)
        index += 1
    regex.append(re.escape("".join(run).casefold()))
    return "".join(value), "".join(regex)


def _escape(token: Token, body: str, index: int) -> str:
    # The lexer guarantees a character after every backslash.
    code = body[index + 1]
    if code.lower() in _ESCAPES:
        return _ESCAPES[code.lower()]
    detail = (
        f"Invalid string literal '{body}'. Illegal character sequence '\\{code}' in string literal."
    )
    raise Problem(MALFORMED_QUERY, detail, token)


def _number(text: str) -> int | float:
    if "." in text:
        return float(text)
    return int(text)


def _date(token: Token) -> date:
    try:
        return date.fromisoformat(str(token))
    except ValueError:
        raise Problem(MALFORMED_QUERY, f"invalid date: {token}", token) from None


def _datetime(token: Token) -> datetime:
    try:
        return datetime.fromisoformat(str(token)).astimezone(UTC)
    except ValueError:
        raise Problem(MALFORMED_QUERY, f"invalid dateTime: {token}", token) from None


def _range(text: str) -> DateRange:
    upper = text.upper()
    if upper in _RANGES:
        return _RANGES[upper]
    name, _, count = upper.partition(":")
    days = int(count)
    if name == "LAST_N_DAYS":
        # Salesforce counts today in: LAST_N_DAYS:1 is yesterday and today.
        return DateRange(-days, days + 1)
    return DateRange(1, days)
