"""One sync cycle: pull → decide → record (decisions + outbox + watermark) → re-check → flush.

Why each step is shaped as it is:
- The pull re-reads `overlap` seconds behind the watermark (long transactions
  commit with earlier stamps) and skips lead versions already decided, so
  every change is handled once in effect.
- It leaves out leads last modified by the integration user: those are the
  echo of sfsync's own writes. Once per `sweep` period, and on the first run,
  the pull reads them too, in case the org's automation changed a lead right
  after sfsync did.
- Each page is committed with its watermark in one transaction; a crash
  anywhere repeats at most the page in hand.
- Before flushing, one more incremental read picks up leads people changed
  since the pull; they are re-decided, so a stale value never overwrites a
  person's edit.
- A person's edit can still land between that read and the write; the write
  then stamps the lead as last modified by the integration user, hiding the
  edit from the next pull. So the cycle after any write is a sweep: it reads
  sfsync's echoes too, and a lead whose inputs changed is decided again.
- What leads did (campaign responses, Tasks, imported feed events) never
  moves the Lead's stamp: `jobs.engagement` mirrors it into the store, and
  the leads whose engagement changed are read by id and decided again. Once
  per sweep period every engaged lead is decided again, so decayed scores move.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from sfsync.config import Settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.connectors.soql import incremental_query
from sfsync.errors import ApiLimitReached, QueryRestart, SfsyncError, StoreUnavailable
from sfsync.jobs.check import OrgFacts, org_facts
from sfsync.jobs.engagement import DECAY_CURSOR, EngagementReader
from sfsync.jobs.flush import FlushCounts, flush, recover_in_flight
from sfsync.jobs.plan import PlannedChange, check_against_org, plan_for
from sfsync.jobs.targets import attach_targets
from sfsync.models import Decision, Lead
from sfsync.rules.behavior import Engagement
from sfsync.rules.pipeline import RuleSet, decide, input_hash
from sfsync.store import LeadState, OutboxState, Store

log = structlog.get_logger("sfsync.sync")

LEAD_CURSOR = "lead"
SWEEP_CURSOR = "lead_sweep"
WRITE_CURSOR = "lead_written"  # when sfsync last wrote: the next pull must read its echoes
MAX_QUERY_RESTARTS = 3
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The worker's clock (only bookkeeping reads it; the watermark comes from the org)."""
    return datetime.now(UTC)


@dataclass
class CycleReport:
    """What one cycle did, for the CLI, the logs and the runs table."""

    run_id: str
    dry_run: bool
    status: str = "running"
    pulled: int = 0
    decided: int = 0
    queued: int = 0
    written: int = 0
    rejected: int = 0
    retry_later: int = 0
    recovered: int = 0
    api_calls: int = 0
    plan: list[PlannedChange] = field(default_factory=list)


