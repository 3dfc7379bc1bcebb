"""Precision and recall of duplicate matching on the emulator's planted duplicates.

Run: .venv/bin/python -m benchmarks.match_quality [--leads N ...] [--seed S] [--mappings DIR]

For each seeded org: the mirror is filled from the org (benchmarks/mirror_fill.py),
every live lead is matched against the mirror as `sfsync duplicates report`
does (leads in batches of 2,000, so within-batch matching is exercised too),
and each lead's matches to an older lead or to a contact are compared with
the seed's ground truth (`SeededOrg.duplicates`: typos, nicknames, swapped
names, phone formats, company suffixes, free-mail vs corporate, case and
spacing). Junk sign-ups ("test test") are in the org and in the mirror like
any lead; the ground truth says nothing about them, so pairs touching them
are shown apart. Figures go to docs/MATCHING.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.mirror_fill import fill, org_rows
from sfsync.emulator.seed import SeededOrg, build_org
from sfsync.jobs.match import duplicate_report
from sfsync.jobs.match_setup import Matcher, load_matcher
from sfsync.store import Store

DEFAULT_SIZES = (5_000, 20_000)
STANDARD = ("standard_person", "lead_to_account")


@dataclass
class Quality:
    """Counts behind precision and recall for one org and one set of rules."""

    truth: int
    found: int
    right: int
    junk_pairs: int
    by_kind: dict[str, tuple[int, int]]
    accounts: int
    seconds: float

    @property
    def precision(self) -> float:
        return self.right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.truth if self.truth else 1.0


def measure(seeded: SeededOrg, matcher: Matcher, store: Store) -> Quality:
    """Match every mirrored lead and score the pairs against the planted truth."""
    began = time.perf_counter()
    report = duplicate_report(store, matcher)
    seconds = time.perf_counter() - began
    truth = {(d.duplicate_id, d.original_id): d.kind for d in seeded.duplicates}
    junk = set(seeded.junk_lead_ids)
    pairs = {(m.lead_id, m.record_id) for m in report.duplicates}
    junk_pairs = {p for p in pairs if p[0] in junk or p[1] in junk}
    scored = pairs - junk_pairs
    hits = Counter(kind for pair, kind in truth.items() if pair in scored)
    kinds = Counter(truth.values())
    return Quality(
        truth=len(truth),
        found=len(scored),
        right=len(scored & set(truth)),
        junk_pairs=len(junk_pairs),
        by_kind={k: (hits[k], kinds[k]) for k in kinds},
        accounts=len({m.lead_id for m in report.accounts}),
        seconds=seconds,
    )


def standard_only(matcher: Matcher) -> Matcher:
    """The same matcher with only Salesforce's standard person rule (and the account rule)."""
    rules = tuple(r for r in matcher.config.rules if r.name in STANDARD)
    return replace(matcher, config=matcher.config.model_copy(update={"rules": rules}))


def print_quality(label: str, q: Quality) -> None:
    print(
        f"  {label:<26} precision {q.precision:.4f} ({q.right}/{q.found})  "
        f"recall {q.recall:.4f} ({q.right}/{q.truth})  junk pairs {q.junk_pairs}  "
        f"leads at an account {q.accounts}  [{q.seconds:.1f} s]"
    )
    print("    " + ", ".join(f"{k} {hit}/{n}" for k, (hit, n) in q.by_kind.items()))


def run(leads: int, seed: int, mappings: Path) -> dict[str, Quality]:
    """Seed, mirror and measure one org under the default and the standard-only rules."""
    seeded = build_org(leads=leads, seed=seed)
    matcher = load_matcher(mappings)
    with tempfile.TemporaryDirectory(prefix="sfsync-quality-") as folder:
        store = Store(f"sqlite:///{folder}/mirror.db")
        try:
            mirrored = fill(store, org_rows(seeded, matcher))
            print(f"org of {leads:,} leads (seed {seed}): {mirrored:,} records mirrored, "
                  f"{len(seeded.duplicates)} planted duplicates")  # fmt: skip
            results = {
                "default rules": measure(seeded, matcher, store),
                "standard rule only": measure(seeded, standard_only(matcher), store),
            }
        finally:
            store.close()
    for label, quality in results.items():
        print_quality(label, quality)
    return results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="*", default=list(DEFAULT_SIZES))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--mappings", type=Path, default=Path("mappings"))
    args = parser.parse_args(argv)
    totals: dict[str, list[Quality]] = {}
    for index, leads in enumerate(args.leads):
        for label, quality in run(leads, args.seed + index, args.mappings).items():
            totals.setdefault(label, []).append(quality)
    print("all orgs together:")
    for label, items in totals.items():
        right, found = sum(q.right for q in items), sum(q.found for q in items)
        truth = sum(q.truth for q in items)
        print(f"  {label:<26} precision {right / max(found, 1):.4f} ({right}/{found})  "
              f"recall {right / max(truth, 1):.4f} ({right}/{truth})")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
