"""Speed-to-lead, SLA compliance per team and load per rep: plain data in, plain data out.

Computed from `reads.RoutingFacts` (the routings of a time window, their
owner writes, the leads' completed Tasks, routing's load counts) and `now`.

One assignment per lead: the routing whose owner write landed first (a
re-decision that keeps a pending routing carries the original routing's
time, so it measures the same assignment); a lead whose write has not
landed counts through its latest routing. Re-routings are left out: they
are not a new lead's first assignment.

Times, per lead:
- to decision: CreatedDate -> routing chose the owner (how soon sfsync saw the lead);
- to write:    routing -> the owner write landed (the outbox and the org's pace);
- speed-to-lead: CreatedDate -> the owner write landed (the two together).

The first touch is the first completed Task on the lead after the owner
write. The Task mirror does not record who did a Task, so any completed Task
counts, whoever closed it; its time is the Task's SystemModstamp.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sfsync.rules.routing import Need
from sfsync.service.reads import OwnerWrite, RoutedDecision, RoutingFacts, TaskTouch

WINDOW_DAYS = 30
NO_TEAM = "(no team)"  # routed by a rule that names a user, an account owner or the default
ALL_TEAMS = "all teams"
REROUTES = frozenset({Need.REROUTE.value, Need.REROUTE.name})
NO_ROUTED_LEADS = "no routed leads yet in the last {days} days"
WHO_TOUCHED = (
    "The Task mirror does not record who completed a Task: the first completed Task on the lead "
    "after the owner write counts as the owner's first touch, at the Task's last modification."
)
TASKS_NOT_MIRRORED = (
    "Touches are unknown: completed Tasks are mirrored only while a behaviour rule scores Tasks "
    "(mappings/scoring.yaml), so SLA compliance cannot be measured."
)
NO_CREATED = "{n} routed lead(s) have no CreatedDate in their decision (left out of those times)"


class SlaState(StrEnum):
    """Where a lead stands against its follow-up SLA."""

    NONE = "no SLA"
    ON_TIME = "touched on time"
    LATE = "touched late"
    OVERDUE = "untouched, overdue"
    WAITING = "untouched, not yet due"


@dataclass(frozen=True)
class Assignment:
    """One lead's assignment by routing, and its first touch."""

    lead_id: str
    team: str
    owner: str
    created: datetime | None
    decided_at: datetime
    # When the owner write landed; None while it has not (or when no write was needed).
    landed_at: datetime | None
    sla_due: datetime | None
    touched_at: datetime | None


@dataclass(frozen=True)
class Durations:
    """How many durations, and their median and 90th percentile, in seconds."""

    count: int
    p50: float | None
    p90: float | None


@dataclass(frozen=True)
class TeamSpeed:
    """Speed-to-lead of one team (or of all teams)."""

    team: str
    routed: int
    written: int
    to_decision: Durations
    to_write: Durations
    to_owner: Durations


@dataclass(frozen=True)
class TeamSla:
    """SLA outcomes of one team's leads that have a due time."""

    team: str
    on_time: int
    late: int
    overdue: int
    waiting: int

    @property
    def with_sla(self) -> int:
        """Leads with a due time."""
        return self.on_time + self.late + self.overdue + self.waiting

    @property
    def compliance(self) -> float | None:
        """On time / (on time + late + overdue); None while none of them is settled."""
        settled = self.on_time + self.late + self.overdue
        return self.on_time / settled if settled else None


@dataclass(frozen=True)
class RepLoad:
    """One rep's load: open leads by routing's count and by the latest decisions."""

    owner: str
    teams: tuple[str, ...]
    open_routing: int | None
    open_decided: int | None
    assigned: int


@dataclass(frozen=True)
class SpeedReport:
    """Everything the speed-to-lead section shows."""

    since: datetime
    now: datetime
    overall: TeamSpeed
    teams: list[TeamSpeed]
    sla_overall: TeamSla
    sla: list[TeamSla]
    loads: list[RepLoad]
    rerouted: int
    touches_known: bool
    notes: list[str]

    @property
    def routed(self) -> bool:
        """Whether any lead was routed in the window."""
        return self.overall.routed > 0


def analyse_speed(
    facts: RoutingFacts,
    now: datetime,
    open_per_owner: Sequence[tuple[str, int]] = (),
    days: int = WINDOW_DAYS,
) -> SpeedReport:
    """Speed-to-lead and SLA per team, and load per rep, from one window's routing facts."""
    firsts = [d for d in facts.decisions if d.need not in REROUTES]
    found = assignments(firsts, facts.writes, facts.touches)
    by_team = _grouped(found)
    sla = [team_sla(team, rows, now) for team, rows in by_team.items()]
    return SpeedReport(
        since=facts.since,
        now=now,
        overall=team_speed(ALL_TEAMS, found),
        teams=[team_speed(team, rows) for team, rows in by_team.items()],
        sla_overall=team_sla(ALL_TEAMS, found, now),
        sla=[s for s in sla if s.with_sla],
        loads=rep_loads(facts.loads, facts.members, open_per_owner),
        rerouted=len({d.lead_id for d in facts.decisions} - {a.lead_id for a in found}),
        touches_known=facts.tasks_mirrored,
        notes=notes(found, facts.tasks_mirrored, days),
    )


