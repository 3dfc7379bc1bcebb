"""Several `sfsync run` daemons on one store, people at work, workers killed and replaced.

The script's steps land at seeded random moments while the daemons run (each
step at once, as one transaction would), and seeded random workers are
SIGKILLed at seeded random moments, each replaced by a fresh daemon. At the
end every daemon gets SIGTERM and must exit 0. Daemons may skip states the
reference saw, so the comparison is the live one (`check(..., exact=False)`).
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

from sfsync.emulator.faults import FaultPlan
from tests.reliability.harness import RUN_DAEMON, WAIT_S, OrgRun, Reference, Runner, scenario_run
from tests.reliability.launcher import WorkerProcess
from tests.reliability.promises import check
from tests.reliability.schedules import Outcome

INTERVAL_S = "1"
QUIET_RUNS = 2  # pulls that started after the last change, before the end is called
PULL_WAIT_S = 3.0
LATENCY_MS = 60  # a cycle takes a few tenths of a second: kills often land inside one


@dataclass(frozen=True)
class Daemon:
    """A running `sfsync run` and the file its JSON logs go to."""

    process: WorkerProcess
    log: Path

    @classmethod
    def start(cls, run: OrgRun) -> Daemon:
        process = run.spawn(RUN_DAEMON)
        return cls(process, run.runner.logs / f"{run.runner.started:03d}.err")

    def pulls(self) -> int:
        """How many pulls this daemon has started (the lease holder's cycles pull)."""
        return self.log.read_text(errors="replace").count('"sfsync.sync.pull_started"')


def _next_puller(workers: list[Daemon]) -> int | None:
    """Wait for the next pull to start; the daemon that started it (None if none did)."""
    before = [w.pulls() for w in workers]
    deadline = time.monotonic() + PULL_WAIT_S
    while time.monotonic() < deadline:
        for n, worker in enumerate(workers):
            if worker.pulls() > before[n]:
                return n
        time.sleep(0.02)
    return None


@dataclass(frozen=True)
class DaemonSchedule:
    """When things happen, from the seed: step delays, kill moments, and the victims."""

    seed: int
    workers: int = 3
    kills: int = 3

    def __str__(self) -> str:
        return f"seed{self.seed}-{self.workers}workers-{self.kills}kills"


def run_daemons(
    schedule: DaemonSchedule, reference: Reference, runner: Runner, url: str
) -> Outcome:
    """The reference's script, replayed while daemons run and die; checked at the end."""
    rng = Random(schedule.seed)
    outcome = Outcome(str(schedule))
    plan = FaultPlan(latency_ms=LATENCY_MS)
    with scenario_run(reference, runner, url, plan=plan, SFSYNC_INTERVAL_SECONDS=INTERVAL_S) as run:
        workers = [Daemon.start(run) for _ in range(schedule.workers)]
        try:
            # The reference's first boundary has no people (script[0] is empty): its first
            # cycle sees the base org alone. So do the daemons, or they may decide on a state
            # the reference never saw (a person's edit before the first cycle's writes).
            _wait_quiet(run, outcome, pulls=1)
            _timeline(run, reference, workers, schedule, rng, outcome)
            _wait_quiet(run, outcome)
        finally:
            _stop(workers, outcome)
        observed = run.observe(reference.base)
        outcome.faults = run.emu.faults.injected
        outcome.violations += [str(p) for p in check(reference.final, observed, exact=False)]
    outcome.leads_checked = len(observed.state)
    outcome.processes = runner.started
    return outcome


def _timeline(
    run: OrgRun,
    reference: Reference,
    workers: list[Daemon],
    schedule: DaemonSchedule,
    rng: Random,
    outcome: Outcome,
) -> None:
    """Steps and kills in a seeded order, a seeded fraction of a second or so apart."""
    actions = ["step"] * (len(reference.script) - 1) + ["kill"] * schedule.kills
    rng.shuffle(actions)
    steps = iter(reference.script[1:])
    for action in actions:
        time.sleep(rng.uniform(0.2, 1.6))
        if action == "step":
            run.apply(next(steps))
            continue
        leader = _next_puller(workers)
        time.sleep(rng.uniform(0.0, 0.2))  # somewhere in that cycle, most likely
        victim = (
            leader if leader is not None and rng.random() < 0.6 else rng.randrange(len(workers))
        )
        workers[victim].process.send_signal(signal.SIGKILL)
        code = workers[victim].process.wait(WAIT_S)
        if code != -signal.SIGKILL:
            outcome.violations.append(f"worker {victim} died before its kill: exit {code}")
        role = "leader" if victim == leader else "other"
        outcome.kills.append(f"w{victim}:daemon-{role}")
        workers[victim] = Daemon.start(run)


def _wait_quiet(run: OrgRun, outcome: Outcome, pulls: int = QUIET_RUNS) -> None:
    """Until `pulls` pulls began after the last change and the outbox has no work left."""
    since = datetime.now(UTC)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = run.status()
        if _pulls_since(status, since) >= pulls and not _backlog(status):
            return
        time.sleep(0.3)
    outcome.violations.append(f"never quiet: outbox {run.status()['outbox']}")


def _pulls_since(status: dict[str, Any], since: datetime) -> int:
    return sum(
        1
        for r in status["runs"]
        if r["status"] == "ok" and r["pulled"] and _aware(r["started_at"]) > since
    )


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _backlog(status: dict[str, Any]) -> int:
    outbox: dict[str, int] = status["outbox"]
    return sum(outbox.get(state, 0) for state in ("staged", "pending", "sending"))


def _stop(workers: list[Daemon], outcome: Outcome) -> None:
    for worker in workers:
        worker.process.send_signal(signal.SIGTERM)
    for n, worker in enumerate(workers):
        code = worker.process.wait(WAIT_S)
        if code != 0:
            outcome.violations.append(f"worker {n} exited {code} on SIGTERM")
