"""Seeded schedules of trouble, and the troubled runs that follow them.

Kill points: where in a cycle a `sfsync run --once` process gets SIGKILLed.
Each is a gate on one request (see `Faults.hold`): the worker is killed
while that request is in flight, then the request is let go, answered into
the void or dropped unhandled. The points, in cycle order:

| point | the worker is killed while | held request then |
|---|---|---|
| pull | its pull query is in flight (nothing of this cycle persisted) | dropped |
| decide | a page is decided, conversion targets are being read, not persisted | answered |
| recheck | pages persisted, outbox staged, re-check query in flight | dropped |
| flush-unsent | a Collections PATCH is in flight, rows `sending` | dropped: never written |
| flush-late | the same | run after the kill: written |
| flush-unanswered | the PATCH was handled, its answer not yet out | answered |
| convert-unsent / -late / -unanswered | the same three for the SOAP convertLead | ... |
| copy-to | the PATCH of the contacts' copied fields was handled | answered |
| recovery | restarted after a write kill, checking the rows left `sending` | answered |

Fault schedules: a `FaultPlan` of random rates per seed, plus a few
scripted one-shots aimed at the writes.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from random import Random
from typing import Literal
from urllib.parse import parse_qs

from sfsync.emulator.calllog import CallEntry
from sfsync.emulator.faults import FaultPlan
from tests.reliability.harness import WAIT_S, OrgRun, Reference, Runner, Scenario, scenario_run
from tests.reliability.promises import Observation, PromiseBroken, check

PULL_SOQL = "ORDER BY SystemModstamp"  # only the incremental pull orders by stamp
COLLECTIONS, SOAP = "/composite/sobjects", "/services/Soap/"
COMPOSITE = "/composite"  # also the prefix of COLLECTIONS: count those in `skip`
MAX_DRAIN_RUNS = 8


@dataclass(frozen=True)
class KillPoint:
    """A request to hold while the worker is killed, and what the held request does then."""

    name: str
    path: str
    method: str | None = None
    soql: str | None = None
    when: Literal["before", "after"] = "before"
    skip: int = 0
    proceed: bool = True
    rank: int = 0  # order in a cycle: a second kill must come later (or be "recovery")

    def seen_in(self, calls: list[CallEntry]) -> bool:
        """Whether the reference run made this request at this boundary."""
        return sum(1 for c in calls if self._matches(c)) > self.skip

    def _matches(self, call: CallEntry) -> bool:
        if self.method is not None and call.method != self.method:
            return False
        soql = (parse_qs(call.query).get("q") or [""])[0]
        return self.path in call.path and (self.soql is None or self.soql in soql)


def _points() -> dict[str, KillPoint]:
    points = [
        # The pull's first page rides in the Composite after the start-up read, with
        # engagement's queries; the re-check is then the cycle's first direct pull query.
        KillPoint("pull", COMPOSITE, "POST", skip=1, proceed=False, rank=0),
        KillPoint("decide", "/query", soql="FROM Contact WHERE Email IN", rank=1),
        KillPoint("recheck", "/queryAll", soql=PULL_SOQL, proceed=False, rank=2),
        KillPoint("flush-unsent", COLLECTIONS, "PATCH", proceed=False, rank=3),
        KillPoint("flush-late", COLLECTIONS, "PATCH", rank=3),
        KillPoint("flush-unanswered", COLLECTIONS, "PATCH", when="after", rank=3),
        KillPoint("convert-unsent", SOAP, "POST", proceed=False, rank=4),
        KillPoint("convert-late", SOAP, "POST", rank=4),
        KillPoint("convert-unanswered", SOAP, "POST", when="after", rank=4),
        KillPoint("copy-to", COLLECTIONS, "PATCH", when="after", skip=1, rank=5),
        KillPoint("recovery", "/queryAll", soql="WHERE Id IN", rank=9),
    ]
    return {p.name: p for p in points}


KILL_POINTS = _points()
WRITE_POINTS = tuple(n for n, p in KILL_POINTS.items() if 3 <= p.rank <= 5)
# When the planned point did not happen at this boundary of the reference run.
SUBSTITUTES = {
    "decide": "pull",
    "recheck": "pull",
    "convert-unsent": "flush-unsent",
    "convert-late": "flush-late",
    "convert-unanswered": "flush-unanswered",
    "copy-to": "flush-unanswered",
}


@dataclass(frozen=True)
class KillSchedule:
    """Per boundary, the kill points planned (chosen from the seed alone)."""

    scenario: Scenario
    points: tuple[tuple[str, ...], ...]

    def __str__(self) -> str:
        parts = [f"b{b}:{'+'.join(p)}" for b, p in enumerate(self.points)]
        return f"seed{self.scenario.seed:02d}-" + "-".join(parts)


def kill_schedule(scenario: Scenario) -> KillSchedule:
    """One or two kill points per boundary; the second later in the cycle than the first."""
    rng = Random(scenario.seed)
    firsts = [n for n in KILL_POINTS if n != "recovery"]
    plan = []
    for _ in range(scenario.boundaries):
        first = rng.choice(firsts)
        points = [first]
        if rng.random() < 0.5:
            rank = KILL_POINTS[first].rank
            later = [n for n in firsts if KILL_POINTS[n].rank > rank]
            if first in WRITE_POINTS:
                later.append("recovery")
            if later:
                points.append(rng.choice(later))
        plan.append(tuple(points))
    return KillSchedule(scenario, tuple(plan))


@dataclass
class Outcome:
    """What a troubled run did and which promises it broke."""

    label: str
    violations: list[str] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)  # "b0:flush-late"
    not_reached: list[str] = field(default_factory=list)
    substituted: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    processes: int = 0
    leads_checked: int = 0

    def raise_if_broken(self) -> None:
        if self.violations:
            raise PromiseBroken(self.report())

    def report(self) -> str:
        lines = [
            f"{self.label}: kills {self.kills}, not reached {self.not_reached}, "
            f"substituted {self.substituted}, faults {dict(self.faults)}",
            *self.violations[:40],
        ]
        return "\n".join(lines)


# -- draining and comparing ------------------------------------------------------------


def drain(run: OrgRun, reference: Reference, outcome: Outcome) -> Observation:
    """`run --once` until the outbox has no work left (bounded); exit 4 is a failed cycle."""
    for _ in range(MAX_DRAIN_RUNS):
        code = run.once()
        if code not in (0, 4):
            outcome.violations.append(f"exit {code}: {run.runner.last_errors(600)}")
        run.quiesce()
        observed = run.observe(reference.base)
        if code == 0 and not _backlog(observed):
            return observed
    outcome.violations.append(f"outbox not drained after {MAX_DRAIN_RUNS} runs: {observed.outbox}")
    return observed


def _backlog(observed: Observation) -> int:
    return sum(observed.outbox.get(state, 0) for state in ("staged", "pending", "sending"))


def compare_boundary(
    reference: Reference, boundary: int, observed: Observation, outcome: Outcome
) -> None:
    problems = check(reference.boundaries[boundary], observed)
    outcome.violations += [f"b{boundary}: {p}" for p in problems]
    outcome.leads_checked += len(observed.state)


# -- kills -------------------------------------------------------------------------------


def run_with_kills(schedule: KillSchedule, reference: Reference, runner: Runner) -> Outcome:
    """The scenario again, killing the worker at the planned points, then draining."""
    outcome = Outcome(str(schedule))
    url = f"sqlite:///{runner.logs}/kills.db"
    with scenario_run(reference, runner, url) as run:
        for boundary, planned in enumerate(schedule.points):
            run.apply(reference.script[boundary])
            _kills(run, reference.calls[boundary], boundary, planned, outcome)
            compare_boundary(reference, boundary, drain(run, reference, outcome), outcome)
            if outcome.violations:
                break
        outcome.faults = run.emu.faults.injected
    outcome.processes = runner.started
    return outcome


def _kills(
    run: OrgRun, calls: list[CallEntry], boundary: int, planned: tuple[str, ...], outcome: Outcome
) -> None:
    previous: str | None = None
    for name in planned:
        point = KILL_POINTS[name]
        if name == "recovery" and previous not in WRITE_POINTS:
            outcome.not_reached.append(f"b{boundary}:{name}")
            continue
        while name != "recovery" and not point.seen_in(calls):
            name = SUBSTITUTES.get(name, "pull")
            outcome.substituted.append(f"b{boundary}:{point.name}->{name}")
            point = KILL_POINTS[name]
        if kill_at(run, point, outcome):
            outcome.kills.append(f"b{boundary}:{point.name}")
            previous = point.name
        else:
            outcome.not_reached.append(f"b{boundary}:{point.name}")
            previous = None


def kill_at(run: OrgRun, point: KillPoint, outcome: Outcome) -> bool:
    """Start a worker, SIGKILL it once it is in flight at `point`; False if it never got there."""
    faults = run.emu.faults
    gate = faults.hold(
        point.path, method=point.method, soql_contains=point.soql, when=point.when, skip=point.skip
    )
    process = run.spawn()
    deadline = time.monotonic() + WAIT_S
    while not gate.reached.wait(0.01):
        if process.poll() is not None or time.monotonic() > deadline:
            break
    if not gate.reached.is_set():
        faults.cancel(gate)
        code = process.wait(WAIT_S)
        if code != 0:
            outcome.violations.append(
                f"exit {code} before {point.name}: {run.runner.last_errors()}"
            )
        return False
    process.send_signal(signal.SIGKILL)
    code = process.wait(WAIT_S)
    gate.release(proceed=point.proceed)
    if not gate.done.wait(WAIT_S):
        outcome.violations.append(f"held request at {point.name} never finished")
    if code != -signal.SIGKILL:
        outcome.violations.append(f"killed at {point.name} but exited {code}")
    return True


# -- faults ------------------------------------------------------------------------------

SCRIPTABLE = (
    ("request_limit", None, None),
    ("invalid_locator", "/query/", "GET"),
    ("drop_after", COLLECTIONS, "PATCH"),
    ("drop", COLLECTIONS, "PATCH"),
    ("truncated", COLLECTIONS, "PATCH"),
    ("timeout", COLLECTIONS, "PATCH"),
    ("timeout", "/query", "GET"),
    ("drop_after", SOAP, "POST"),
    ("503", SOAP, "POST"),
    ("500_html", SOAP, "POST"),
    ("truncated", SOAP, "POST"),
    ("timeout", SOAP, "POST"),
    ("expire_session", None, None),
    ("lock_row", COLLECTIONS, "PATCH"),
)
HTTP_TIMEOUT_S = "1.5"  # the worker's; injected timeouts hold requests longer
TIMEOUT_MS = 2500


@dataclass(frozen=True)
class FaultSchedule:
    """A seed's random rates and scripted one-shots."""

    scenario: Scenario
    plan: FaultPlan
    scripts: tuple[tuple[str, str | None, str | None], ...]

    def __str__(self) -> str:
        kinds = sorted({kind for kind, _, _ in self.scripts})
        return f"seed{self.scenario.seed:02d}-" + "+".join(kinds)


