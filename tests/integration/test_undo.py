"""`sfsync undo RUN_ID` against the emulator: a run's values restored, people's edits kept."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.jobs.undo import undo_run
from tests.integration.conftest import Worker
from tests.integration.helpers import (
    RATING,
    REASON,
    RULES,
    SCORE,
    client_credentials,
    open_leads,
)

runner = CliRunner()


def test_undo_restores_a_run_and_leaves_later_edits_alone(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    before = {i: (r[SCORE], r[RATING], r[REASON]) for i, r in open_leads(seeded.org).items()}
    before_owner = {i: r["OwnerId"] for i, r in open_leads(seeded.org).items()}
    worker = make_worker()
    report = worker.job.run_once()
    written = [
        i
        for i in before
        if i in open_leads(seeded.org) and open_leads(seeded.org)[i][SCORE] is not None
    ]
    edited = written[0]
    rep = seeded.human_user_ids[0]
    assert seeded.org.update("Lead", edited, {SCORE: 7}, user_id=rep).success

    plan = undo_run(worker.client, worker.store, report.run_id, dry_run=True)
    skipped = {i.lead_id: i.reason for i in plan.items if i.action == "skip"}
    assert set(skipped) == {edited, *plan.conversions}
    assert "changed since" in skipped[edited]
    assert all("converted since" in skipped[i] for i in plan.conversions)
    assert all(open_leads(seeded.org)[i][SCORE] is not None for i in written)  # dry: untouched

    done = undo_run(worker.client, worker.store, report.run_id, dry_run=False)

    now = open_leads(seeded.org)
    assert now[edited][SCORE] == 7  # a person's later value stays
    # The org refuses to give a lead back to a user who has left: recycling moved such leads
    # to a queue, and undo reports them instead of restoring them.
    refused = {i for i, why in done.failed.items() if why.startswith("INACTIVE_OWNER_OR_USER")}
    assert all(before_owner[i] in seeded.inactive_user_ids for i in refused)
    for lead_id in written[1:]:
        if lead_id in now and lead_id not in refused:
            assert (now[lead_id][SCORE], now[lead_id][RATING], now[lead_id][REASON]) == before[
                lead_id
            ]
    restorable = {i.lead_id for i in done.items if i.action == "restore"}
    assert done.restored == len(restorable - refused)
    assert set(done.failed) == refused
    assert done.conversions, "the seeded MQL leads were converted and are reported, not undone"


def test_undo_command_dry_run_lists_the_plan(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_credentials(emulator, monkeypatch)
    assert runner.invoke(app, ["run", "--once"]).exit_code == 0
    status = json.loads(runner.invoke(app, ["status", "--json"]).output)
    run_id = status["runs"][0]["id"]

    result = runner.invoke(app, ["undo", run_id, "--dry-run", "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["run_id"] == run_id and data["items"] and data["restored"] == 0
    assert {item["field"] for item in data["items"]} <= set(RULES.fields.write)
    assert {SCORE, RATING, REASON} <= {item["field"] for item in data["items"]}