def assignments(
    decisions: Iterable[RoutedDecision], writes: Iterable[OwnerWrite], touches: Iterable[TaskTouch]
) -> list[Assignment]:
    """One assignment per routed lead, with its first touch after the owner write."""
    landed: dict[int, datetime] = {}
    for write in writes:
        landed[write.decision_id] = min(landed.get(write.decision_id, write.landed_at),
                                        write.landed_at)  # fmt: skip
    tasks: dict[str, list[datetime]] = defaultdict(list)
    for touch in touches:
        tasks[touch.lead_id].append(touch.at)
    by_lead: dict[str, list[RoutedDecision]] = defaultdict(list)
    for decision in decisions:
        by_lead[decision.lead_id].append(decision)
    return [
        _assignment(routings, landed, sorted(tasks[lead]))
        for lead, routings in sorted(by_lead.items())
    ]


def _assignment(
    routings: list[RoutedDecision], landed: Mapping[int, datetime], tasks: list[datetime]
) -> Assignment:
    written = sorted((landed[d.decision_id], d.decision_id, d) for d in routings
                     if d.decision_id in landed)  # fmt: skip
    if written:
        at, _, chosen = written[0]
    else:
        at, chosen = None, max(routings, key=lambda d: (d.decided_at, d.decision_id))
    # With no owner write to wait for, the owner had the lead when routing chose them.
    since = at if chosen.changes_owner else chosen.decided_at
    return Assignment(
        lead_id=chosen.lead_id,
        team=chosen.team or NO_TEAM,
        owner=chosen.owner,
        created=chosen.created,
        decided_at=chosen.decided_at,
        landed_at=at,
        sla_due=chosen.sla_due,
        touched_at=next((t for t in tasks if t >= since), None) if since else None,
    )


def team_speed(team: str, rows: Sequence[Assignment]) -> TeamSpeed:
    """Routed and written counts and the three delays of a group of assignments."""
    return TeamSpeed(
        team=team,
        routed=len(rows),
        written=sum(a.landed_at is not None for a in rows),
        to_decision=durations(_gaps(rows, lambda a: (a.created, a.decided_at))),
        to_write=durations(_gaps(rows, lambda a: (a.decided_at, a.landed_at))),
        to_owner=durations(_gaps(rows, lambda a: (a.created, a.landed_at))),
    )


def _gaps(
    rows: Sequence[Assignment],
    ends: Callable[[Assignment], tuple[datetime | None, datetime | None]],
) -> list[float]:
    """Seconds between the two ends of each row where both are known (clock skew reads as 0)."""
    pairs = [ends(a) for a in rows]
    return [max(0.0, (end - start).total_seconds()) for start, end in pairs if start and end]


def team_sla(team: str, rows: Sequence[Assignment], now: datetime) -> TeamSla:
    """How a group's leads with a due time stand against it at `now`."""
    states = [sla_state(a, now) for a in rows]
    return TeamSla(
        team=team,
        on_time=states.count(SlaState.ON_TIME),
        late=states.count(SlaState.LATE),
        overdue=states.count(SlaState.OVERDUE),
        waiting=states.count(SlaState.WAITING),
    )


def sla_state(assignment: Assignment, now: datetime) -> SlaState:
    """On time, late, overdue or not yet due (a touch exactly at the due time is on time)."""
    due, touched = assignment.sla_due, assignment.touched_at
    if due is None:
        return SlaState.NONE
    if touched is not None:
        return SlaState.ON_TIME if touched <= due else SlaState.LATE
    return SlaState.OVERDUE if now > due else SlaState.WAITING


def durations(seconds: Sequence[float]) -> Durations:
    """Count, median and 90th percentile."""
    return Durations(len(seconds), percentile(seconds, 0.5), percentile(seconds, 0.9))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile by linear interpolation between closest ranks; None for no values."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile is between 0 and 1, not {q}")
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rep_loads(
    loads: Mapping[str, int],
    members: Sequence[tuple[str, str, int]],
    open_per_owner: Sequence[tuple[str, int]] = (),
) -> list[RepLoad]:
    """Every rep that holds open leads or is in a team, busiest first."""
    teams: dict[str, set[str]] = defaultdict(set)
    assigned: dict[str, int] = defaultdict(int)
    for team, member, count in members:
        teams[member].add(team)
        assigned[member] += count
    decided = dict(open_per_owner)
    reps = set(loads) | set(teams) | set(decided)
    rows = [
        RepLoad(rep, tuple(sorted(teams[rep])), loads.get(rep), decided.get(rep), assigned[rep])
        for rep in reps
    ]
    return sorted(rows, key=lambda r: (-(r.open_routing or 0), -(r.open_decided or 0), r.owner))


def notes(found: Sequence[Assignment], tasks_mirrored: bool, days: int) -> list[str]:
    """What the reader must know to read the numbers right."""
    if not found:
        return [NO_ROUTED_LEADS.format(days=days)]
    said = [WHO_TOUCHED if tasks_mirrored else TASKS_NOT_MIRRORED]
    missing = sum(a.created is None for a in found)
    return [*said, NO_CREATED.format(n=missing)] if missing else said


def _grouped(rows: Sequence[Assignment]) -> dict[str, list[Assignment]]:
    groups: dict[str, list[Assignment]] = defaultdict(list)
    for row in rows:
        groups[row.team].append(row)
    return dict(sorted(groups.items()))
