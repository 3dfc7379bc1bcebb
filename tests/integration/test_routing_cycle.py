"""Routing in the sync cycle, against the emulator over HTTPS: owners, SLA Tasks, manual owners.

The worker, store and rules are the real ones; the mappings are the shipped
ones with a routing.yaml that sends every lead waiting in intake to a team of
three reps weighted 2:1:1, with a follow-up Task per routing.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.errors import ConfigError
from sfsync.explain import explanation
from sfsync.service.page import lead_report
from sfsync.store import OutboxKind, OutboxState
from sfsync.store.routing import RoutingStore
from tests.integration.conftest import MAPPINGS, Worker
from tests.integration.helpers import calls_since, worker_writes

WEIGHTS = (2, 1, 1)
SUBJECT = "Call {LastName} at {Company}"


def routing_yaml(reps: list[str], *, cap: int | None = None) -> str:
    members = "\n".join(
        f"      - {{user: {rep}, weight: {w}}}" for rep, w in zip(reps, WEIGHTS, strict=False)
    )
    cap_line = f"    cap: {cap}\n" if cap is not None else ""
    return f"""
owner_field: OwnerId
intake: [Lead Intake]
default: {{queue: Lead Intake}}
rules:
  - name: Inbound
    assign: {{team: reps}}
teams:
  reps:
    strategy: weighted_round_robin
{cap_line}    members:
{members}
sla:
  subject: "{SUBJECT}"
  due_in: 2h
  priority: High
