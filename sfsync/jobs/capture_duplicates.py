"""Candidates that duplicate a Lead or Contact of the org: fill its empty fields, or skip.

The mirror found the record; the org is asked for its present values (one
query per ~190 records) before anything is written, because the mirror keeps
only what matching compares and may be behind. A record the org no longer
has (deleted, merged) is no duplicate: its candidates become new leads. A
lead converted since is left alone (the org refuses updates to it).

Policy `update` fills only fields that are empty in the org, never
overwriting a value anyone entered; several candidates for one record fill
it in batch order (the first value wins), in one Collections update.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sfsync.connectors.salesforce import ObjectInfo, SalesforceClient
from sfsync.jobs.capture_plan import Target, Valid
from sfsync.jobs.capture_send import CONTACT_FIELDS, current_values
from sfsync.jobs.capture_types import Action, CaptureOutcome, DuplicatePolicy
from sfsync.models import WriteOutcome, WriteResult
from sfsync.store.capture import Finished

Member = tuple[Valid, Target]


@dataclass
class OrgResult:
    """What became of the duplicates of org records."""

    outcomes: list[CaptureOutcome] = field(default_factory=list)
    finished: list[Finished] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)  # record ids the org no longer has
    updated: int = 0


@dataclass
class OrgDuplicates:
    """Handles one batch's duplicates of org records."""

    client: SalesforceClient
    describe: ObjectInfo
    policy: DuplicatePolicy
    dry_run: bool

    def handle(self, members: Sequence[Member]) -> OrgResult:
        """Fill or skip each record's duplicates; records gone from the org are reported back."""
        result = OrgResult()
        by_record: dict[tuple[str, str], list[Member]] = defaultdict(list)
        for valid, target in members:
            by_record[(target.sobject, str(target.record_id))].append((valid, target))
        for sobject in sorted({s for s, _ in by_record}):
            records = {i: m for (s, i), m in by_record.items() if s == sobject}
            self._one_object(sobject, records, result)
        return result

    def _one_object(
        self, sobject: str, records: Mapping[str, list[Member]], result: OrgResult
    ) -> None:
        fields = sorted(
            {f for ms in records.values() for v, _ in ms for f in self._fills(sobject, v)}
        )
        current = current_values(self.client, sobject, sorted(records), fields)
        fills: dict[str, dict[str, Any]] = {}
        gave: dict[str, list[str]] = {}
        for record_id, members in records.items():
            now = current.get(record_id)
            if now is None:
                result.gone.add(record_id)
            elif self.policy is DuplicatePolicy.UPDATE and not now.get("IsConverted"):
                fills[record_id] = self._fill(sobject, now, members, gave)
        answers = self._update(sobject, {i: f for i, f in fills.items() if f})
        for record_id, members in records.items():
            if record_id not in result.gone:
                converted = bool(current[record_id].get("IsConverted"))
                self._report(record_id, members, gave, answers.get(record_id), converted, result)

    def _fills(self, sobject: str, valid: Valid) -> dict[str, Any]:
        """The candidate's values under the record's field names (those it can take)."""
        values = valid.values
        if sobject == "Contact":
            return {CONTACT_FIELDS[k]: v for k, v in values.items() if k in CONTACT_FIELDS}
        fields = self.describe.fields
        return {k: v for k, v in values.items() if k in fields and fields[k].updateable}

    def _fill(
        self,
        sobject: str,
        now: Mapping[str, Any],
        members: Sequence[Member],
        gave: dict[str, list[str]],
    ) -> dict[str, Any]:
        fills: dict[str, Any] = {}
        for valid, _ in members:
            extra = {
                k: v
                for k, v in self._fills(sobject, valid).items()
                if now.get(k) in (None, "") and k not in fills
            }
            fills.update(extra)
            gave[valid.key] = sorted(extra)
        return fills

    def _update(
        self, sobject: str, fills: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, WriteResult]:
        if self.dry_run or not fills:
            return {}
        answers = self.client.update(sobject, list(fills.items()))
        return {a.lead_id: a for a in answers}

    def _report(
        self,
        record_id: str,
        members: Sequence[Member],
        gave: Mapping[str, list[str]],
        answer: WriteResult | None,
        converted: bool,
        result: OrgResult,
    ) -> None:
        landed = answer is not None and answer.outcome is WriteOutcome.WRITTEN
        result.updated += int(landed)
        for valid, target in members:
            reasons = [target.describe({})]
            given = gave.get(valid.key, [])
            action = Action.DUPLICATE
            if converted:
                reasons.append("that lead is converted: left as it is")
            elif self.policy is DuplicatePolicy.SKIP:
                reasons.append("skipped (policy skip)")
            elif given and self.dry_run:
                action = Action.UPDATED
                reasons.append(f"would fill its empty {', '.join(given)}")
            elif given and landed:
                action = Action.UPDATED
                reasons.append(f"filled its empty {', '.join(given)}")
            elif given and answer is not None:
                reasons.append(f"filling {', '.join(given)} failed: {answer.error_code}: "
                               f"{answer.message}")  # fmt: skip
                result.outcomes.append(
                    CaptureOutcome(valid.key, action, None, record_id, tuple(reasons))
                )
                continue  # not recorded: the next run tries again
            else:
                reasons.append("nothing empty to fill")
            changed = record_id if action is Action.UPDATED else None
            result.outcomes.append(
                CaptureOutcome(valid.key, action, changed, record_id, tuple(reasons))
            )
            result.finished.append(
                Finished(valid.key, valid.source, action, changed, record_id, tuple(reasons))
            )
