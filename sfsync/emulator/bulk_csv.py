"""Query results as Bulk API 2.0 writes them: RFC 4180 CSV with every value quoted.

The header row holds the selected paths (`Account.Name`); a null is an empty
value, booleans are `true`/`false`, datetimes ISO 8601 in UTC with
milliseconds and `Z`, dates ISO, numbers as plain digits. Quotes inside a
value are doubled; commas, line breaks and any unicode stay inside quotes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "SEMICOLON": ";",
    "PIPE": "|",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}

Formatter = Callable[[Any], str]


def csv_datetime(value: datetime) -> str:
    """`2024-05-01T12:34:56.000Z`: Bulk's datetime form (REST's JSON says `+0000`)."""
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _boolean(value: Any) -> str:
    return "" if value is None else ("true" if value else "false")


def _datetime(value: Any) -> str:
    return csv_datetime(value) if isinstance(value, datetime) else _text(value)


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else _text(value)


def _integer(value: Any) -> str:
    return "" if value is None else str(int(value))


def _double(value: Any) -> str:
    return "" if value is None else repr(float(value))


_FORMATTERS: dict[str, Formatter] = {
    "boolean": _boolean,
    "datetime": _datetime,
    "date": _date,
    "int": _integer,
    "double": _double,
    "currency": _double,
    "percent": _double,
}


def formatter(field_type: str) -> Formatter:
    """How a value of `field_type` is written (text for every type not listed)."""
    return _FORMATTERS.get(field_type, _text)


def render(
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[Sequence[Any]],
    delimiter: str = "COMMA",
    line_ending: str = "LF",
) -> bytes:
    """One results page: the header row, then `rows` (raw values in `columns` order), UTF-8."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer,
        delimiter=DELIMITERS[delimiter],
        lineterminator=LINE_ENDINGS[line_ending],
        quoting=csv.QUOTE_ALL,
    )
    writer.writerow(columns)
    # Text columns (most of them) skip the formatter call: a page holds 100,000s of values.
    formats = [_FORMATTERS.get(t) for t in types]
    writer.writerows(
        [
            (value if value.__class__ is str else _text(value)) if fmt is None else fmt(value)
            for fmt, value in zip(formats, row, strict=True)
        ]
        for row in rows
    )
    return buffer.getvalue().encode("utf-8")