def fault_schedule(scenario: Scenario) -> FaultSchedule:
    """Random rates (some kinds off) and three to six scripted faults, from the seed."""
    rng = Random(10_000 + scenario.seed)
    scriptable = list(SCRIPTABLE)

    def rate(high: float) -> float:
        return round(rng.uniform(0, high), 3) if rng.random() < 0.7 else 0.0

    plan = FaultPlan(
        error_rate=rate(0.12),
        html_error_share=rng.random(),
        lock_row_rate=rate(0.06),
        drop_rate=rate(0.04),
        short_page_rate=rate(0.5),
        expire_session_after_calls=rng.choice([None, rng.randint(4, 30)]),
        timeout_rate=rate(0.03),
        timeout_ms=TIMEOUT_MS,
        truncated_rate=rate(0.04),
        latency_ms=rng.choice([0, 0, 5, 20]),
    )
    scripts = tuple(rng.sample(scriptable, k=rng.randint(3, 6)))
    return FaultSchedule(scenario, plan, scripts)


def run_with_faults(schedule: FaultSchedule, reference: Reference, runner: Runner) -> Outcome:
    """The scenario again on a faulty org; the scripted faults armed at the first boundary."""
    outcome = Outcome(str(schedule))
    url = f"sqlite:///{runner.logs}/faults.db"
    env = {"SFSYNC_HTTP_TIMEOUT": HTTP_TIMEOUT_S}
    seed = schedule.scenario.seed
    with scenario_run(reference, runner, url, plan=schedule.plan, fault_seed=seed, **env) as run:
        for kind, path, method in schedule.scripts:
            run.emu.faults.script(kind, path_contains=path, method=method)
        for boundary in range(schedule.scenario.boundaries):
            run.apply(reference.script[boundary])
            compare_boundary(reference, boundary, drain(run, reference, outcome), outcome)
            if outcome.violations:
                break
        outcome.faults = run.emu.faults.injected
    outcome.processes = runner.started
    return outcome
