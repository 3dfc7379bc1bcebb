"""Three `sfsync run` daemons on PostgreSQL, people at work, workers SIGKILLed and replaced.

The script of people lands at seeded random moments while the daemons run;
seeded random workers are killed at seeded random moments and replaced. At
the end every daemon gets SIGTERM and exits 0, and the org must match the
reference run's on every lead that is not deleted, with no write the
reference would not have made (see promises.py, `exact=False`).

A person's change that lands between a worker's re-check and its write is
seen by the sweep that follows every write (the last test shows it alone).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.helpers import expected_score, open_leads
from tests.reliability.daemons import DaemonSchedule, run_daemons
from tests.reliability.harness import (
    WAIT_S,
    Runner,
    Scenario,
    base_org,
    org_run,
    run_reference,
)
from tests.reliability.launcher import Launcher
from tests.reliability.promises import PromiseBroken
from tests.reliability.schedules import COLLECTIONS

SCHEDULES = [DaemonSchedule(seed) for seed in (101, 102)]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("schedule", SCHEDULES, ids=str)
def test_daemons_killed_at_random_keep_the_promises(
    schedule: DaemonSchedule, launcher: Launcher, postgres_url: str, tmp_path: Path
) -> None:
    scenario = Scenario(schedule.seed, boundaries=5)
    reference = run_reference(scenario, launcher, tmp_path)

    outcome = run_daemons(schedule, reference, Runner(launcher, tmp_path / "daemons"), postgres_url)

    assert len(outcome.kills) == schedule.kills, outcome.report()
    assert not outcome.violations, outcome.report()


@pytest.mark.slow
def test_an_edit_made_while_the_write_is_in_flight_is_seen_later(
    launcher: Launcher, tmp_path: Path
) -> None:
    runner = Runner(launcher, tmp_path / "race")
    with org_run(base_org(Scenario(0)), runner, f"sqlite:///{tmp_path}/state.db") as run:
        org, person = run.seeded.org, run.seeded.human_user_ids[0]
        assert run.once() == 0
        lead = next(
            i
            for i, r in open_leads(org).items()
            if r["Status"] == "Open - Not Contacted" and r["Industry"] != "Technology"
        )
        run.apply([])
        assert org.update(
            "Lead", lead, {"Title": "Chief Executive Officer"}, user_id=person
        ).success
        gate = run.emu.faults.hold(COLLECTIONS, method="PATCH")
        worker = run.spawn()
        assert gate.reached.wait(WAIT_S)  # decided, re-checked, the write on its way
        run.apply([])
        assert org.update(
            "Lead", lead, {"Industry": "Technology"}, user_id=person, auto_assign=False
        ).success
        gate.release()
        assert worker.wait(WAIT_S) == 0
        for _ in range(2):
            run.apply([])
            assert run.once() == 0
        record = org.get("Lead", lead)

    assert record is not None
    expected = expected_score(record, org)  # with the lead's engagement, as the worker scores it
    if record["Lead_Score__c"] != expected:
        raise PromiseBroken(f"{lead}: {record['Lead_Score__c']}, inputs say {expected}")
