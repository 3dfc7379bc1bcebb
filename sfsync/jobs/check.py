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

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sfsync.connectors.salesforce import ObjectInfo, SalesforceClient
from sfsync.ids import to18
from sfsync.jobs.check_base import OrgFacts, Problem, Queue, Source
from sfsync.jobs.check_fields import constants, criteria, readable, writable
from sfsync.jobs.check_rules import check_rule_files
from sfsync.mappings import CONVERSION_FILE, FIELDS_FILE, ROUTING_FILE, SCORING_FILE, read_yaml
from sfsync.rules.pipeline import RuleSet
from sfsync.rules.routing_check import config_problems

__all__ = ["OrgFacts", "Problem", "Queue", "check_mappings", "org_facts"]

QUEUES_SOQL = "SELECT Id, Name, DeveloperName FROM Group WHERE Type = 'Queue'"
LEAD_QUEUES_SOQL = "SELECT QueueId FROM QueueSobject WHERE SobjectType = 'Lead'"
CONVERTED_STATUSES_SOQL = "SELECT ApiName, MasterLabel FROM LeadStatus WHERE IsConverted = true"
ACTIVE_USERS_SOQL = "SELECT Id FROM User WHERE IsActive = true"


def org_facts(client: SalesforceClient, rules: RuleSet, *, read_queues: bool = False) -> OrgFacts:
    """Read the org once: the Lead describe, statuses and users when conversion needs them.

    Queues are read only when asked for. The queries (up to four) go in one
    Composite request: one API call while each answer fits a page.
    """
    lead = client.describe("Lead")
    soqls = [LEAD_QUEUES_SOQL, QUEUES_SOQL] if read_queues else []
    if rules.conversion is not None:
        soqls += [CONVERTED_STATUSES_SOQL, ACTIVE_USERS_SOQL]
    answers = client.query_together(soqls)
    queues = _queues(answers[0], answers[1]) if read_queues else None
    if rules.conversion is None:
        return OrgFacts(lead, queues=queues)
    statuses, users = answers[-2], answers[-1]
    names = {str(s.get(k)) for s in statuses for k in ("ApiName", "MasterLabel") if s.get(k)}
    targets: dict[str, ObjectInfo] = {
        name: client.describe(name) for name in rules.conversion.copy_to
    }
    return OrgFacts(lead, frozenset(names), frozenset(str(u["Id"]) for u in users), targets, queues)


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
