"""The daemon's schedule: an interval with bounded jitter, or a crontab expression."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sfsync.config import load_settings
from sfsync.errors import ConfigError
from sfsync.jobs.daemon import schedule_trigger
from sfsync.schedule import crontab_days


@pytest.mark.parametrize(("interval", "jitter"), [(1, 0.1), (300, 5), (20, 2)])
def test_interval_jitter_is_a_tenth_at_most_five_seconds(interval: int, jitter: float) -> None:
    trigger = schedule_trigger(interval)
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval.total_seconds() == interval and trigger.jitter == jitter


@pytest.mark.parametrize(
    ("cron", "after", "next_at"),
    [
        ("*/5 * * * *", datetime(2026, 1, 1, 10, 1, tzinfo=UTC), datetime(2026, 1, 1, 10, 5)),
        ("0 8-18 * * 1-5", datetime(2026, 1, 3, 12, 0, tzinfo=UTC), datetime(2026, 1, 5, 8, 0)),
    ],
)
def test_cron_schedule(cron: str, after: datetime, next_at: datetime) -> None:
    trigger = schedule_trigger(300, cron)
    assert isinstance(trigger, CronTrigger)
    fire = trigger.get_next_fire_time(None, after)
    assert fire is not None and fire.replace(tzinfo=None) == next_at


@pytest.mark.parametrize("cron", ["every five minutes", "61 * * * *", "* * *"])
def test_a_bad_crontab_is_a_config_error(cron: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFSYNC_SCHEDULE", cron)
    with pytest.raises(ConfigError, match="SFSYNC_SCHEDULE: not a crontab expression"):
        load_settings(sf_client_id="x", sf_client_secret="y")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 8 * * 1-5", "0 8 * * mon,tue,wed,thu,fri"),
        ("0 8 * * 0", "0 8 * * sun"),
        ("0 8 * * 7", "0 8 * * sun"),
        ("0 8 * * 0,6", "0 8 * * sun,sat"),
        ("0 8 * * */2", "0 8 * * sun,tue,thu,sat"),
        ("0 8 * * mon-fri", "0 8 * * mon-fri"),
        ("*/5 * * * *", "*/5 * * * *"),
    ],
)
def test_crontab_days_follow_crontab_not_apscheduler(expression: str, expected: str) -> None:
    assert crontab_days(expression) == expected


def test_out_of_range_day_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        crontab_days("0 8 * * 1-9")
