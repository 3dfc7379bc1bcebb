"""`sfsync check` for enrichment.yaml, grading.yaml (with its predictive model) and lifecycle.yaml.

The models come from the loaded rules (a bad file has already stopped
start-up with file, line and key, exit 2); each file is read again here only
for its line map. Each function returns the file's problems with the org.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sfsync.connectors.salesforce import FieldInfo, ObjectInfo
from sfsync.jobs.check_base import OrgFacts, Problem, Source
from sfsync.jobs.check_fields import NUMBER_TYPES, TEXT_TYPES, constants, criteria, writable
from sfsync.jobs.check_fields import readable as readable_field
from sfsync.mappings import ENRICHMENT_FILE, GRADING_FILE, LIFECYCLE_FILE, Path_
from sfsync.rules.enrich_config import EnrichmentConfig, Fact, FillRule
from sfsync.rules.grade import GRADES, TOP, GradingConfig, rank
from sfsync.rules.lifecycle import LifecycleConfig, Stage
from sfsync.rules.pipeline import RuleSet
from sfsync.rules.predict import PredictiveRules

# What kind of value each fact holds, for the fields fills copy it into.
_NUMBER_FACTS = frozenset({Fact.COMPANY_EMPLOYEES, Fact.COMPANY_REVENUE})
_FLAG_NAMES = frozenset({"valid", "free", "disposable", "role", "known", "competitor"})
_FLAG_FACTS = frozenset(f for f in Fact if f.value.rsplit(".", 1)[-1] in _FLAG_NAMES)


def check_rule_files(directory: Path, rules: RuleSet, facts: OrgFacts) -> list[Problem]:
    """Problems of whichever of the three files the mappings have."""
    problems: list[Problem] = []
    if rules.enrichment is not None:
        problems += _enrichment(Source.read(directory, ENRICHMENT_FILE), rules.enrichment, facts)
    if rules.grading is not None:
        source = Source.read(directory, GRADING_FILE)
        problems += _grading(source, rules.grading, facts)
        problems += _predictive(source, rules.predictive, facts.lead)
    if rules.lifecycle is not None:
        problems += _lifecycle(Source.read(directory, LIFECYCLE_FILE), rules.lifecycle, facts)
    return problems


# -- enrichment ------------------------------------------------------------------


def _enrichment(source: Source, config: EnrichmentConfig, facts: OrgFacts) -> list[Problem]:
    lead = facts.lead
    sources = config.sources.model_dump()
    problems = [
        p
        for role, name in sources.items()
        if name and (p := readable_field(source, ("sources", role), name, lead))
    ]
    for index, rule in enumerate(config.fills):
        problems += _fill(source, index, rule, lead)
    return problems


def _fill(source: Source, index: int, rule: FillRule, lead: ObjectInfo) -> list[Problem]:
    key = ("fills", index, "field")
    problem = writable(source, key, rule.field, lead)
    if problem is not None:
        return [problem]
    kind = lead.fields[rule.field].type
    what, holds = _fact_kind(rule.fact)
    if kind in holds:
        return []
    message = f"{rule.fact.value} is {what}; {rule.field} is a {kind} field and cannot hold it"
    return [source.problem(key, message)]


def _fact_kind(fact: Fact) -> tuple[str, frozenset[str]]:
    """What a fact holds, and the field types that can take it (text takes anything)."""
    if fact in _NUMBER_FACTS:
        return "a number", NUMBER_TYPES | TEXT_TYPES
    if fact in _FLAG_FACTS:
        return "true/false", TEXT_TYPES | {"boolean"}
    return "text", TEXT_TYPES


# -- grading ---------------------------------------------------------------------


def _grading(source: Source, config: GradingConfig, facts: OrgFacts) -> list[Problem]:
    lead = facts.lead
    problems = _grading_targets(source, config, lead)
    for i, rule in enumerate(config.grade.profile):
        problems += criteria(source, ("grade", "profile", i, "criteria"), rule.criteria, lead)
    for i, signal in enumerate(config.behavior.signals):
        problems += criteria(source, ("behavior", "signals", i, "criteria"), signal.criteria, lead)
        if signal.since_field:
            key = ("behavior", "signals", i, "since_field")
            problems += _some(readable_field(source, key, signal.since_field, lead))
    return problems


def _grading_targets(source: Source, config: GradingConfig, lead: ObjectInfo) -> list[Problem]:
    targets = config.targets
    problems: list[Problem] = []
    for role in ("grade", "rating", "behavior_score"):
        name = getattr(targets, role)
        if name:
            problems += _some(writable(source, ("targets", role), name, lead))
    if targets.grade and targets.grade in lead.fields:
        problems += _grade_values(source, config, lead.fields[targets.grade])
    if targets.rating:
        ratings = [(("ratings", i, "rating"), r.rating) for i, r in enumerate(config.ratings)]
        problems += constants(source, ratings, lead.fields.get(targets.rating))
    score = targets.behavior_score
    if score and score in lead.fields and lead.fields[score].type not in NUMBER_TYPES:
        kind = lead.fields[score].type
        message = f"{score} is a {kind} field; the behaviour score is a number"
        problems.append(source.problem(("targets", "behavior_score"), message))
    return problems


def _grade_values(source: Source, config: GradingConfig, info: FieldInfo) -> list[Problem]:
    """The grades the profile can reach, as written (letters or A+ to F), fit the field."""
    key = ("targets", "grade")
    values = list(dict.fromkeys(written_grades(config)))
    if info.type not in TEXT_TYPES:
        return [source.problem(key, f"{info.name} is a {info.type} field; grades are text")]
    missing = [v for v in values if info.picklist and v not in info.picklist]
    if not missing:
        return constants(source, [(key, v) for v in values], info)
    wanted = "letters" if config.targets.letter_only else "grades"
    message = (
        f"the profile can give the {wanted} {', '.join(missing)}, which are not values "
        f"of {info.name} in the org ({', '.join(info.picklist)})"
    )
    return [source.problem(key, message)]


def written_grades(config: GradingConfig) -> list[str]:
    """What the grade field may receive, best first: reachable grades, or their letters."""
    grades = reversed(reachable_grades(config))
    return [g[0] if config.targets.letter_only else g for g in grades]


def reachable_grades(config: GradingConfig) -> list[str]:
    """Every grade from the start moved all the way down to all the way up."""
    start, profile = rank(config.grade.start), config.grade.profile
    low = max(0, start - sum(rule.down for rule in profile))
    high = min(TOP, start + sum(rule.up for rule in profile))
    return list(GRADES[low : high + 1])


# -- predictive score ------------------------------------------------------------


def _predictive(source: Source, rules: PredictiveRules | None, lead: ObjectInfo) -> list[Problem]:
    """The model reads fields the org has; the probability's field takes a number.

    A model file is data, not YAML: its problems point at `predictive.model`.
    """
    if rules is None:
        return []
    problems = [
        source.problem(
            ("predictive", "model"),
            f"the model's feature {feature.name!r} reads {feature.field!r}, "
            "which is not a Lead field in the org (retrain the model on this org)",
        )
        for feature in rules.model.features
        if not feature.field.startswith("$") and feature.field not in lead.fields
    ]
    target = rules.config.target
    if target:
        problems += _some(_number_target(source, ("predictive", "target"), target, lead))
    return problems


def _number_target(source: Source, key: Path_, name: str, lead: ObjectInfo) -> Problem | None:
    problem = writable(source, key, name, lead)
    kind = lead.fields[name].type if problem is None else None
    if kind is None or kind in NUMBER_TYPES:
        return problem
    return source.problem(key, f"{name} is a {kind} field; the probability is a number")


# -- lifecycle -------------------------------------------------------------------


def _lifecycle(source: Source, config: LifecycleConfig, facts: OrgFacts) -> list[Problem]:
    lead = facts.lead
    problems = _lifecycle_targets(source, config, lead)
    problems += _statuses(source, config, facts)
    for i, rule in enumerate(config.disqualify):
        problems += criteria(source, ("disqualify", i, "criteria"), rule.criteria, lead)
    if config.recycle is not None:
        problems += criteria(source, ("recycle", "criteria"), config.recycle.criteria, lead)
        problems += _owner_queue(source, config, facts)
    return problems


def _lifecycle_targets(source: Source, config: LifecycleConfig, lead: ObjectInfo) -> list[Problem]:
    """The status field, the stage field and (when recycling sets one) the owner field."""
    problems = _some(writable(source, ("status_field",), config.status_field, lead))
    if config.stage_field:
        key = ("stage_field",)
        problems += _some(writable(source, key, config.stage_field, lead))
        names = [(key, stage.value) for stage in reachable_stages(config)]
        problems += constants(source, names, lead.fields.get(config.stage_field))
    if config.recycle is not None and config.recycle.owner_queue:
        # The owner field is written only for recycled leads: point there if it is a default.
        at: Path_ = ("owner_field",)
        at = at if at in source.lines else ("recycle", "owner_queue")
        problems += _some(writable(source, at, config.owner_field, lead))
    return problems


def reachable_stages(config: LifecycleConfig) -> list[Stage]:
    """The stages the rules can give a lead, in lifecycle terms (what a stage field receives)."""
    reached = {
        Stage.DISQUALIFIED: bool(config.disqualify),
        Stage.MQL: config.mql is not None,
        Stage.NURTURE: config.nurture is not None or config.recycle is not None,
        Stage.BAD_FIT: config.bad_fit is not None,
    }
    return [stage for stage, reachable in reached.items() if reachable]


def _statuses(source: Source, config: LifecycleConfig, facts: OrgFacts) -> list[Problem]:
    """Every status the file names is a value of the status field; none is a converted one."""
    info = facts.lead.fields.get(config.status_field)
    named = list(_named_statuses(config))
    problems = constants(source, named, info)
    for stage, status in config.stages.items():
        if status in facts.converted_statuses:
            message = f"{status!r} is a converted status: only converting a lead sets it"
            problems.append(source.problem(("stages", stage.value), message))
    return problems


def _named_statuses(config: LifecycleConfig) -> Iterator[tuple[tuple[str | int, ...], str]]:
    yield from ((("order", i), status) for i, status in enumerate(config.order))
    yield from ((("people_own", i), status) for i, status in enumerate(config.people_own))
    yield from ((("stages", stage.value), status) for stage, status in config.stages.items())
    if config.recycle is not None:
        yield from (
            (("recycle", "from", i), status)
            for i, status in enumerate(config.recycle.from_statuses)
        )


def _owner_queue(source: Source, config: LifecycleConfig, facts: OrgFacts) -> list[Problem]:
    name = config.recycle.owner_queue if config.recycle else None
    if not name or facts.queues is None:
        return []
    key = ("recycle", "owner_queue")
    queue = facts.queue(name)
    takes = sorted(q.name for q in facts.queues if q.takes_leads)
    if queue is None:
        message = f"no queue {name!r} in the org (queues that take Leads: {', '.join(takes)})"
    elif not queue.takes_leads:
        message = (
            f"queue {queue.name!r} does not take Leads (no QueueSobject for Lead); "
            f"queues that do: {', '.join(takes)}"
        )
    else:
        return []
    return [source.problem(key, message)]


def _some(problem: Problem | None) -> list[Problem]:
    return [problem] if problem is not None else []
