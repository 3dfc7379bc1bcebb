"""Reference runs and troubled runs of the real worker, on twin orgs with one script of people.

A seed gives a small seeded org and a script of what people do to it. The
*reference run* drives the `sfsync` CLI (`run --once`, one cycle per
boundary) against a copy of the org with no faults and no kills; the
script is generated there, boundary by boundary, by `Activity`. A *troubled
run* starts from another copy, replays the same script verbatim (same
changes, same ids, same people) at the same boundaries, and suffers faults,
kills or several workers on the way. `promises.check` then compares what
the two runs left in the org.

Why boundaries: a boundary is reached when the worker has drained its
outbox. As long as the troubled run reaches each boundary in the state the
reference reached it, the script's next step means the same thing to both.

The org clock steps one second at every boundary (`SteppedClock`): audit
stamps are whole seconds, and the step makes every boundary's changes
strictly later than anything the worker read or wrote before, so that a
change can be told from the versions before it by its stamp alone (the
daemon runs rely on that; test_fault_schedules.py has the same-second case).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from sfsync.emulator.activity import Activity, ActivityEvent
from sfsync.emulator.calllog import CallEntry
from sfsync.emulator.connected_app import new_private_key
from sfsync.emulator.faults import FaultPlan
from sfsync.emulator.org import Org
from sfsync.emulator.seed import SeededOrg, build_org
from sfsync.emulator.server import Emulator
from tests.reliability.launcher import REPO, Launcher, WorkerProcess
from tests.reliability.promises import Observation, observe

MAPPINGS = REPO / "mappings"
RUN_ONCE = ("--log-json", "run", "--once")
RUN_DAEMON = ("--log-json", "run")
WAIT_S = 120.0
# Outbox states that still have work in them (`sfsync status --json`).
LIVE_STATES = ("staged", "pending", "sending")
_APP_KEY: list[rsa.RSAPrivateKey] = []


@dataclass(frozen=True)
class Scenario:
    """One seed's org and script: `boundaries` cycles, people at work before all but the first."""

    seed: int
    leads: int = 150
    boundaries: int = 2
    new_leads: int = 6
    edits: int = 12
    mappings: Path = MAPPINGS


class SteppedClock:
    """The org's clock: real time, plus one second more at every `tick` (see module doc)."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def tick(self) -> None:
        self.offset += 1


def base_org(scenario: Scenario) -> SeededOrg:
    """The seed's org, as built; runs work on `twin`s of it."""
    return build_org(leads=scenario.leads, seed=scenario.seed)


def twin(seeded: SeededOrg, clock: SteppedClock) -> SeededOrg:
    """An independent copy of a seeded org (records are immutable dicts: tables copy shallowly)."""
    org = copy.copy(seeded.org)
    org.lock = threading.RLock()
    org.clock = clock
    org.tables = {name: dict(rows) for name, rows in seeded.org.tables.items()}
    org.history = list(seeded.org.history)
    # Ids come from per-object counters: each twin counts on from where the base stopped.
    org._counters = dict(seeded.org._counters)
    return SeededOrg(
        org=org,
        integration_user_id=seeded.integration_user_id,
        human_user_ids=list(seeded.human_user_ids),
        inactive_user_ids=list(seeded.inactive_user_ids),
        queue_ids=dict(seeded.queue_ids),
        duplicates=list(seeded.duplicates),
        junk_lead_ids=list(seeded.junk_lead_ids),
    )


def app_key() -> rsa.RSAPrivateKey:
    """One connected-app key per process: generating RSA keys is the slow part of a start."""
    if not _APP_KEY:
        _APP_KEY.append(new_private_key())
    return _APP_KEY[0]


# -- the script of people -------------------------------------------------------------


class ScriptDiverged(AssertionError):
    """A replayed change did not land as it did in the reference run."""


@dataclass(frozen=True)
class Change:
    """Where a person's latest change to a lead landed: its stamp and place in the history."""

    stamp: datetime
    history_index: int


