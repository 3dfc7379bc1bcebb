"""What the FEBRL figures are made of: matches per rule and equation branch, and error patterns.

A false negative's pattern is the set of name and address comparisons that
fail under the first person rule of the rule set (Salesforce's standard rule
in the default file): "Street✗" is a street scoring below its threshold,
"FirstName∅" a first name blank on one side. A false positive's pattern is
the rule and the branches of its equation that held.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from benchmarks.match_public_data import FebrlSet, Pair
from sfsync.jobs.match_setup import Matcher
from sfsync.rules.criteria import parse_filter_logic
from sfsync.rules.matching import Comparison, Match, Record
from sfsync.rules.matching_config import MatchRule
from sfsync.rules.matching_methods import METHODS

SHOWN = ("FirstName", "LastName", "Street", "City", "PostalCode")
TOP_PATTERNS = 6


def branches(equation: str) -> list[str]:
    """The top-level OR branches of an equation: "(1 AND 2) OR 3" -> ["(1 AND 2)", "3"]."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for token in equation.replace("(", " ( ").replace(")", " ) ").split():
        depth += token == "("
        depth -= token == ")"
        if token.upper() == "OR" and depth == 0:
            parts.append(" ".join(current))
            current = []
        else:
            current.append(token)
    parts.append(" ".join(current))
    return [p.replace("( ", "(").replace(" )", ")") for p in parts]


def passed(rule: MatchRule, comparisons: tuple[Comparison, ...]) -> list[bool]:
    """Each comparison as the equation read it: matched, or a blank its companions excuse."""
    by_field = {c.field: c for c in comparisons}
    out = []
    for spec, c in zip(rule.comparisons, comparisons, strict=True):
        companions = [by_field[f] for f in spec.ignore_blank_when_matched]
        excused = all(x.matched and not x.blank for x in companions)
        out.append(c.matched or bool(c.blank and companions and excused))
    return out


def held_branches(match: Match, matcher: Matcher) -> tuple[str, ...]:
    """The branches of the matching rule's equation that hold for this match."""
    rule = next(r for r in matcher.config.rules if r.name == match.rule)
    values = passed(rule, match.comparisons)
    texts = branches(rule.equation or " AND ".join(str(i + 1) for i in range(len(values))))
    return tuple(t for t in texts if parse_filter_logic(t)(values))


def failing(a: Record, b: Record, matcher: Matcher) -> tuple[str, ...]:
    """Name and address comparisons of the first person rule that fail for the pair."""
    rule = matcher.config.rules_for("Lead")[0]
    out = []
    for spec in rule.comparisons:
        if spec.field not in SHOWN:
            continue
        method = METHODS[spec.method]
        x = method.prepare(a.fields, spec.field, matcher.data) or None
        y = method.prepare(b.fields, spec.field, matcher.data) or None
        if x is None or y is None:
            out.append(f"{spec.field}∅")
        elif method.score(x, y, matcher.data)[0] < spec.cutoff:
            out.append(f"{spec.field}✗")
    return tuple(out)


def shown(record: Record) -> str:
    """A record on one line: names · street (lines joined by /) · city postcode."""
    f: Mapping[str, Any] = record.fields
    street = (f.get("Street") or "-").replace("\n", " / ")
    names = f"{f.get('FirstName') or '-'} {f.get('LastName') or '-'}"
    return f"{names} · {street} · {f.get('City') or '-'} {f.get('PostalCode') or '-'}"


def _print_patterns(title: str, patterns: dict[Any, list[Pair]], data: FebrlSet, n: int) -> None:
    records = {r.id: r for r in (*data.leads, *data.mirror)}
    total = sum(len(v) for v in patterns.values())
    print(f"  {title}: {total}")
    ranked = sorted(patterns.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))
    for pattern, pairs in ranked[:TOP_PATTERNS]:
        label = " ".join(pattern) if isinstance(pattern, tuple) else str(pattern)
        print(f"    {len(pairs):>5}  {label or '(all pass)'}")
        for pair in sorted(pairs, key=sorted)[:n]:
            a, b = (records[i] for i in sorted(pair))
            print(f"           {shown(a)}  <>  {shown(b)}")


def closure(pairs: Iterable[Pair], data: FebrlSet) -> set[Pair]:
    """Every pair of records joined by a chain of found pairs (across the files, for linkage).

    A duplicate flagged against any older copy is caught; febrl2 and febrl3
    count every pair of a group of up to six copies, which the chain covers.
    """
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in (sorted(p) for p in pairs):
        parent[root(a)] = root(b)
    groups: dict[str, list[str]] = defaultdict(list)
    for x in list(parent):
        groups[root(x)].append(x)
    joined = {frozenset(p) for m in groups.values() for p in itertools.combinations(m, 2)}
    return {p for p in joined if data.counts(p)}


def print_closure(found: Iterable[Pair], data: FebrlSet) -> None:
    joined = closure(found, data)
    right = len(joined & data.truth)
    precision = right / len(joined) if joined else 1.0
    print(
        f"  transitive closure: {len(joined):,} pairs, precision {precision:.4f}, "
        f"recall {right / len(data.truth):.4f}"
    )


def print_contributions(found: Mapping[Pair, Match], truth: frozenset[Pair], m: Matcher) -> None:
    """Pairs per rule and per branch of its equation: right / wrong."""
    tally: Counter[tuple[str, str, bool]] = Counter()
    for pair, match in found.items():
        tally[(match.rule, "(rule)", pair in truth)] += 1
        for branch in held_branches(match, m):
            tally[(match.rule, branch, pair in truth)] += 1
    keys = sorted({(rule, branch) for rule, branch, _ in tally})
    for rule, branch in keys:
        right, wrong = tally[(rule, branch, True)], tally[(rule, branch, False)]
        print(f"    {rule:<20} {branch:<40} right {right:>5}  wrong {wrong:>4}")


def print_report(
    data: FebrlSet, label: str, m: Matcher, candidates: set[Pair], found: dict[Pair, Match], n: int
) -> None:
    """Per-rule contributions, then the top false-negative and false-positive patterns."""
    print(f"\n## {data.name}, {label}")
    print_closure(found, data)
    print_contributions(found, data.truth, m)
    records = {r.id: r for r in (*data.leads, *data.mirror)}
    missed: dict[Any, list[Pair]] = defaultdict(list)
    for pair in data.truth - found.keys():
        if pair not in candidates:
            missed["not a candidate (blocking)"].append(pair)
        else:
            a, b = (records[i] for i in sorted(pair))
            missed[failing(a, b, m)].append(pair)
    _print_patterns("false negatives", missed, data, n)
    wrong: dict[Any, list[Pair]] = defaultdict(list)
    for pair in found.keys() - data.truth:
        wrong[(found[pair].rule, *held_branches(found[pair], m))].append(pair)
    _print_patterns("false positives", wrong, data, n)