"""


@pytest.fixture
def routed_mappings(tmp_path: Path, seeded: SeededOrg) -> Path:
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, directory)
    (directory / "routing.yaml").write_text(routing_yaml(seeded.human_user_ids[:3]))
    return directory


def one_cycle(make_worker: Callable[..., Worker], mappings: Path) -> None:
    """A worker that runs one cycle and stops (a live one holds the pull lease on PostgreSQL)."""
    worker = make_worker(sfsync_mappings=mappings)
    try:
        worker.job.run_once()
    finally:
        worker.close()


def new_intake_leads(seeded: SeededOrg, count: int, tag: str) -> list[str]:
    """Leads a web form would create: owned by the intake queue, entered by a person."""
    intake = seeded.queue_ids["Lead Intake"]
    creator = seeded.human_user_ids[-1]
    ids = []
    for n in range(count):
        values = {"LastName": f"Routed{tag}{n}", "Company": f"Acme {tag}{n}", "OwnerId": intake}
        result = seeded.org.create("Lead", values, user_id=creator, auto_assign=False)
        assert result.success, result
        ids.append(str(result.id))
    return ids


def owners(seeded: SeededOrg, ids: list[str]) -> dict[str, str]:
    with seeded.org.lock:
        return {i: str(seeded.org.tables["Lead"][i]["OwnerId"]) for i in ids}


def tasks_for(seeded: SeededOrg, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    wanted = set(ids)
    found: dict[str, list[dict[str, Any]]] = {}
    with seeded.org.lock:
        for task in seeded.org.tables["Task"].values():
            if task.get("WhoId") in wanted and not task.get("IsDeleted"):
                found.setdefault(str(task["WhoId"]), []).append(dict(task))
    return found


def org_tasks(seeded: SeededOrg) -> list[dict[str, Any]]:
    with seeded.org.lock:
        return [dict(t) for t in seeded.org.tables["Task"].values() if not t.get("IsDeleted")]


def within_one_of_weights(split: Counter[str], reps: list[str]) -> None:
    total = sum(split.values())
    for rep, weight in zip(reps, WEIGHTS, strict=False):
        exact = total * weight / sum(WEIGHTS)
        assert abs(split[rep] - exact) <= 1, (rep, split[rep], exact)


def test_waiting_leads_go_to_the_team_by_weight_with_one_sla_task_each(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    routed_mappings: Path,
) -> None:
    reps = seeded.human_user_ids[:3]
    worker = make_worker(sfsync_mappings=routed_mappings)
    worker.job.run_once()  # the first pull: leads already waiting in intake are routed too
    leads = new_intake_leads(seeded, 40, "a")
    start = len(emulator.calls.entries())

    worker.job.run_once()

    got = owners(seeded, leads)
    assert set(got.values()) <= set(reps)
    team = RoutingStore(worker.store.engine).members("reps")
    within_one_of_weights(Counter(team), reps)
    tasks = tasks_for(seeded, leads)
    assert {lead: len(found) for lead, found in tasks.items()} == dict.fromkeys(leads, 1)
    for lead, (task,) in tasks.items():
        assert task["OwnerId"] == got[lead]
        assert task["Subject"].startswith("Call Routeda")
        assert task["CreatedById"] == seeded.integration_user_id
    inserts = [
        c for c in calls_since(emulator, start) if c.method == "POST" and "sobjects" in c.path
    ]
    assert inserts and all(c.headers.get("sforce-auto-assign") == "FALSE" for c in inserts)

    worker.job.run_once()  # nothing new: no owner moves, no second Task
    assert owners(seeded, leads) == got
    assert {lead: len(found) for lead, found in tasks_for(seeded, leads).items()} == dict.fromkeys(
        leads, 1
    )
    story = explanation(worker.store, leads[0])
    # The latest decision is about sfsync's own write coming back: routed earlier, kept.
    assert story["latest"]["summary"]["routing"] == {
        "need": "sfsync routed it earlier",
        "routed": False,
    }
    routing = next(
        d["summary"]["routing"] for d in story["history"] if d["summary"]["routing"]["routed"]
    )
    assert routing["team"] == "reps" and routing["owner"] == got[leads[0]]
    assert (
        routing["considered"] == reps and routing["sla_task"]["values"]["OwnerId"] == got[leads[0]]
    )
    assert routing["rule"] == "Inbound" and routing["need"] == "owned by an intake owner"


def test_owners_people_chose_are_never_routed(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    routed_mappings: Path,
) -> None:
    worker = make_worker(sfsync_mappings=routed_mappings)
    worker.job.run_once()
    leads = new_intake_leads(seeded, 6, "b")
    worker.job.run_once()
    routed = owners(seeded, leads)
    # A manager hands one routed lead to someone else; a rep enters a lead for themselves.
    manager, rep = seeded.human_user_ids[4], seeded.human_user_ids[5]
    assert seeded.org.update("Lead", leads[0], {"OwnerId": rep}, user_id=manager).success
    own = seeded.org.create(
        "Lead", {"LastName": "Mine", "Company": "Own Co", "OwnerId": rep}, user_id=rep,
        auto_assign=False,
    )  # fmt: skip
    assert own.success

    worker.job.run_once()
    worker.job.run_once()

    assert owners(seeded, [leads[0], str(own.id)]) == {leads[0]: rep, str(own.id): rep}
    assert owners(seeded, leads[1:]) == {i: routed[i] for i in leads[1:]}
    assert str(own.id) not in tasks_for(seeded, [str(own.id)])
    assert "OwnerId" not in worker_writes(seeded.org).get(str(own.id), {})


@pytest.mark.parametrize("fault", ["drop_after", "503", "500_html"])
def test_sla_tasks_are_created_once_through_faults_and_restarts(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    routed_mappings: Path,
    fault: str,
) -> None:
    one_cycle(make_worker, routed_mappings)
    leads = new_intake_leads(seeded, 12, "c")
    # The insert of the Tasks fails the way `fault` does, twice, across restarted workers.
    emulator.faults.script(fault, path_contains="composite/sobjects", method="POST", times=2)
    for _ in range(4):
        worker = make_worker(sfsync_mappings=routed_mappings)
        try:
            worker.job.run_once()
        except Exception:  # a cycle may end in an error; the next one settles what it left
            pass
        finally:
            worker.close()

    tasks = tasks_for(seeded, leads)
    assert {lead: len(found) for lead, found in tasks.items()} == dict.fromkeys(leads, 1)
    assert emulator.faults.injected[fault] >= 1
    final = make_worker(sfsync_mappings=routed_mappings)
    live = final.store.outbox_counts(OutboxKind.CREATE)
    # Every Task sfsync made (these leads' and those of leads routed by the first pull): once.
    mine = Counter(
        str(t["WhoId"]) for t in org_tasks(seeded) if t["CreatedById"] == seeded.integration_user_id
    )
    assert set(mine.values()) == {1}
    assert live.get(OutboxState.DONE.value) == sum(mine.values())
    assert not live.get(OutboxState.SENDING.value) and not live.get(OutboxState.PENDING.value)


def test_the_split_holds_across_a_restart_between_every_batch(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    routed_mappings: Path,
) -> None:
    reps = seeded.human_user_ids[:3]
    one_cycle(make_worker, routed_mappings)
    before = Counter(RoutingStore(make_worker().store.engine).members("reps"))
    leads: list[str] = []
    for batch in range(6):
        leads += new_intake_leads(seeded, 7, f"d{batch}")
        one_cycle(make_worker, routed_mappings)

    got = owners(seeded, leads)
    team = Counter(RoutingStore(make_worker().store.engine).members("reps"))
    within_one_of_weights(team, reps)
    assert Counter(got.values()) == team - before


def test_an_owner_deactivated_before_the_write_is_not_sent(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    routed_mappings: Path,
) -> None:
    one_cycle(make_worker, routed_mappings)
    leads = new_intake_leads(seeded, 4, "e")
    # Every update fails for a while: the routed owners wait in the outbox.
    emulator.faults.script("503", path_contains="composite/sobjects", method="PATCH", times=50)
    worker = make_worker(sfsync_mappings=routed_mappings)
    with pytest.raises(Exception):  # noqa: B017 - any error: the writes did not go out
        worker.job.run_once()
    emulator.faults.clear()
    chosen = {r.lead_id: r.patch["OwnerId"] for r in worker.store.outbox(OutboxState.SENDING)
              if "OwnerId" in r.patch and r.lead_id in leads}  # fmt: skip
    pending = {r.lead_id: r.patch["OwnerId"] for r in worker.store.outbox(OutboxState.PENDING)
               if "OwnerId" in r.patch and r.lead_id in leads}  # fmt: skip
    chosen.update(pending)
    assert set(chosen) == set(leads)
    gone = chosen[leads[0]]
    admin = seeded.human_user_ids[-1]
    assert seeded.org.update("User", gone, {"IsActive": False}, user_id=admin).success

    worker.job.run_once()

    dead = [r for r in worker.store.outbox(OutboxState.DEAD) if r.lead_id in leads]
    assert dead and all(r.error_code == "INACTIVE_OWNER_OR_USER" for r in dead)
    assert {r.lead_id for r in dead} == {lead for lead, owner in chosen.items() if owner == gone}
    now = owners(seeded, leads)
    assert gone not in now.values()


def test_hot_leads_are_announced_once_each_and_a_broken_webhook_never_fails_a_cycle(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    routed_mappings: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SFSYNC_TEST_HOOK", emulator.hook_url("sales"))
    webhook = """
