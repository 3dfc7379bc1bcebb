"""Matching a lead against records: field comparisons, the rule equation, a confidence.

Pure: plain records in, `Match` values out. A match says which rule found it,
how sure it is and every field comparison behind it, so a person (and
`sfsync match`) can see why.

Confidence reads the equation as fuzzy logic over the comparisons' scores:
AND takes the weakest, OR the strongest. So a match on (FirstName AND
LastName AND Email) with first names scoring 92 has confidence 0.92. It is
computed with the same boolean equation as the decision: the highest score t
at which the equation still holds when only comparisons scoring >= t count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sfsync.rules.criteria import Logic, parse_filter_logic
from sfsync.rules.matching_config import FieldComparison, MatchingConfig, MatchRule
from sfsync.rules.matching_keys import BlockingKeys
from sfsync.rules.matching_methods import METHODS, Method, Score
from sfsync.rules.matching_text import MatchData, fold_field

_NAMES = ("FirstName", "LastName")


@dataclass(frozen=True)
class Record:
    """A lead, contact or account in Lead field names, with what routing needs to know."""

    id: str
    sobject: str
    fields: Mapping[str, Any]
    owner_id: str | None = None
    account_id: str | None = None
    # ISO timestamp: the older of two duplicates is the one to keep.
    created: str | None = None
    # The keys the store filed the record under (computed again when absent).
    keys: BlockingKeys | None = None


@dataclass(frozen=True)
class Comparison:
    """One field comparison behind a match (or behind its absence)."""

    field: str
    method: str
    algorithm: str
    score: float
    threshold: float
    matched: bool
    # "both" / "one" side blank, or "" when both had a value.
    blank: str = ""


@dataclass(frozen=True)
class Match:
    """A record that a lead matches, by which rule, how surely, and why."""

    lead_id: str
    record_id: str
    sobject: str
    rule: str
    confidence: float
    comparisons: tuple[Comparison, ...]
    # The candidate's first and last names were compared the other way round.
    transposed: bool = False
    owner_id: str | None = None
    account_id: str | None = None
    created: str | None = None
    # The candidate arrived in the same batch as the lead.
    same_batch: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The match as plain data (JSON-ready)."""
        return asdict(self)


@dataclass
class Prepared:
    """A record whose compared fields are read by their methods on first use, then kept.

    Most candidates fail on the first name, so their phone numbers and
    addresses are never parsed at all.
    """

    record: Record
    data: MatchData
    values: dict[tuple[str, str], Any] = field(default_factory=dict)
    _names: tuple[str | None, str | None] | None = None

    @property
    def names(self) -> tuple[str | None, str | None]:
        """Folded first and last name, for comparing them the other way round."""
        if self._names is None:
            fields = self.record.fields
            self._names = (fold_field(fields.get("FirstName")) or None,
                           fold_field(fields.get("LastName")) or None)  # fmt: skip
        return self._names

    def value(self, c: FieldComparison, swap: bool = False) -> Any:
        """The field as method `c.method` reads it (None when blank)."""
        if swap and c.field in _NAMES:
            # The name methods all compare folded text, so the other name can stand in.
            return self.names[1 - _NAMES.index(c.field)]
        key = (c.field, c.method)
        found = self.values.get(key, _UNREAD)
        if found is _UNREAD:
            value = METHODS[c.method].prepare(self.record.fields, c.field, self.data)
            found = self.values[key] = value if value not in ("", (), frozenset()) else None
        return found


_UNREAD = object()


def prepare(record: Record, config: MatchingConfig, data: MatchData) -> Prepared:
    """A record ready for comparison (fields are read when a rule first needs them)."""
    return Prepared(record, data)


# A comparison no branch of its rule's equation can do without, its method and threshold.
Gate = tuple[FieldComparison, Method, float]
# Comparisons of one pair already made, shared by the rules that make the same one.
Seen = dict[tuple[Any, ...], Comparison]
# Scores by method and the two values compared, shared by every pair of a batch: a page
# compares the same first names, companies and cities again and again.
Known = dict[tuple[str, Any, Any], Score]


