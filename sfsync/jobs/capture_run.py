"""One capture run over a batch of candidates: the steps `jobs.capture` lists, in order."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from sfsync.connectors.salesforce import SalesforceClient
from sfsync.jobs.backfill import mirror_row
from sfsync.jobs.capture_bulk import Hooks, bulk_round
from sfsync.jobs.capture_bulk import dispose as bulk_dispose
from sfsync.jobs.capture_bulk import resume as bulk_resume
from sfsync.jobs.capture_clean import clean
from sfsync.jobs.capture_duplicates import OrgDuplicates
from sfsync.jobs.capture_plan import (
    NewLead,
    Target,
    Valid,
    account_owners,
    duplicates,
    new_lead,
)
from sfsync.jobs.capture_plan_json import (
    bound_plan,
    build_plan,
    created_reasons,
    held_duplicates,
)
from sfsync.jobs.capture_route import (
    decode_delta,
    negate,
    routable,
    route_new,
)
from sfsync.jobs.capture_send import SEND_ROUNDS, CreateRound, ToCreate, create_round, find_created
from sfsync.jobs.capture_send import marker as lead_marker
from sfsync.jobs.capture_types import (
    Action,
    Candidate,
    CaptureOutcome,
    CaptureSetup,
    DuplicatePolicy,
    Progress,
)
from sfsync.jobs.cursors import WRITE_CURSOR
from sfsync.jobs.match import find_matches
from sfsync.routing_state import RoutingDelta
from sfsync.rules.matching import Match
from sfsync.store import Store
from sfsync.store.capture import (
    CaptureLedger,
    Created,
    Finished,
    LedgerState,
    Planned,
    insert_planned,
    upsert_finished,
)
from sfsync.store.routing import RoutingStore, apply_delta
from sfsync.store.tables import CaptureLedgerRow, utcnow

log = structlog.get_logger("sfsync.capture")


@dataclass
class CaptureRun:
    """The state of one `capture` call; `capture()` runs it once."""

    client: SalesforceClient
    store: Store
    setup: CaptureSetup
    policy: DuplicatePolicy
    dry_run: bool
    now: datetime
    day_first: bool
    progress: Progress
    run_id: str
    outcomes: dict[str, CaptureOutcome] = field(default_factory=dict)
    plans: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    wrote: bool = False
    sent: int = 0
    to_send: int = 0

    def __post_init__(self) -> None:
        self.ledger = CaptureLedger(self.store.engine)

    def capture(self, candidates: Sequence[Candidate]) -> list[CaptureOutcome]:
        """Every step in order; one outcome per candidate (a repeated key answers as its first)."""
        unique = list({c.key: c for c in reversed(candidates)}.values())[::-1]
        fresh, leftovers = self._sort_by_ledger(unique)
        valid = self._clean(fresh)
        matches = self._match(valid)
        targets = duplicates(valid, matches)
        gone = self._org_duplicates(valid, targets)
        targets = _regroup(targets, gone)
        self._plan_new(valid, targets, matches)
        self._send(leftovers)
        self._batch_duplicates(valid, targets)
        if self.wrote:  # the next cycle must read sfsync's own writes (a sweep; see jobs.sync)
            self.store.set_watermark(WRITE_CURSOR, utcnow())
        return [self._answer(c, first) for c, first in _firsts(candidates)]

    # -- ledger -------------------------------------------------------------------

    def _sort_by_ledger(
        self, candidates: Sequence[Candidate]
    ) -> tuple[list[Candidate], list[CaptureLedgerRow]]:
        rows = self.ledger.rows([c.key for c in candidates])
        fresh, leftovers = [], []
        for candidate in candidates:
            row = rows.get(candidate.key)
            if row is None:
                fresh.append(candidate)
            elif row.state == LedgerState.DONE:
                self.outcomes[candidate.key] = _already(row)
            else:
                leftovers.append(row)
        return fresh, self._claim(leftovers)

    def _claim(self, rows: Sequence[CaptureLedgerRow]) -> list[CaptureLedgerRow]:
        """An interrupted run's rows, unless a live worker is still on them."""
        if self.dry_run or not rows:
            return list(rows)
        liveness = self.store.liveness
        taken = self.ledger.claim(rows, liveness.key, liveness.is_dead)
        for row in rows:
            if row.key not in taken:
                reason = f"being captured by another run ({row.state})"
                self.outcomes[row.key] = CaptureOutcome(row.key, Action.ALREADY_DONE,
                                                        reasons=(reason,))  # fmt: skip
        return [r for r in rows if r.key in taken]

    def _answer(self, candidate: Candidate, first: bool) -> CaptureOutcome:
        found = self.outcomes.get(candidate.key)
        if found is None:  # only when the ledger took the key from under us (another run)
            found = CaptureOutcome(candidate.key, Action.ALREADY_DONE, reasons=("in another run",))
        if first:
            return found
        reasons = ("the same key came earlier in this batch", *found.reasons)
        return dataclasses.replace(found, action=Action.ALREADY_DONE, reasons=reasons)

    # -- clean and match ----------------------------------------------------------

    def _clean(self, candidates: Sequence[Candidate]) -> list[Valid]:
        valid = []
        for index, candidate in enumerate(candidates):
            values = self._with_source(candidate)
            cleaned, problems = clean(values, self.setup.describe, day_first=self.day_first)
            if problems:
                self.outcomes[candidate.key] = CaptureOutcome(
                    candidate.key, Action.REJECTED, reasons=tuple(problems)
                )
            else:
                valid.append(Valid(index, candidate.key, candidate.source, cleaned))
        return valid

    def _with_source(self, candidate: Candidate) -> dict[str, Any]:
        """The values, with LeadSource from the candidate's source when it is a LeadSource value."""
        values = dict(candidate.values)
        info = self.setup.describe.fields.get("LeadSource")
        if info is None or str(values.get("LeadSource") or "").strip():
            return values
        by_fold = {v.casefold(): v for v in info.picklist}
        source = by_fold.get(candidate.source.strip().casefold())
        return {**values, "LeadSource": source} if source else values

    def _match(self, valid: Sequence[Valid]) -> dict[str, list[Match]]:
        matcher = self.setup.matcher
        if matcher is None or not valid:
            return {}
        self.progress("matching", 0, len(valid))
        leads = [{**v.values, "Id": v.placeholder} for v in valid]
        found = find_matches(self.store, leads, matcher)
        self.progress("matching", len(valid), len(valid))
        return found

    # -- duplicates ---------------------------------------------------------------

    def _org_duplicates(self, valid: Sequence[Valid], targets: Mapping[int, Target]) -> set[str]:
        """Duplicates of org records: filled (policy update) or skipped; returns records gone."""
        in_org = sorted((i, t) for i, t in targets.items() if t.record_id is not None)
        if not in_org:
            return set()
        handler = OrgDuplicates(self.client, self.setup.describe, self.policy, self.dry_run)
        by_index = {v.index: v for v in valid}
        self.progress("updating", 0, len(in_org))
        result = handler.handle([(by_index[i], t) for i, t in in_org])
        self.outcomes.update({o.key: o for o in result.outcomes})
        if not self.dry_run:
            self.ledger.record_finished(result.finished)
        self.wrote = self.wrote or result.updated > 0
        self.progress("updating", len(in_org), len(in_org))
        return result.gone

    def _batch_duplicates(self, valid: Sequence[Valid], targets: Mapping[int, Target]) -> None:
        """Later members of a group of new candidates: duplicates of the lead its first became."""
        keys = {v.index: v.key for v in valid}
        finished, forget = [], []
        for v in valid:
            target = targets.get(v.index)
            if target is None or target.first is None:
                continue
            first = self.outcomes.get(keys[target.first])
            reason = target.describe(keys)
            if first is not None and first.action is Action.REJECTED:
                outcome = CaptureOutcome(v.key, Action.REJECTED,
                                         reasons=(reason, "which was not created"))  # fmt: skip
                forget.append(v.key)  # held with its first's plan: tried again with it
            else:
                matched = first.record_id if first is not None else None
                outcome = CaptureOutcome(v.key, Action.DUPLICATE, None, matched, (reason,))
                if matched is not None:
                    finished.append(Finished(v.key, v.source, Action.DUPLICATE, None, matched,
                                             (reason,)))  # fmt: skip
            self.outcomes[v.key] = outcome
        if not self.dry_run:
            self.ledger.record_finished(finished)
            self.ledger.forget(forget)

    # -- new leads: decide, route, plan ---------------------------------------------

    def _plan_new(
        self, valid: Sequence[Valid], targets: Mapping[int, Target], matches: Mapping[str, Any]
    ) -> None:
        later: dict[int, list[Valid]] = defaultdict(list)
        for v in valid:
            target = targets.get(v.index)
            if target is not None and target.first is not None:
                later[target.first].append(v)
        fill = self.policy is DuplicatePolicy.UPDATE
        rules = self.setup.rules
        new = [
            new_lead(v, later[v.index], rules, self.now, fill)
            for v in valid
            if v.index not in targets
        ]
        owners = account_owners(matches)
        if self.dry_run:
            self._dry_plans(new, owners)
        else:
            self._record_plans(new, owners, held_duplicates(later, valid))

    def _teams(self) -> list[str]:
        config = self.setup.rules.routing
        return config.team_names() if config is not None and routable(self.setup.rules) else []

    def _dry_plans(self, new: Sequence[NewLead], owners: Mapping[str, str]) -> None:
        snapshot = RoutingStore(self.store.engine).snapshot(self._teams())
        routed, _ = route_new(new, self.setup.rules, snapshot, self.now, owners)
        for lead, routing in zip(new, routed, strict=True):
            plan = build_plan(lead, routing, self.setup.rules, self.now)
            self.outcomes[lead.valid.key] = CaptureOutcome(
                lead.valid.key, Action.CREATED, reasons=created_reasons(plan, dry_run=True)
            )

    def _record_plans(
        self,
        new: Sequence[NewLead],
        owners: Mapping[str, str],
        held: Mapping[str, list[Finished]],
    ) -> None:
        """Route under the lock and write the plans in the transaction that takes the turns.

        The group's later members are written done (duplicates) in it too: if
        the run stops before the lead exists, a second run must not find them
        without their first and create them.
        """
        with RoutingStore(self.store.engine).transaction(self._teams()) as (conn, snapshot):
            routed, _ = route_new(new, self.setup.rules, snapshot, self.now, owners)
            planned = []
            for lead, routing in zip(new, routed, strict=True):
                plan = build_plan(lead, routing, self.setup.rules, self.now)
                marker = lead_marker(plan["values"])
                planned.append(Planned(lead.valid.key, lead.valid.source, marker, plan))
            inserted = insert_planned(conn, planned, self.store.liveness.key)
            upsert_finished(conn, [f for k in inserted for f in held.get(k, ())])
            taken = RoutingDelta()
            for lead, routing in zip(new, routed, strict=True):
                if lead.valid.key in inserted:
                    taken = taken.merge(routing.delta)
            apply_delta(conn, taken)
        self.plans.update({p.key: p.plan for p in planned if p.key in inserted})

    # -- send -------------------------------------------------------------------------

    def _send(self, leftovers: Sequence[CaptureLedgerRow]) -> None:
        """Create the planned leads (and an interrupted run's), in rounds for transient refusals."""
        fresh = [ToCreate(k, p["values"], self.now) for k, p in self.plans.items()]
        items = self._resume(leftovers) + fresh  # (resuming adds the leftovers' plans)
        if self.dry_run or not items:
            return
        self.to_send, self.sent = len(items), 0
        self.progress("creating", 0, self.to_send)
        later: dict[str, Any] = {}
        for _ in range(SEND_ROUNDS):
            result = self._round(items)
            later = result.later
            items = [i for i in items if i.key in later]
            if not items:
                break
        for key, answer in later.items():
            reason = f"not created this time ({answer.error_code}: {answer.message}); run again"
            self.outcomes[key] = CaptureOutcome(key, Action.REJECTED, reasons=(reason,))

    def _round(self, items: Sequence[ToCreate]) -> CreateRound:
        """One round: Bulk API 2.0 insert jobs from the threshold up, else Collections."""
        me = self.setup.me
        if len(items) >= self.client.settings.sfsync_import_bulk_threshold:
            hooks = Hooks(self.ledger.mark_sending, self.ledger.note_job, self._settle)
            return bulk_round(self.client, me, items, hooks)
        return create_round(self.client, me, items, self.ledger.mark_sending, self._settle)

    def _resume(self, rows: Sequence[CaptureLedgerRow]) -> list[ToCreate]:
        """An interrupted run's rows: in-flight ones looked up first; the rest sent as planned."""
        usable = [r for r in rows if r.plan]
        self.plans.update({r.key: r.plan for r in usable if r.plan is not None})
        items = [ToCreate(r.key, r.plan["values"], r.updated_at) for r in usable if r.plan]
        if self.dry_run:
            for row in usable:
                reason = f"left {row.state} by an interrupted run: would be resumed"
                self.outcomes[row.key] = CaptureOutcome(row.key, Action.CREATED, reasons=(reason,))
            return []
        by_job: dict[str, list[ToCreate]] = defaultdict(list)
        for item, row in zip(items, usable, strict=True):
            if row.state == LedgerState.SENDING:  # a sending row's record_id: its insert job
                by_job[row.record_id or ""].append(item)
        loose = by_job.pop("", [])
        done, unknown, jobs = bulk_resume(self.client, self.setup.me, by_job)
        done.created.update(find_created(self.client, self.setup.me, loose + unknown))
        settled = CreateRound(created=done.created, refused=done.refused)
        if settled.created or settled.refused:
            self._settle(settled)
        bulk_dispose(self.client, jobs)
        log.info("sfsync.capture.resumed", rows=len(items), found=len(settled.created),
                 jobs=len(by_job))  # fmt: skip
        return [i for i in items if i.key not in settled.created and i.key not in settled.refused]

    def _settle(self, done: CreateRound) -> None:
        """Record a chunk's answers: created leads with their state, refusals forgotten."""
        created = [self._created(key, lead_id) for key, lead_id in done.created.items()]
        self.ledger.record_created(self.run_id, created)
        undo = RoutingDelta()
        for key in done.refused:
            undo = undo.merge(negate(decode_delta(self.plans[key].get("delta"))))
        self.ledger.forget(list(done.refused), undo)
        for key, answer in done.refused.items():
            fields = f" ({', '.join(answer.fields)})" if answer.fields else ""
            reason = f"the org refused it: {answer.error_code}: {answer.message}{fields}"
            self.outcomes[key] = CaptureOutcome(key, Action.REJECTED, reasons=(reason,))
        self.wrote = self.wrote or bool(created)
        self.sent += len(done.created) + len(done.refused)
        self.progress("creating", self.sent, self.to_send)

    def _created(self, key: str, lead_id: str) -> Created:
        plan = bound_plan(self.plans[key], lead_id)
        values = plan["values"]
        self.outcomes[key] = CaptureOutcome(
            key, Action.CREATED, lead_id, reasons=created_reasons(plan, dry_run=False)
        )
        matcher = self.setup.matcher
        record = {**values, "Id": lead_id, "CreatedDate": self.now}
        return Created(
            key=key,
            lead_id=lead_id,
            written=plan["written"],
            routing=plan["routing"],
            load_owner=plan["load_owner"],
            decision=plan["decision"],
            mirror=mirror_row("Lead", record, matcher) if matcher is not None else None,
        )


def _already(row: CaptureLedgerRow) -> CaptureOutcome:
    earlier = f"{row.action} by an earlier run" if row.action else "handled by an earlier run"
    return CaptureOutcome(
        row.key, Action.ALREADY_DONE, row.record_id, row.matched_id,
        (earlier, *(row.reasons or ())),
    )  # fmt: skip


def _regroup(targets: Mapping[int, Target], gone: set[str]) -> dict[int, Target]:
    """Candidates of records the org no longer has: the first is new, the rest duplicate it."""
    kept = {i: t for i, t in targets.items() if t.record_id is None or t.record_id not in gone}
    orphans: dict[str, list[int]] = defaultdict(list)
    for index, target in sorted(targets.items()):
        if target.record_id is not None and target.record_id in gone:
            orphans[target.record_id].append(index)
    for first, *rest in orphans.values():
        kept.update({i: Target("Lead", None, first, "same person") for i in rest})
    return kept


def _firsts(candidates: Sequence[Candidate]) -> list[tuple[Candidate, bool]]:
    seen: set[str] = set()
    found = []
    for candidate in candidates:
        found.append((candidate, candidate.key not in seen))
        seen.add(candidate.key)
    return found
