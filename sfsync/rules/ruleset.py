"""The parsed mappings as one value: what the rules read, what they may write, which org facts.

`mappings.load_rules` builds it once at start-up; the sync job adds what only
the org can tell (text limits, active users, queue ids). Everything here is
frozen, so derived data (the fields the rules read, in hash order) is worked
out once and cached on the value itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field

from sfsync.rules.convert import ConversionConfig
from sfsync.rules.enrich_config import EnrichmentConfig
from sfsync.rules.enrich_data import EnrichmentData
from sfsync.rules.grade import GradingConfig
from sfsync.rules.lifecycle import LifecycleConfig
from sfsync.rules.predict import PredictiveRules
from sfsync.rules.routing_config import RoutingConfig
from sfsync.rules.routing_facts import RoutingOrg
from sfsync.rules.score import ScoringConfig

# Criteria rows name derived facts like `$email.free`; they are not Lead fields.
FACT_PREFIX = "$"
# Fields every rule set reads, whatever the mappings say: imported engagement is keyed by Email.
ENGAGEMENT_KEY_FIELDS = frozenset({"Email"})
# Routing tells a rep's own lead (owner = creator) and reports speed-to-lead from creation.
ROUTING_FIELDS = frozenset({"CreatedById", "CreatedDate"})


class FieldsConfig(BaseModel):
    """The parsed `mappings/fields.yaml`: what sfsync reads and what it may write."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = Field(min_length=1)
    # Text limits of the written fields, filled from the org's describe when known.
    max_lengths: Mapping[str, int] = Field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """Everything the rules need, parsed from `mappings/`, with a version for audit."""

    fields: FieldsConfig
    scoring: ScoringConfig
    version: str
    conversion: ConversionConfig | None = None
    # Facts from the org that rules consult (filled at start-up by the job).
    active_users: frozenset[str] | None = None
    enrichment: EnrichmentConfig | None = None
    # The lookup data enrichment reads (domain lists, places, firmographics), loaded with it.
    enrichment_data: EnrichmentData | None = None
    grading: GradingConfig | None = None
    lifecycle: LifecycleConfig | None = None
    # Org facts: queue name (or developer name) as the mappings write it -> the queue's Id.
    queue_ids: Mapping[str, str] = field(default_factory=dict)
    routing: RoutingConfig | None = None
    # Org facts routing reads (users, Lead queues, the integration user), filled by the job.
    routing_org: RoutingOrg | None = None
    # grading.yaml's `predictive:` section with its trained model, loaded with the mappings.
    predictive: PredictiveRules | None = None

    def fields_read(self) -> set[str]:
        """Lead fields the rules read: their hash tells whether a lead needs a new decision."""
        return set(self._fields_read)

    @cached_property
    def _fields_read(self) -> frozenset[str]:
        read = set(self.fields.read) | self.scoring.fields_read()
        if self.conversion is not None:
            read |= {c.field for c in self.conversion.criteria} | {"OwnerId", "LastName", "Company"}
            read |= {source for m in self.conversion.copy_to.values() for source in m}
        if self.enrichment is not None:
            read |= self.enrichment.fields_read()
        if self.grading is not None:
            read |= self.grading.fields_read()
        if self.lifecycle is not None:
            read |= self.lifecycle.fields_read() | {self.lifecycle.owner_field}
            read |= {self.lifecycle.stage_field} if self.lifecycle.stage_field else set()
        if self.reads_engagement:
            read |= ENGAGEMENT_KEY_FIELDS
        if self.predictive is not None:
            read |= self.predictive.fields_read
        if self.routing is not None:
            read |= self.routing.fields_read() | ROUTING_FIELDS
        return frozenset(name for name in read if not name.startswith(FACT_PREFIX))

    @cached_property
    def hashed_fields(self) -> tuple[str, ...]:
        """The inputs of the input hash, in order: every field read except sfsync's results.

        Results (score, rating, reason, grade) are left out: hashing them would
        make the echo of sfsync's own write look like a new input. Fields that
        are inputs first (Country, Status, Industry) stay in even though
        enrichment or the lifecycle may rewrite them: a person's edit to one
        within the same second as the last version must still count as new.
        """
        return tuple(sorted(self._fields_read - self.result_fields))

    @cached_property
    def hash_prefix(self) -> str:
        """The hashed fields' names as text: part of every input hash (so a new field counts).

        The predictive model's digest joins them: a lead scored by another model is another input.
        """
        model = f" model {self.predictive.digest}" if self.predictive is not None else ""
        return repr(self.hashed_fields) + model

    @cached_property
    def result_fields(self) -> frozenset[str]:
        """Fields that only ever hold what the rules computed: score, rating, reason, grade."""
        targets = self.scoring.targets.model_dump(exclude_none=True)
        found = {name for name in targets.values() if isinstance(name, str)}
        if self.grading is not None:
            graded = self.grading.targets
            found |= {n for n in (graded.grade, graded.rating, graded.behavior_score) if n}
        if self.predictive is not None and self.predictive.config.target:
            found.add(self.predictive.config.target)
        return frozenset(found)

    @cached_property
    def allowed(self) -> frozenset[str]:
        """The fields sfsync may write."""
        return frozenset(self.fields.write)

    @property
    def reads_engagement(self) -> bool:
        """Whether the rules score what leads did (campaign responses, Tasks, feed events)."""
        return self.grading is not None and bool(self.grading.behavior.events)

    @property
    def engagement_days(self) -> float:
        """How far back engagement counts; older events are worth nothing."""
        return self.grading.behavior.max_age_days if self.grading is not None else 0.0

    @property
    def recycle_queue(self) -> str | None:
        """The queue recycled leads go to, as the mappings name it (None: owner left alone)."""
        recycle = self.lifecycle.recycle if self.lifecycle is not None else None
        return recycle.owner_queue if recycle is not None else None
