"""Speed-to-lead, SLA compliance and load per rep as pure functions of hand-made rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from sfsync.service.charts import duration
from sfsync.service.reads import OwnerWrite, RoutedDecision, RoutingFacts, TaskTouch, moment
from sfsync.service.speed import (
    ALL_TEAMS,
    NO_TEAM,
    TASKS_NOT_MIRRORED,
    WHO_TOUCHED,
    Assignment,
    SlaState,
    analyse_speed,
    assignments,
    percentile,
    rep_loads,
    sla_state,
)

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
PARIS = timezone(timedelta(hours=1))
M = timedelta(minutes=1)


def routed(n: int, lead: str = "L1", **kw: Any) -> RoutedDecision:
    values: dict[str, Any] = {
        "owner": "005A", "team": "east", "need": "new lead", "created": T0,
        "decided_at": T0 + 5 * M, "sla_due": T0 + 65 * M,
    }  # fmt: skip
    values.update(kw)
    return RoutedDecision(decision_id=n, lead_id=lead, **values)


def facts(
    decisions: Sequence[RoutedDecision],
    writes: Sequence[OwnerWrite] = (),
    touches: Sequence[TaskTouch] = (),
    *,
    mirrored: bool = True,
    loads: dict[str, int] | None = None,
    members: Sequence[tuple[str, str, int]] = (),
) -> RoutingFacts:
    return RoutingFacts(
        T0 - timedelta(days=30), decisions, writes, touches, mirrored, loads or {}, members
    )


def assignment(**kw: Any) -> Assignment:
    values: dict[str, Any] = {
        "lead_id": "L1", "team": "east", "owner": "005A", "created": T0, "decided_at": T0,
        "landed_at": T0 + M, "sla_due": T0 + 60 * M, "touched_at": None,
    }  # fmt: skip
    return Assignment(**{**values, **kw})


# -- the SLA, one lead at a time ----------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "touched", "now", "state"),
    [
        (None, None, NOW, SlaState.NONE),
        (None, T0, NOW, SlaState.NONE),
        (T0 + 60 * M, T0 + 30 * M, NOW, SlaState.ON_TIME),
        (T0 + 60 * M, T0 + 60 * M, NOW, SlaState.ON_TIME),  # exactly at the due time
        (T0 + 60 * M, T0 + 61 * M, NOW, SlaState.LATE),
        (T0 + 60 * M, None, T0 + 61 * M, SlaState.OVERDUE),
        (T0 + 60 * M, None, T0 + 60 * M, SlaState.WAITING),
        (T0 + 60 * M, None, T0 + 10 * M, SlaState.WAITING),
        # the same instants written in another zone compare as instants
        (T0 + 60 * M, (T0 + 59 * M).astimezone(PARIS), NOW, SlaState.ON_TIME),
        ((T0 + 60 * M).astimezone(PARIS), T0 + 61 * M, NOW, SlaState.LATE),
    ],
)
def test_sla_state(due: datetime | None, touched: datetime | None, now: datetime, state: SlaState):
    assert sla_state(assignment(sla_due=due, touched_at=touched), now) is state


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.5, 7.0),
        ([7.0], 0.9, 7.0),
        ([1.0, 2.0], 0.5, 1.5),
        ([3.0, 1.0, 2.0], 0.5, 2.0),
        ([float(n) for n in range(1, 11)], 0.9, 9.1),
        ([float(n) for n in range(1, 11)], 0.0, 1.0),
        ([float(n) for n in range(1, 11)], 1.0, 10.0),
        ([0.0, 0.0, 0.0, 100.0], 0.5, 0.0),
    ],
)
def test_percentile(values: list[float], q: float, expected: float | None):
    assert percentile(values, q) == pytest.approx(expected)


def test_a_quantile_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1.0], 90)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59.4, "59s"), (60, "1m 00s"), (754, "12m 34s"), (3 * 3600 + 300, "3h 05m"),
     (2 * 86400 + 4 * 3600 + 59, "2d 4h")],
)  # fmt: skip
def test_duration_text(seconds: float, text: str):
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-10T09:00:00+00:00", T0),
        ("2025-03-10T09:00:00Z", T0),
        ("2025-03-10T09:00:00.000+0000", T0),  # Salesforce's own format
        ("2025-03-10T10:00:00+01:00", T0),
        ("2025-03-10T09:00:00", T0),  # naive: read as UTC
        ("not a date", None),
        ("", None),
        (None, None),
        (12, None),
    ],
)
def test_stored_times_are_read_as_aware_instants(text: Any, expected: datetime | None):
    assert moment(text) == expected


# -- one assignment per lead ---------------------------------------------------------------


def test_the_routing_whose_write_landed_first_is_the_assignment():
    decisions = [
        routed(1, decided_at=T0 + 2 * M, team="east"),
        routed(2, decided_at=T0 + 4 * M, team="west", owner="005B"),
        routed(3, decided_at=T0 + 6 * M, team="north", owner="005C"),
    ]
    writes = [OwnerWrite(3, "L1", T0 + 9 * M), OwnerWrite(2, "L1", T0 + 7 * M)]
    (only,) = assignments(decisions, writes, [])
    assert (only.team, only.owner, only.decided_at, only.landed_at) == (
        "west", "005B", T0 + 4 * M, T0 + 7 * M,
    )  # fmt: skip


def test_a_lead_never_written_counts_through_its_latest_routing():
    decisions = [routed(1, decided_at=T0 + M, team="east"), routed(2, decided_at=T0 + 3 * M,
                                                                   team="west")]  # fmt: skip
    (only,) = assignments(decisions, [], [TaskTouch("L1", T0 + 4 * M)])
    assert only.team == "west" and only.landed_at is None
    assert only.touched_at is None  # no owner write: nobody's touch is the new owner's


def test_the_first_touch_is_the_first_completed_task_after_the_owner_write():
    touches = [TaskTouch("L1", T0 + M), TaskTouch("L1", T0 + 30 * M), TaskTouch("L1", T0 + 20 * M),
               TaskTouch("L2", T0 + 11 * M)]  # fmt: skip
    (only,) = assignments([routed(1)], [OwnerWrite(1, "L1", T0 + 10 * M)], touches)
    assert only.touched_at == T0 + 20 * M


def test_a_touch_in_another_zone_is_compared_as_an_instant():
    paris_touch = (T0 + 11 * M).astimezone(PARIS)  # 10:11 in Paris, after the 09:10 UTC write
    (only,) = assignments([routed(1)], [OwnerWrite(1, "L1", T0 + 10 * M)],
                          [TaskTouch("L1", paris_touch)])  # fmt: skip
    assert only.touched_at == T0 + 11 * M


def test_no_owner_write_needed_counts_touches_from_the_routing():
    decision = routed(1, decided_at=T0 + 5 * M, changes_owner=False)
    (only,) = assignments([decision], [], [TaskTouch("L1", T0 + 6 * M)])
    assert only.landed_at is None and only.touched_at == T0 + 6 * M


# -- per team ------------------------------------------------------------------------------


def test_no_routed_leads_says_so_instead_of_zeros():
    report = analyse_speed(facts([]), NOW)
    assert not report.routed
    assert report.notes == ["no routed leads yet in the last 30 days"]
    assert report.teams == [] and report.sla == []
    assert report.overall.to_owner.p50 is None


def test_speed_to_lead_per_team_and_overall():
    decisions = [
        routed(1, "L1", team="east", created=T0, decided_at=T0 + 2 * M),
        routed(2, "L2", team="east", created=T0, decided_at=T0 + 4 * M),
        routed(3, "L3", team="west", created=T0, decided_at=T0 + 10 * M),
        routed(4, "L4", team=None, created=None, decided_at=T0 + 1 * M),
        routed(5, "L5", team="west", created=T0, decided_at=T0 + 3 * M),  # never written
    ]
    writes = [OwnerWrite(1, "L1", T0 + 3 * M), OwnerWrite(2, "L2", T0 + 8 * M),
              OwnerWrite(3, "L3", T0 + 11 * M), OwnerWrite(4, "L4", T0 + 2 * M)]  # fmt: skip
    report = analyse_speed(facts(decisions, writes), NOW)
    teams = {t.team: t for t in report.teams}
    assert list(teams) == [NO_TEAM, "east", "west"]
    east = teams["east"]
    assert (east.routed, east.written) == (2, 2)
    assert (east.to_decision.p50, east.to_write.p50, east.to_owner.p50) == (180, 150, 330)
    west = teams["west"]
    assert (west.routed, west.written, west.to_owner.count, west.to_decision.count) == (2, 1, 1, 2)
    overall = report.overall
    assert overall.team == ALL_TEAMS and (overall.routed, overall.written) == (5, 4)
    assert overall.to_owner.count == 3  # L4 has no CreatedDate, L5 no write
    assert overall.to_write.count == 4 and overall.to_write.p50 == 60
    assert any("1 routed lead(s) have no CreatedDate" in n for n in report.notes)


def test_clock_skew_reads_as_no_delay():
    decision = routed(1, created=T0 + 10 * M, decided_at=T0 + 5 * M)  # created "after" decided
    report = analyse_speed(facts([decision], [OwnerWrite(1, "L1", T0 + 6 * M)]), NOW)
    assert report.overall.to_decision.p50 == 0 and report.overall.to_owner.p50 == 0


def test_sla_compliance_per_team():
    now = T0 + 120 * M
    due = T0 + 60 * M
    decisions = [
        routed(1, "L1", team="east", sla_due=due),  # on time
        routed(2, "L2", team="east", sla_due=due),  # late
        routed(3, "L3", team="east", sla_due=due),  # overdue
        routed(4, "L4", team="east", sla_due=now + 60 * M),  # not yet due
        routed(5, "L5", team="west", sla_due=None),  # no SLA
    ]
    writes = [OwnerWrite(n, f"L{n}", T0 + 10 * M) for n in range(1, 6)]
    touches = [TaskTouch("L1", T0 + 30 * M), TaskTouch("L2", T0 + 90 * M)]
    report = analyse_speed(facts(decisions, writes, touches), now)
    (east,) = report.sla  # west has no lead with an SLA
    assert (east.team, east.on_time, east.late, east.overdue, east.waiting) == ("east", 1, 1, 1, 1)
    assert east.with_sla == 4 and east.compliance == pytest.approx(1 / 3)
    assert report.sla_overall.with_sla == 4 and report.touches_known
    assert report.notes == [WHO_TOUCHED]


def test_compliance_is_unknown_while_nothing_is_settled():
    decision = routed(1, sla_due=NOW + 60 * M)
    report = analyse_speed(facts([decision], [OwnerWrite(1, "L1", T0 + 6 * M)]), NOW)
    assert report.sla_overall.waiting == 1 and report.sla_overall.compliance is None


def test_without_the_task_mirror_touches_are_unknown():
    report = analyse_speed(facts([routed(1)], [OwnerWrite(1, "L1", T0 + 6 * M)], mirrored=False),
                           NOW)  # fmt: skip
    assert not report.touches_known and TASKS_NOT_MIRRORED in report.notes


def test_reroutes_are_not_first_assignments():
    reroute = "sfsync routed it earlier and a re-routing rule now applies"
    decisions = [routed(1, "L1"), routed(2, "L1", need=reroute, owner="005B"),
                 routed(3, "L2", need=reroute)]  # fmt: skip
    writes = [OwnerWrite(1, "L1", T0 + 6 * M), OwnerWrite(2, "L1", T0 + 7 * M)]
    report = analyse_speed(facts(decisions, writes), NOW)
    assert report.overall.routed == 1 and report.rerouted == 1


# -- load per rep --------------------------------------------------------------------------


def test_load_per_rep_joins_routing_counts_teams_and_decisions():
    rows = rep_loads(
        {"005A": 4, "005B": 9},
        [("east", "005A", 10), ("west", "005A", 2), ("west", "005C", 1)],
        [("005A", 3), ("005D", 5)],
    )
    assert [(r.owner, r.teams, r.open_routing, r.open_decided, r.assigned) for r in rows] == [
        ("005B", (), 9, None, 0),
        ("005A", ("east", "west"), 4, 3, 12),
        ("005D", (), None, 5, 0),
        ("005C", ("west",), None, None, 1),
    ]


def test_the_report_carries_the_loads_even_without_routed_leads():
    report = analyse_speed(facts([], loads={"005A": 2}), NOW, [("005A", 1)])
    assert not report.routed and [(r.owner, r.open_routing, r.open_decided) for r in report.loads] \
        == [("005A", 2, 1)]  # fmt: skip
