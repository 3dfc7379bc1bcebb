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
- Web-form submissions queued by `sfsync intake serve` (intake.yaml) are
  created, matched, scored and routed at the end of each cycle.
- What leads did (campaign responses, Tasks, imported feed events) never
  moves the Lead's stamp: `jobs.engagement` mirrors it into the store, and
  the leads whose engagement changed are read by id and decided again. Once
  per sweep period every engaged lead is decided again, so decayed scores move.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from sfsync.config import Settings
from sfsync.connectors.salesforce import SalesforceClient, leads_of
from sfsync.connectors.soql import incremental_query
from sfsync.errors import ApiLimitReached, QueryRestart, SfsyncError, StoreUnavailable
from sfsync.intake.config import intake_for
from sfsync.jobs.check import OrgFacts, org_facts
from sfsync.jobs.cursors import LEAD_CURSOR, SWEEP_CURSOR, WRITE_CURSOR
from sfsync.jobs.engagement import DECAY_CURSOR, EngagementReader
from sfsync.jobs.flush import FlushCounts, flush, recover_in_flight
from sfsync.jobs.intake import CachedSetup, process_submissions
from sfsync.jobs.match_setup import matcher_for
from sfsync.jobs.notify import Notifier
from sfsync.jobs.page_matching import PULLED, MatchedPage, keep_mirror_current, match_page
from sfsync.jobs.plan import PlannedChange, check_against_org, plan_for
from sfsync.jobs.prefetch import prefetched
from sfsync.jobs.route_page import PageRouter, PriorRouting, waiting_to_be_routed
from sfsync.jobs.routing_org import routing_org
from sfsync.jobs.targets import attach_targets
from sfsync.models import Decision, Lead
from sfsync.routing_state import PageRouting, RoutedPage, RoutingSnapshot
from sfsync.rules.behavior import Engagement
from sfsync.rules.pipeline import RuleSet, decide, input_hash
from sfsync.rules.routing_facts import RoutingOrg
from sfsync.store import LeadState, OutboxState, Store
from sfsync.store.routing import RoutingStore

__all__ = ["LEAD_CURSOR", "SWEEP_CURSOR", "WRITE_CURSOR", "CycleReport", "SyncJob"]

log = structlog.get_logger("sfsync.sync")

