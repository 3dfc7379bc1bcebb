"""The long version of the reliability schedules: many seeds, bigger orgs, more boundaries.

Run: .venv/bin/python -m benchmarks.soak --seeds N [--first 1000] [--leads 300]
     [--boundaries 4] [--kinds kills,faults,daemons] [--postgres URL]

For each seed: one reference run (no faults, no kills), then the same
scenario under the seed's kill schedule, under its fault schedule, and
(with `daemons` in --kinds, PostgreSQL needed) under three daemons killed at
random. The schedules are the ones tests/reliability runs in CI
(schedules.py, daemons.py), on seeds CI does not use (--first).

Prints one line per troubled run, then the totals: seeds run, kills by
point, faults injected by kind, processes started, leads checked and
violations found (the first of each run). Exit status 1 when any promise
was broken. Nothing is timed: the figures are counts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.reliability.daemons import DaemonSchedule, run_daemons
from tests.reliability.harness import Runner, Scenario, run_reference
from tests.reliability.launcher import Launcher
from tests.reliability.schedules import (
    Outcome,
    fault_schedule,
    kill_schedule,
    run_with_faults,
    run_with_kills,
)

POSTGRES_URL = os.environ.get(
    "SFSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
SHOWN_VIOLATIONS = 5
BACKGROUND = frozenset({"hold", "latency"})  # gates for kills, fixed latency: not failures


class Totals:
    """Counts over every troubled run."""

    def __init__(self) -> None:
        self.seeds = 0
        self.runs: Counter[str] = Counter()
        self.kills: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.processes = 0
        self.leads_checked = 0
        self.violations = 0
        self.broken_runs: list[str] = []

    def add(self, kind: str, outcome: Outcome) -> None:
        self.runs[kind] += 1
        self.kills.update(k.split(":", 1)[-1] for k in outcome.kills)  # "b0:pull" -> "pull"
        self.faults.update(outcome.faults)
        self.processes += outcome.processes
        self.leads_checked += outcome.leads_checked
        self.violations += len(outcome.violations)
        if outcome.violations:
            self.broken_runs.append(outcome.label)

    def report(self, kind: str, outcome: Outcome) -> None:
        """Count a troubled run and print its line (and its first violations)."""
        self.add(kind, outcome)
        verdict = f"{len(outcome.violations)} VIOLATION(S)" if outcome.violations else "ok"
        print(
            f"{kind:8} {outcome.label}: {verdict}; kills {len(outcome.kills)}, "
            f"faults {sum(outcome.faults.values())}, leads checked {outcome.leads_checked}",
            flush=True,
        )
        for line in outcome.violations[:SHOWN_VIOLATIONS]:
            print(f"    {line[:300]}", flush=True)

    def print(self) -> None:
        print("\n== totals ==")
        print(f"seeds run: {self.seeds}; troubled runs: {dict(self.runs)}")
        print(f"kills survived: {sum(self.kills.values())} {dict(sorted(self.kills.items()))}")
        injected = {k: v for k, v in sorted(self.faults.items()) if k not in BACKGROUND}
        print(f"faults injected: {sum(injected.values())} {injected}")
        print(f"slowed responses: {self.faults['latency']}; held for kills: {self.faults['hold']}")
        print(f"worker processes started: {self.processes}")
        print(f"leads checked (summed over boundaries): {self.leads_checked}")
        print(f"violations found: {self.violations} in {len(self.broken_runs)} run(s)")
        for label in self.broken_runs:
            print(f"  broken: {label}")


@contextmanager
def postgres_schema(admin_url: str) -> Iterator[str]:
    """A fresh schema on the PostgreSQL server for one daemon run, dropped afterwards."""
    schema = f"soak_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{admin_url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def soak_seed(
    seed: int, args: argparse.Namespace, launcher: Launcher, workdir: Path, totals: Totals
) -> None:
    """Every requested kind of trouble for one seed, each compared with one reference."""
    scenario = Scenario(
        seed, args.leads, args.boundaries, new_leads=args.new_leads, edits=args.edits
    )
    kinds = args.kinds.split(",")
    if "kills" in kinds or "faults" in kinds:
        reference = run_reference(scenario, launcher, workdir / "reference")
        if "kills" in kinds:
            schedule = kill_schedule(scenario)
            runner = Runner(launcher, workdir / "k")
            totals.report(
                "kills", guarded(str(schedule), run_with_kills, schedule, reference, runner)
            )
        if "faults" in kinds:
            plan = fault_schedule(scenario)
            runner = Runner(launcher, workdir / "f")
            totals.report("faults", guarded(str(plan), run_with_faults, plan, reference, runner))
    if "daemons" in kinds:
        reference = run_reference(scenario, launcher, workdir / "live-reference")
        with postgres_schema(args.postgres) as url:
            runner = Runner(launcher, workdir / "d")
            timeline = DaemonSchedule(seed)
            outcome = guarded(str(timeline), run_daemons, timeline, reference, runner, url)
            totals.report("daemons", outcome)
    totals.seeds += 1


def guarded(label: str, run: Callable[..., Outcome], *args: Any) -> Outcome:
    """The troubled run's outcome; a crash of the run itself is a violation, not the end."""
    try:
        return run(*args)
    except Exception as exc:
        return Outcome(label, violations=[f"the run itself failed: {type(exc).__name__}: {exc}"])


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds")
    parser.add_argument("--first", type=int, default=1000, help="the first seed")
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--boundaries", type=int, default=4)
    parser.add_argument("--new-leads", type=int, default=10)
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--kinds", default="kills,faults", help="kills,faults,daemons")
    parser.add_argument("--postgres", default=POSTGRES_URL, help="server for the daemons")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    totals = Totals()
    launcher = Launcher()
    try:
        for seed in range(args.first, args.first + args.seeds):
            with tempfile.TemporaryDirectory(prefix=f"sfsync-soak-{seed}-") as workdir:
                soak_seed(seed, args, launcher, Path(workdir), totals)
    finally:
        launcher.close()
        totals.print()
    return 1 if totals.violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
