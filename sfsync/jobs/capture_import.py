"""`sfsync import FILE`: a spreadsheet's rows captured as leads, with a report beside the file.

Reads the sheet (`capture_read`), maps its columns (`capture_columns`),
captures every row (`capture`) and writes `<file>.result.csv`: one line per
row with what happened and why. Row keys are `source:sha256(file):row`, so
importing the same file again finds every row in the capture ledger.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfsync.connectors.salesforce import SalesforceClient
from sfsync.jobs.capture import capture, counts
from sfsync.jobs.capture_columns import (
    ColumnMap,
    candidates,
    check_required,
    load_columns,
    suggest,
)
from sfsync.jobs.capture_read import Sheet, read_sheet
from sfsync.jobs.capture_types import (
    Action,
    Candidate,
    CaptureOutcome,
    CaptureSetup,
    DuplicatePolicy,
    Progress,
)
from sfsync.store import Store
from sfsync.store.mirror import counts as mirror_counts

DEFAULT_SOURCE = "import"
RESULT_SUFFIX = ".result.csv"
RESULT_COLUMNS = (
    "row", "action", "record_id", "matched_id", "reasons", "LastName", "Company", "Email", "key",
)  # fmt: skip


@dataclass(frozen=True)
class ImportOptions:
    """What the command line asked for."""

    mapping: Path | None = None
    source: str | None = None
    dry_run: bool = False
    policy: DuplicatePolicy = DuplicatePolicy.UPDATE
    sheet: str | None = None


@dataclass
class ImportReport:
    """An import's outcome, row by row, with what it cost."""

    sheet: Sheet
    columns: ColumnMap
    suggested: bool
    source: str
    dry_run: bool
    rows: list[tuple[int, Candidate, CaptureOutcome]] = field(default_factory=list)
    api_calls: int = 0
    seconds: float = 0.0
    result_file: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per action."""
        return counts([outcome for _, _, outcome in self.rows])

    def of(self, action: Action) -> list[tuple[int, Candidate, CaptureOutcome]]:
        """The rows that ended with `action`."""
        return [r for r in self.rows if r[2].action is action]


def read_import(
    path: Path, setup: CaptureSetup, options: ImportOptions
) -> tuple[Sheet, ColumnMap, bool]:
    """The sheet and its column mapping (the file's, or suggested); ConfigError if unusable."""
    sheet = read_sheet(path, sheet=options.sheet)
    if options.mapping is not None:
        columns = load_columns(options.mapping, sheet.headers, setup.describe)
    else:
        columns = suggest(sheet.headers, setup.describe)
    return sheet, columns, options.mapping is None


def run_import(
    client: SalesforceClient,
    store: Store,
    setup: CaptureSetup,
    sheet: Sheet,
    columns: ColumnMap,
    options: ImportOptions,
    progress: Progress,
    *,
    suggested: bool = False,
) -> ImportReport:
    """Capture every row of the sheet and write the result file next to it."""
    check_required(columns)
    source = options.source or columns.source or DEFAULT_SOURCE
    report = ImportReport(sheet, columns, suggested, source, options.dry_run)
    report.warnings += _mirror_warning(store, setup)
    found = candidates(sheet, columns, source)
    calls, started = client.meter.calls, time.monotonic()
    outcomes = capture_rows(client, store, setup, found, options, columns, progress)
    report.seconds = time.monotonic() - started
    report.api_calls = client.meter.calls - calls
    numbers = [number for number, _ in sheet.rows]
    report.rows = list(zip(numbers, found, outcomes, strict=True))
    report.result_file = write_results(report)
    return report


def capture_rows(
    client: SalesforceClient,
    store: Store,
    setup: CaptureSetup,
    found: Sequence[Candidate],
    options: ImportOptions,
    columns: ColumnMap,
    progress: Progress,
) -> list[CaptureOutcome]:
    """`capture` with this import's options (the setup is read already)."""
    return capture(
        client, store, setup.rules, found, policy=options.policy, dry_run=options.dry_run,
        setup=setup, day_first=columns.day_first, progress=progress,
    )  # fmt: skip


def _mirror_warning(store: Store, setup: CaptureSetup) -> list[str]:
    if setup.matcher is None:
        return ["matching.yaml is missing: rows are not checked for duplicates"]
    if not mirror_counts(store.engine).get("Lead", {}).get("live"):
        return ["the matching mirror holds no leads: run `sfsync backfill` first, or duplicates "
                "of the org's leads and contacts go unnoticed"]  # fmt: skip
    return []


def result_path(path: Path) -> Path:
    """`leads.csv` -> `leads.csv.result.csv`, next to the input."""
    return path.with_name(path.name + RESULT_SUFFIX)


def write_results(report: ImportReport) -> Path:
    """One line per row: what happened, the record, and every reason."""
    target = result_path(report.sheet.path)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_COLUMNS)
        for number, candidate, outcome in report.rows:
            writer.writerow(_line(number, candidate, outcome))
    return target


def _line(number: int, candidate: Candidate, outcome: CaptureOutcome) -> list[Any]:
    values = candidate.values
    return [
        number, outcome.action.value, outcome.record_id or "", outcome.matched_id or "",
        "; ".join(outcome.reasons), values.get("LastName", ""), values.get("Company", ""),
        values.get("Email", ""), candidate.key,
    ]  # fmt: skip