MAX_QUERY_RESTARTS = 3
OWNERS_FRESH = timedelta(minutes=1)  # owner checks before writes trust a read this recent
READ_AHEAD = 1  # query pages fetched while the one before is decided (see jobs.prefetch)
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
        self._first_pull = False
        self._org_read_at: datetime | None = None
        self._routing_store = RoutingStore(store.engine)
        self.engagement = EngagementReader(client, store, rules)
        # Read here, before any call: an unset webhook variable stops start-up (exit 2).
        self.notifier = Notifier.for_routing(rules.routing)
        self.matcher = matcher_for(settings.sfsync_mappings)
        self.intake = intake_for(settings.sfsync_mappings)
        self._intake_setup: CachedSetup | None = None

    def prepare(self) -> None:
        """Read the org once per process and check the mappings against it (one call).

        The describes, the org's facts and, with routing.yaml, its users and
        Lead queues come in one Composite request; routing's are read again
        once per sweep period (`_refresh_routing_org`): users leave, queues change.
        """
        if self._facts is None:
            queues, routing = self.rules.recycle_queue is not None, self.rules.routing is not None
            self._facts = org_facts(
                self.client, self.rules, read_queues=queues, read_routing=routing
            )
            if self._facts.routing is not None:
                self._use_routing_org(self._facts.routing)
            rules = check_against_org(self.rules, self._facts, self.settings.sfsync_mappings)
            self.rules = with_queue_ids(rules, self._facts)
            self.engagement.rules = self.rules

    def _refresh_routing_org(self) -> None:
        """Read the org's users and queues for routing again once per sweep period.

        At start (`prepare`) routing.yaml's owners are checked against them (a
        problem stops the worker, exit 2); later a user who left only drops out
        of rotation.
        """
        if self.rules.routing is None:
            return
        if self._org_read_at is None or self.clock() - self._org_read_at >= self.sweep_period:
            self._use_routing_org(routing_org(self.client))

    def _use_routing_org(self, org: RoutingOrg) -> None:
        self.rules = dataclasses.replace(self.rules, routing_org=org)
        self.engagement.rules = self.rules
        self._org_read_at = self.clock()

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
        self._first_pull = self.store.watermark(LEAD_CURSOR) is None
        self._refresh_routing_org()
        if report.dry_run:
            self._pull(report, me, sweep=self._sweep_due(), engagement=True)
            self._engaged(report)
            self._sla_missed(report)
            return
        report.recovered = recover_in_flight(self.client, self.store, me)
        if report.recovered:
            self._mark_written()  # a dead worker's write may have landed
        if self.store.liveness.hold_pull_lease():
            self._pull(report, me, sweep=self._sweep_due(), engagement=True)
            self._engaged(report)
            self._sla_missed(report)
            if self.store.outbox(OutboxState.STAGED, limit=1):
                self._pull(report, me, sweep=False)  # the re-check before writing
                self.store.release_staged()
        counts = flush(
            self.client, self.store, notifier=self.notifier, known_owners=self._fresh_owners()
        )
        if counts.written:
            self._mark_written()
        self._add_flush(report, counts)
        self._intake_pass()

    def _intake_pass(self) -> None:
        """Create the leads web forms queued (intake.yaml): one store query when none wait."""
        if self.intake is None:
            return
        if self._intake_setup is None:
            self._intake_setup = CachedSetup(self.client, self.rules)
        process_submissions(
            self.client,
            self.store,
            self.rules,
            processing=self.intake.processing,
            setup=self._intake_setup,
        )

    def _fresh_owners(self) -> dict[str, bool] | None:
        """Users' active flags, when routing read them less than OWNERS_FRESH ago."""
        org, read = self.rules.routing_org, self._org_read_at
        if org is None or read is None or self.clock() - read > OWNERS_FRESH:
            return None
        return {user.id: user.active for user in org.users}

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

    def _pull(self, report: CycleReport, me: str, *, sweep: bool, engagement: bool = False) -> None:
        """Pull and decide the changed leads; with `engagement`, mirror engagement first.

        The engagement queries and the pull's first page go in one Composite call.
        """
        started = self.clock()
        first = self._refresh_engagement(self._pull_query(me, sweep)) if engagement else None
        for attempt in range(MAX_QUERY_RESTARTS + 1):
            try:
                pages = first if first is not None else self._pages(me, sweep)
                first = None  # a restart queries again from the watermark
                for page in prefetched(pages, READ_AHEAD):
                    self._handle_page(report, page)
                break
            except QueryRestart as exc:
                if attempt == MAX_QUERY_RESTARTS:
                    raise
                log.warning("sfsync.sync.pull_restarted", reason=str(exc))
        if sweep and not report.dry_run:
            self.store.set_watermark(SWEEP_CURSOR, started)

    def _pages(self, me: str, sweep: bool) -> Iterator[list[Lead]]:
        return self.client.lead_pages(self._pull_query(me, sweep))

    def _pull_query(self, me: str, sweep: bool) -> str:
        since = self.store.watermark(LEAD_CURSOR)
        exclude = None if sweep else me
        log.info("sfsync.sync.pull_started", since=str(since), sweep=sweep)
        return incremental_query("Lead", self._fields(), since, self.overlap, exclude)

    def _fields(self) -> list[str]:
        extra = PULLED if self.matcher is not None else frozenset()
        return sorted(self.rules.fields_read() | set(self.rules.fields.write) | extra)

    def _sla_missed(self, report: CycleReport) -> None:
        """Read the leads whose SLA re-routing time has come and decide (and route) them again."""
        if self.rules.routing is None:
            return
        due = self.store.reroute_due(self.clock())
        if not due:
            return
        log.info("sfsync.sync.sla_due", leads=len(due))
        for leads in self.engagement.read_leads(due, self._fields()):
            self._handle_page(report, leads, advance=False, force=True, missed=frozenset(due))

    def _handle_page(
        self,
        report: CycleReport,
        page: list[Lead],
        *,
        advance: bool = True,
        force: bool = False,
        missed: frozenset[str] = frozenset(),
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
        decided = _Page({lead.id: lead for lead in fresh}, states, new, self._me)
        decisions = [
            self._decide(lead, states.get(lead.id), now, did.get(lead.id, [])) for lead in fresh
        ]
        decisions = attach_targets(self.client, decisions, decided.leads)
        matched = self._match(fresh, decisions, states)
        report.decided += len(decisions)
        newest = max(lead.system_modstamp for lead in page)
        log.info("sfsync.sync.page_pulled", records=len(page), new_versions=len(new))
        router = self._router(decided.leads, states, now, matched.owners, missed)
        decisions = matched.decisions
        if report.dry_run:
            if router is not None:  # on the state as it is, without taking the lock
                snapshot = self._routing_store.snapshot(router.teams)
                decisions = list(router(decisions, snapshot).decisions)
            report.plan.extend(plan_for(decided.worth_keeping(decisions), decided.leads))
            return
        cursor = (LEAD_CURSOR, newest) if advance else None
        report.queued += self._record(report.run_id, decided, decisions, cursor, router)
        if self.matcher is not None:
            keep_mirror_current(self.store, self.matcher, fresh)

    def _match(
        self, fresh: list[Lead], decisions: list[Decision], states: dict[str, LeadState]
    ) -> MatchedPage:
        """Matches of the leads that just arrived or wait for routing (see `page_matching`)."""
        if self.matcher is None:
            return MatchedPage(decisions)
        config, org = self.rules.routing, self.rules.routing_org
        arrived = {lead.id for lead in fresh if lead.id not in states and not self._first_pull}
        waiting = {
            lead.id
            for lead in fresh
            if config and org and waiting_to_be_routed(config, org, lead.get(config.owner_field))
        }
        matcher, rules = self.matcher, self.rules
        return match_page(self.store, matcher, rules, fresh, decisions, arrived | waiting, arrived)

    def _record(
        self,
        run_id: str,
        page: _Page,
        decisions: list[Decision],
        cursor: tuple[str, datetime] | None,
        router: PageRouter | None,
    ) -> int:
        """Record the page; with routing, the store routes it under the teams' lock first."""
        leads = list(page.leads.values())
        if router is None:
            return self.store.record_page(run_id, leads, page.worth_keeping(decisions), cursor)

        def routed(snapshot: RoutingSnapshot) -> RoutedPage:
            found = router(decisions, snapshot)
            return dataclasses.replace(found, decisions=page.worth_keeping(found.decisions))

        routing = PageRouting(router.teams, routed)
        return self.store.record_page(run_id, leads, [], cursor, routing=routing)

    def _router(
        self,
        leads: dict[str, Lead],
        states: dict[str, LeadState],
        now: datetime,
        matched: Mapping[str, tuple[str | None, str | None]],
        missed: frozenset[str] = frozenset(),
    ) -> PageRouter | None:
        """The page's router, when routing.yaml is there and the org's facts are read."""
        if self.rules.routing is None or self.rules.routing_org is None or not leads:
            return None
        prior = {
            lead_id: PriorRouting(state.routing, state.load_owner, state.last_written, known=True)
            for lead_id, state in states.items()
        }
        org = self.rules.routing_org
        return PageRouter(self.rules, org, leads, prior, self._first_pull, now, matched, missed)

    def _decide(
        self, lead: Lead, state: LeadState | None, now: datetime, engagement: list[Engagement]
    ) -> Decision:
        last_written = state.last_written if state else {}
        return decide(lead, self.rules, last_written, now, engagement)

    # -- engagement ---------------------------------------------------------------

    def _refresh_engagement(self, pull: str) -> Iterator[list[Lead]]:
        """Mirror engagement changes; the pages of `pull`, whose first came in the same call."""
        # Before the first full pull every lead is about to be decided: nothing is pending.
        first_pull = self.store.watermark(LEAD_CURSOR) is None
        [pages] = self.engagement.refresh(self.overlap, pending=not first_pull, also=[pull])
        return leads_of(pages)

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


@dataclass(frozen=True)
class _Page:
    """The lead versions of a page being decided, and what tells which decisions to keep."""

    leads: dict[str, Lead]
    states: dict[str, LeadState]
    new: set[str]
    me: str

    def worth_keeping(self, decisions: Sequence[Decision]) -> list[Decision]:
        """Decisions about new versions, or that change something, and are not our own echo."""
        return [
            d
            for d in decisions
            if not _is_echo(d, self.leads[d.lead_id], self.states.get(d.lead_id), self.me)
            and (d.lead_id in self.new or bool(d.changes) or d.convert is not None)
        ]


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
