"""What the predictive score costs a decision: `decide()` per lead with and without a model.

Run: .venv/bin/python -m benchmarks.bench_predict [LEADS] (prints figures, asserts nothing;
needs scikit-learn, the `predict` extra, to fit the model).

The leads and their engagement come from a seeded org exactly as in
`bench_rules` (the worker's own SOQL and record translation, shipped
mappings, pages of 2,000, setup frozen out of the collector's way). A model
is fitted on the same leads (converted or not; the benchmark measures cost,
not accuracy) with `sfsync train`'s own fitting code, and added to the rules
as grading.yaml's `predictive:` section would (30 points). Passes with and
without the model alternate, so load on the machine hits both alike; times
are the process's CPU time (the machine is shared), and each figure is the
best warm pass. The model's own work is timed alone too:
`predict()` and `predicted_contribution()` on the enriched leads.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from benchmarks.bench_rules import MAPPINGS, Work, decide_all, seeded_work
from sfsync.jobs.train import History, fit_history
from sfsync.mappings import load_rules
from sfsync.rules.enrich import enrich_lead
from sfsync.rules.predict import (
    LeadModel,
    PredictiveConfig,
    PredictiveRules,
    predict,
    predicted_contribution,
)
from sfsync.rules.ruleset import RuleSet

LEADS = 10_000
PASSES = 4
POINTS = 30
SEED = 7


def fitted_model(work: Work, now: datetime) -> LeadModel:
    """A model fitted on the seeded leads, as `sfsync train` fits one."""
    rows = [{**lead.values, "IsConverted": lead.is_converted} for lead, _ in work]
    history = History(rows=rows, deleted=0)
    return fit_history(history, min_age_days=0, now=now, seed=SEED).model


def with_model(rules: RuleSet, model: LeadModel) -> RuleSet:
    """The rules with a `predictive:` section worth POINTS and no target field."""
    config = PredictiveConfig(model=Path("models/lead_model.json"), points=POINTS)
    return dataclasses.replace(rules, predictive=PredictiveRules(config, model))


def best_rates(work: Work, variants: dict[str, RuleSet], now: datetime) -> dict[str, float]:
    """Leads/s of decide() for each rule set: a cold pass each, then the best warm pass."""
    for rules in variants.values():
        decide_all(work, rules, now)  # cold caches (phones, titles, feature levels)
    best = dict.fromkeys(variants, 0.0)
    for _ in range(PASSES - 1):
        for label, rules in variants.items():
            began = time.process_time()
            decide_all(work, rules, now)
            best[label] = max(best[label], len(work) / (time.process_time() - began))
    return best


def figures(count: int = LEADS) -> dict[str, float]:
    """decide() with and without the model, and the model alone; printed and returned."""
    rules = load_rules(MAPPINGS)
    work, now, _ = seeded_work(count, rules)
    model = fitted_model(work, now)
    predictive = with_model(rules, model)
    gc.collect()
    gc.freeze()
    print(f"{len(work):,} seeded leads, shipped mappings, one core; model of "
          f"{len(model.features)} features, held-out AUC {model.training.auc:.3f}")  # fmt: skip
    rates = best_rates(work, {"without the model": rules, "with the model": predictive}, now)
    for label, rate in rates.items():
        print(f"decide(), best warm pass, {label:<20} {rate:>10,.0f} leads/s "
              f"({1e6 / rate:,.0f} µs a lead)")  # fmt: skip
    alone = _model_alone(work, rules, predictive)
    print(f"{'predict() alone':<50} {alone['predict']:>10,.0f} leads/s")
    print(f"{'predicted_contribution() alone':<50} {alone['contribution']:>10,.0f} leads/s")
    extra = 1e6 / rates["with the model"] - 1e6 / rates["without the model"]
    print(f"the model adds about {extra:,.0f} µs to a decision")
    return {
        "leads": len(work),
        "decide without the model": rates["without the model"],
        "decide with the model": rates["with the model"],
        "predict alone": alone["predict"],
        "predicted_contribution alone": alone["contribution"],
    }


def _model_alone(work: Work, rules: RuleSet, predictive: RuleSet) -> dict[str, float]:
    """The model's own work on the enriched leads (what the chain hands it)."""
    assert rules.enrichment and rules.enrichment_data and predictive.predictive
    enrichment, data = rules.enrichment, rules.enrichment_data
    seen = [enrich_lead(lead.values, enrichment, data).values(lead.values) for lead, _ in work]
    model, config = predictive.predictive.model, predictive.predictive.config
    return {
        "predict": _best(lambda: [predict(v, model) for v in seen], len(seen)),
        "contribution": _best(
            lambda: [predicted_contribution(v, model, config) for v in seen], len(seen)
        ),
    }


def _best(work: Callable[[], object], count: int) -> float:
    rates = []
    for _ in range(PASSES):
        began = time.process_time()
        work()
        rates.append(count / (time.process_time() - began))
    return max(rates)


def main() -> None:
    """Print the figures for LEADS leads (default 10,000)."""
    figures(int(sys.argv[1]) if len(sys.argv) > 1 else LEADS)


if __name__ == "__main__":
    main()