webhook:
  url_env: SFSYNC_TEST_HOOK
  hot:
    - {field: Company, operator: starts_with, value: Hot}
  text: "Hot lead: {LastName} at {Company} -> {owner_name}"
"""
    path = routed_mappings / "routing.yaml"
    path.write_text(path.read_text() + webhook)
    one_cycle(make_worker, routed_mappings)
    creator, intake = seeded.human_user_ids[-1], seeded.queue_ids["Lead Intake"]
    hot = []
    for n, company in enumerate(["Hot One", "Hot Two", "Hot Three", "Cold Co", "Warm Co"]):
        values = {"LastName": f"Hook{n}", "Company": company, "OwnerId": intake}
        created = seeded.org.create("Lead", values, user_id=creator, auto_assign=False)
        assert created.success
        if company.startswith("Hot"):
            hot.append(str(created.id))
    # The first message meets a 500 (sent again next cycle), the second a dropped answer
    # after it was posted (may have arrived: never sent again).
    emulator.hooks.script("sales", 500, "drop_after")

    for _ in range(3):
        one_cycle(make_worker, routed_mappings)  # no cycle raises

    texts = [body["text"] for body in emulator.hooks.received("sales")]
    assert sorted(t.split(" at ")[0] for t in texts) == [
        "Hot lead: Hook0",
        "Hot lead: Hook1",
        "Hot lead: Hook2",
    ]
    assert len(emulator.hooks.attempts("sales")) == 4  # 3 messages + the one the 500 refused
    worker = make_worker(sfsync_mappings=routed_mappings)
    rows = {
        r.lead_id: r for r in worker.store.outbox(OutboxState.DONE) if r.kind == OutboxKind.NOTIFY
    }
    assert set(rows) == set(hot)
    assert sorted(r.error_code or "" for r in rows.values()) == ["", "", "WEBHOOK_UNCERTAIN"]


def test_an_unset_webhook_variable_stops_the_worker_before_any_call(
    emulator: Emulator, make_worker: Callable[..., Worker], routed_mappings: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("SFSYNC_TEST_HOOK", raising=False)
    path = routed_mappings / "routing.yaml"
    path.write_text(path.read_text() + "\nwebhook:\n  url_env: SFSYNC_TEST_HOOK\n")
    start = len(emulator.calls.entries())
    with pytest.raises(ConfigError, match="SFSYNC_TEST_HOOK"):
        make_worker(sfsync_mappings=routed_mappings)
    assert len(emulator.calls.entries()) == start


def test_leads_left_untouched_past_the_sla_go_to_another_member(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    routed_mappings: Path,
) -> None:
    path = routed_mappings / "routing.yaml"
    path.write_text(
        path.read_text().replace("  due_in: 2h\n", "  due_in: 2h\n  reroute_after: 4h\n")
    )
    one_cycle(make_worker, routed_mappings)
    leads = new_intake_leads(seeded, 4, "f")
    one_cycle(make_worker, routed_mappings)
    first = owners(seeded, leads)
    worked = leads[0]  # its owner calls the lead: the status moves
    assert seeded.org.update(
        "Lead", worked, {"Status": "Working - Contacted"}, user_id=first[worked]
    ).success
    one_cycle(make_worker, routed_mappings)  # the rep's edit is read; not yet due

    worker = make_worker(sfsync_mappings=routed_mappings)
    later = datetime.now(UTC) + timedelta(hours=5)
    worker.job.clock = lambda: later
    worker.job.run_once()
    worker.close()

    now = owners(seeded, leads)
    assert now[worked] == first[worked]
    moved = [lead for lead in leads[1:] if now[lead] != first[lead]]
    assert moved == leads[1:], "every untouched lead goes to another member"
    assert set(now.values()) <= set(seeded.human_user_ids[:3])
    tasks = tasks_for(seeded, leads[1:])
    assert all(len(tasks[lead]) == 2 for lead in leads[1:])  # a follow-up for each owner
    assert {t["OwnerId"] for lead in leads[1:] for t in tasks[lead]} >= set(
        now[x] for x in leads[1:]
    )


def test_speed_to_lead_and_sla_figures_come_from_real_routings(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    routed_mappings: Path,
) -> None:
    one_cycle(make_worker, routed_mappings)
    leads = new_intake_leads(seeded, 9, "g")
    one_cycle(make_worker, routed_mappings)

    store = make_worker(sfsync_mappings=routed_mappings).store
    _analytics, speed = lead_report(store, datetime.now(UTC))

    (team,) = [t for t in speed.teams if t.team == "reps"]
    assert team.routed >= len(leads) and team.written >= len(leads)
    assert team.to_owner.count >= len(leads) and team.to_owner.p50 is not None
    assert team.to_owner.p50 >= 0 and team.to_write.p90 is not None
    (sla,) = [s for s in speed.sla if s.team == "reps"]
    # Every follow-up is due in 2 h and nobody has called yet: all still waiting, none settled.
    assert sla.waiting >= len(leads) and sla.compliance is None
