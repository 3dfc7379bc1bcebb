"""A named rule with criteria rows and filter logic, compiled once for fast, repeated use.

Grading, behaviour and lifecycle rules all share the scoring.yaml form
(`criteria: [{field, operator, value}]` plus optional `filter_logic`). The
rows and logic are validated by `criteria.Criteria` when the file loads; the
compiled filter logic is kept, so testing a rule on a lead costs only the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sfsync.rules.criteria import Criteria, Criterion, Logic, parse_filter_logic


class CriteriaRule(BaseModel):
    """Criteria rows (all must hold, unless filter logic says otherwise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    criteria: tuple[Criterion, ...] = Field(min_length=1)
    filter_logic: str | None = None

    @model_validator(mode="after")
    def _logic_valid(self) -> CriteriaRule:
        # Criteria checks that the logic parses and names existing rows.
        Criteria(rows=self.criteria, filter_logic=self.filter_logic)
        return self

    @cached_property
    def _logic(self) -> Logic | None:
        return parse_filter_logic(self.filter_logic) if self.filter_logic else None

    def holds(self, values: Mapping[str, Any]) -> bool:
        """Whether the rule's criteria are true for a record's values."""
        logic = self._logic
        if logic is None:
            return all(row.holds(values) for row in self.criteria)
        return logic([row.holds(values) for row in self.criteria])

    def fields_read(self) -> set[str]:
        """The fields (and `$facts`) the rule looks at."""
        return {row.field for row in self.criteria}
