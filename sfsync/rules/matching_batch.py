"""A batch of incoming leads against the mirror's candidates and against each other.

Two leads for one person can arrive in the same minute, even the same page:
neither is in the mirror yet, so each lead of the batch is also a candidate
for the others. Candidates are only ever the records sharing a blocking key
with the lead, looked up in memory here as the store looks them up by index.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence

from sfsync.rules.matching import Known, Match, Prepared, Record, best_matches, prepare
from sfsync.rules.matching_config import MatchingConfig
from sfsync.rules.matching_keys import Lookup, blocking_keys, filed_under, lookups
from sfsync.rules.matching_text import MatchData

Index = dict[Lookup, list[Prepared]]


def match_batch(
    leads: Sequence[Record],
    candidates: Iterable[Record],
    config: MatchingConfig,
    data: MatchData,
    crowded: Collection[Lookup] = frozenset(),
    looked_up: Sequence[set[Lookup]] | None = None,
) -> dict[str, list[Match]]:
    """Lead id -> its matches among `candidates` and the other leads of the batch.

    A candidate with the id of a batch lead is that lead's older copy: the
    batch's version replaces it. Matches between batch leads go both ways
    (each carries `created`, so the caller keeps the older one). Every lead
    of the batch has an entry, empty when it matches nothing.

    `crowded` are the lookups the store found over `max_candidates_per_key`
    records and did not read: they find no stored candidate, even though a
    few of their records may be among `candidates` through another key.
    `looked_up` are the leads' lookups, in their order, when the caller has them already.
    """
    batch_ids = {lead.id for lead in leads}
    crowded = frozenset(crowded)
    stored = _index((prepare(c, config, data) for c in candidates if c.id not in batch_ids), data)
    prepared = [prepare(lead, config, data) for lead in leads]
    batch = _index(prepared, data)
    result: dict[str, list[Match]] = {}
    known: Known = {}
    for i, lead in enumerate(prepared):
        if looked_up is not None:
            wanted = looked_up[i]
        else:
            wanted = lookups(lead.record.fields, data, config.match_keys, lead.record.keys)
        pool = _pool(stored, wanted - crowded, config) | _pool(batch, wanted, config)
        ordered = sorted(pool.values(), key=lambda p: p.record.id)
        matches = best_matches(lead, ordered, config, data, known)
        result[lead.record.id] = [_tag(m, batch_ids) for m in matches]
    return result


def _index(records: Iterable[Prepared], data: MatchData) -> Index:
    index: Index = defaultdict(list)
    for p in records:
        record = p.record
        keys = record.keys or blocking_keys(record.fields, record.sobject, data)
        for lookup in filed_under(keys, record.sobject):
            index[lookup].append(p)
    return index


def _pool(index: Index, wanted: set[Lookup], config: MatchingConfig) -> dict[str, Prepared]:
    pool: dict[str, Prepared] = {}
    for lookup in wanted:
        found = index.get(lookup, ())
        # A key half the org shares (a switchboard number) finds nothing worth comparing.
        if len(found) <= config.max_candidates_per_key:
            pool.update((p.record.id, p) for p in found)
    return pool


def _tag(match: Match, batch_ids: set[str]) -> Match:
    if match.record_id in batch_ids:
        return dataclasses.replace(match, same_batch=True)
    return match
