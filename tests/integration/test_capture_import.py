"""`sfsync import` against the emulator over HTTPS: 10,000 rows, duplicates, routing, re-runs.

The worker, store, rules and capture are the real ones; the org is the
seeded emulator, its mirror filled by a real backfill. The mappings are the
shipped ones with a routing.yaml that gives every new lead to a team of
three reps, with a follow-up Task each.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.explain import explanation
from sfsync.jobs.backfill import backfill
from sfsync.jobs.capture import Action
from sfsync.jobs.capture_import import ImportOptions, ImportReport, read_import, run_import
from sfsync.jobs.capture_types import CaptureSetup
from sfsync.jobs.match_setup import load_matcher
from sfsync.store.capture import CaptureLedger, LedgerState
from sfsync.store.routing import RoutingStore
from tests.integration.capture_files import Truth, broker_file
from tests.integration.conftest import MAPPINGS, Worker

TEAM_YAML = """
owner_field: OwnerId
intake: [Lead Intake]
default: {{queue: Lead Intake}}
rules:
  - name: Inbound
    assign: {{team: reps}}
teams:
  reps:
    strategy: weighted_round_robin
    members:
      - {{user: {0}, weight: 2}}
      - {{user: {1}, weight: 1}}
      - {{user: {2}, weight: 1}}
sla:
  subject: "Call {{LastName}} at {{Company}}"
  due_in: 2h
"""


@pytest.fixture
def team_mappings(tmp_path: Path, seeded: SeededOrg) -> Path:
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, directory)
    (directory / "routing.yaml").write_text(TEAM_YAML.format(*seeded.human_user_ids[:3]))
    return directory


class Importer:
    """A worker's client and store, capturing files as `sfsync import` does."""

    def __init__(self, worker: Worker, mappings: Path) -> None:
        self.worker, self.mappings = worker, mappings
        self.setup = CaptureSetup.load(worker.client, worker.job.rules, mappings)

    def run(self, path: Path, **options: Any) -> ImportReport:
        chosen = ImportOptions(**options)
        sheet, columns, suggested = read_import(path, self.setup, chosen)
        return run_import(self.worker.client, self.worker.store, self.setup, sheet, columns,
                          chosen, _quiet, suggested=suggested)  # fmt: skip


def _quiet(_phase: str, _done: int, _total: int) -> None:
    return None


def leads_by(org: Any, user_id: str) -> dict[str, dict[str, Any]]:
    with org.lock:
        return {i: dict(r) for i, r in org.tables["Lead"].items() if r["CreatedById"] == user_id}


def tasks_per_lead(org: Any, ids: set[str]) -> Counter[str]:
    with org.lock:
        return Counter(
            str(t["WhoId"]) for t in org.tables["Task"].values()
            if t.get("WhoId") in ids and not t.get("IsDeleted")
        )  # fmt: skip


def owners(org: Any, ids: set[str]) -> dict[str, str]:
    with org.lock:
        return {i: str(org.tables["Lead"][i]["OwnerId"]) for i in ids}


def assert_matches_truth(report: ImportReport, truth: Truth) -> None:
    by_row = {number: outcome for number, _, outcome in report.rows}
    assert sorted(n for n, o in by_row.items() if o.action is Action.CREATED) == truth.new
    assert sorted(n for n, o in by_row.items() if o.action is Action.REJECTED) == truth.broken
    for number, source in truth.in_file.items():
        outcome = by_row[number]
        assert outcome.action is Action.DUPLICATE, (number, outcome)
        assert outcome.matched_id == by_row[source].record_id
    for number, record_id in truth.in_org.items():
        outcome = by_row[number]
        assert outcome.action in (Action.DUPLICATE, Action.UPDATED), (number, outcome)
        assert outcome.matched_id == record_id


