"""The rule chain on whole leads with the shipped mappings: enrich, behaviour, grade, status.

The score that rating and lifecycle read is the lead score (scoring.yaml's
points) plus the behaviour score, as the pipeline is meant to combine them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfsync.mappings import load_model
from sfsync.rules.behavior import Engagement, EventKind, behavior_score
from sfsync.rules.enrich import enrich_lead
from sfsync.rules.enrich_config import EnrichmentConfig
from sfsync.rules.enrich_data import load_enrichment_data, shipped_texts
from sfsync.rules.grade import GradingConfig, grade_lead, rate_lead
from sfsync.rules.lifecycle import LifecycleConfig, next_status
from sfsync.rules.score import ScoringConfig, score_lead

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
ENRICHMENT = load_model(MAPPINGS / "enrichment.yaml", EnrichmentConfig)
GRADING = load_model(MAPPINGS / "grading.yaml", GradingConfig)
LIFECYCLE = load_model(MAPPINGS / "lifecycle.yaml", LifecycleConfig)
SCORING = load_model(MAPPINGS / "scoring.yaml", ScoringConfig)
DATA = load_enrichment_data(shipped_texts(), ENRICHMENT.extras())
NOW = datetime(2025, 6, 1, tzinfo=UTC)
OPEN = "Open - Not Contacted"
ENGAGED = [
    Engagement(EventKind.FORM_SUBMISSION, NOW - timedelta(days=1)),
    Engagement(EventKind.CAMPAIGN_RESPONSE, NOW - timedelta(days=3), "Webinar"),
    Engagement(EventKind.TASK, NOW - timedelta(days=2), "Call"),
]


def _decide(values: dict[str, Any], events: list[Engagement]) -> tuple[float, str, str | None, Any]:
    enriched = enrich_lead(values, ENRICHMENT, DATA)
    seen = enriched.values(values)
    behaviour = behavior_score(seen, events, GRADING.behavior, NOW).score
    score = score_lead(seen, SCORING).score + behaviour
    grade = grade_lead(seen, GRADING.grade).grade
    rating = rate_lead(score, grade, GRADING.ratings)
    return score, grade, rating, next_status(seen, score, grade, LIFECYCLE).status


@pytest.mark.parametrize(
    ("values", "events", "grade", "rating", "status"),
    [
        # A VP at a known tech firm in a core market, engaged this week: MQL.
        ({"Email": "ana@sap.com", "Title": "VP Sales", "Country": "Deutschland", "Status": OPEN},
         ENGAGED, "A+", "Hot", "Marketing Qualified"),
        # Same person, no engagement yet: good fit, not ready.
        ({"Email": "ana@sap.com", "Title": "VP Sales", "Country": "Deutschland", "Status": OPEN},
         [], "A+", "Warm", "Nurturing"),
        # Free-mail, unknown company, junior: poor fit, nothing to do however engaged.
        ({"Email": "kid@gmail.com", "Title": "Intern", "Country": "Brazil", "Status": OPEN},
         ENGAGED, "F", "Cold", None),
        # A competitor is disqualified even when engaged.
        ({"Email": "spy@leadloop.io", "Title": "CEO", "Country": "US", "Status": OPEN},
         ENGAGED, "B", "Cold", "Closed - Not Converted"),
        # Sales is working it: never touched.
        ({"Email": "ana@sap.com", "Title": "CEO", "Country": "US",
          "Status": "Working - Contacted"}, ENGAGED, "A+", "Hot", None),
    ],
)  # fmt: skip
def test_chain(
    values: dict[str, Any], events: list[Engagement], grade: str, rating: str, status: str | None
) -> None:
    _, got_grade, got_rating, got_status = _decide(values, events)
    assert (got_grade, got_rating, got_status) == (grade, rating, status)