class _Pair(Sequence[bool]):
    """A rule's comparisons of one pair, each computed only when the equation asks for it."""

    def __init__(
        self, rule: MatchRule, lead: Prepared, other: Prepared, swap: bool, seen: Seen, known: Known
    ) -> None:
        self.rule, self.lead, self.other, self.swap = rule, lead, other, swap
        self.seen, self.known = seen, known
        self.done: list[Comparison | None] = [None] * len(rule.comparisons)

    def __len__(self) -> int:
        return len(self.done)

    def __getitem__(self, i: int) -> bool:  # type: ignore[override]
        c = self.comparison(i)
        return c.matched or self._ignored(i, c)

    def comparison(self, i: int) -> Comparison:
        found = self.done[i]
        if found is None:
            spec = self.rule.comparisons[i]
            key = (spec.field, spec.method, spec.cutoff, spec.match_blank_fields, self.swap)
            found = self.seen.get(key)
            if found is None:
                a, b = self.lead.value(spec), self.other.value(spec, self.swap)
                found = self.seen[key] = _compared(spec, a, b, self.lead.data, self.known)
            self.done[i] = found
        return found

    def _ignored(self, i: int, c: Comparison) -> bool:
        """A blank ignored because the fields it goes with matched (Salesforce's name rule)."""
        companions = self.rule.comparisons[i].ignore_blank_when_matched
        if not c.blank or not companions:
            return False
        position = {spec.field: n for n, spec in enumerate(self.rule.comparisons)}
        return all(self.comparison(position[f]).matched for f in companions) and not any(
            self.comparison(position[f]).blank for f in companions
        )

    def all(self) -> tuple[Comparison, ...]:
        return tuple(self.comparison(i) for i in range(len(self.done)))


def match_pair(
    lead: Prepared,
    candidate: Prepared,
    rule: MatchRule,
    data: MatchData,
    seen: Seen | None = None,
    known: Known | None = None,
) -> Match | None:
    """The match of `lead` with `candidate` under `rule`, or None.

    `seen` shares comparisons between the rules tried on the same pair,
    `known` between the pairs of a batch.
    """
    seen = {} if seen is None else seen
    known = {} if known is None else known
    pair = _Pair(rule, lead, candidate, False, seen, known)
    if not _holds(rule, pair):
        if not (rule.transpose_names and _both_named(lead, candidate)):
            return None
        pair = _Pair(rule, lead, candidate, True, seen, known)
        if not _holds(rule, pair):
            return None
    comparisons = pair.all()
    c = candidate.record
    return Match(
        lead_id=lead.record.id, record_id=c.id, sobject=c.sobject, rule=rule.name,
        confidence=_confidence(rule, comparisons), comparisons=comparisons,
        transposed=pair.swap, owner_id=c.owner_id, account_id=c.account_id, created=c.created,
    )  # fmt: skip


def _holds(rule: MatchRule, pair: _Pair) -> bool:
    """The equation, after the comparisons every branch needs (most pairs fail on a name)."""
    return all(pair[i] for i in _necessary(rule)) and _logic(rule)(pair)


def _necessary(rule: MatchRule) -> tuple[int, ...]:
    """Comparisons without which the equation cannot hold ("1 AND 2" in every branch)."""
    key = (rule.equation, len(rule.comparisons))
    if key not in _NECESSARY:
        logic, count = _logic(rule), len(rule.comparisons)
        _NECESSARY[key] = tuple(
            i for i in range(count) if not logic([j != i for j in range(count)])
        )
    return _NECESSARY[key]


_NECESSARY: dict[tuple[str | None, int], tuple[int, ...]] = {}


def _both_named(a: Prepared, b: Prepared) -> bool:
    return all(a.names) and all(b.names)


def _may_match(
    lead: Prepared,
    candidate: Prepared,
    gates: Sequence[tuple[bool, tuple[Gate, ...]]],
    known: Known,
) -> bool:
    """False when every rule fails on a comparison it cannot do without, both name orders.

    The same test `_holds` starts with, on values alone (no per-pair state):
    a necessary comparison of two non-blank values that misses its threshold
    sinks that rule, whatever the blank options say. Most candidates a
    company key finds are colleagues with another first name.
    """
    for transpose, necessary in gates:
        if _passes(necessary, lead, candidate, False, known):
            return True
        swap = transpose and _both_named(lead, candidate)
        if swap and _passes(necessary, lead, candidate, True, known):
            return True
    return False


def _passes(
    gates: tuple[Gate, ...], lead: Prepared, other: Prepared, swap: bool, known: Known
) -> bool:
    data = lead.data
    for spec, method, cutoff in gates:
        a, b = lead.value(spec), other.value(spec, swap)
        if a is None or b is None:
            continue
        key = (spec.method, a, b)
        score = known.get(key)
        if score is None:
            score = known[key] = method.score(a, b, data)
        if score[0] < cutoff:
            return False
    return True