@pytest.mark.timeout(600)
def test_ten_thousand_rows_once_scored_routed_and_never_twice(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    team_mappings: Path,
    tmp_path: Path,
) -> None:
    reps = seeded.human_user_ids[:3]
    worker = make_worker(sfsync_mappings=team_mappings)
    backfill(worker.client, worker.store, load_matcher(team_mappings))
    worker.job.run_once()  # the org's own leads are decided and routed first
    path = tmp_path / "broker.csv"
    truth = broker_file(path, seeded.org, rows=10_000, in_file=150, in_org=120, broken=100)
    me = seeded.integration_user_id
    before = set(leads_by(seeded.org, me))
    team_before = sum(RoutingStore(worker.store.engine).members("reps").values())
    importer = Importer(worker, team_mappings)

    started = time.monotonic()
    report = importer.run(path, source="Purchased List")
    elapsed = time.monotonic() - started

    counts = report.counts
    created = {i: r for i, r in leads_by(seeded.org, me).items() if i not in before}
    assert counts["created"] == len(created) == len(truth.new)
    assert counts["rejected"] == len(truth.broken)
    assert counts["duplicate"] + counts["updated"] == len(truth.in_file) + len(truth.in_org)
    assert counts["already_done"] == 0
    assert_matches_truth(report, truth)
    assert {o.record_id for _, _, o in report.rows if o.action is Action.CREATED} == set(created)
    # Created already decided and routed: scored, graded, owned by the team, LeadSource set.
    assert all(r["Lead_Score__c"] is not None and r["Lead_Grade__c"] for r in created.values())
    assert all(r["LeadSource"] == "Purchased List" for r in created.values())
    split = Counter(str(r["OwnerId"]) for r in created.values())
    assert set(split) <= set(reps)
    team = RoutingStore(worker.store.engine).members("reps")
    assert sum(team.values()) - team_before == len(created)
    assert report.result_file is not None and report.result_file.exists()
    lines = report.result_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 10_001
    print(f"\n10k import: {elapsed:.1f} s, {10_000 / elapsed:.0f} rows/s, "
          f"{report.api_calls} API calls, counts {counts}")  # fmt: skip

    again = importer.run(path, source="Purchased List")

    assert leads_by(seeded.org, me).keys() == before | set(created)
    assert again.counts["created"] == 0 and again.counts["updated"] == 0
    assert again.counts["already_done"] == 10_000 - len(truth.broken)
    assert again.counts["rejected"] == len(truth.broken)

    assert CaptureLedger(worker.store.engine).count(LedgerState.DONE) == 10_000 - 100


def test_the_next_cycle_leaves_captured_leads_routed_as_they_are(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    team_mappings: Path,
    tmp_path: Path,
) -> None:
    worker = make_worker(sfsync_mappings=team_mappings)
    backfill(worker.client, worker.store, load_matcher(team_mappings))
    worker.job.run_once()
    path = tmp_path / "fair.csv"
    truth = broker_file(path, seeded.org, rows=400, in_file=20, in_org=20, broken=10)
    before = set(leads_by(seeded.org, seeded.integration_user_id))
    report = Importer(worker, team_mappings).run(path)
    assert_matches_truth(report, truth)
    created = set(leads_by(seeded.org, seeded.integration_user_id)) - before
    got = owners(seeded.org, created)
    team = RoutingStore(worker.store.engine).members("reps")
    assert sum(team.values()) >= len(created)

    worker.job.run_once()  # sees the captured leads as sfsync's own: no second routing
    worker.job.run_once()

    assert owners(seeded.org, created) == got
    assert RoutingStore(worker.store.engine).members("reps") == team
    # One SLA Task per captured lead, for the owner capture chose, sent by the cycle's flush.
    assert tasks_per_lead(seeded.org, created) == Counter(dict.fromkeys(created, 1))
    # Created already decided: the cycle finds nothing to write to them.
    updates = [r for i in created for r in worker.store.outbox_for(i) if r.kind == "update"]
    assert updates == []
    lead = sorted(created)[0]
    story = explanation(worker.store, lead)
    assert story["latest"]["summary"]["routing"]["need"] == "sfsync routed it earlier"
    first = story["history"][-1] if story["history"] else story["latest"]
    assert first["summary"]["capture"]["source"] == "import"
    assert first["summary"]["routing"]["owner"] == got[lead]
    assert first["changes"]["Lead_Score__c"] is not None