class SyncJob:
    """The sync cycle for one org, one store and one set of rules."""

    def __init__(
        self,
        client: SalesforceClient,
        store: Store,
        rules: RuleSet,
        settings: Settings,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.client, self.store, self.rules, self.settings = client, store, rules, settings
        self.clock = clock
        self.overlap = timedelta(seconds=settings.sfsync_overlap_seconds)
        self.sweep_period = timedelta(hours=settings.sfsync_sweep_hours)
        self._facts: OrgFacts | None = None
        self._me = ""
        self.engagement = EngagementReader(client, store, rules)

    def prepare(self) -> None:
        """Check the mappings against the org's describe once per process (one call)."""
        if self._facts is None:
            queues = self.rules.recycle_queue is not None
            self._facts = org_facts(self.client, self.rules, read_queues=queues)
            rules = check_against_org(self.rules, self._facts, self.settings.sfsync_mappings)
            self.rules = with_queue_ids(rules, self._facts)
            self.engagement.rules = self.rules

    def run_once(self, *, dry_run: bool = False) -> CycleReport:
        """One cycle; raises SfsyncError subclasses after recording how the run ended."""
        report = CycleReport(run_id=str(uuid.uuid4()), dry_run=dry_run)
        calls_before = self.client.meter.calls
        self.store.start_run(report.run_id, dry_run=dry_run)
        structlog.contextvars.bind_contextvars(run_id=report.run_id)
        try:
            self._cycle(report)
            report.status = "ok"
        except SfsyncError as exc:
            report.status = "budget" if isinstance(exc, ApiLimitReached) else "failed"
            with contextlib.suppress(StoreUnavailable):  # the original error matters more
                self._finish(report, calls_before, error=exc.user_message)
            raise
        finally:
            structlog.contextvars.unbind_contextvars("run_id")
        self._finish(report, calls_before)
        return report

    def _cycle(self, report: CycleReport) -> None:
        self.store.refresh_liveness()
        if self.client.over_budget():
            self.client.refresh_usage()  # usage may have fallen since the last cycle
        self.prepare()
        me = self._me = self.client.integration_user_id()
        if report.dry_run:
            self._refresh_engagement()
            self._pull(report, me, sweep=self._sweep_due())
            self._engaged(report)
            return
        report.recovered = recover_in_flight(self.client, self.store, me)
        if report.recovered:
            self._mark_written()  # a dead worker's write may have landed
        if self.store.liveness.hold_pull_lease():
            self._refresh_engagement()
            self._pull(report, me, sweep=self._sweep_due())
            self._engaged(report)
            if self.store.outbox(OutboxState.STAGED, limit=1):
                self._pull(report, me, sweep=False)  # the re-check before writing
                self.store.release_staged()
        counts = flush(self.client, self.store)
        if counts.written:
            self._mark_written()
        self._add_flush(report, counts)

    # -- pull -------------------------------------------------------------------

    def _sweep_due(self) -> bool:
        last = self.store.watermark(SWEEP_CURSOR)
        if last is None:
            return True
        written = self.store.watermark(WRITE_CURSOR)
        if written is not None and written > last:
            return True  # see the module docstring: edits hidden by our own writes
        period = timedelta(hours=self.settings.sfsync_sweep_hours)
        return self.clock() - last >= period

    def _mark_written(self) -> None:
        self.store.set_watermark(WRITE_CURSOR, self.clock())

    def _pull(self, report: CycleReport, me: str, *, sweep: bool) -> None:
        started = self.clock()
        for attempt in range(MAX_QUERY_RESTARTS + 1):
            try:
                for page in self._pages(me, sweep):
                    self._handle_page(report, page)
                break
            except QueryRestart as exc:
                if attempt == MAX_QUERY_RESTARTS:
                    raise
                log.warning("sfsync.sync.pull_restarted", reason=str(exc))
        if sweep and not report.dry_run:
            self.store.set_watermark(SWEEP_CURSOR, started)

    def _pages(self, me: str, sweep: bool) -> Iterator[list[Lead]]:
        since = self.store.watermark(LEAD_CURSOR)
        exclude = None if sweep else me
        soql = incremental_query("Lead", self._fields(), since, self.overlap, exclude)
        log.info("sfsync.sync.pull_started", since=str(since), sweep=sweep)
        return self.client.lead_pages(soql)

    def _fields(self) -> list[str]:
        return sorted(self.rules.fields_read() | set(self.rules.fields.write))

    def _handle_page(
        self, report: CycleReport, page: list[Lead], *, advance: bool = True, force: bool = False
    ) -> None:
        """Decide the page's new lead versions and record them (with the watermark if `advance`).

        `force` decides every lead again (decay moved its score), keeping only
        the decisions that change something or that a new version needs.
        """
        if not page:
            return
        report.pulled += len(page)
        now = self.clock()
        states = self.store.lead_states([lead.id for lead in page])
        did = self.engagement.for_leads(page, now)
        new = {
            lead.id
            for lead in page
            if _is_new_version(lead, states.get(lead.id), self.rules, did.get(lead.id, []))
        }
        fresh = [lead for lead in page if force or lead.id in new]
        decisions = [
            self._decide(lead, states.get(lead.id), now, did.get(lead.id, [])) for lead in fresh
        ]
        decisions = attach_targets(self.client, decisions, {lead.id: lead for lead in fresh})
        worth_keeping = [
            d
            for d, lead in zip(decisions, fresh, strict=True)
            if not _is_echo(d, lead, states.get(lead.id), self._me)
            and (lead.id in new or bool(d.changes) or d.convert is not None)
        ]
        report.decided += len(decisions)
        newest = max(lead.system_modstamp for lead in page)
        log.info("sfsync.sync.page_pulled", records=len(page), new_versions=len(new))
        if report.dry_run:
            report.plan.extend(plan_for(worth_keeping, {lead.id: lead for lead in fresh}))
            return
        cursor = (LEAD_CURSOR, newest) if advance else None
        report.queued += self.store.record_page(report.run_id, fresh, worth_keeping, cursor)

    def _decide(
        self, lead: Lead, state: LeadState | None, now: datetime, engagement: list[Engagement]
    ) -> Decision:
        last_written = state.last_written if state else {}
        return decide(lead, self.rules, last_written, now, engagement)

    # -- engagement ---------------------------------------------------------------

    def _refresh_engagement(self) -> None:
        # Before the first full pull every lead is about to be decided: nothing is pending.
        first_pull = self.store.watermark(LEAD_CURSOR) is None
        self.engagement.refresh(self.overlap, pending=not first_pull)

    def _engaged(self, report: CycleReport) -> None:
        """Decide again the leads whose engagement changed and, when due, every engaged lead.

        The second is the decay sweep: scores fade with time alone. On the
        first cycle every lead was just decided, so it only starts the clock.
        """
        if not self.rules.reads_engagement:
            return
        now = self.clock()
        pending = self.store.events.pending()
        decay = self.engagement.decay_due(now, self.sweep_period)
        ids, emails = set(pending.lead_ids), set(pending.emails)
        first = decay and self.store.watermark(DECAY_CURSOR) is None
        if decay and not first:
            horizon = timedelta(days=self.rules.engagement_days) + self.sweep_period
            engaged_ids, engaged_emails = self.engagement.engaged_since(now - horizon)
            ids, emails = ids | engaged_ids, emails | engaged_emails
        if ids or emails:
            lead_ids = self.engagement.lead_ids(ids, emails)
            log.info("sfsync.sync.engaged_leads", leads=len(lead_ids), decay=decay)
            for leads in self.engagement.read_leads(lead_ids, self._fields()):
                self._handle_page(report, leads, advance=False, force=decay and not first)
        if report.dry_run:
            return
        if pending:
            self.store.events.clear_pending(pending.row_ids)
        if decay:
            self.store.set_watermark(DECAY_CURSOR, now)
            horizon = timedelta(days=self.rules.engagement_days) + 2 * self.sweep_period
            self.store.events.prune(now - horizon)

    # -- bookkeeping --------------------------------------------------------------

    def _add_flush(self, report: CycleReport, counts: FlushCounts) -> None:
        report.written += counts.written
        report.rejected += counts.rejected
        report.retry_later += counts.retry_later

    def _finish(self, report: CycleReport, calls_before: int, error: str | None = None) -> None:
        report.api_calls = self.client.meter.calls - calls_before
        usage = self.client.usage
        self.store.finish_run(
            report.run_id,
            report.status,
            pulled=report.pulled,
            decided=report.decided,
            written=report.written,
            rejected=report.rejected,
            retry_later=report.retry_later,
            api_calls=report.api_calls,
            api_used=usage.used if usage else None,
            api_limit=usage.limit if usage else None,
            error=error,
        )
        log.info(
            "sfsync.sync.cycle_finished",
            status=report.status,
            pulled=report.pulled,
            decided=report.decided,
            written=report.written,
            rejected=report.rejected,
            api_calls=report.api_calls,
        )


def _is_new_version(
    lead: Lead,
    state: LeadState | None,
    rules: RuleSet,
    engagement: Sequence[Engagement] = (),
) -> bool:
    """False for a version already decided: the overlap re-reads it on purpose.

    Stamps have whole-second precision, so a second change within the same
    second keeps the stamp: then changed inputs tell the versions apart. New
    engagement never moves the stamp at all: its fingerprint is in the hash.
    """
    if state is None or lead.system_modstamp > state.system_modstamp:
        return True
    return lead.system_modstamp == state.system_modstamp and (
        input_hash(lead, rules, engagement) != state.input_hash
    )


def with_queue_ids(rules: RuleSet, facts: OrgFacts) -> RuleSet:
    """The rules with the Id of the queue recycled leads go to (an org fact)."""
    name = rules.recycle_queue
    queue = facts.queue(name) if name else None
    if name is None or queue is None:
        return rules
    return dataclasses.replace(rules, queue_ids={**rules.queue_ids, name: queue.id})


def _is_echo(decision: Decision, lead: Lead, state: LeadState | None, me: str) -> bool:
    """Our own write coming back (seen in sweeps): nothing to do, nothing worth recording."""
    if lead.last_modified_by_id != me or state is None or decision.changes:
        return False
    return state.input_hash == decision.input_hash
