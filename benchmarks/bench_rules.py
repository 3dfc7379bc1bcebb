"""Decisions per second of `rules.pipeline.decide` over a seeded org's leads, on one core.

Run: .venv/bin/python -m benchmarks.bench_rules [LEADS] (prints figures, asserts nothing).

The leads and their engagement (campaign responses, completed Tasks) come
from a seeded emulator org, read through the worker's own SOQL and record
translation, so the values look exactly as a pull delivers them. Each lead
goes through the whole chain with the shipped mappings: enrichment, points
score, behaviour score with decay, fit grade, rating, lifecycle status,
conversion check, input hash, the diff and the explanation; then routing
(shipped routing.yaml, every lead as a new one, the org's users and queues)
on each decision's values, as `jobs.route_page` routes them. Leads are decided
in pages of 2,000 as a cycle does; the setup's objects are frozen out of the
garbage collector's way (`gc.freeze`), as they would be long-lived in a worker.
The first pass runs with cold caches (phone parsing, titles, company names);
the figure is the best of the later passes, in wall time and in CPU time (the
machine is shared: CPU time moves less when other work runs). A later pass
decides the same leads again, so answers remembered per lead's own value (a
phone number, an address) are found too; the last figure is a pass over
further leads of the same org never decided before, with the shared caches
(domains, titles, companies, criteria answers) warm from the others: a
stream of new leads.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sfsync.connectors.engagement import engagement_event
from sfsync.connectors.salesforce import lead_from_record
from sfsync.connectors.soql import engagement_query, incremental_query
from sfsync.emulator.org import Org
from sfsync.emulator.seed import build_org
from sfsync.mappings import load_rules
from sfsync.models import EngagementEvent, Lead
from sfsync.routing_state import RoutingSnapshot
from sfsync.rules.behavior import Engagement, behavior_score
from sfsync.rules.chain import decay_day
from sfsync.rules.engagement import to_engagement
from sfsync.rules.enrich import enrich_lead
from sfsync.rules.grade import grade_lead
from sfsync.rules.lifecycle import next_status
from sfsync.rules.pipeline import Decision, decide
from sfsync.rules.routing import route_batch
from sfsync.rules.routing_facts import LeadFacts, OrgUser, RoutingOrg
from sfsync.rules.ruleset import RuleSet
from sfsync.rules.score import score_lead

LEADS = 10_000
SEED = 11
PAGE = 2_000
PASSES = 4
MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
Work = list[tuple[Lead, list[Engagement]]]


def seeded_work(count: int, rules: RuleSet) -> tuple[Work, datetime, RoutingOrg]:
    """The org's leads as a pull reads them, each with its engagement; the org's now and people."""
    org = build_org(count, seed=SEED).org
    now = org.now()
    fields = sorted(rules.fields_read() | set(rules.fields.write))
    leads = [lead_from_record(r) for r in _records(org, incremental_query("Lead", fields, None,
                                                                        timedelta(0)))]  # fmt: skip
    events = _engagement(org, rules, now)
    work = [(lead, to_engagement(events.get(lead.id, []))) for lead in leads]
    return work, now, _routing_org(org)


def _routing_org(org: Org) -> RoutingOrg:
    """The org's users and Lead queues, as `jobs.routing_org` reads them."""
    users = _records(org, "SELECT Id, Username, Name, IsActive FROM User")
    accepting = {r["QueueId"] for r in _records(org, "SELECT QueueId FROM QueueSobject WHERE "
                                                     "SobjectType = 'Lead'")}  # fmt: skip
    groups = _records(org, "SELECT Id, Name FROM Group WHERE Type = 'Queue'")
    return RoutingOrg(
        tuple(OrgUser(str(u["Id"]), str(u["Username"]), bool(u["IsActive"]), str(u["Name"]))
              for u in users),
        {str(g["Name"]): str(g["Id"]) for g in groups if g["Id"] in accepting},
        str(users[0]["Id"]),
    )  # fmt: skip


def _records(org: Org, soql: str) -> list[dict[str, Any]]:
    result = org.query(soql, include_deleted=True)
    rows = result.page(0, result.total_size)
    return [{k: v for k, v in row.items() if k != "attributes"} for row in rows]


def _engagement(org: Org, rules: RuleSet, now: datetime) -> dict[str, list[EngagementEvent]]:
    found: dict[str, list[EngagementEvent]] = {}
    for sobject in ("CampaignMember", "Task"):
        soql = engagement_query(sobject, None, timedelta(0), rules.engagement_days)
        for record in _records(org, soql):
            event = engagement_event(sobject, record)
            if event is not None and event.lead_id and not event.deleted:
                found.setdefault(event.lead_id, []).append(event)
    return found


def decide_all(work: Work, rules: RuleSet, now: datetime) -> int:
    """Decide every lead, a page at a time (a page's decisions live until it is recorded)."""
    changed = 0
    for start in range(0, len(work), PAGE):
        page = [decide(lead, rules, {}, now, done) for lead, done in work[start : start + PAGE]]
        changed += sum(1 for d in page if d.changes)
    return changed


