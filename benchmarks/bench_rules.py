"""Time the per-lead rule chain (enrich, behaviour, grade, rating, lifecycle) on synthetic leads.

Run: .venv/bin/python -m benchmarks.bench_rules (prints figures, asserts nothing).
Every phone number is distinct, so the first pass gets no help from the
phone-parsing cache; the second pass is what re-deciding the same leads costs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sfsync.mappings import load_model
from sfsync.rules.behavior import Engagement, EventKind, behavior_score
from sfsync.rules.enrich import enrich_lead
from sfsync.rules.enrich_config import EnrichmentConfig
from sfsync.rules.enrich_data import EnrichmentData, load_enrichment_data, shipped_texts
from sfsync.rules.grade import GradingConfig, grade_lead, rate_lead
from sfsync.rules.lifecycle import LifecycleConfig, next_status

LEADS = 20_000
SEED = 4
NOW = datetime(2025, 6, 1, tzinfo=UTC)
MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"

# (country spellings, state spellings, phone pattern): the pattern takes 7 distinct digits d.
PLACES = (
    (("USA", "United States", "US", "U.S."), ("CA", "Calif.", "New York", "TX"),
     "(415) 2{d[1]}{d[2]}-{d[3]}{d[4]}{d[5]}{d[6]}"),
    (("UK", "United Kingdom", "England"), ("",),
     "020 7{d[0]}{d[1]}{d[2]} {d[3]}{d[4]}{d[5]}{d[6]}"),
    (("Germany", "Deutschland", "DE"), ("Bayern", "Bavaria", "NRW"), "030 2{d}"),
    (("France", "FR"), ("",), "01 4{d[0]} {d[1]}{d[2]} {d[3]}{d[4]} {d[5]}{d[6]}"),
    (("Japan", "日本"), ("東京都", "Tokyo"), "03-5{d[0]}{d[1]}{d[2]}-{d[3]}{d[4]}{d[5]}{d[6]}"),
    (("", None), ("",), "+44 20 7{d[0]}{d[1]}{d[2]} {d[3]}{d[4]}{d[5]}{d[6]}"),
)  # fmt: skip
DOMAINS = ("siemens.com", "sap.com", "hubspot.com", "gmail.com", "yahoo.co.uk",
           "mailinator.com", "blueforge.io", "northwave.de", "leadloop.io")  # fmt: skip
TITLES = ("CEO", "VP Sales", "Director of IT", "Marketing Manager", "Software Engineer", "Student",
          "Head of Procurement", "Geschäftsführer", "", "Assistant to the CEO")  # fmt: skip
COMPANIES = ("Siemens AG", "SAP SE", "Blueforge Inc.", "Northwave GmbH", "Acme, LLC", "Student")
STATUSES = ("Open - Not Contacted", "Nurturing", "Marketing Qualified", "Working - Contacted")
KINDS = tuple(EventKind)
DETAILS = ("Webinar", "Trade Show", "Content Download", "Call", "Email", None)


def synthetic_lead(rng: random.Random, n: int) -> tuple[dict[str, Any], list[Engagement]]:
    """One lead's values and its engagement history."""
    countries, states, phone = rng.choice(PLACES)
    values = {
        "Email": f"person{n}@{rng.choice(DOMAINS)}",
        "Phone": phone.format(d=f"{n:07d}"),
        "Country": rng.choice(countries),
        "State": rng.choice(states),
        "Company": rng.choice(COMPANIES),
        "Title": rng.choice(TITLES),
        "LastName": f"Name{n}",
        "Status": rng.choice(STATUSES),
        "HasOptedOutOfEmail": rng.random() < 0.05,
    }
    events = [
        Engagement(
            rng.choice(KINDS), NOW - timedelta(days=rng.uniform(0, 400)), rng.choice(DETAILS)
        )
        for _ in range(rng.randint(0, 6))
    ]
    return values, events


class Chain:
    """The rules as the pipeline would run them, with the shipped mappings."""

    def __init__(self) -> None:
        self.enrichment = load_model(MAPPINGS / "enrichment.yaml", EnrichmentConfig)
        self.grading = load_model(MAPPINGS / "grading.yaml", GradingConfig)
        self.lifecycle = load_model(MAPPINGS / "lifecycle.yaml", LifecycleConfig)
        self.data: EnrichmentData = load_enrichment_data(shipped_texts(), self.enrichment.extras())

    def decide(self, values: dict[str, Any], events: list[Engagement]) -> object:
        """Enrich, score behaviour, grade, rate and pick the status of one lead."""
        enriched = enrich_lead(values, self.enrichment, self.data)
        seen = enriched.values(values)
        behaviour = behavior_score(seen, events, self.grading.behavior, NOW)
        grade = grade_lead(seen, self.grading.grade)
        rating = rate_lead(behaviour.score, grade.grade, self.grading.ratings)
        status = next_status(seen, behaviour.score, grade.grade, self.lifecycle)
        return rating, status


def timed(label: str, work: Callable[[], None], count: int) -> float:
    """Run `work`, print and return leads per second."""
    began = time.perf_counter()
    work()
    rate = count / (time.perf_counter() - began)
    print(f"{label:<34} {rate:>10,.0f} leads/s")
    return rate


def main() -> None:
    """Print leads/s for the whole chain (cold and warm) and for each step."""
    rng = random.Random(SEED)
    leads = [synthetic_lead(rng, n) for n in range(LEADS)]
    chain = Chain()
    print(f"{LEADS:,} synthetic leads, shipped mappings, one core")
    timed("whole chain, first pass", lambda: [chain.decide(v, e) for v, e in leads], LEADS)
    timed("whole chain, again (warm caches)", lambda: [chain.decide(v, e) for v, e in leads], LEADS)
    cfg, data, grading = chain.enrichment, chain.data, chain.grading
    seen = [enrich_lead(v, cfg, data).values(v) for v, _ in leads]
    pairs = [(s, e) for s, (_, e) in zip(seen, leads, strict=True)]
    timed("  enrich only (warm)", lambda: [enrich_lead(v, cfg, data) for v, _ in leads], LEADS)
    rules = grading.behavior
    timed("  behaviour only", lambda: [behavior_score(s, e, rules, NOW) for s, e in pairs], LEADS)
    timed("  grade only", lambda: [grade_lead(s, grading.grade) for s in seen], LEADS)
    timed("  lifecycle only", lambda: [next_status(s, 40, "B", chain.lifecycle) for s in seen],
          LEADS)  # fmt: skip


if __name__ == "__main__":
    main()
