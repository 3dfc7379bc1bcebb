"""The routing reads on SQLite and PostgreSQL, and speed-to-lead on the page and in the report.

Rows are inserted straight into the store's tables, shaped as the sync cycle
records a routing: the decision's `summary["routing"]`, the done owner write
in the outbox, the SLA Task's create row, the mirrored completed Tasks.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from sfsync.cli_service import app
from sfsync.service.page import collect, lead_report, status_page
from sfsync.service.reads import (
    TASK_MIRROR_CURSOR,
    first_id_since,
    owner_writes,
    routed_decisions,
    routing_facts,
    task_touches,
)
from sfsync.store import Store
from sfsync.store.tables import (
    DecisionRow,
    EngagementEventRow,
    OutboxRow,
    RoutingLoadRow,
    RoutingMemberRow,
)
from tests.service.conftest import HOSTILE

NOW = datetime(2025, 3, 12, 14, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)
M = timedelta(minutes=1)
REP_A, REP_B = "005000000000001AAA", "005000000000002AAA"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


def lead(n: int) -> str:
    return f"00Q{n:012d}AAA"


def decision(
    store: Store, n: int, at: datetime, routing: dict[str, Any] | None, **summary: Any
) -> int:
    """A decision about lead n stored at `at`; `routing` as the cycle records it (None: none)."""
    body: dict[str, Any] = {"score": 50, "decided_at": at.isoformat(), **summary}
    if routing is not None:
        body["routing"] = {"routed": True, "changes_owner": True, "routed_at": at.isoformat(),
                           **routing}  # fmt: skip
    row = DecisionRow(run_id="run-1", lead_id=lead(n), base_stamp=at, input_hash=f"h{n}{at}",
                      rules_version="v1", summary=body, created_at=at)  # fmt: skip
    with store.session() as s:
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id


def outbox(store: Store, decision_id: int, n: int, at: datetime, landed: datetime | None,
           patch: dict[str, Any], **kw: Any) -> None:  # fmt: skip
    """An outbox row queued at `at`; done at `landed` (None: still pending)."""
    values: dict[str, Any] = {
        "decision_id": decision_id, "run_id": "run-1", "lead_id": lead(n), "patch": patch,
        "patch_hash": f"p{decision_id}{kw.get('kind', 'update')}", "rules_version": "v1",
        "base_stamp": at, "state": "done" if landed else "pending", "created_at": at,
        "updated_at": landed or at,
    }  # fmt: skip
    with store.session() as s:
        s.add(OutboxRow(**{**values, **kw}))


def task(store: Store, n: int, record: str, stamp: datetime | None, day: datetime,
         deleted: bool = False) -> None:  # fmt: skip
    """A mirrored completed Task on lead n (occurred_at is its ActivityDate, a date)."""
    with store.session() as s:
        s.add(EngagementEventRow(key=f"Task:{record}", source="Task", source_id=record,
                                 lead_id=lead(n), kind="task", occurred_at=day, stamp=stamp,
                                 deleted=deleted, pending=False))  # fmt: skip


def routed(store: Store, n: int, at: datetime, team: str | None, owner: str, *,
           landed: datetime | None, due: datetime | None = None, **kw: Any) -> int:  # fmt: skip
    """A lead created 3 minutes before `at`, routed at `at`, its owner write landed at `landed`."""
    routing = {"owner": owner, "team": team, "rule": "r", "assignee": "team" if team else "user",
               "need": "new lead", "sla_due": due.isoformat() if due else None, **kw}  # fmt: skip
    created = (at - 3 * M).isoformat()
    ident = decision(store, n, at, routing, owner=owner, created=created)
    outbox(store, ident, n, at, landed, {"OwnerId": owner, "Lead_Score__c": 50})
    if due is not None:
        sla_task = {"OwnerId": owner, "WhoId": lead(n), "Subject": "Follow up",
                    "ReminderDateTime": due.isoformat()}  # fmt: skip
        outbox(store, ident, n, at, at + M, sla_task, kind="create", sobject="Task",
               result={"id": f"00T{n:015d}"})  # fmt: skip
    return ident


# -- the window's start, by bisecting the primary key ----------------------------------------


def test_first_id_since_matches_a_scan(store: Store):
    assert first_id_since(store, DecisionRow, SINCE) is None  # empty table
    rng = random.Random(7)
    times = sorted(NOW - timedelta(hours=rng.uniform(0, 2000)) for _ in range(60))
    for i, at in enumerate(times):
        ident = decision(store, i, at, None)
        if i % 3 == 0:  # gaps in the ids, as deleted or rolled-back rows leave
            with store.session() as s:
                s.delete(s.get(DecisionRow, ident))
    with store.session() as s:
        rows = sorted((int(r.id or 0), r.created_at) for r in s.exec(select(DecisionRow)))
    for since in [*times, NOW - timedelta(days=365), NOW, times[0] - M, times[-1] + M]:
        expected = next((i for i, at in rows if at >= since), None)
        assert first_id_since(store, DecisionRow, since) == expected, since


# -- the reads --------------------------------------------------------------------------------


def test_routed_decisions_in_the_window_only(store: Store):
    decision(store, 1, SINCE - M, {"owner": REP_A, "team": "east"})  # before the window
    decision(
        store,
        2,
        SINCE + M,
        {"owner": REP_A, "team": "east"},
        created="2025-02-11T09:00:00.000+0000",
    )
    decision(store, 3, SINCE + 2 * M, {"need": "a person set its owner", "routed": False})
    decision(store, 4, SINCE + 3 * M, None)
    decision(store, 5, NOW - M, {"owner": REP_B, "team": None, "changes_owner": False,
                                 "sla_due": "2025-03-12T15:00:00+01:00"})  # fmt: skip
    found = routed_decisions(store, SINCE)
    assert [(d.lead_id, d.owner, d.team) for d in found] == [
        (lead(2), REP_A, "east"), (lead(5), REP_B, None),
    ]  # fmt: skip
    second = found[0]
    assert second.created == datetime(2025, 2, 11, 9, tzinfo=UTC)
    assert second.decided_at == SINCE + M and second.changes_owner and second.need is None
    last = found[1]
    assert last.created is None and not last.changes_owner
    assert last.sla_due == datetime(2025, 3, 12, 14, tzinfo=UTC)


def test_a_pending_routing_keeps_its_original_time(store: Store):
    first = NOW - 60 * M
    routing = {"owner": REP_A, "team": "east", "routed_at": first.isoformat(), "pending": True}
    decision(store, 1, NOW - 10 * M, routing)
    (found,) = routed_decisions(store, SINCE)
    assert found.decided_at == first


def test_owner_writes_are_done_lead_updates_that_set_the_owner(store: Store):
    ident = decision(store, 1, NOW - 30 * M, {"owner": REP_A})
    outbox(store, ident, 1, NOW - 30 * M, NOW - 20 * M, {"OwnerId": REP_A})
    outbox(store, ident, 1, NOW - 30 * M, NOW - 20 * M, {"Lead_Score__c": 3}, patch_hash="x")
    outbox(store, ident, 1, NOW - 30 * M, None, {"OwnerId": REP_A}, patch_hash="y")
    outbox(store, ident, 1, NOW - 30 * M, NOW - 20 * M, {"OwnerId": REP_A}, kind="create",
           sobject="Task")  # fmt: skip
    outbox(store, ident, 1, SINCE - M, SINCE + M, {"OwnerId": REP_A}, patch_hash="z")  # old
    outbox(store, ident, 1, NOW - 30 * M, NOW - 20 * M, {"OwnerId": REP_A}, kind="convert")
    writes = owner_writes(store, SINCE)
    assert [(w.decision_id, w.lead_id, w.landed_at) for w in writes] == [
        (ident, lead(1), NOW - 20 * M)
    ]


def test_task_touches_are_live_mirrored_tasks_of_the_leads(store: Store):
    day = datetime(2025, 3, 12, tzinfo=UTC)
    task(store, 1, "00T1", NOW - 5 * M, day)
    task(store, 1, "00T2", None, day)  # no stamp: the ActivityDate is all there is
    task(store, 1, "00T3", NOW - 4 * M, day, deleted=True)  # reopened: no longer a touch
    task(store, 1, "00T4", SINCE - M, SINCE - M)  # before the window
    task(store, 2, "00T5", NOW - 3 * M, day)  # another lead
    with store.session() as s:
        s.add(EngagementEventRow(key="import:x", source="import", lead_id=lead(1),
                                 kind="page_view", occurred_at=NOW, pending=False))  # fmt: skip
    touches = task_touches(store, [lead(1)], SINCE)
    assert sorted(t.at for t in touches) == [day, NOW - 5 * M]


def test_task_touches_are_read_in_chunks(store: Store):
    for n in range(1, 1203, 200):
        task(store, n, f"00T{n}", NOW - M, NOW)
    touches = task_touches(store, [lead(n) for n in range(1, 1203)], SINCE)
    assert len(touches) == 7


def test_routing_facts_join_the_pieces(store: Store):
    routed(store, 1, NOW - 60 * M, "east", REP_A, landed=NOW - 58 * M, due=NOW - 30 * M)
    routed(store, 2, NOW - 50 * M, "west", REP_B, landed=None, due=NOW + 30 * M)
    lifecycle = decision(store, 3, NOW - 40 * M, None)  # a queue move, not a routing
    outbox(store, lifecycle, 3, NOW - 40 * M, NOW - 39 * M, {"OwnerId": "00G000000000001AAA"})
    task(store, 1, "00T1", NOW - 45 * M, NOW)
    with store.session() as s:
        s.add(RoutingLoadRow(owner_id=REP_A, open_leads=3))
        s.add(RoutingMemberRow(team="east", member=REP_A, assigned=12))
    found = routing_facts(store, SINCE)
    assert [d.lead_id for d in found.decisions] == [lead(1), lead(2)]
    assert [w.lead_id for w in found.writes] == [lead(1)]
    assert [t.lead_id for t in found.touches] == [lead(1)] and found.tasks_mirrored
    assert found.loads == {REP_A: 3} and list(found.members) == [("east", REP_A, 12)]


def test_the_task_watermark_says_tasks_are_mirrored(store: Store):
    routed(store, 1, NOW - 60 * M, "east", REP_A, landed=NOW - 58 * M)
    assert not routing_facts(store, SINCE).tasks_mirrored
    store.set_watermark(TASK_MIRROR_CURSOR, NOW)
    assert routing_facts(store, SINCE).tasks_mirrored


# -- the page and the report --------------------------------------------------------------


def seed(store: Store) -> None:
    """Two teams: east answers in time, west is late and has one lead overdue."""
    routed(store, 1, NOW - 90 * M, "east", REP_A, landed=NOW - 88 * M, due=NOW - 30 * M)
    routed(store, 2, NOW - 80 * M, "east", REP_A, landed=NOW - 79 * M, due=NOW - 20 * M)
    routed(store, 3, NOW - 70 * M, HOSTILE, REP_B, landed=NOW - 65 * M, due=NOW - 10 * M)
    routed(store, 4, NOW - 60 * M, HOSTILE, REP_B, landed=NOW - 50 * M, due=NOW - 5 * M)
    routed(store, 5, NOW - 5 * M, None, REP_B, landed=None, due=NOW + 55 * M)
    for n, at in ((1, NOW - 60 * M), (2, NOW - 40 * M), (3, NOW - 5 * M)):
        task(store, n, f"00T{n}", at, NOW.replace(hour=0))
    with store.session() as s:
        s.add(RoutingLoadRow(owner_id=REP_A, open_leads=2))
        s.add(RoutingLoadRow(owner_id=REP_B, open_leads=3))
        s.add(RoutingMemberRow(team="east", member=REP_A, assigned=2))


def test_the_report_data_per_team(store: Store):
    seed(store)
    _, speed = lead_report(store, NOW)
    teams = {t.team: t for t in speed.teams}
    assert (teams["east"].routed, teams["east"].written) == (2, 2)
    assert teams["east"].to_owner.p50 == pytest.approx(4.5 * 60)  # 5 and 4 minutes
    assert (teams["(no team)"].routed, teams["(no team)"].written) == (1, 0)
    sla = {s.team: s for s in speed.sla}
    assert (sla["east"].on_time, sla["east"].compliance) == (2, 1.0)
    assert (sla[HOSTILE].late, sla[HOSTILE].overdue, sla[HOSTILE].compliance) == (1, 1, 0.0)
    assert sla["(no team)"].waiting == 1 and sla["(no team)"].compliance is None
    assert speed.sla_overall.compliance == pytest.approx(0.5)
    assert [(r.owner, r.open_routing) for r in speed.loads][:2] == [(REP_B, 3), (REP_A, 2)]


def test_the_page_shows_speed_sla_and_load_escaped(store: Store):
    seed(store)
    html = status_page(collect(store, timedelta(minutes=15), NOW))
    for part in ("Speed-to-lead per team (median)", "SLA compliance per team", "Load per rep",
                 "4m 30s", "50%", "Compliance = on time / (on time + late + overdue)",
                 "does not record who completed a Task"):  # fmt: skip
        assert part in html, part
    assert "no routed leads yet" not in html and "time from creation to assignment" not in html
    assert "<script" not in html and "&lt;script&gt;" in html


def test_without_mirrored_tasks_the_page_says_touches_are_unknown(store: Store):
    routed(store, 1, NOW - 90 * M, "east", REP_A, landed=NOW - 88 * M, due=NOW - 30 * M)
    html = status_page(collect(store, timedelta(minutes=15), NOW))
    assert "Touches are unknown" in html and "SLA compliance per team" not in html
    assert "<td>east</td><td>1</td><td>0</td><td>0</td><td>1</td><td>0</td><td>—</td>" in html


def test_the_load_table_shows_the_busiest_reps(store: Store):
    with store.session() as s:
        for n in range(60):
            s.add(RoutingLoadRow(owner_id=f"005{n:015d}", open_leads=n))
    html = status_page(collect(store, timedelta(minutes=15), NOW))
    assert "no routed leads yet" in html and "Load per rep" in html
    assert f"<td>005{59:015d}</td>" in html and f"<td>005{9:015d}</td>" not in html
    assert "10 more rep(s) not shown" in html


def test_the_report_command_shows_speed_to_lead(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/s.db"
    opened = Store(url)
    try:
        routed(opened, 1, datetime.now(UTC) - 10 * M, "east", REP_A,
               landed=datetime.now(UTC) - 9 * M)  # fmt: skip
    finally:
        opened.close()
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "--out", str(out)],
                                env={"SFSYNC_DATABASE_URL": url})  # fmt: skip
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "Speed-to-lead" in html and "east" in html and "4m 00s" in html