def decide_and_route(work: Work, rules: RuleSet, now: datetime, org: RoutingOrg) -> int:
    """`decide_all`, then each page routed on its decisions' values, one lead after another."""
    assert rules.routing is not None
    routed = 0
    for start in range(0, len(work), PAGE):
        page = work[start : start + PAGE]
        decisions = [decide(lead, rules, {}, now, done) for lead, done in page]
        pairs = zip(page, decisions, strict=True)
        inputs = [(_routing_values(lead, d), NEW_LEAD) for (lead, _), d in pairs]
        outcomes, _ = route_batch(inputs, org, rules.routing, RoutingSnapshot(), now)
        routed += sum(1 for o in outcomes if o.owner_id)
    return routed


NEW_LEAD = LeadFacts(is_new=True)


def _routing_values(lead: Lead, decision: Decision) -> dict[str, Any]:
    """What `jobs.route_page` routes on: the lead, the decision's changes and its facts."""
    return {**lead.values, **decision.changes, **decision.summary.get("facts", {})}


def timed(label: str, work: Callable[[], object], count: int, rates: dict[str, float]) -> float:
    """Run `work`, print, keep and return items per second."""
    began = time.perf_counter()
    work()
    rate = count / (time.perf_counter() - began)
    print(f"{label:<44} {rate:>10,.0f} leads/s")
    rates[label.strip()] = rate
    return rate


def figures(count: int = LEADS) -> dict[str, float]:
    """Decisions/s of decide() (cold, best warm pass, unseen leads) and of each step."""
    rules = load_rules(MAPPINGS)
    seeded, now, org = seeded_work(count + count // 2, rules)
    work, unseen = seeded[:count], seeded[count:]
    gc.collect()
    gc.freeze()
    engaged = sum(1 for _, done in work if done)
    print(f"{len(work):,} seeded leads ({engaged:,} with engagement), shipped mappings, one core")
    rates: dict[str, float] = {}
    timed("decide(), first pass (cold caches)", lambda: decide_all(work, rules, now), len(work),
          rates)  # fmt: skip
    warm = [_once(work, rules, now) for _ in range(PASSES - 1)]
    wall, cpu = max(w for w, _ in warm), max(c for _, c in warm)
    rates["decide(), best warm pass"] = wall
    rates["decide(), best warm pass, CPU time"] = cpu
    name = "decide(), best warm pass"
    print(f"{name:<44} {wall:>10,.0f} leads/s ({1e6 / cpu:.0f} µs CPU a lead)")
    routed = [_routed_once(work, rules, now, org) for _ in range(PASSES - 1)]
    rates["decide() + routing, best pass"] = max(w for w, _ in routed)
    rates["decide() + routing, best pass, CPU time"] = cpu = max(c for _, c in routed)
    name = "decide() + routing, best pass"
    print(f"{name:<44} {rates[name]:>10,.0f} leads/s ({1e6 / cpu:.0f} µs CPU a lead)")
    label = f"decide(), {len(unseen):,} unseen leads"
    timed(label, lambda: decide_all(unseen, rules, now), len(unseen), rates)
    _steps(work, rules, now, rates)
    return {"leads": len(work), **rates}


def _once(work: Work, rules: RuleSet, now: datetime) -> tuple[float, float]:
    """Leads/s of one pass, in wall time and in CPU time."""
    began, cpu = time.perf_counter(), time.process_time()
    decide_all(work, rules, now)
    return len(work) / (time.perf_counter() - began), len(work) / (time.process_time() - cpu)


def _routed_once(work: Work, rules: RuleSet, now: datetime, org: RoutingOrg) -> tuple[float, float]:
    """Leads/s of one decide-and-route pass, in wall time and in CPU time."""
    began, cpu = time.perf_counter(), time.process_time()
    decide_and_route(work, rules, now, org)
    return len(work) / (time.perf_counter() - began), len(work) / (time.process_time() - cpu)


def _steps(work: Work, rules: RuleSet, now: datetime, rates: dict[str, float]) -> None:
    """Each step alone, for a profile of where the time goes."""
    assert rules.enrichment and rules.enrichment_data and rules.grading and rules.lifecycle
    enrichment, data, grading, lifecycle = (rules.enrichment, rules.enrichment_data,
                                            rules.grading, rules.lifecycle)  # fmt: skip
    values = [lead.values for lead, _ in work]
    seen = [enrich_lead(v, enrichment, data).values(v) for v in values]
    pairs: Sequence[tuple[Any, list[Engagement]]] = list(
        zip(seen, (e for _, e in work), strict=True)
    )
    day, n = decay_day(now), len(work)
    timed("  enrichment", lambda: [enrich_lead(v, enrichment, data) for v in values], n, rates)
    timed("  points score", lambda: [score_lead(v, rules.scoring) for v in seen], n, rates)
    timed("  behaviour score", lambda: [behavior_score(v, e, grading.behavior, day)
                                        for v, e in pairs], n, rates)  # fmt: skip
    timed("  fit grade", lambda: [grade_lead(v, grading.grade) for v in seen], n, rates)
    timed("  lifecycle status", lambda: [next_status(v, 50, "B", lifecycle) for v in seen], n,
          rates)  # fmt: skip


def main() -> None:
    """Print the figures for LEADS leads (default 10,000)."""
    figures(int(sys.argv[1]) if len(sys.argv) > 1 else LEADS)


if __name__ == "__main__":
    main()
