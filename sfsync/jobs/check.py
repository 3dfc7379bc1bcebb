"""`sfsync check`: the mappings against the org's describe, each problem with file and line.

Loading the mappings already catches what a file alone can tell (YAML,
types, operators, filter logic). This adds what only the org knows: fields
exist, targets are updateable, picklist values exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sfsync.connectors.salesforce import ObjectInfo, SalesforceClient
from sfsync.mappings import CONVERSION_FILE, FIELDS_FILE, SCORING_FILE, Path_, read_yaml
from sfsync.rules.pipeline import RuleSet


@dataclass(frozen=True)
class Problem:
    """One thing in the mappings the org cannot do."""

    file: Path
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


@dataclass(frozen=True)
class _Ref:
    file: str
    path: Path_
    field: str
    must_update: bool = False


@dataclass(frozen=True)
class OrgFacts:
    """What the checks need to know about the org besides the Lead describe."""

    lead: ObjectInfo
    converted_statuses: frozenset[str] = frozenset()
    active_users: frozenset[str] = frozenset()
    # Describes of the objects conversion copies fields onto.
    targets: Mapping[str, ObjectInfo] = field(default_factory=dict)


def org_facts(client: SalesforceClient, rules: RuleSet) -> OrgFacts:
    """Read the org once: the Lead describe, and statuses and users when conversion needs them."""
    lead = client.describe("Lead")
    if rules.conversion is None:
        return OrgFacts(lead)
    statuses = client.query("SELECT ApiName, MasterLabel FROM LeadStatus WHERE IsConverted = true")
    users = client.query("SELECT Id FROM User WHERE IsActive = true")
    names = {str(s.get(k)) for s in statuses for k in ("ApiName", "MasterLabel") if s.get(k)}
    targets: dict[str, ObjectInfo] = {
        name: client.describe(name) for name in rules.conversion.copy_to
    }
    return OrgFacts(lead, frozenset(names), frozenset(str(u["Id"]) for u in users), targets)


def check_mappings(directory: Path, rules: RuleSet, facts: OrgFacts) -> list[Problem]:
    """Every field, picklist value, status and owner in the mappings, checked against the org."""
    lead = facts.lead
    problems = [p for ref in _field_refs(rules) if (p := _check_field(directory, ref, lead))]
    return (
        problems
        + list(_rating_values(directory, rules, lead))
        + _conversion(directory, rules, facts)
    )


def _conversion(directory: Path, rules: RuleSet, facts: OrgFacts) -> list[Problem]:
    config = rules.conversion
    if config is None:
        return []
    problems = [
        _problem(
            directory, CONVERSION_FILE, ("criteria", i, "field"), f"no field {row.field!r} on Lead"
        )
        for i, row in enumerate(config.criteria)
        if row.field not in facts.lead.fields
    ]
    if config.converted_status not in facts.converted_statuses:
        allowed = ", ".join(sorted(facts.converted_statuses)) or "none"
        message = (
            f"{config.converted_status!r} is not a LeadStatus with IsConverted = true "
            f"(the org has: {allowed})"
        )
        problems.append(_problem(directory, CONVERSION_FILE, ("converted_status",), message))
    problems += list(_copy_targets(directory, rules, facts))
    owner = config.fallback_owner
    if owner and owner not in facts.active_users:
        message = f"{owner} is not an active user of the org"
        problems.append(_problem(directory, CONVERSION_FILE, ("fallback_owner",), message))
    return problems


def _field_refs(rules: RuleSet) -> Iterator[_Ref]:
    for i, name in enumerate(rules.fields.read):
        yield _Ref(FIELDS_FILE, ("read", i), name)
    for i, name in enumerate(rules.fields.write):
        yield _Ref(FIELDS_FILE, ("write", i), name, must_update=True)
    for i, rule in enumerate(rules.scoring.rules):
        for j, row in enumerate(rule.criteria):
            yield _Ref(SCORING_FILE, ("rules", i, "criteria", j, "field"), row.field)


def _check_field(directory: Path, ref: _Ref, lead: ObjectInfo) -> Problem | None:
    info = lead.fields.get(ref.field)
    if info is None:
        message = f"no field {ref.field!r} on Lead in the org"
    elif ref.must_update and not info.updateable:
        message = f"{ref.field} is not updateable in the org (sfsync could never write it)"
    else:
        return None
    return _problem(directory, ref.file, ref.path, message)


def _rating_values(directory: Path, rules: RuleSet, lead: ObjectInfo) -> Iterator[Problem]:
    target = rules.scoring.targets.rating
    info = lead.fields.get(target) if target else None
    if info is None or not info.picklist:
        return
    # The model sorts bands by score; the file's own order gives the right line.
    raw, _lines = read_yaml(directory / SCORING_FILE)
    for i, band in enumerate(raw.get("ratings") or []):
        if isinstance(band, dict) and band.get("rating") not in info.picklist:
            allowed = ", ".join(info.picklist)
            message = f"{band.get('rating')!r} is not a value of {target} in the org ({allowed})"
            yield _problem(directory, SCORING_FILE, ("ratings", i, "rating"), message)


def _copy_targets(directory: Path, rules: RuleSet, facts: OrgFacts) -> Iterator[Problem]:
    assert rules.conversion is not None
    for sobject, mapping in rules.conversion.copy_to.items():
        info = facts.targets.get(sobject)
        for source, target in mapping.items():
            path = ("copy_to", sobject, source)
            if source not in facts.lead.fields:
                yield _problem(directory, CONVERSION_FILE, path, f"no field {source!r} on Lead")
            elif info is None or target not in info.fields:
                message = f"no field {target!r} on {sobject} in the org"
                yield _problem(directory, CONVERSION_FILE, path, message)
            elif not info.fields[target].updateable:
                message = f"{sobject}.{target} is not updateable in the org"
                yield _problem(directory, CONVERSION_FILE, path, message)


def _problem(directory: Path, file: str, path: Path_, message: str) -> Problem:
    _data, lines = read_yaml(directory / file)
    line = next((lines[path[:end]] for end in range(len(path), -1, -1) if path[:end] in lines), 1)
    key = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
    return Problem(directory / file, line, key, message)
