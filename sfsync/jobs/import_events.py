"""`sfsync events import FILE`: an external activity feed (CSV or JSONL) into the state store.

Each row names a lead (`lead_id`, or `email` when the feed only knows the
address), a `kind` (page_view, download, email_open, email_click,
form_submission, site_search, social...), when it happened (`occurred_at`,
ISO 8601) and an optional `detail` (the page, the asset). Rows are stored
keyed by their content, so importing a file twice adds nothing. A bad row is
reported with its line number and skipped; a file that cannot be read at
all is a ConfigError (exit 2). The next cycle decides the leads concerned again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sfsync.errors import ConfigError
from sfsync.ids import InvalidId, to18
from sfsync.models import EngagementEvent
from sfsync.rules.behavior import EventKind
from sfsync.rules.engagement import parse_kind
from sfsync.rules.enrich_email import normalise_address
from sfsync.rules.enrich_text import clean_text
from sfsync.store import Store

MAX_FILE_BYTES = 500_000_000
MAX_DETAIL = 255
BATCH = 1000
# A feed's clock may run a little ahead of ours; further ahead is a wrong date.
FUTURE_SLACK = timedelta(days=1)
LEAD_PREFIX = "00Q"
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
COLUMNS = ("email", "lead_id", "kind", "occurred_at", "detail")


@dataclass
class ImportReport:
    """What an import did: rows read, events new to the store, and each bad row."""

    file: str
    rows: int = 0
    added: int = 0
    duplicates: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-able data."""
        return {
            "file": self.file, "rows": self.rows, "added": self.added,
            "duplicates": self.duplicates, "skipped": len(self.problems),
            "problems": [{"line": line, "problem": text} for line, text in self.problems],
        }  # fmt: skip


def import_events(store: Store, path: Path, now: datetime) -> ImportReport:
    """Read the feed file, store its good rows (idempotently), report the bad ones."""
    report = ImportReport(str(path))
    batch: list[EngagementEvent] = []
    for line, row in read_rows(path):
        report.rows += 1
        try:
            batch.append(event_from_row(row, now))
        except ValueError as exc:
            report.problems.append((line, str(exc)))
        if len(batch) >= BATCH:
            _store(store, batch, report)
    _store(store, batch, report)
    return report


def _store(store: Store, batch: list[EngagementEvent], report: ImportReport) -> None:
    if batch:
        added = store.events.add_imported(batch)
        report.added += added
        report.duplicates += len(batch) - added
        batch.clear()


# -- reading the file ----------------------------------------------------------------


def read_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    """(line number, row) for every non-blank row; a row that is not an object is its text."""
    text = _text(path)
    if path.suffix.lower() in JSONL_SUFFIXES or text.lstrip().startswith("{"):
        yield from _jsonl_rows(text)
    else:
        yield from _csv_rows(text, path)


def _text(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES} bytes; split the feed")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text ({exc.reason})") from None


def _jsonl_rows(text: str) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            yield number, f"not a JSON object ({type(exc).__name__}: {str(exc)[:80]})"
            continue
        yield number, value if isinstance(value, dict) else "not a JSON object"


def _csv_rows(text: str, path: Path) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ConfigError(f"{path}:1: unreadable CSV header ({exc})") from None
    if header is None:
        return
    names = [h.strip().lower() for h in header]
    missing = [c for c in ("kind", "occurred_at") if c not in names]
    if missing or not {"email", "lead_id"} & set(names):
        wanted = "kind, occurred_at and email or lead_id"
        raise ConfigError(f"{path}:1: the header must name {wanted} (it has {', '.join(names)})")
    while True:
        number = reader.line_num + 1
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            yield number, f"unreadable CSV row ({exc})"
            continue
        if cells is None:
            return
        if any(c.strip() for c in cells):
            yield number, dict(zip(names, cells, strict=False))


# -- one row -----------------------------------------------------------------------


def event_from_row(row: Mapping[str, Any] | str, now: datetime) -> EngagementEvent:
    """The event a row describes; ValueError saying what is wrong with it."""
    if isinstance(row, str):
        raise ValueError(row)
    lead_id, email = _lead_id(row.get("lead_id")), _email(row.get("email"))
    if lead_id is None and email is None:
        raise ValueError("names no lead: give lead_id or email")
    kind = _kind(row.get("kind"))
    at = _moment(row.get("occurred_at"), now)
    detail = clean_text(row.get("detail"), MAX_DETAIL) or None
    return EngagementEvent(kind=kind.value, at=at, lead_id=lead_id, email=email, detail=detail)


def _lead_id(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    try:
        lead_id = to18(text)
    except InvalidId:
        raise ValueError(f"lead_id {text[:40]!r} is not a Salesforce id") from None
    if not lead_id.startswith(LEAD_PREFIX):
        raise ValueError(f"lead_id {text!r} is not a Lead id (those start with {LEAD_PREFIX})")
    return lead_id


def _email(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    address = normalise_address(value)
    if address is None:
        raise ValueError(f"email {str(value)[:60]!r} is not an e-mail address")
    return address


def _kind(value: Any) -> EventKind:
    kind = parse_kind(value) if isinstance(value, str) else None
    if kind is None:
        known = ", ".join(k.value for k in EventKind)
        raise ValueError(f"kind {str(value)[:40]!r} is not one of {known}")
    return kind


def _moment(value: Any, now: datetime) -> datetime:
    text = value.strip() if isinstance(value, str) else ""
    try:
        moment = _parse_moment(text)
    except ValueError:
        raise ValueError(
            f"occurred_at {str(value)[:40]!r} is not an ISO 8601 date or time"
        ) from None
    if moment > now + FUTURE_SLACK:
        raise ValueError(f"occurred_at {text!r} is in the future")
    return moment


def _parse_moment(text: str) -> datetime:
    if not text:
        raise ValueError("blank")
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time.min, UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
