"""What leads did, for the behaviour score: mirrored from the org, read from the store.

Engagement changes never touch the Lead record (a new campaign response
leaves its SystemModstamp alone), so the Lead pull cannot see them. Instead:

- CampaignMember and Task rows are mirrored into the store by their own
  watermarks, with an overlap like the Lead pull; an unchanged stamp is
  nothing new. The first load reads only rows within the rules' horizon
  (`max_age_days`): older engagement is worth nothing.
- Every mirrored change (and every imported feed event) marks its lead
  pending: the cycle reads those leads by id and decides them again; their
  input hash carries the engagement's fingerprint, so they count as new.
- Decay moves scores with time alone, so once per sweep period every lead
  with engagement inside the horizon is decided again at the new `now`.

Reading engagement from the store costs no API call per page of leads; the
engagement queries ride in one Composite call with the first page of the
cycle's Lead pull (an idle cycle asks one question).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog

from sfsync.connectors.engagement import engagement_events
from sfsync.connectors.salesforce import QUERY_RESTARTS, SalesforceClient
from sfsync.connectors.soql import by_ids_query, engagement_query, id_chunks, leads_by_email_query
from sfsync.errors import QueryRestart
from sfsync.models import EngagementEvent, Lead
from sfsync.rules.behavior import Engagement, EventKind
from sfsync.rules.engagement import to_engagement
from sfsync.rules.ruleset import RuleSet
from sfsync.store import Store

log = structlog.get_logger("sfsync.engagement")

# Mirrored object -> its watermark (cursor name) and the event kind its rows are.
SOURCES = {
    "CampaignMember": ("engagement_campaign_member", EventKind.CAMPAIGN_RESPONSE),
    "Task": ("engagement_task", EventKind.TASK),
}
DECAY_CURSOR = "behavior_decay"


class EngagementReader:
    """Keeps the store's mirror of the org's engagement current and hands leads their events."""

    def __init__(self, client: SalesforceClient, store: Store, rules: RuleSet) -> None:
        self.client, self.store, self.rules = client, store, rules

    def sources(self) -> list[str]:
        """The objects worth mirroring: those some behaviour rule scores."""
        grading = self.rules.grading
        if not self.rules.reads_engagement or grading is None:
            return []
        kinds = {rule.kind for rule in grading.behavior.events}
        return [name for name, (_, kind) in SOURCES.items() if kind in kinds]

    def refresh(
        self, overlap: timedelta, *, pending: bool = True, also: Sequence[str] = ()
    ) -> list[Iterator[list[dict[str, Any]]]]:
        """Mirror the CampaignMember and Task changes since their watermarks.

        Both queries go in one Composite request (one API call), with the
        first pages of the queryAll queries in `also` (the cycle's Lead pull):
        their pages come back, in order, to be read after. `pending=False`
        before a first full pull, which decides every lead anyway.
        """
        sources = self.sources()
        since = {sobject: self.store.watermark(SOURCES[sobject][0]) for sobject in sources}
        days = self.rules.engagement_days
        queries = [engagement_query(s, since[s], overlap, days) for s in sources]
        pages = self.client.pages_together([*queries, *also])
        changed = sum(
            self._mirror_source(sobject, since[sobject], each, query, pending)
            for sobject, each, query in zip(sources, pages, queries, strict=False)
        )
        if changed:
            log.info("sfsync.engagement.mirrored", changed=changed)
        return pages[len(sources) :]

    def _mirror_source(
        self,
        sobject: str,
        since: datetime | None,
        pages: Iterator[list[dict[str, Any]]],
        query: str,
        pending: bool,
    ) -> int:
        """`_mirror`, running the query again if its cursor dies on a later page.

        Safe to repeat: mirroring a row twice changes nothing, and the
        watermark moves only once every page has been stored.
        """
        for attempt in range(QUERY_RESTARTS + 1):
            try:
                return self._mirror(sobject, since, engagement_events(sobject, pages), pending)
            except QueryRestart as exc:
                if attempt == QUERY_RESTARTS:
                    raise
                log.warning("sfsync.engagement.query_restarted", source=sobject, reason=str(exc))
                pages = self.client.pages(query, include_deleted=True)
        raise AssertionError("unreachable")

    def _mirror(
        self,
        sobject: str,
        since: datetime | None,
        pages: Iterator[list[EngagementEvent]],
        pending: bool,
    ) -> int:
        """Store one object's changed rows and move its watermark; rows changed."""
        changed, newest = 0, since
        for page in pages:
            changed += self.store.events.mirror(page, pending=pending)
            stamps = [e.stamp for e in page if e.stamp is not None]
            newest = max([*stamps, *([newest] if newest else [])], default=None)
        if newest is not None and newest != since:
            self.store.set_watermark(SOURCES[sobject][0], newest)
        return changed

    def for_leads(self, leads: Sequence[Lead], now: datetime) -> dict[str, list[Engagement]]:
        """Each lead's engagement within the rules' horizon, by lead id (by id or by e-mail)."""
        if not self.rules.reads_engagement or not leads:
            return {}
        since = now - timedelta(days=self.rules.engagement_days)
        emails = {lead.id: _email(lead) for lead in leads}
        known = {e for e in emails.values() if e}
        by_lead, by_email = self.store.events.for_leads([lead.id for lead in leads], known, since)
        return {
            lead.id: to_engagement(
                _joined(by_lead.get(lead.id), by_email.get(emails[lead.id] or ""))
            )
            for lead in leads
        }

    def lead_ids(self, ids: Collection[str], emails: Collection[str]) -> list[str]:
        """The given lead ids plus those of the leads holding the given e-mail addresses."""
        found = set(ids)
        for chunk in id_chunks(sorted(emails)):
            found |= {str(r["Id"]) for r in self.client.query(leads_by_email_query(chunk))}
        return sorted(found)

    def read_leads(self, ids: Sequence[str], fields: Collection[str]) -> Iterator[list[Lead]]:
        """The leads with these ids as the pull reads them (deleted ones too), chunk by chunk."""
        for chunk in id_chunks(ids):
            soql = by_ids_query("Lead", sorted(fields), chunk)
            yield [lead for page in self.client.lead_pages(soql) for lead in page]

    def decay_due(self, now: datetime, period: timedelta) -> bool:
        """Whether the scores of engaged leads should be worked out again at `now`."""
        if not self.rules.reads_engagement:
            return False
        last = self.store.watermark(DECAY_CURSOR)
        return last is None or now - last >= period

    def engaged_since(self, since: datetime) -> tuple[frozenset[str], frozenset[str]]:
        """Leads with engagement since `since`: (ids, e-mails of events not tied to an id)."""
        return self.store.events.engaged(since)


def _email(lead: Lead) -> str | None:
    value = lead.get("Email")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def _joined(*parts: list[EngagementEvent] | None) -> list[EngagementEvent]:
    return [event for part in parts if part for event in part]
