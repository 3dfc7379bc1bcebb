"""A seeded random plan of faults over a multi-cycle run with people at work.

Each seed draws rates for 5xx pages (JSON and HTML), dropped connections,
row locks, short query pages, expiring sessions, truncated answers and
latency, plus three to six scripted one-shots aimed at the writes (drops
after the write, the concurrency kind of REQUEST_LIMIT_EXCEEDED, dead query
locators, timeouts...). The worker runs `--once` until its outbox is drained
at each of three boundaries; the org must then match the reference run's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sfsync.emulator.faults import FaultPlan
from tests.integration.helpers import expected_score, open_leads
from tests.reliability.harness import Runner, Scenario, base_org, org_run, run_reference
from tests.reliability.launcher import Launcher
from tests.reliability.promises import PromiseBroken
from tests.reliability.schedules import (
    SOAP,
    TIMEOUT_MS,
    FaultSchedule,
    fault_schedule,
    run_with_faults,
)

SEEDS = range(6)
SCHEDULES = [fault_schedule(Scenario(seed, boundaries=3, edits=16)) for seed in SEEDS]
BACKGROUND = frozenset({"latency", "short_page"})  # not failures


@pytest.mark.slow
@pytest.mark.parametrize("schedule", SCHEDULES, ids=str)
def test_seeded_faults_keep_the_promises(
    schedule: FaultSchedule, launcher: Launcher, tmp_path: Path
) -> None:
    reference = run_reference(schedule.scenario, launcher, tmp_path)

    outcome = run_with_faults(schedule, reference, Runner(launcher, tmp_path / "faults"))

    assert set(outcome.faults) - BACKGROUND, outcome.report()
    assert not outcome.violations, outcome.report()


@pytest.mark.slow
def test_conversion_that_outlives_its_timeout_is_not_dead_lettered(
    launcher: Launcher, tmp_path: Path
) -> None:
    scenario = Scenario(0, boundaries=1)  # four conversions at the first load
    plan = FaultPlan(timeout_ms=TIMEOUT_MS)
    schedule = FaultSchedule(scenario, plan, (("timeout", SOAP, "POST"),))
    reference = run_reference(scenario, launcher, tmp_path)

    outcome = run_with_faults(schedule, reference, Runner(launcher, tmp_path / "faults"))

    assert outcome.faults["timeout"] == 1, outcome.report()
    outcome.raise_if_broken()


@pytest.mark.slow
def test_a_second_edit_in_the_same_second_is_seen(launcher: Launcher, tmp_path: Path) -> None:
    """Stamps are whole seconds: a second change in the same second is still a new version."""
    base = base_org(Scenario(0))
    frozen = datetime.now(UTC).replace(microsecond=0)  # a coarse clock: every stamp this second
    runner = Runner(launcher, tmp_path / "same-second")
    with org_run(base, runner, f"sqlite:///{tmp_path}/state.db") as run:
        org, person = run.seeded.org, run.seeded.human_user_ids[0]
        org.clock = lambda: frozen
        lead = next(i for i, r in open_leads(org).items() if r["Status"] == "Open - Not Contacted")
        titles = ("Chief Executive Officer", "Intern")
        scores = [expected_score({**open_leads(org)[lead], "Title": t}) for t in titles]
        assert scores[0] != scores[1]
        assert run.once() == 0
        for title in titles:
            saved = org.update("Lead", lead, {"Title": title}, user_id=person, auto_assign=False)
            assert saved.success
            assert run.once() == 0
        written = org.get("Lead", lead)

    assert written is not None and written["SystemModstamp"] == frozen
    assert written["Title"] == titles[1]
    # With the lead's engagement (the seeded lead may have some), as the worker scores it.
    expected = expected_score(written, org)
    if written["Lead_Score__c"] != expected:
        raise PromiseBroken(f"{lead} kept {written['Lead_Score__c']}, not {expected}")
