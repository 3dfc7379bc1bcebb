"""`sfsync check`: the mappings against the org's describe, each problem with file and line.

Loading the mappings already catches what a file alone can tell (YAML,
types, operators, filter logic). This adds what only the org knows: fields
exist (a describe lists only the fields the user can read), targets are
updateable, picklist values and statuses exist, values fit the fields,
owners are active users and queues take Leads. fields.yaml, scoring.yaml,
conversion.yaml and routing.yaml's owners (given the org's users, an org fact
on the rules) are checked here; enrichment, grading and lifecycle in
`check_rules`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sfsync.connectors.salesforce import ObjectInfo, SalesforceClient
from sfsync.ids import to18
from sfsync.jobs.check_base import OrgFacts, Problem, Queue, Source
from sfsync.jobs.check_fields import constants, criteria, readable, writable
from sfsync.jobs.check_rules import check_rule_files
from sfsync.jobs.routing_org import LEAD_QUEUES, QUEUES, USERS, routing_org_from
from sfsync.mappings import CONVERSION_FILE, FIELDS_FILE, ROUTING_FILE, SCORING_FILE, read_yaml
from sfsync.rules.pipeline import RuleSet
from sfsync.rules.routing_check import config_problems
from sfsync.rules.routing_facts import RoutingOrg

__all__ = ["OrgFacts", "Problem", "Queue", "check_mappings", "org_facts"]

CONVERTED_STATUSES_SOQL = "SELECT ApiName, MasterLabel FROM LeadStatus WHERE IsConverted = true"
ACTIVE_USERS_SOQL = "SELECT Id, IsActive FROM User WHERE IsActive = true"


def org_facts(
    client: SalesforceClient,
    rules: RuleSet,
    *,
    read_queues: bool = False,
    read_routing: bool = False,
) -> OrgFacts:
    """Read the org once: describes, statuses, users and queues, as far as the rules need them.

    The describes (Lead and the objects conversion copies onto) and the
    queries (up to four: each is asked once, whoever needs it) go in one
    Composite request: one API call while each answer fits a page. Queues
    are read only when asked for, routing's users and queues (`facts.routing`)
    likewise.
    """
    queries = _queries(rules, read_queues or read_routing, read_routing)
    copy_to = list(rules.conversion.copy_to) if rules.conversion is not None else []
    described, answers = client.read_together(["Lead", *copy_to], list(queries.values()))
    rows = dict(zip(queries, answers, strict=True))
    facts = OrgFacts(
        described["Lead"],
        queues=_queues(rows["lead_queues"], rows["queues"]) if read_queues else None,
        routing=_routing_org(client, rows) if read_routing else None,
    )
    if rules.conversion is None:
        return facts
    statuses = {str(s[k]) for s in rows["statuses"] for k in ("ApiName", "MasterLabel") if s.get(k)}
    return dataclasses.replace(
        facts,
        converted_statuses=frozenset(statuses),
        active_users=frozenset(str(u["Id"]) for u in rows["users"] if u.get("IsActive")),
        targets={name: described[name] for name in copy_to},
    )


def _queries(rules: RuleSet, queues: bool, routing: bool) -> dict[str, str]:
    """The queries the facts need, by name; one User query serves conversion and routing."""
    found = {"lead_queues": LEAD_QUEUES, "queues": QUEUES} if queues else {}
    if rules.conversion is not None:
        found["statuses"] = CONVERTED_STATUSES_SOQL
    if routing:
        found["users"] = USERS  # every user: routing needs to know who left, too
    elif rules.conversion is not None:
        found["users"] = ACTIVE_USERS_SOQL
    return found


def _routing_org(client: SalesforceClient, rows: dict[str, list[dict[str, Any]]]) -> RoutingOrg:
    me = client.integration_user_id()
    return routing_org_from(rows["users"], rows["lead_queues"], rows["queues"], me)


def _queues(lead_queues: list[dict[str, Any]], groups: list[dict[str, Any]]) -> tuple[Queue, ...]:
    for_leads = {to18(str(r["QueueId"])) for r in lead_queues}
    return tuple(
        Queue(
            id=to18(str(r["Id"])),
            name=str(r.get("Name") or ""),
            developer_name=str(r.get("DeveloperName") or ""),
            takes_leads=to18(str(r["Id"])) in for_leads,
        )
        for r in groups
    )


def check_mappings(directory: Path, rules: RuleSet, facts: OrgFacts) -> list[Problem]:
    """Every field, picklist value, status, owner and queue in the mappings, checked."""
    return (
        _fields(directory, rules, facts.lead)
        + _scoring(directory, rules, facts.lead)
        + _conversion(directory, rules, facts)
        + check_rule_files(directory, rules, facts)
        + _routing(directory, rules)
    )


def _routing(directory: Path, rules: RuleSet) -> list[Problem]:
    """Owners routing.yaml names that are not active users or Lead queues (org facts read first)."""
    if rules.routing is None or rules.routing_org is None:
        return []
    source = Source.read(directory, ROUTING_FILE)
    found = config_problems(rules.routing, rules.routing_org)
    return [source.problem(p.path, p.message) for p in found]


def _fields(directory: Path, rules: RuleSet, lead: ObjectInfo) -> list[Problem]:
    source = Source.read(directory, FIELDS_FILE)
    read = [readable(source, ("read", i), name, lead) for i, name in enumerate(rules.fields.read)]
    write = [
        writable(source, ("write", i), name, lead) for i, name in enumerate(rules.fields.write)
    ]
    return [p for p in read + write if p is not None]


def _scoring(directory: Path, rules: RuleSet, lead: ObjectInfo) -> list[Problem]:
    source = Source.read(directory, SCORING_FILE)
    problems: list[Problem] = []
    for i, rule in enumerate(rules.scoring.rules):
        problems += criteria(source, ("rules", i, "criteria"), rule.criteria, lead)
    target = rules.scoring.targets.rating
    if target:
        problems += constants(source, _rating_bands(directory), lead.fields.get(target))
    return problems


def _rating_bands(directory: Path) -> Iterator[tuple[tuple[str | int, ...], str]]:
    # The model sorts bands by score; the file's own order gives the right line.
    raw, _lines = read_yaml(directory / SCORING_FILE)
    for i, band in enumerate(raw.get("ratings") or []):
        if isinstance(band, dict):
            yield ("ratings", i, "rating"), str(band.get("rating"))


def _conversion(directory: Path, rules: RuleSet, facts: OrgFacts) -> list[Problem]:
    config = rules.conversion
    if config is None:
        return []
    source = Source.read(directory, CONVERSION_FILE)
    problems = criteria(source, ("criteria",), config.criteria, facts.lead)
    if config.converted_status not in facts.converted_statuses:
        allowed = ", ".join(sorted(facts.converted_statuses)) or "none"
        message = (
            f"{config.converted_status!r} is not a LeadStatus with IsConverted = true "
            f"(the org has: {allowed})"
        )
        problems.append(source.problem(("converted_status",), message))
    problems += list(_copy_targets(source, rules, facts))
    owner = config.fallback_owner
    if owner and owner not in facts.active_users:
        message = f"{owner} is not an active user of the org"
        problems.append(source.problem(("fallback_owner",), message))
    return problems


def _copy_targets(source: Source, rules: RuleSet, facts: OrgFacts) -> Iterator[Problem]:
    assert rules.conversion is not None
    for sobject, mapping in rules.conversion.copy_to.items():
        info = facts.targets.get(sobject)
        for lead_field, target in mapping.items():
            path = ("copy_to", sobject, lead_field)
            if lead_field not in facts.lead.fields:
                yield source.problem(path, f"no field {lead_field!r} on Lead")
            elif info is None or target not in info.fields:
                yield source.problem(path, f"no field {target!r} on {sobject} in the org")
            elif not info.fields[target].updateable:
                yield source.problem(path, f"{sobject}.{target} is not updateable in the org")