def _distinct_gates(rules: Sequence[MatchRule]) -> list[tuple[bool, tuple[Gate, ...]]]:
    """Each rule's necessary comparisons (and whether it swaps names), rules alike tested once.

    The standard person rule and sfsync's extras both need the same first and
    last name comparisons: one test tells both apart from a colleague.
    """
    distinct: dict[tuple[Any, ...], tuple[bool, tuple[Gate, ...]]] = {}
    for rule in rules:
        specs = [rule.comparisons[i] for i in _necessary(rule)]
        gates = tuple((c, METHODS[c.method], c.cutoff) for c in specs)
        same = (rule.transpose_names, tuple((c.field, c.method, c.cutoff) for c in specs))
        distinct.setdefault(same, (rule.transpose_names, gates))
    return list(distinct.values())


def _compared(c: FieldComparison, a: Any, b: Any, data: MatchData, known: Known) -> Comparison:
    """`_one`, its score remembered by method and values (prepared values are hashable)."""
    if a is None or b is None:
        return _one(c, a, b, data)
    key = (c.method, a, b)
    score = known.get(key)
    if score is None:
        score = known[key] = METHODS[c.method].score(a, b, data)
    cutoff = c.cutoff
    return Comparison(c.field, c.method, score[1], score[0], cutoff, score[0] >= cutoff)


def _one(c: FieldComparison, a: Any, b: Any, data: MatchData) -> Comparison:
    cutoff = c.cutoff
    if a is None or b is None:
        both = a is None and b is None
        matched = both and c.match_blank_fields
        return Comparison(
            c.field, c.method, "blank", 0.0, cutoff, matched, "both" if both else "one"
        )
    score, algorithm = METHODS[c.method].score(a, b, data)
    return Comparison(c.field, c.method, algorithm, score, cutoff, score >= cutoff)


def _confidence(rule: MatchRule, comparisons: tuple[Comparison, ...]) -> float:
    """The highest level at which the equation holds counting only comparisons that strong."""
    values = _strengths(rule, comparisons)
    logic = _logic(rule)
    for level in sorted({v for v in values if v > 0}, reverse=True):
        if logic([v >= level for v in values]):
            return round(level, 4)
    raise AssertionError("a true monotone equation holds at its lowest level")


def _strengths(rule: MatchRule, comparisons: tuple[Comparison, ...]) -> list[float]:
    """Each comparison's weight in the equation: score/100 if it matched, else 0.

    A blank that counts as a match (match blank fields) weighs 1; a blank
    ignored because its companion fields matched weighs what they weigh.
    """
    by_field = {c.field: c for c in comparisons}
    values = []
    for spec, c in zip(rule.comparisons, comparisons, strict=True):
        if c.matched:
            values.append(1.0 if c.blank else c.score / 100)
        elif c.blank and spec.ignore_blank_when_matched:
            companions = [by_field[f] for f in spec.ignore_blank_when_matched]
            ok = all(x.matched and not x.blank for x in companions)
            values.append(min(x.score / 100 for x in companions) if ok else 0.0)
        else:
            values.append(0.0)
    return values


_LOGIC: dict[str, Logic] = {}


def _logic(rule: MatchRule) -> Logic:
    text = rule.equation or " AND ".join(str(i) for i in range(1, len(rule.comparisons) + 1))
    if text not in _LOGIC:
        _LOGIC[text] = parse_filter_logic(text)
    return _LOGIC[text]


def best_matches(
    lead: Prepared,
    candidates: Sequence[Prepared],
    config: MatchingConfig,
    data: MatchData,
    known: Known | None = None,
) -> list[Match]:
    """Every candidate the lead matches (best rule per candidate), most confident first.

    `known` keeps comparisons for the next lead of the batch (see `Known`).
    """
    known = {} if known is None else known
    by_object: dict[str, tuple[tuple[MatchRule, ...], list[tuple[bool, tuple[Gate, ...]]]]] = {}
    found: dict[str, Match] = {}
    for candidate in candidates:
        if candidate.record.id == lead.record.id:
            continue
        sobject = candidate.record.sobject
        if sobject not in by_object:
            applicable = config.rules_for(sobject)
            by_object[sobject] = (applicable, _distinct_gates(applicable))
        rules, gates = by_object[sobject]
        if not _may_match(lead, candidate, gates, known):
            continue
        seen: Seen = {}
        for rule in rules:
            match = match_pair(lead, candidate, rule, data, seen, known)
            held = found.get(candidate.record.id)
            if match is not None and (held is None or match.confidence > held.confidence):
                found[candidate.record.id] = match
    return sorted(found.values(), key=lambda m: (-m.confidence, m.sobject, m.record_id))