def replay(org: Org, step: Sequence[ActivityEvent]) -> dict[str, Change]:
    """Apply one boundary's changes at once (no worker call sees half a step)."""
    landed = {}
    with org.lock:
        for event in step:
            result = _apply(org, event)
            if not result.success or (event.kind == "new_lead" and result.id != event.lead_id):
                raise ScriptDiverged(f"{event.kind} {event.lead_id}: {result}")
            record = org.tables["Lead"][event.lead_id]
            landed[event.lead_id] = Change(record["SystemModstamp"], len(org.history))
    return landed


def _apply(org: Org, event: ActivityEvent) -> Any:
    user = event.user_id
    if event.kind == "new_lead":
        return org.create("Lead", event.fields, user_id=user, auto_assign=False)
    if event.kind == "delete":
        return org.delete("Lead", event.lead_id, user_id=user)
    return org.update("Lead", event.lead_id, event.fields, user_id=user, auto_assign=False)


# -- running the worker -----------------------------------------------------------------


class Runner:
    """Starts `sfsync` processes: forked by a `Launcher`, or plain `python -m sfsync`."""

    def __init__(self, launcher: Launcher | None, logs: Path) -> None:
        self.launcher = launcher
        self.logs = logs
        self.started = 0
        logs.mkdir(parents=True, exist_ok=True)

    def spawn(self, argv: Sequence[str], env: Mapping[str, str]) -> WorkerProcess:
        self.started += 1
        out, err = (self.logs / f"{self.started:03d}.{name}" for name in ("out", "err"))
        if self.launcher is not None:
            return self.launcher.spawn(argv, env, REPO, out, err)
        with out.open("wb") as stdout, err.open("wb") as stderr:
            return subprocess.Popen(
                [sys.executable, "-m", "sfsync", *argv],
                env=dict(env),
                cwd=REPO,
                stdout=stdout,
                stderr=stderr,
            )

    def last_output(self) -> str:
        """What the latest process printed."""
        return (self.logs / f"{self.started:03d}.out").read_text(errors="replace")

    def last_errors(self, tail: int = 2000) -> str:
        """The end of the latest process's stderr (its JSON logs and any error)."""
        return (self.logs / f"{self.started:03d}.err").read_text(errors="replace")[-tail:]


def worker_env(emu: Emulator, store_url: str, **extra: str) -> dict[str, str]:
    """What a deployed worker would have, pointing at the emulator (no status server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "SFSYNC_"))}
    env.update(
        REQUESTS_CA_BUNDLE=str(emu.ca_file),
        SF_LOGIN_URL=emu.login_url,
        SF_CLIENT_ID=emu.credentials.client_id,
        SF_CLIENT_SECRET=emu.credentials.client_secret,
        SFSYNC_DATABASE_URL=store_url,
        SFSYNC_MAPPINGS=str(MAPPINGS),
        SFSYNC_RETRY_WAIT_SCALE="0",
        SFSYNC_STATUS_PORT="0",
    )
    env.update(extra)
    return env


@dataclass
class OrgRun:
    """One org (a twin of the base) served by an emulator, driven boundary by boundary."""

    seeded: SeededOrg
    emu: Emulator
    runner: Runner
    store_url: str
    clock: SteppedClock
    env_extra: dict[str, str] = field(default_factory=dict)
    # Each lead's latest scripted change in this run.
    changed: dict[str, Change] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return worker_env(self.emu, self.store_url, **self.env_extra)

    def apply(self, step: Sequence[ActivityEvent]) -> None:
        """People's changes for the next boundary, one org-clock second after the last."""
        self.clock.tick()
        self.changed.update(replay(self.seeded.org, step))

    def spawn(self, argv: Sequence[str] = RUN_ONCE, **extra: str) -> WorkerProcess:
        return self.runner.spawn(argv, {**self.env, **extra})

    def once(self) -> int:
        """One `sfsync run --once`, waited for; its exit code."""
        return self.spawn().wait(WAIT_S)

    def status(self) -> dict[str, Any]:
        """`sfsync status --json`."""
        code = self.spawn(("status", "--json")).wait(WAIT_S)
        if code != 0:
            raise AssertionError(f"sfsync status exited {code}: {self.runner.last_errors()}")
        data: dict[str, Any] = json.loads(self.runner.last_output())
        return data

    def explain(self, lead_id: str) -> dict[str, Any]:
        """`sfsync explain LEAD --json`: the lead's decisions, newest first."""
        code = self.spawn(("explain", lead_id, "--json")).wait(WAIT_S)
        if code != 0:
            return {}
        data: dict[str, Any] = json.loads(self.runner.last_output())
        return data

    def observe(self, base: SeededOrg) -> Observation:
        """The org and the worker's store now (see `promises.observe`)."""
        return observe(self.seeded, base, self.status())

    def quiesce(self) -> None:
        """Wait for requests a `timeout` fault still holds: the org finishes what it started."""
        deadline = time.monotonic() + WAIT_S
        while self.emu.faults.late():
            if time.monotonic() > deadline:
                raise AssertionError("requests held by timeout faults never finished")
            time.sleep(0.02)


