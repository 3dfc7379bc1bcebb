"""SIGKILL the worker anywhere in a cycle, restart it: the org ends as if nothing happened.

Fifty seeds, each a 150-lead org and two boundaries (the first load, then
people's changes). At each boundary the worker is killed at one or two
seeded points (the test id lists them; see schedules.py for what each
means), restarted until its outbox is drained, and the org is compared with
the reference run's at the same boundary.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.harness import Runner, Scenario, run_reference
from tests.reliability.launcher import Launcher
from tests.reliability.schedules import KillSchedule, kill_schedule, run_with_kills

SEEDS = range(50)
SCHEDULES = [kill_schedule(Scenario(seed, edits=20)) for seed in SEEDS]


@pytest.mark.slow
@pytest.mark.parametrize("schedule", SCHEDULES, ids=str)
def test_sigkill_at_seeded_points_keeps_the_promises(
    schedule: KillSchedule, launcher: Launcher, tmp_path: Path
) -> None:
    reference = run_reference(schedule.scenario, launcher, tmp_path)

    outcome = run_with_kills(schedule, reference, Runner(launcher, tmp_path / "kills"))

    assert outcome.kills, outcome.report()
    assert not outcome.violations, outcome.report()


@pytest.mark.slow
def test_plain_python_m_sfsync_processes_behave_the_same(tmp_path: Path) -> None:
    """One schedule with `python -m sfsync` processes instead of forked ones."""
    schedule = KillSchedule(Scenario(3, boundaries=1), (("flush-late", "recovery"),))
    reference = run_reference(schedule.scenario, None, tmp_path)

    outcome = run_with_kills(schedule, reference, Runner(None, tmp_path / "kills"))

    assert outcome.kills == ["b0:flush-late", "b0:recovery"], outcome.report()
    assert not outcome.violations, outcome.report()


@pytest.mark.slow
def test_restart_after_a_kill_while_copying_to_contacts(launcher: Launcher, tmp_path: Path) -> None:
    """Rows left `sending` for contacts are re-read with fields contacts have (was exit 2)."""
    # Seed 0 converts four leads at the first load, so its cycle copies scores to contacts.
    schedule = KillSchedule(Scenario(0, boundaries=1), (("copy-to",),))
    reference = run_reference(schedule.scenario, launcher, tmp_path)

    outcome = run_with_kills(schedule, reference, Runner(launcher, tmp_path / "kills"))

    assert outcome.kills == ["b0:copy-to"], outcome.report()
    outcome.raise_if_broken()
