"""Health verdicts from the runs table, and `sfsync health`'s exit codes (0 or 1, never 2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sfsync.cli_service import app
from sfsync.service.health import HealthState, judge, readiness
from sfsync.service.settings import MIN_MAX_AGE_SECONDS, ServiceSettings
from sfsync.store import RunRow, Store
from tests.service.conftest import backdate, finish

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MAX_AGE = timedelta(minutes=15)


def run(status: str, minutes_ago: float, error: str | None = None) -> RunRow:
    end = NOW - timedelta(minutes=minutes_ago)
    return RunRow(id=status, status=status, started_at=end, finished_at=end, error=error)


@pytest.mark.parametrize(
    ("success", "last", "state", "code"),
    [
        (run("ok", 1), run("ok", 1), HealthState.HEALTHY, 0),
        (run("ok", 14), run("ok", 14), HealthState.HEALTHY, 0),
        (run("budget", 2), run("budget", 2), HealthState.HEALTHY, 0),
        (run("ok", 16), run("ok", 16), HealthState.STALE, 1),
        (None, None, HealthState.NEVER_RAN, 1),
        (None, run("failed", 1), HealthState.NEVER_RAN, 1),
        (run("ok", 5), run("failed", 1, "org down"), HealthState.DEGRADED, 0),
        (run("ok", 60), run("failed", 1, "org down"), HealthState.STALE, 1),
    ],
)
def test_verdicts(success: RunRow | None, last: RunRow | None, state: HealthState, code: int):
    verdict = judge(success, last, MAX_AGE, NOW)
    assert (verdict.state, verdict.exit_code) == (state, code)


def test_stale_verdict_names_the_last_error():
    verdict = judge(run("ok", 60), run("failed", 1, "org down"), MAX_AGE, NOW)
    assert "org down" in verdict.message and "3600s" in verdict.message


@pytest.mark.parametrize(
    ("env", "seconds"),
    [
        ({}, 900),
        ({"SFSYNC_INTERVAL_SECONDS": "60"}, MIN_MAX_AGE_SECONDS),
        ({"SFSYNC_INTERVAL_SECONDS": "600"}, 1800),
        ({"SFSYNC_HEALTH_MAX_AGE": "42"}, 42),
    ],
)
def test_max_age_follows_the_interval(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], seconds: int
):
    for name in ("SFSYNC_INTERVAL_SECONDS", "SFSYNC_HEALTH_MAX_AGE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert ServiceSettings().max_age() == timedelta(seconds=seconds)


def test_readiness_follows_the_last_finished_cycle(store: Store):
    assert readiness(store).ready  # nothing failed yet
    finish(store, "a", "failed", error="org down")
    assert not readiness(store).ready and "org down" in readiness(store).reason
    finish(store, "b", "ok")
    assert readiness(store).ready


def invoke(db: Path, *args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["health", *args], env={"SFSYNC_DATABASE_URL": f"sqlite:///{db}", **env}
    )
    return result.exit_code, result.output


def test_health_command_fresh(tmp_path: Path, store: Store):
    finish(store, "a", "ok")
    code, output = invoke(tmp_path / "s.db")
    assert code == 0 and output.startswith("healthy:")


def test_health_command_stale(tmp_path: Path, store: Store):
    finish(store, "a", "ok")
    backdate(store, "a", 120)
    code, output = invoke(tmp_path / "s.db", "--max-age", "60")
    assert code == 1 and output.startswith("stale:")
    assert invoke(tmp_path / "s.db", SFSYNC_HEALTH_MAX_AGE="300")[0] == 0


def test_health_command_never_ran_ignores_dry_runs(tmp_path: Path, store: Store):
    finish(store, "a", "ok", dry_run=True)
    code, output = invoke(tmp_path / "s.db", "--json")
    assert code == 1 and json.loads(output)["state"] == "never_ran"


def test_health_command_last_failed(tmp_path: Path, store: Store):
    finish(store, "a", "ok")
    finish(store, "b", "failed", error="the org could not be reached")
    code, output = invoke(tmp_path / "s.db", "--json")
    data = json.loads(output)
    assert code == 0 and data["state"] == "degraded" and data["last_status"] == "failed"
    backdate(store, "a", 3600)
    assert invoke(tmp_path / "s.db")[0] == 1


@pytest.mark.parametrize(
    "url", ["mysql://nope", "sqlite:////nonexistent-dir/x/s.db", "postgresql://u:pw@127.0.0.1:1/x"]
)
def test_health_command_store_unreachable_is_1_not_2(url: str):
    result = CliRunner().invoke(app, ["health"], env={"SFSYNC_DATABASE_URL": url})
    assert result.exit_code == 1, result.output
    assert "pw@" not in result.output
