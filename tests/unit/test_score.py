"""Scoring and rating: a table of leads against the shipped rules, and edge cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sfsync.mappings import load_rules
from sfsync.rules.score import RatingBand, ScoreOutcome, ScoringConfig, rate, score_lead

SHIPPED = load_rules(Path(__file__).resolve().parents[2] / "mappings").scoring


@pytest.mark.parametrize(
    ("values", "score", "rating"),
    [
        ({}, 0, "Cold"),
        ({"LeadSource": "Web"}, 15, "Cold"),
        (
            {
                "LeadSource": "Web",
                "Title": "CEO",
                "Industry": "Technology",
                "NumberOfEmployees": 500,
                "Country": "USA",
            },
            80,
            "Hot",
        ),
        ({"Title": "VP Sales", "NumberOfEmployees": 50}, 20, "Cold"),
        ({"Title": "Assistant VP", "NumberOfEmployees": 50}, 5, "Cold"),
        ({"Title": "Student", "LeadSource": "Web"}, 0, "Cold"),
        ({"Email": "a@gmail.com", "Title": "CTO", "LeadSource": "Web"}, 30, "Warm"),
        ({"Company": "State University", "Title": "Director"}, 0, "Cold"),
    ],
)
def test_shipped_rules(values: dict[str, Any], score: float, rating: str) -> None:
    outcome = score_lead(values, SHIPPED)
    assert (outcome.score, outcome.rating) == (score, rating)


def test_score_is_capped_and_never_negative() -> None:
    everything = {
        "LeadSource": "Web",
        "Title": "CEO and VP Manager",
        "Industry": "Finance",
        "NumberOfEmployees": 10_000,
        "Country": "US",
    }
    assert score_lead(everything, SHIPPED).score == 100
    assert score_lead({"Title": "Intern", "Email": "x@gmail.com"}, SHIPPED).score == 0


def test_contributions_explain_the_score() -> None:
    outcome = score_lead({"LeadSource": "Web", "Title": "CEO"}, SHIPPED)
    assert [(c.rule, c.points) for c in outcome.contributions] == [
        ("Inbound source", 15),
        ("Executive title", 25),
    ]
    assert outcome.reason() == "Score 40: Inbound source +15, Executive title +25"


def test_reason_fits_its_field() -> None:
    outcome = score_lead({"LeadSource": "Web", "Title": "CEO"}, SHIPPED)
    short = outcome.reason(limit=20)
    assert len(short) == 20 and short.endswith("…")
    assert ScoreOutcome(0, None, ()).reason() == "Score 0: no rule matched"


@pytest.mark.parametrize(
    ("score", "rating"),
    [(100, "Hot"), (60, "Hot"), (59.9, "Warm"), (30, "Warm"), (0, "Cold"), (-1, None)],
)
def test_rating_bands(score: float, rating: str | None) -> None:
    assert rate(score, SHIPPED) == rating


def test_bands_are_sorted_whatever_their_order_in_the_file() -> None:
    config = ScoringConfig.model_validate(
        {
            "targets": {"score": "S"},
            "rules": [
                {"name": "r", "points": 1, "criteria": [{"field": "F", "operator": "is_blank"}]}
            ],
            "ratings": [{"rating": "Cold", "min_score": 0}, {"rating": "Hot", "min_score": 50}],
        }
    )
    assert config.ratings[0] == RatingBand(rating="Hot", min_score=50)
