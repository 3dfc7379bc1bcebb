"""Behaviour score: half-life decay, first matching rule, caps, negative signals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sfsync.mappings import load_model
from sfsync.rules.behavior import (
    BehaviorConfig,
    Engagement,
    EventKind,
    age_days,
    as_datetime,
    behavior_score,
    decay,
)
from sfsync.rules.grade import GradingConfig

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SHIPPED = load_model(MAPPINGS / "grading.yaml", GradingConfig).behavior
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def _config(**overrides: Any) -> BehaviorConfig:
    base: dict[str, Any] = {
        "half_life_days": 10,
        "events": [
            {"name": "Webinar", "kind": "campaign_response", "detail": "Webinar", "points": 10},
            {"name": "Any response", "kind": "campaign_response", "points": 4},
            {"name": "Views", "kind": "page_view", "points": 1, "max_points": 3},
            {"name": "Calls", "kind": "task", "points": 8, "half_life_days": 5},
        ],
    }
    return BehaviorConfig.model_validate({**base, **overrides})


@pytest.mark.parametrize(
    ("points", "age", "half_life", "left"),
    [
        (10, 0, 30, 10),
        (10, 30, 30, 5),
        (10, 60, 30, 2.5),
        (10, 90, 30, 1.25),
        (10, 15, 30, 10 / 2**0.5),
        (-20, 30, 30, -10),
        (10, -5, 30, 10),  # in the future (clock skew): worth its full points, not more
        (10, 3650, 30, 10 * 0.5 ** (3650 / 30)),
    ],
)
def test_decay(points: float, age: float, half_life: float, left: float) -> None:
    assert decay(points, age, half_life) == pytest.approx(left)


def test_score_of_one_event_halves_each_half_life() -> None:
    webinar = [Engagement(EventKind.CAMPAIGN_RESPONSE, _ago(10), "Webinar")]
    assert behavior_score({}, webinar, _config(), NOW).score == 5.0
    later = NOW + timedelta(days=10)
    assert behavior_score({}, webinar, _config(), later).score == 2.5


@pytest.mark.parametrize(
    ("detail", "rule", "points"),
    [("Webinar", "Webinar", 10), ("webinar", "Webinar", 10), ("Email", "Any response", 4),
     (None, "Any response", 4)],
)  # fmt: skip
def test_first_matching_rule_scores_an_event(detail: str | None, rule: str, points: float) -> None:
    events = [Engagement(EventKind.CAMPAIGN_RESPONSE, NOW, detail)]
    outcome = behavior_score({}, events, _config(), NOW)
    assert [(c.rule, c.points) for c in outcome.contributions] == [(rule, points)]


def test_rules_cap_what_a_busy_lead_earns() -> None:
    views = [Engagement(EventKind.PAGE_VIEW, _ago(d)) for d in range(50)]
    outcome = behavior_score({}, views, _config(), NOW)
    assert outcome.score == 3.0
    assert outcome.contributions[0].detail == "50 x +1, newest 0 day(s) ago"


def test_rule_half_life_overrides_the_default() -> None:
    calls = [Engagement(EventKind.TASK, _ago(5), "Call")]
    assert behavior_score({}, calls, _config(), NOW).score == 4.0


def test_events_without_a_rule_or_too_old_are_ignored() -> None:
    events = [
        Engagement(EventKind.DOWNLOAD, NOW),
        Engagement(EventKind.CAMPAIGN_RESPONSE, _ago(400), "Webinar"),
    ]
    assert behavior_score({}, events, _config(), NOW) == behavior_score({}, [], _config(), NOW)
    assert behavior_score({}, [], _config(), NOW).score == 0


@pytest.mark.parametrize(
    ("at", "age"),
    [
        (NOW - timedelta(hours=36), 1.5),
        (datetime(2025, 5, 31, 12, 0), 1.0),  # naive: read as UTC
        (date(2025, 5, 31), 1.5),  # a date counts from midnight UTC
        (datetime(2025, 6, 1, 14, 0, tzinfo=UTC) + timedelta(days=1), -1 - 2 / 24),
    ],
)
def test_age_days(at: datetime | date, age: float) -> None:
    assert age_days(at, NOW) == pytest.approx(age)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("2025-05-01T10:00:00Z", datetime(2025, 5, 1, 10, tzinfo=UTC)),
        ("2025-05-01T10:00:00.000+0000", datetime(2025, 5, 1, 10, tzinfo=UTC)),
        ("2025-05-01", datetime(2025, 5, 1, tzinfo=UTC)),
        (date(2025, 5, 1), datetime(2025, 5, 1, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
        (17, None),
        ("\x00" * 100_000, None),
    ],
)
def test_as_datetime(value: object, parsed: datetime | None) -> None:
    assert as_datetime(value) == parsed


@pytest.mark.parametrize(
    ("values", "score"),
    [
        ({}, 0),
        ({"EmailBouncedDate": "2025-05-01T00:00:00Z"}, -20),
        ({"HasOptedOutOfEmail": True}, -15),
        ({"HasOptedOutOfEmail": False}, 0),
        ({"$email.disposable": True}, -30),
        ({"$company.competitor": True}, -100),
        ({"$company.competitor": True, "HasOptedOutOfEmail": True}, -115),
    ],
)
def test_shipped_negative_signals(values: dict[str, Any], score: float) -> None:
    assert behavior_score(values, [], SHIPPED, NOW).score == score


def test_shipped_engagement_mix() -> None:
    events = [
        Engagement(EventKind.CAMPAIGN_RESPONSE, _ago(0), "Webinar"),
        Engagement(EventKind.CAMPAIGN_RESPONSE, _ago(30), "Trade Show"),
        Engagement(EventKind.TASK, _ago(60), "Call"),
        Engagement(EventKind.FORM_SUBMISSION, _ago(0)),
        *(Engagement(EventKind.EMAIL_OPEN, _ago(0)) for _ in range(40)),
    ]
    outcome = behavior_score({}, events, SHIPPED, NOW)
    assert outcome.score == 15 + 5 + 2.5 + 20 + 5
    assert [c.rule for c in outcome.contributions] == [
        "Webinar attended", "Event visited", "Sales call", "Form submitted", "E-mail opened",
    ]  # fmt: skip


def test_signal_fades_from_its_since_field() -> None:
    config = _config(signals=[{
        "name": "Bounced", "points": -20, "since_field": "EmailBouncedDate",
        "criteria": [{"field": "EmailBouncedDate", "operator": "is_not_blank"}],
    }])  # fmt: skip
    values = {"EmailBouncedDate": _ago(10).isoformat()}
    outcome = behavior_score(values, [], config, NOW)
    assert outcome.score == -10.0 and outcome.contributions[0].detail == "since 10 day(s)"


@pytest.mark.parametrize(("low", "high", "score"), [(None, 12, 12), (0, None, 14), (-5, 5, 5)])
def test_score_bounds(low: float | None, high: float | None, score: float) -> None:
    events = [Engagement(EventKind.CAMPAIGN_RESPONSE, NOW, "Webinar"),
              Engagement(EventKind.CAMPAIGN_RESPONSE, NOW)]  # fmt: skip
    config = _config(min_score=low, max_score=high)
    assert behavior_score({}, events, config, NOW).score == score


def test_score_is_rounded_and_repeatable() -> None:
    events = [Engagement(EventKind.CAMPAIGN_RESPONSE, _ago(7), "Webinar")]
    first = behavior_score({}, events, _config(), NOW)
    assert first.score == 6.2 and first == behavior_score({}, events, _config(), NOW)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"half_life_days": 0}, "greater than 0"),
        ({"max_age_days": -1}, "greater than 0"),
        ({"events": [{"name": "A", "kind": "tweet", "points": 1}]},
         "Input should be 'campaign_response'"),
        ({"events": [{"name": "A", "kind": "task", "points": 1, "half_life_days": 0}]},
         "greater than 0"),
        ({"events": [{"name": "A", "kind": "task", "points": 1, "max_points": 0}]},
         "greater than 0"),
        ({"events": [{"name": "A", "kind": "task"}]}, "points\n  Field required"),
        ({"events": [{"name": "A", "kind": "task", "points": 1},
                     {"name": "A", "kind": "download", "points": 1}]},
         "rule name\\(s\\) \\['A'\\] are used more than once"),
        ({"signals": [{"name": "S", "points": 1, "criteria": []}]}, "at least 1 item"),
        ({"min_score": 10, "max_score": 5}, "min_score 10 is above max_score 5"),
        ({"decay": "fast"}, "Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_bad_config(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BehaviorConfig.model_validate(overrides)
