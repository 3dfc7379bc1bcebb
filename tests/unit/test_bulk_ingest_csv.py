"""The insert job's CSV and its results: odd text round-trips, rows map back to their keys."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from sfsync.connectors.bulk_ingest import InsertResults
from sfsync.connectors.bulk_ingest_csv import (
    InsertTable,
    RowError,
    cell,
    csv_bytes,
    insert_table,
    job_slices,
    result_rows,
)
from sfsync.errors import TransientError
from sfsync.jobs.capture_bulk import match_results
from sfsync.jobs.capture_send import ToCreate
from sfsync.models import WriteOutcome

ODD = [
    'quotes "inside" and a trailing "',
    "newline\nand\r\ncarriage return\rend",
    "Zoë Ødegård — Łódź 東京 🚀 ﷽ \u200b",
    ",leading comma,",
    "",
    "#N/A is only special on update",
    "x" * 40_000,
]
SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def echo(table: InsertTable, prefix: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A result set as Salesforce writes one: sf__ columns, then the uploaded ones reversed."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow((*prefix, *reversed(table.header)))
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize("text", ODD)
def test_any_text_round_trips_through_the_upload(text: str) -> None:
    table = insert_table([{"LastName": text, "Company": "Acme"}])
    parsed = list(csv.reader(io.StringIO(csv_bytes(table).decode("utf-8"), newline="")))
    assert parsed == [["Company", "LastName"], ["Acme", text]]


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (True, "true"), (False, "false"), (42, "42"), (3.0, "3"), (2.5, "2.5"),
     (0.1 + 0.2, "0.30000000000000004"), ("2024-03-05", "2024-03-05"), ("", "")],
)  # fmt: skip
def test_values_become_the_text_salesforce_reads(value: Any, text: str) -> None:
    assert cell(value) == text


def test_columns_are_every_field_any_record_sets_and_missing_ones_are_blank() -> None:
    table = insert_table([{"LastName": "A", "Email": None}, {"LastName": "B", "Phone": "1"}])
    assert table.header == ("Email", "LastName", "Phone")
    assert table.rows == [("", "A", ""), ("", "B", "1")]
    assert csv_bytes(table).startswith(b'"Email","LastName","Phone"\n')  # no BOM, LF


def test_result_rows_come_back_in_the_upload_column_order() -> None:
    table = insert_table([{"LastName": text, "Company": "C"} for text in ODD])
    text = echo(table, ("sf__Id", "sf__Created"),
                [("00Q1", "true", *reversed(row)) for row in table.rows])  # fmt: skip
    rows = result_rows(text, table.header)
    assert [row for row, _ in rows] == table.rows
    assert {values["sf__Id"] for _, values in rows} == {"00Q1"}


def test_a_result_set_cut_short_is_read_again() -> None:
    table = insert_table([{"LastName": "A", "Company": "C"}])
    text = echo(table, ("sf__Id", "sf__Error"), [("", "X:y:z --", "C", "A")])
    with pytest.raises(TransientError):
        result_rows(text[: text.rindex(",")], table.header)
    assert result_rows("", table.header) == []


@pytest.mark.parametrize(
    ("text", "code", "message", "fields", "outcome"),
    [
        ("FIELD_CUSTOM_VALIDATION_EXCEPTION:Quell: is blocked: --",
         "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Quell: is blocked", (), WriteOutcome.REJECTED),
        ("REQUIRED_FIELD_MISSING:Required fields are missing: [Company]:Company --",
         "REQUIRED_FIELD_MISSING", "Required fields are missing: [Company]", ("Company",),
         WriteOutcome.REJECTED),
        ("STRING_TOO_LONG:Last Name: data value too large:LastName,Company -- "
         "INVALID_EMAIL_ADDRESS:Email: invalid:Email --",
         "STRING_TOO_LONG", "Last Name: data value too large; Email: invalid",
         ("LastName", "Company"), WriteOutcome.REJECTED),
        ("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access:", "UNABLE_TO_LOCK_ROW",
         "unable to obtain exclusive access", (), WriteOutcome.RETRY),
        ("TooManyFields : 3 values for 2 columns", "TooManyFields ",
         " 3 values for 2 columns", (), WriteOutcome.REJECTED),
        ("", "UNKNOWN_ERROR", "the org gave no reason", (), WriteOutcome.REJECTED),
    ],
)  # fmt: skip
def test_sf_error_is_read_as_code_message_and_fields(
    text: str, code: str, message: str, fields: tuple[str, ...], outcome: WriteOutcome
) -> None:
    error = RowError.parse(text)
    assert (error.code, error.message.strip(), error.fields) == (code.strip(), message.strip(),
                                                                 fields)  # fmt: skip
    assert error.outcome is outcome


def test_jobs_are_cut_by_rows_and_by_bytes() -> None:
    table = insert_table([{"LastName": f"n{i}", "Description": "x" * 1000} for i in range(25)])
    assert [len(r) for r in job_slices(table, max_rows=10)] == [10, 10, 5]
    by_bytes = job_slices(table, max_rows=100, max_bytes=5_000)
    assert all(len(r) <= 4 for r in by_bytes) and sum(len(r) for r in by_bytes) == 25
    huge = insert_table([{"Description": "y" * 10_000}] * 3)
    assert [len(r) for r in job_slices(huge, max_bytes=100)] == [1, 1, 1]  # never an empty job
    assert job_slices(insert_table([])) == []


def items_for(values: list[dict[str, Any]]) -> list[ToCreate]:
    return [ToCreate(f"k{n}", v, SINCE) for n, v in enumerate(values)]


def test_results_in_any_order_map_back_to_their_keys() -> None:
    values = [{"LastName": t[:50] or "blank", "Company": "C", "Email": f"e{n}@x.example"}
              for n, t in enumerate(ODD)]  # fmt: skip
    items = items_for(values)
    table = insert_table(values)
    created = [(row, f"00Q{n}") for n, row in enumerate(table.rows) if n % 3 != 1]
    refused = [(row, RowError.parse("INVALID_EMAIL_ADDRESS:bad:Email --"))
               for n, row in enumerate(table.rows) if n % 3 == 1]  # fmt: skip
    results = InsertResults("JobComplete", created[::-1], refused[::-1])

    done, unknown = match_results(items, table, results)

    assert done.created == {f"k{n}": f"00Q{n}" for n in range(len(ODD)) if n % 3 != 1}
    assert set(done.refused) == {f"k{n}" for n in range(len(ODD)) if n % 3 == 1}
    assert done.refused["k1"].fields == ("Email",) and unknown == []


def test_markers_match_without_case_or_spacing_and_equal_markers_by_the_whole_row() -> None:
    values = [
        {"LastName": "Quell", "Company": "Acme", "Email": "q@acme.example", "Title": "CEO"},
        {"LastName": "Quell", "Company": "Acme", "Email": "q@acme.example", "Title": "CFO"},
        {"LastName": "Other", "Company": "Acme"},
    ]
    items = items_for(values)
    table = insert_table(values)
    echoed = [tuple(v.upper() if i == 2 else v for i, v in enumerate(row)) for row in table.rows]
    results = InsertResults("Failed", [(echoed[1], "00Q-CFO"), (table.rows[0], "00Q-CEO")],
                            unprocessed=[table.rows[2]])  # fmt: skip

    done, unknown = match_results(items, table, results)

    assert done.created == {"k0": "00Q-CEO", "k1": "00Q-CFO"}
    assert [i.key for i in unknown] == ["k2"]  # unprocessed: looked up before it is sent again


def test_rows_no_result_names_are_unaccounted_and_strangers_are_ignored() -> None:
    values = [{"LastName": "A", "Company": "C"}, {"LastName": "B", "Company": "C"}]
    table = insert_table(values)
    stranger = ("C", "Z")
    results = InsertResults("JobComplete", [(stranger, "00Qz"), (table.rows[0], "00Qa")])
    done, unknown = match_results(items_for(values), table, results)
    assert done.created == {"k0": "00Qa"} and [i.key for i in unknown] == ["k1"]
    lock = RowError.parse("UNABLE_TO_LOCK_ROW:busy:")
    locked = InsertResults("JobComplete", refused=[(table.rows[1], lock)])
    done, unknown = match_results(items_for(values), table, locked)
    assert set(done.later) == {"k1"} and done.later["k1"].outcome is WriteOutcome.RETRY
