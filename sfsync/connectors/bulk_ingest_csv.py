"""The CSV of a Bulk API 2.0 insert job, and the result rows that come back for it.

Uploaded: RFC 4180, comma, LF, UTF-8 without a byte-order mark; every value
quoted, so commas, quotes, newlines and any Unicode travel as they are. A
None or absent value is an empty cell, which an insert leaves unset (`#N/A`
would set null; there is nothing to null on a new record). Booleans are
`true`/`false`, numbers their shortest exact text.

Results (successfulResults, failedResults, unprocessedrecords) are CSV
whose header starts with Salesforce's own `sf__` columns, followed by the
uploaded columns in any order; `result_rows` gives each row back as it was
uploaded (in the upload's column order) with its `sf__` values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sfsync.connectors.failures import Action, classify_record
from sfsync.errors import TransientError
from sfsync.models import WriteOutcome

SF_PREFIX = "sf__"
# Salesforce's cap is 150 MB once base64-encoded, about 100 MB as uploaded; half of that
# leaves room for the doubled quotes `row_bytes` does not count.
MAX_JOB_BYTES = 50 * 1024 * 1024
# Salesforce processes an ingest job in internal batches of 10,000 records; one job per batch
# keeps a job's memory small and a crash's unknown outcomes to one batch.
MAX_JOB_ROWS = 10_000


@dataclass(frozen=True)
class InsertTable:
    """An insert job's columns and rows, every value as the text uploaded."""

    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


@dataclass(frozen=True)
class RowError:
    """`sf__Error` of a refused row: the first error's code and fields, every message."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    @property
    def outcome(self) -> WriteOutcome:
        """RETRY for what is worth sending again (UNABLE_TO_LOCK_ROW), else REJECTED."""
        action = classify_record(self.code, self.message).action
        return WriteOutcome.RETRY if action is Action.RETRY else WriteOutcome.REJECTED

    @classmethod
    def parse(cls, text: str) -> RowError:
        """`CODE:message:Field1,Field2 --` (one per error, space-separated) as a RowError."""
        errors = [part.strip() for part in text.split(" --") if part.strip()]
        if not errors:
            return cls("UNKNOWN_ERROR", text.strip() or "the org gave no reason")
        code, _, rest = errors[0].partition(":")
        message, _, fields = rest.rpartition(":")
        if not message:  # `CODE:message` without a fields part
            message, fields = rest, ""
        more = [e.partition(":")[2].rpartition(":")[0] or e for e in errors[1:]]
        names = tuple(f.strip() for f in fields.split(",") if f.strip())
        return cls(code.strip() or "UNKNOWN_ERROR", "; ".join([message.strip(), *more]), names)


def cell(value: Any) -> str:
    """One value as uploaded text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) else str(int(value))
    return str(value)


def insert_table(records: Sequence[Mapping[str, Any]]) -> InsertTable:
    """The records as one table: a column per field any record sets, in a stable order."""
    header = tuple(sorted({name for record in records for name in record}))
    rows = [tuple(cell(record.get(name)) for name in header) for record in records]
    return InsertTable(header, rows)


def csv_bytes(table: InsertTable) -> bytes:
    """The upload body."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(table.header)
    writer.writerows(table.rows)
    return buffer.getvalue().encode("utf-8")


def row_bytes(row: Sequence[str]) -> int:
    """About what a row adds to the upload (quotes, commas, newline; doubled quotes aside)."""
    return sum(len(value.encode("utf-8")) + 3 for value in row) + 1


def job_slices(table: InsertTable, max_rows: int = MAX_JOB_ROWS,
               max_bytes: int = MAX_JOB_BYTES) -> list[range]:  # fmt: skip
    """Consecutive row ranges, each within a job's row and byte budget (at least one row)."""
    slices: list[range] = []
    start, size = 0, row_bytes(table.header)
    for index, row in enumerate(table.rows):
        grown = size + row_bytes(row)
        if index > start and (index - start >= max_rows or grown > max_bytes):
            slices.append(range(start, index))
            start, grown = index, row_bytes(table.header) + row_bytes(row)
        size = grown
    if start < len(table.rows):
        slices.append(range(start, len(table.rows)))
    return slices


def result_rows(text: str, header: Sequence[str]) -> list[tuple[tuple[str, ...], dict[str, str]]]:
    """Each result row as uploaded (in `header`'s order), with its `sf__` values.

    A row whose cells do not fit the result header arrived cut short:
    TransientError, so the results are read again.
    """
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return []
    labels, body = rows[0], rows[1:]
    found = []
    for row in body:
        if len(row) != len(labels):
            raise TransientError("a Bulk API 2.0 result set arrived cut short")
        values = dict(zip(labels, row, strict=True))
        found.append((tuple(values.get(name, "") for name in header), values))
    return found
