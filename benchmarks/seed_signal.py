"""How much signal the seeded history carries, and how much of it `sfsync train` learns.

Run: .venv/bin/python -m benchmarks.seed_signal [LEADS [SEED ...]]
(default 20,000 leads, seeds 42 11 7; prints figures, asserts nothing; needs
scikit-learn, the `predict` extra).

For each seed an org is built with `build_org`, and the history is taken as
`sfsync train` takes it: live leads created more than 30 days ago, ordered by
Id. Printed per seed:

- **ceiling**: the AUC of the generator's own noise-free log-odds
  (`seed_conversion.lead_logit`) against the seeded outcomes, over the whole
  history and over the leads `sfsync train` holds out. The generator adds
  per-lead noise, so no model of the lead's fields can rank better than its
  noise-free log-odds: this is the ceiling for any learner.
- **train**: the held-out AUC `sfsync train` reports, from its own fitting
  code (`jobs.train.fit_history`, same split and seed) on the same rows; the
  pull over HTTP is left out (it selects the same fields).
- conversion rates over the history, overall and by lead source.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sfsync.emulator.seed import build_org
from sfsync.emulator.seed_conversion import lead_logit
from sfsync.jobs.train import HELD_OUT_SHARE, SEED, History, fit_history
from sfsync.jobs.train_fit import roc_auc, stratified_split

LEADS = 20_000
SEEDS = (42, 11, 7)
MIN_AGE_DAYS = 30

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Signal:
    """One seeded org's figures."""

    seed: int
    history: int
    converted: int
    ceiling: float
    ceiling_held_out: float
    train_auc: float
    train_seconds: float
    by_source: dict[str, tuple[int, int]]  # source -> (converted, leads)


def history_rows(leads: int, seed: int, now: datetime) -> list[dict[str, Any]]:
    """The seeded org's live leads created more than MIN_AGE_DAYS ago, ordered by Id."""
    seeded = build_org(leads=leads, seed=seed)
    cutoff = now - timedelta(days=MIN_AGE_DAYS)
    rows = [dict(r) for r in seeded.org.tables["Lead"].values()]
    live = [r for r in rows if not r.get("IsDeleted") and r["CreatedDate"] < cutoff]
    return sorted(live, key=lambda r: str(r["Id"]))


def measure(leads: int, seed: int) -> Signal:
    """Ceiling, trained AUC and rates for one seeded org."""
    now = datetime.now(UTC)
    rows = history_rows(leads, seed, now)
    labels = [r.get("IsConverted") is True for r in rows]
    truth = [lead_logit(r) for r in rows]
    _train, held_out = stratified_split(labels, HELD_OUT_SHARE, SEED)
    began = time.perf_counter()
    result = fit_history(History(rows, 0), min_age_days=MIN_AGE_DAYS, now=now, seed=SEED)
    seconds = time.perf_counter() - began
    return Signal(
        seed=seed,
        history=len(rows),
        converted=sum(labels),
        ceiling=roc_auc(labels, truth),
        ceiling_held_out=roc_auc([labels[i] for i in held_out], [truth[i] for i in held_out]),
        train_auc=result.model.training.auc,
        train_seconds=seconds,
        by_source=_by_source(rows, labels),
    )


def _by_source(rows: Sequence[Row], labels: Sequence[bool]) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row, converted in zip(rows, labels, strict=True):
        cell = counts[str(row.get("LeadSource") or "(blank)")]
        cell[0] += converted
        cell[1] += 1
    return {source: (c, n) for source, (c, n) in counts.items()}


def report(signals: Sequence[Signal], leads: int) -> None:
    """One line per seed, then conversion rates by source over all seeds."""
    print(f"{leads:,} seeded leads per org; history = live leads older than {MIN_AGE_DAYS} days")
    print(f"{'seed':>5} {'history':>8} {'conv.':>6} {'rate':>6} {'ceiling':>8} "
          f"{'ceil.ho':>8} {'train':>7} {'fit s':>6}")  # fmt: skip
    for s in signals:
        print(f"{s.seed:>5} {s.history:>8,} {s.converted:>6,} {s.converted / s.history:>6.1%} "
              f"{s.ceiling:>8.3f} {s.ceiling_held_out:>8.3f} {s.train_auc:>7.3f} "
              f"{s.train_seconds:>6.1f}")  # fmt: skip
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in signals:
        for source, (c, n) in s.by_source.items():
            totals[source][0] += c
            totals[source][1] += n
    print("conversion rate by lead source (all seeds):")
    for source, (c, n) in sorted(totals.items(), key=lambda kv: -kv[1][0] / kv[1][1]):
        print(f"  {source:<20} {c / n:>6.1%}  ({c:,} of {n:,})")


def main(argv: Sequence[str]) -> None:
    """Measure every seed asked for (LEADS, then seeds)."""
    leads = int(argv[0]) if argv else LEADS
    seeds = tuple(int(a) for a in argv[1:]) or SEEDS
    report([measure(leads, seed) for seed in seeds], leads)


if __name__ == "__main__":
    main(sys.argv[1:])