@contextmanager
def org_run(
    base: SeededOrg,
    runner: Runner,
    store_url: str,
    *,
    plan: FaultPlan | None = None,
    fault_seed: int = 0,
    **env_extra: str,
) -> Iterator[OrgRun]:
    """A twin of `base` served over HTTPS for the block."""
    clock = SteppedClock()
    seeded = twin(base, clock)
    with Emulator(seeded.org, faults=plan, seed=fault_seed, app_key=app_key()) as emu:
        yield OrgRun(seeded, emu, runner, store_url, clock, dict(env_extra))


def scenario_run(
    reference: Reference, runner: Runner, store_url: str, **options: Any
) -> AbstractContextManager[OrgRun]:
    """`org_run` for a troubled run of the reference's scenario (same base, same mappings)."""
    mappings = str(reference.scenario.mappings)
    return org_run(reference.base, runner, store_url, SFSYNC_MAPPINGS=mappings, **options)


# -- the reference run -----------------------------------------------------------------


@dataclass
class Reference:
    """What the fault-free, kill-free run did: the script, and the org after each boundary."""

    scenario: Scenario
    base: SeededOrg
    script: list[list[ActivityEvent]]
    boundaries: list[Observation]
    calls: list[list[CallEntry]]

    @property
    def final(self) -> Observation:
        return self.boundaries[-1]


def run_reference(scenario: Scenario, launcher: Launcher | None, workdir: Path) -> Reference:
    """Run the scenario without trouble, generating the script of people as it goes."""
    base = base_org(scenario)
    runner = Runner(launcher, workdir / "reference")
    script: list[list[ActivityEvent]] = []
    boundaries: list[Observation] = []
    calls: list[list[CallEntry]] = []
    url, mappings = f"sqlite:///{workdir}/reference.db", str(scenario.mappings)
    with org_run(base, runner, url, SFSYNC_MAPPINGS=mappings) as run:
        activity = Activity(run.seeded, seed=scenario.seed)
        for boundary in range(scenario.boundaries):
            run.clock.tick()
            step = [] if boundary == 0 else _step(activity, scenario)
            script.append(step)
            before = len(run.emu.calls)
            code = run.once()
            observed = run.observe(base)
            if code != 0 or any(observed.outbox.get(state) for state in LIVE_STATES):
                raise AssertionError(f"reference run failed ({code}): {runner.last_errors()}")
            calls.append(run.emu.calls.entries()[before:])
            boundaries.append(observed)
    return Reference(scenario, base, script, boundaries, calls)


def _step(activity: Activity, scenario: Scenario) -> list[ActivityEvent]:
    with activity.org.lock:
        return activity.step(new_leads=scenario.new_leads, edits=scenario.edits)
