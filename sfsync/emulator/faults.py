"""Injected faults: the failures a real org and its network produce, on demand.

Two sources, both thread-safe:

- a `FaultPlan` of rates, drawn from `random.Random(seed)` so a run is
  repeatable; random faults hit counted REST calls only, never the token
  endpoint or the versions list;
- scripted one-shots (`Faults.script`) for deterministic tests. A script
  with `path_contains` may target any path, the token endpoint included; one
  without it only fires on counted REST calls.

Each fault kind is consumed at the point where it makes sense: connection and
status faults before the handler runs, `lock_row` per record of a write,
`invalid_locator` when a query cursor is read, `timeout` just before the
handler (the request is held longer than a client waits, then runs anyway,
as an org keeps working on a request whose caller gave up), `drop_after`
and `truncated` after the handler ran (the write happened; the answer is
lost, or arrives cut off mid-body).

Gates (`Faults.hold`) are for tests that need a request in flight at a known
moment, e.g. to kill the client then: the request waits before or after its
handler until the test releases it.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Final, Literal

from sfsync.emulator.limits import concurrency_exceeded
from sfsync.emulator.wire import (
    DROP,
    Outcome,
    Request,
    Response,
    error_response,
    html_response,
)

# Faults answered instead of running the handler.
REQUEST_KINDS: Final = frozenset({"503", "500_html", "drop", "request_limit"})
SCRIPT_KINDS: Final = REQUEST_KINDS | {
    "lock_row",
    "expire_session",
    "invalid_locator",
    "drop_after",
    "timeout",
    "truncated",
}
# A gate that nobody releases lets its request go after this long.
MAX_HOLD_SECONDS: Final = 60.0


@dataclass(frozen=True)
class FaultPlan:
    """Rates of random faults (0.0 to 1.0 each) and fixed latency."""

    error_rate: float = 0.0
    # Share of injected 5xx errors answered with an HTML page (500/502) instead of JSON 503.
    html_error_share: float = 0.5
    lock_row_rate: float = 0.0
    drop_rate: float = 0.0
    latency_ms: int = 0
    short_page_rate: float = 0.0
    expire_session_after_calls: int | None = None
    # Requests held `timeout_ms` before their handler runs (set it above the client's timeout).
    timeout_rate: float = 0.0
    timeout_ms: int = 2000
    # 200 answers whose body is cut off halfway, after the handler ran.
    truncated_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("error_rate", "html_error_share", "lock_row_rate", "drop_rate"):
            _check_rate(name, getattr(self, name))
        for name in ("short_page_rate", "timeout_rate", "truncated_rate"):
            _check_rate(name, getattr(self, name))
        if self.latency_ms < 0 or self.timeout_ms < 0:
            raise ValueError("latency_ms and timeout_ms must be >= 0")
        if self.expire_session_after_calls is not None and self.expire_session_after_calls < 1:
            raise ValueError("expire_session_after_calls must be >= 1")


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0.0 and 1.0, not {value}")


@dataclass
class _Script:
    kind: str
    path_contains: str | None
    method: str | None
    remaining: int

    def matches(self, request: Request, counted: bool) -> bool:
        if self.method is not None and self.method.upper() != request.method:
            return False
        if self.path_contains is None:
            return counted
        return self.path_contains in request.path


class Gate:
    """One request held in flight until the test lets it go (see `Faults.hold`).

    `reached` is set when the request arrives at the gate; `done` when the
    request is finished with (answered, dropped, or its answer written to a
    client that may be gone).
    """

    def __init__(
        self,
        path_contains: str | None,
        method: str | None,
        soql_contains: str | None,
        when: Literal["before", "after"],
        skip: int,
    ) -> None:
        self.path_contains, self.method, self.soql_contains = path_contains, method, soql_contains
        self.when = when
        self.skip = skip
        self.reached = threading.Event()
        self.done = threading.Event()
        self._released = threading.Event()
        self._proceed = True

    def matches(self, request: Request) -> bool:
        """Whether `request` is one this gate waits for (skipped ones included)."""
        if self.method is not None and self.method.upper() != request.method:
            return False
        if self.path_contains is not None and self.path_contains not in request.path:
            return False
        return self.soql_contains is None or self.soql_contains in (request.param("q") or "")

    def release(self, *, proceed: bool = True) -> None:
        """Let the held request go on; `proceed=False` drops a "before" request unhandled."""
        self._proceed = proceed
        self._released.set()

    def wait_released(self) -> bool:
        """Block the serving thread until released; True when the request goes on."""
        self.reached.set()
        self._released.wait(MAX_HOLD_SECONDS)
        return self._proceed


class Faults:
    """The emulator's fault injector: a plan of rates plus scripted one-shots."""

    def __init__(self, plan: FaultPlan | None = None, seed: int = 0) -> None:
        self.plan = plan or FaultPlan()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._scripts: list[_Script] = []
        self._gates: list[Gate] = []  # armed, waiting for their request
        self._holding: list[Gate] = []  # holding a request now
        self._held = threading.local()
        self._late = 0  # requests a timeout fault held that have not finished yet
        self._injected: Counter[str] = Counter()

    @property
    def injected(self) -> Counter[str]:
        """How many faults of each kind were injected so far (a copy)."""
        with self._lock:
            return Counter(self._injected)

    def script(
        self,
        kind: str,
        path_contains: str | None = None,
        method: str | None = None,
        times: int = 1,
    ) -> None:
        """Inject `kind` into the next `times` matching requests (records, for lock_row)."""
        if kind not in SCRIPT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(SCRIPT_KINDS)}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._scripts.append(_Script(kind, path_contains, method, times))

    def pending(self) -> int:
        """Scripted faults not yet consumed."""
        with self._lock:
            return sum(script.remaining for script in self._scripts)

    def clear(self) -> None:
        """Drop every pending script, open every gate and reset the counters."""
        with self._lock:
            self._scripts.clear()
            gates = self._gates + self._holding
            self._gates, self._holding = [], []
            self._injected.clear()
        for gate in gates:
            gate.release()

    def hold(
        self,
        path_contains: str | None = None,
        *,
        method: str | None = None,
        soql_contains: str | None = None,
        when: Literal["before", "after"] = "before",
        skip: int = 0,
    ) -> Gate:
        """Hold the next matching counted request (after `skip` of them) until released.

        `when="before"` holds it before its handler runs; `"after"` once the
        handler ran (a write is done) but before the answer goes out.
        `soql_contains` matches the `q` parameter of a query.
        """
        if skip < 0:
            raise ValueError("skip must be >= 0")
        gate = Gate(path_contains, method, soql_contains, when, skip)
        with self._lock:
            self._gates.append(gate)
        return gate

    def cancel(self, gate: Gate) -> bool:
        """Disarm a gate that has not taken a request yet; False if it already did."""
        with self._lock:
            if gate not in self._gates:
                return False
            self._gates.remove(gate)
            return True

    # -- checkpoints, in the order a request meets them -----------------------

    def expire_session(self, request: Request, calls_so_far: int) -> bool:
        """True when this authenticated call must find its session expired."""
        after = self.plan.expire_session_after_calls
        with self._lock:
            hit = self._take("expire_session", request, counted=True) or (
                after is not None and calls_so_far >= after
            )
            return self._note(hit, "expire_session")

    def before_handler(self, request: Request, *, counted: bool) -> str | None:
        """The fault kind that replaces the answer to this request, if any."""
        self._sleep_latency(counted)
        with self._lock:
            kind = self._take_any(REQUEST_KINDS, request, counted)
            if kind is None and counted:
                kind = self._random_request_fault()
            if kind is not None:
                # "500_html" counts every HTML 5xx page, whether 500 or 502.
                self._injected["500_html" if kind == "502_html" else kind] += 1
            return kind

    def hold_before(self, request: Request) -> bool:
        """Wait at a "before" gate if one takes this request; False when it must be dropped."""
        gate = self._gate_for(request, "before")
        if gate is None:
            return True
        proceed = gate.wait_released()
        if not proceed:
            gate.done.set()
            return False
        self._held.gate = gate
        return True

    def timeout(self, request: Request, *, counted: bool) -> bool:
        """Hold this request `timeout_ms` before its handler when a timeout fault hits it."""
        with self._lock:
            hit = self._take("timeout", request, counted) or (
                counted and self._draw(self.plan.timeout_rate)
            )
            if self._note(hit, "timeout"):
                self._late += 1
                self._held.late = True
        if hit:
            time.sleep(self.plan.timeout_ms / 1000)
        return hit

    def late(self) -> int:
        """Requests held by a timeout fault that are not finished yet (their handler may run)."""
        with self._lock:
            return self._late

    def hold_after(self, request: Request) -> None:
        """Wait at an "after" gate if one takes this (already handled) request."""
        gate = self._gate_for(request, "after")
        if gate is not None:
            gate.wait_released()
            self._held.gate = gate

    def finished(self) -> None:
        """The request this thread served is answered: its gate, if any, is done."""
        if getattr(self._held, "late", False):
            self._held.late = False
            with self._lock:
                self._late -= 1
        gate: Gate | None = getattr(self._held, "gate", None)
        if gate is not None:
            self._held.gate = None
            gate.done.set()

    def truncate(self, request: Request, response: Response, *, counted: bool) -> Response:
        """`response`, or a copy cut off halfway when a truncation fault hits this 200 answer."""
        if response.status != 200 or len(response.body) < 2:
            return response
        with self._lock:
            hit = self._take("truncated", request, counted) or (
                counted and self._draw(self.plan.truncated_rate)
            )
            if not self._note(hit, "truncated"):
                return response
        return replace(response, body=response.body[: len(response.body) // 2])

    def drop_after(self, request: Request, *, counted: bool) -> bool:
        """True when the answer to this (already handled) request must be lost."""
        with self._lock:
            return self._note(self._take("drop_after", request, counted), "drop_after")

    def lock_row(self, request: Request) -> bool:
        """True when the next record of this write must fail with UNABLE_TO_LOCK_ROW."""
        with self._lock:
            hit = self._take("lock_row", request, counted=True) or self._draw(
                self.plan.lock_row_rate
            )
            return self._note(hit, "lock_row")

    def invalid_locator(self, request: Request) -> bool:
        """True when this read of a query cursor must find the locator gone."""
        with self._lock:
            return self._note(
                self._take("invalid_locator", request, counted=True), "invalid_locator"
            )

    def page_size(self, asked: int, remaining: int) -> int:
        """Rows to return in this query page: sometimes fewer than asked, never zero."""
        size = min(asked, remaining)
        with self._lock:
            if size > 1 and self._draw(self.plan.short_page_rate):
                self._injected["short_page"] += 1
                return self._rng.randint(1, size - 1)
        return size

    # -- internals (called with the lock held) ---------------------------------

    def _gate_for(self, request: Request, when: str) -> Gate | None:
        """The gate that takes this request (taking the lock itself), counting skipped ones."""
        with self._lock:
            for gate in self._gates:
                if gate.when != when or not gate.matches(request):
                    continue
                if gate.skip > 0:
                    gate.skip -= 1
                    return None
                self._gates.remove(gate)
                self._holding = [g for g in self._holding if not g.done.is_set()] + [gate]
                self._injected["hold"] += 1
                return gate
        return None

    def _take(self, kind: str, request: Request, counted: bool) -> bool:
        return self._take_any(frozenset({kind}), request, counted) is not None

    def _take_any(self, kinds: frozenset[str], request: Request, counted: bool) -> str | None:
        """Consume the oldest matching script whose kind is in `kinds`."""
        for script in self._scripts:
            if script.kind in kinds and script.matches(request, counted):
                script.remaining -= 1
                if script.remaining == 0:
                    self._scripts.remove(script)
                return script.kind
        return None

    def _draw(self, rate: float) -> bool:
        return rate > 0.0 and self._rng.random() < rate

    def _note(self, hit: bool, kind: str) -> bool:
        if hit:
            self._injected[kind] += 1
        return hit

    def _random_request_fault(self) -> str | None:
        if self._draw(self.plan.drop_rate):
            return "drop"
        if not self._draw(self.plan.error_rate):
            return None
        if self._draw(self.plan.html_error_share):
            return self._rng.choice(("500_html", "502_html"))
        return "503"

    def _sleep_latency(self, counted: bool) -> None:
        if counted and self.plan.latency_ms > 0:
            with self._lock:
                self._injected["latency"] += 1
            time.sleep(self.plan.latency_ms / 1000)


def fault_response(kind: str) -> Outcome:
    """What the client sees for a request-level fault `kind`."""
    if kind == "drop":
        return DROP
    if kind == "request_limit":
        return concurrency_exceeded()
    if kind == "500_html":
        return html_response(500, "Internal Server Error")
    if kind == "502_html":
        return html_response(502, "Bad Gateway")
    return error_response(
        503, "SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later."
    )
