"""Where matching meets the store: fetch candidates by index, match a batch, report.

`find_matches(store, leads, matcher)` is what the sync cycle calls for a page
of pulled leads: it counts every blocking key of the page in the mirror's
indexes, reads the records of the keys not over `max_candidates_per_key`
(indexed SQL, a few statements per page), then runs the pure
`rules.matching_batch.match_batch` over the page and those candidates.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sfsync.errors import ConfigError
from sfsync.jobs.match_setup import Matcher
from sfsync.models import Lead
from sfsync.rules.matching import Match, Record
from sfsync.rules.matching_batch import match_batch
from sfsync.rules.matching_keys import BlockingKeys, Lookup, blocking_keys, filed_under, lookups
from sfsync.rules.matching_records import lead_shaped
from sfsync.store import Store
from sfsync.store.mirror import (
    MirrorRecord,
    candidate_rows,
    key_counts,
    live_by_id,
    live_records,
    record,
)


def lead_record(lead: Lead | Mapping[str, Any]) -> Record:
    """A pulled lead (or a Lead-shaped record with an Id) as matching sees it."""
    values = lead.values if isinstance(lead, Lead) else lead
    created = values.get("CreatedDate")
    return Record(
        id=str(values.get("Id") or (lead.id if isinstance(lead, Lead) else "")),
        sobject="Lead",
        fields=lead_shaped("Lead", values),
        owner_id=values.get("OwnerId"),
        created=created.isoformat() if isinstance(created, datetime) else created,
    )


def mirror_record(row: MirrorRecord) -> Record:
    """A mirror row as a matching candidate."""
    return Record(
        id=row.id,
        sobject=row.sobject,
        fields=row.fields,
        owner_id=row.owner_id,
        account_id=row.account_id,
        created=row.created_date.isoformat() if row.created_date else None,
        keys=BlockingKeys(**row.keys),
    )


def _candidate(row: sa.Row[Any]) -> Record:
    """`mirror_record` straight from the row (a page reads tens of thousands)."""
    created = row.created_date
    return Record(
        id=row.id,
        sobject=row.sobject,
        fields=row.fields or {},
        owner_id=row.owner_id,
        account_id=row.account_id,
        created=created.isoformat() if created else None,
        keys=BlockingKeys(
            row.email_key, row.email_domain, row.phone_key, row.name_key, row.company_key
        ),
    )


def find_matches(
    store: Store, leads: Sequence[Lead | Mapping[str, Any]], matcher: Matcher
) -> dict[str, list[Match]]:
    """Lead id -> its matches among the org's records and the other leads of `leads`.

    Each match has its confidence and the field comparisons behind it. Reads
    the mirror only (no API call); leads already in the mirror are matched in
    their given version, not the stored one (whose CreatedDate stands in when
    the pull did not read it).
    """
    records = [_with_keys(lead_record(lead), matcher) for lead in leads]
    config = matcher.config
    looked_up = [lookups(r.fields, matcher.data, config.match_keys, r.keys) for r in records]
    wanted: set[Lookup] = set().union(*looked_up)
    own = {r.id: r for r in live_by_id(store.engine, [one.id for one in records])}
    crowded = _crowded(store, wanted, own.values(), config.max_candidates_per_key)
    found = [_candidate(r) for r in candidate_rows(store.engine, wanted - crowded)]
    records = [_created_from(r, own.get(r.id)) for r in records]
    return match_batch(records, found, config, matcher.data, crowded, looked_up)


def _crowded(
    store: Store, wanted: set[Lookup], own: Iterable[MirrorRecord], cap: int
) -> set[Lookup]:
    """The lookups that find more than `cap` stored records besides the page's own copies.

    Counted in the database, so their records are never read: `match_batch`
    would drop them anyway (a key that common says nothing about a person).
    The page's own stored copies do not count: `match_batch` replaces them.
    """
    copies = Counter(
        lookup for row in own for lookup in filed_under(BlockingKeys(**row.keys), row.sobject)
    )
    counts = key_counts(store.engine, wanted, cap, copies)
    return {lookup for lookup, count in counts.items() if count - copies[lookup] > cap}


def _created_from(lead: Record, stored: MirrorRecord | None) -> Record:
    """The lead with its stored CreatedDate when the pull did not read one."""
    if lead.created or stored is None or stored.created_date is None:
        return lead
    return dataclasses.replace(lead, created=stored.created_date.isoformat())


def _with_keys(lead: Record, matcher: Matcher) -> Record:
    """The lead with its blocking keys, computed once for the store and the batch alike."""
    return dataclasses.replace(lead, keys=blocking_keys(lead.fields, "Lead", matcher.data))


def stored_lead(store: Store, lead_id: str) -> dict[str, Any]:
    """A lead of the mirror as find_matches takes it; ConfigError when the mirror lacks it."""
    row = record(store.engine, lead_id)
    if row is None or row.sobject != "Lead":
        raise ConfigError(f"lead {lead_id} is not in the mirror: run `sfsync backfill` first")
    return _lead_values(row)


def _lead_values(row: MirrorRecord) -> dict[str, Any]:
    created = row.created_date.isoformat() if row.created_date else None
    return {**row.fields, "Id": row.id, "OwnerId": row.owner_id, "CreatedDate": created}


@dataclass
class DuplicateReport:
    """Every live lead of the mirror matched against the rest: what a first dedupe would find."""

    leads: int = 0
    # Lead -> an older lead or a contact it duplicates (one pair per lead and record).
    duplicates: list[Match] = field(default_factory=list)
    # Lead -> the account of its company.
    accounts: list[Match] = field(default_factory=list)


def duplicate_report(store: Store, matcher: Matcher, chunk: int = 2000) -> DuplicateReport:
    """Match every live lead in the mirror, `chunk` leads a batch; newer-to-older pairs only."""
    report = DuplicateReport()
    for rows in live_records(store.engine, "Lead", chunk):
        report.leads += len(rows)
        found = find_matches(store, [_lead_values(r) for r in rows], matcher)
        created = {r.id: r.created_date.isoformat() if r.created_date else "" for r in rows}
        for lead_id, matches in found.items():
            for match in matches:
                if match.sobject == "Account":
                    report.accounts.append(match)
                elif match.sobject == "Contact" or _older(match, created[lead_id]):
                    report.duplicates.append(match)
    return report


def _older(match: Match, lead_created: str) -> bool:
    """Whether the matched lead came first (ties go to the smaller id), so pairs count once."""
    return ((match.created or ""), match.record_id) < (lead_created, match.lead_id)
