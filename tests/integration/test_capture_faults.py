"""Capture when things go wrong, against the emulator over HTTPS: never a lead twice, never lost.

Lost answers (the org created the leads, the connection died), a crash
while a create was in flight, a crash between two requests, per-record lock
errors and the org's validation rules. Each test ends by counting the leads
in the org: one per candidate that should exist, and routing turns that add
up to exactly the leads created.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.emulator.settings import ValidationRule
from sfsync.errors import OrgUnavailable
from sfsync.jobs.backfill import backfill
from sfsync.jobs.capture import (
    Action,
    Candidate,
    CaptureOutcome,
    CaptureSetup,
    DuplicatePolicy,
    capture,
)
from sfsync.jobs.match_setup import load_matcher
from sfsync.store.capture import CaptureLedger, LedgerState
from sfsync.store.routing import RoutingStore
from tests.integration.conftest import MAPPINGS, Worker
from tests.integration.helpers import calls_since
from tests.integration.test_capture_import import TEAM_YAML, leads_by

CREATES = "composite/sobjects"


@pytest.fixture
def team_mappings(tmp_path: Path, seeded: SeededOrg) -> Path:
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, directory)
    (directory / "routing.yaml").write_text(TEAM_YAML.format(*seeded.human_user_ids[:3]))
    return directory


class Capturer:
    """A worker with its mirror filled, capturing candidates through the core API."""

    def __init__(self, worker: Worker, mappings: Path) -> None:
        self.worker = worker
        backfill(worker.client, worker.store, load_matcher(mappings))
        self.setup = CaptureSetup.load(worker.client, worker.job.rules, mappings)

    def __call__(self, candidates: list[Candidate], **options: Any) -> list[CaptureOutcome]:
        rules = self.setup.rules
        return capture(self.worker.client, self.worker.store, rules, candidates,
                       setup=self.setup, **options)  # fmt: skip

    def team_total(self) -> int:
        return sum(RoutingStore(self.worker.store.engine).members("reps").values())


@pytest.fixture
def capturer(make_worker: Callable[..., Worker], team_mappings: Path) -> Capturer:
    return Capturer(make_worker(sfsync_mappings=team_mappings), team_mappings)


def people(count: int, tag: str = "p") -> list[Candidate]:
    return [
        Candidate(
            f"form:{tag}{n}",
            {"FirstName": f"Nora{n}", "LastName": f"Quell{tag}{n}x", "Company": f"Quellwerk {n} AG",
             "Email": f"nora.{tag}{n}@quellwerk{n}.example.com"},
            "Web",
        )
        for n in range(count)
    ]  # fmt: skip


def created_ids(seeded: SeededOrg, before: set[str]) -> set[str]:
    return set(leads_by(seeded.org, seeded.integration_user_id)) - before


def mine(seeded: SeededOrg) -> set[str]:
    return set(leads_by(seeded.org, seeded.integration_user_id))


def test_a_lost_answer_is_looked_up_not_sent_again(
    seeded: SeededOrg, emulator: Emulator, capturer: Capturer
) -> None:
    before, turns = mine(seeded), capturer.team_total()
    emulator.faults.script("drop_after", path_contains=CREATES, method="POST")
    start = len(emulator.calls.entries())

    outcomes = capturer(people(250))

    assert Counter(o.action for o in outcomes) == {Action.CREATED: 250}
    new = created_ids(seeded, before)
    assert {o.record_id for o in outcomes} == new and len(new) == 250
    posts = [c for c in calls_since(emulator, start) if c.method == "POST" and CREATES in c.path]
    assert len(posts) == 2  # 200 whose answer was lost and found by a query, then 50
    assert capturer.team_total() - turns == 250


def test_a_crash_with_a_create_in_flight_is_resolved_by_the_next_run(
    seeded: SeededOrg, emulator: Emulator, capturer: Capturer
) -> None:
    before, turns = mine(seeded), capturer.team_total()
    batch = people(120, "c")
    # The create runs but its answer is lost, and the org stays unreachable for the look-up.
    emulator.faults.script("drop_after", path_contains=CREATES, method="POST")
    emulator.faults.script("503", path_contains="/query", method="GET", times=50)
    with pytest.raises(OrgUnavailable):
        capturer(batch)
    ledger = CaptureLedger(capturer.worker.store.engine)
    assert ledger.count(LedgerState.SENDING) == 120
    emulator.faults.clear()

    outcomes = capturer(batch)

    assert Counter(o.action for o in outcomes) == {Action.CREATED: 120}
    new = created_ids(seeded, before)
    assert len(new) == 120 and {o.record_id for o in outcomes} == new
    assert ledger.count(LedgerState.DONE) == 120
    assert capturer.team_total() - turns == 120
    again = capturer(batch)
    assert {o.action for o in again} == {Action.ALREADY_DONE}
    assert created_ids(seeded, before) == new


def test_a_run_stopped_between_requests_sends_the_rest_as_planned(
    seeded: SeededOrg, emulator: Emulator, capturer: Capturer
) -> None:
    before, turns = mine(seeded), capturer.team_total()
    batch = people(450, "s")
    # Copies of people the stopped run had not created yet: held as their duplicates.
    batch += [dataclasses.replace(c, key=f"{c.key}-again") for c in batch[300:310]]

    def stop_after_first_chunk(phase: str, done: int, _total: int) -> None:
        if phase == "creating" and done >= 200:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        capturer(batch, progress=stop_after_first_chunk)
    assert len(created_ids(seeded, before)) == 200
    ledger = CaptureLedger(capturer.worker.store.engine)
    assert ledger.count(LedgerState.PLANNED) == 250

    outcomes = capturer(batch)

    actions = Counter(o.action for o in outcomes)
    assert actions == {Action.ALREADY_DONE: 210, Action.CREATED: 250}
    assert len(created_ids(seeded, before)) == 450
    assert capturer.team_total() - turns == 450  # each lead one turn, across both runs


def test_lock_errors_are_sent_again_and_validation_rules_give_the_turn_back(
    seeded: SeededOrg, emulator: Emulator, capturer: Capturer
) -> None:
    before, turns = mine(seeded), capturer.team_total()
    batch = people(30, "v")
    refused = {f"Quellv{n}x" for n in (3, 7, 11)}
    rule = ValidationRule("NoQuell", "Quell is on the blocklist",
                          predicate=lambda r: r.get("LastName") in refused)  # fmt: skip
    seeded.org.settings.validation_rules = [rule]
    emulator.faults.script("lock_row", path_contains=CREATES, method="POST", times=4)

    outcomes = capturer(batch)

    by_key = {o.key: o for o in outcomes}
    rejected = {k for k, o in by_key.items() if o.action is Action.REJECTED}
    assert rejected == {f"form:v{n}" for n in (3, 7, 11)}
    assert all("FIELD_CUSTOM_VALIDATION_EXCEPTION" in by_key[k].reasons[0] for k in rejected)
    assert len(created_ids(seeded, before)) == 27
    assert capturer.team_total() - turns == 27
    assert CaptureLedger(capturer.worker.store.engine).count() == 27


def test_policy_skip_leaves_the_org_record_alone_and_update_fills_only_blanks(
    seeded: SeededOrg, emulator: Emulator, capturer: Capturer
) -> None:
    with seeded.org.lock:
        emails = Counter(
            str(r.get("Email")).casefold()
            for table in ("Lead", "Contact") for r in seeded.org.tables[table].values()
        )  # fmt: skip
        lead = next(
            dict(r) for r in seeded.org.tables["Lead"].values()
            if not r["IsDeleted"] and not r["IsConverted"] and r.get("Email") and r.get("Title")
            and not r.get("Website") and r.get("FirstName")
            and emails[str(r["Email"]).casefold()] == 1
        )  # fmt: skip
    values = {"FirstName": lead.get("FirstName") or "", "LastName": lead["LastName"],
              "Email": lead["Email"], "Company": lead["Company"], "Title": "Someone Else",
              "Website": "https://example.org"}  # fmt: skip
    before = mine(seeded)

    skipped = capturer([Candidate("form:skip", values, "Web")], policy=DuplicatePolicy.SKIP)
    filled = capturer([Candidate("form:fill", values, "Web")])

    assert skipped[0].action is Action.DUPLICATE and skipped[0].matched_id == lead["Id"]
    assert filled[0].action is Action.UPDATED and filled[0].record_id == lead["Id"]
    assert "Website" in filled[0].reasons[1] and "Title" not in filled[0].reasons[1]
    with seeded.org.lock:
        now = seeded.org.tables["Lead"][lead["Id"]]
    assert now["Title"] == lead["Title"] and now["Website"] == "https://example.org"
    assert mine(seeded) == before
