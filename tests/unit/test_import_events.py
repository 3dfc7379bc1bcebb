"""Reading an activity feed file: CSV or JSONL rows into events, bad rows with their line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sfsync.errors import ConfigError
from sfsync.ids import to18
from sfsync.jobs.import_events import event_from_row, read_rows

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
LEAD15 = "00Q000000000001"
LEAD18 = to18(LEAD15)


def _row(**values: Any) -> dict[str, Any]:
    return {"email": "Ana@Example.COM", "kind": "page_view",
            "occurred_at": "2025-05-30T10:00:00Z", "detail": "/pricing", **values}  # fmt: skip


def test_a_good_row() -> None:
    event = event_from_row(_row(lead_id=LEAD15), NOW)
    assert event.lead_id == LEAD18 and event.email == "ana@example.com"
    assert event.kind == "page_view" and event.detail == "/pricing" and event.source == "import"
    assert event.at == datetime(2025, 5, 30, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"occurred_at": "2025-05-30"}, datetime(2025, 5, 30, tzinfo=UTC)),
        ({"occurred_at": "2025-05-30T10:00:00"}, datetime(2025, 5, 30, 10, tzinfo=UTC)),
        ({"occurred_at": "2025-05-30T12:00:00+02:00"}, datetime(2025, 5, 30, 10, tzinfo=UTC)),
        ({"occurred_at": " 2025-05-30T10:00:00.5Z "},
         datetime(2025, 5, 30, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_dates_and_times(values: dict[str, Any], expected: datetime) -> None:
    assert event_from_row(_row(**values), NOW).at == expected


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"email": "", "lead_id": ""}, "names no lead"),
        ({"email": None}, "names no lead"),
        ({"email": "not an address"}, "is not an e-mail address"),
        ({"email": "a@b@c.com"}, "is not an e-mail address"),
        ({"lead_id": "001000000000001"}, "is not a Lead id"),
        ({"lead_id": "00Q-bad"}, "is not a Salesforce id"),
        ({"kind": "telepathy"}, "kind 'telepathy' is not one of"),
        ({"kind": 7}, "is not one of"),
        ({"kind": None}, "is not one of"),
        ({"occurred_at": "yesterday"}, "is not an ISO 8601"),
        ({"occurred_at": ""}, "is not an ISO 8601"),
        ({"occurred_at": "2025-13-40"}, "is not an ISO 8601"),
        ({"occurred_at": "2031-01-01"}, "is in the future"),
        ({"occurred_at": 20250530}, "is not an ISO 8601"),
    ],
)
def test_bad_rows_say_what_is_wrong(values: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        event_from_row(_row(**values), NOW)


@pytest.mark.parametrize(
    ("detail", "stored"),
    [
        ("Cafe\u0301 \u202eevil\u202c\x00 page", "Café evil page"),  # NFC, controls dropped
        ("x" * 10_000, "x" * 255),  # oversized: cut
        ("   ", None),
        (None, None),
        ("価格ページ", "価格ページ"),
    ],
)
def test_details_are_cleaned_and_bounded(detail: str | None, stored: str | None) -> None:
    assert event_from_row(_row(detail=detail), NOW).detail == stored


def test_csv_rows_carry_their_line_numbers(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "Email,Kind,Occurred_At,Detail\n"
        "a@x.com,page_view,2025-05-30,/a\n"
        "\n"
        'b@x.com,download,2025-05-30,"a guide,\nwith a newline"\n'
        "c@x.com,form_submission,2025-05-30,/c\n",
        encoding="utf-8",
    )
    rows = list(read_rows(feed))
    assert [line for line, _ in rows] == [2, 4, 6]
    assert rows[1][1] == {"email": "b@x.com", "kind": "download", "occurred_at": "2025-05-30",
                          "detail": "a guide,\nwith a newline"}  # fmt: skip


def test_jsonl_rows_and_their_problems(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    lines = [json.dumps(_row()), "", "{not json", "[1, 2]", json.dumps(_row(kind="social"))]
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = list(read_rows(feed))
    assert [line for line, _ in rows] == [1, 3, 4, 5]
    assert isinstance(rows[1][1], str) and rows[1][1].startswith("not a JSON object")
    assert rows[2][1] == "not a JSON object"


def test_a_file_starting_with_an_object_is_jsonl_whatever_its_name(tmp_path: Path) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_text(json.dumps(_row()) + "\n", encoding="utf-8")
    assert list(read_rows(feed)) == [(1, _row())]


def test_a_bom_is_ignored(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_bytes("\ufefflead_id,kind,occurred_at\n00Q000000000001,page_view,2025-05-01\n"
                     .encode())  # fmt: skip
    ((_line, row),) = list(read_rows(feed))
    assert isinstance(row, dict) and row["lead_id"] == LEAD15


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"kind,occurred_at\npage_view,2025-05-01\n", r"feed.csv:1: the header must name"),
        (b"email,detail\na@x.com,x\n", r"feed.csv:1: the header must name"),
        (b"email,kind,occurred_at\na@x.com,page_view,2025\xff-05-01\n", r"feed.csv:2: not UTF-8"),
    ],
)
def test_an_unreadable_file_is_a_config_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    feed = tmp_path / "feed.csv"
    if content is not None:
        feed.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        list(read_rows(feed))


def test_an_empty_file_has_no_rows(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text("", encoding="utf-8")
    assert list(read_rows(feed)) == []
