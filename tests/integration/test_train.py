"""`sfsync train` through the real CLI against the emulator's seeded history, over HTTPS.

The seeded org converts leads by a known model (`emulator.seed_conversion`).
The trained model must rank the history about as well as that model itself
does (the generator's noise and the seeded mix of values cap what any model
can reach), and reach the issue's target AUC on the leads it held out
(figures per seed and size: docs/RULES-ENGINE.md, "Predictive score").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.seed_conversion import lead_logit
from sfsync.emulator.server import Emulator
from sfsync.jobs.train_fit import roc_auc
from sfsync.model_file import load_model
from sfsync.rules.predict import LeadModel, predict
from tests.integration.helpers import client_credentials

# About 600 conversions in the history (the seeded rate is near 11 %), small enough for
# seconds: building, serving and training take about 5 s in all (30 s on a busy machine).
HISTORY_LEADS = 6000
# Enough for the minimum of 40 conversions, for tests of the output alone.
REPORT_LEADS = 1500
MIN_AGE_DAYS = 30
# The issue's target. The generator's own noise-free log-odds reach about 0.79
# on this history (held-out leads 0.786); the trained model 0.78.
ISSUE_TARGET_AUC = 0.75

runner = CliRunner()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """Training reads no state store: one backend is enough (instead of SQLite + PostgreSQL)."""
    return f"sqlite:///{tmp_path}/state.db"


def _train(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--log-json", "train", *args])
    return result.exit_code, result.stdout, result.stderr


def _history(seeded: SeededOrg) -> list[dict[str, Any]]:
    """What `sfsync train` should learn from: live leads older than the cut-off."""
    cutoff = datetime.now(UTC) - timedelta(days=MIN_AGE_DAYS)
    with seeded.org.lock:
        rows = [dict(r) for r in seeded.org.tables["Lead"].values()]
    return [r for r in rows if not r["IsDeleted"] and r["CreatedDate"] < cutoff]


def _auc(model: LeadModel, rows: list[dict[str, Any]]) -> tuple[float, float]:
    """(the model's AUC, the generator's own AUC) over the whole history."""
    labels = [bool(r["IsConverted"]) for r in rows]
    learnt = roc_auc(labels, [predict(r, model).probability for r in rows])
    return learnt, roc_auc(labels, [lead_logit(r) for r in rows])


CONVERTED_LIKE = {
    "LeadSource": "Employee Referral", "Industry": "Technology", "NumberOfEmployees": 800,
    "Title": "VP Sales", "Email": "ann.lee@bluewave-systems.com", "Country": "United States",
}  # fmt: skip
STUDENT = {
    "LeadSource": "Web", "Industry": "Education", "Title": "Student", "Email": "tom99@gmail.com",
    "Company": "University of Leeds", "Country": "United Kingdom",
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("seeded", [HISTORY_LEADS], indirect=True)
def test_train_learns_the_seeded_conversion_model(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    client_credentials(emulator, monkeypatch)
    path = tmp_path / "lead_model.json"

    code, stdout, stderr = _train("--out", str(path), "--json")

    assert code == 0, stderr
    summary = json.loads(stdout)
    history = _history(seeded)
    converted = sum(1 for r in history if r["IsConverted"])
    assert summary["leads"] + summary["held_out"] == len(history)
    assert summary["converted"] + summary["held_out_converted"] == converted
    assert summary["deleted_skipped"] > 0  # the seed recycles some leads; they are left out
    assert 0.05 < summary["base_rate"] < 0.15
    assert summary["auc"] >= ISSUE_TARGET_AUC  # on the held-out leads
    model = load_model(path)
    assert model.training.auc == summary["auc"]
    learnt, truth = _auc(model, history)
    assert learnt >= truth - 0.02, (learnt, truth)  # as good as the generator's own model
    _assert_known_effects(model)
    assert predict(CONVERTED_LIKE, model).probability > 4 * predict(STUDENT, model).probability
    assert summary["top_factors"]["positive"] and summary["top_factors"]["negative"]


def _assert_known_effects(model: LeadModel) -> None:
    """The largest gaps in the generator's tables come out in the right order."""
    w = model.weight
    assert w("Lead source", "Employee Referral") > w("Lead source", "Purchased List") + 0.5
    assert w("Seniority", "VP") > w("Seniority", "Junior") + 0.5
    assert w("Industry", "Technology") > w("Industry", "Education") + 0.5
    assert w("Employees", "250-1k") > w("Employees", "<10") + 0.5
    assert w("Country", "United States") > w("Country", "China") + 0.5


@pytest.mark.parametrize("seeded", [REPORT_LEADS], indirect=True)
def test_train_reports_and_saves_under_mappings_by_default(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    client_credentials(emulator, monkeypatch)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(mappings))

    code, stdout, stderr = _train()

    assert code == 0, stderr
    model = load_model(mappings / "models" / "lead_model.json")  # models/ made on the way
    facts = model.training
    assert f"held-out AUC {facts.auc:.3f} on {facts.held_out:,} leads" in stdout
    assert f"trained on {facts.leads:,} leads created more than 30 days ago" in stdout
    assert "Strongest factors" in stdout and "Seniority" in stdout
    assert str(mappings / "models" / "lead_model.json") in stdout


def test_small_history_is_refused_and_nothing_written(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    client_credentials(emulator, monkeypatch)
    path = tmp_path / "lead_model.json"

    code, _stdout, stderr = _train("--out", str(path))  # 300 seeded leads: ~25 converted

    assert code == 2
    assert "too little history to train on" in stderr and "--min-age-days" in stderr
    assert not path.exists()


@pytest.mark.parametrize(
    ("out", "message"),
    [("missing/lead_model.json", "does not exist"), (".", "is a directory")],
)
def test_bad_out_path_fails_before_any_api_call(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    out: str, message: str,
) -> None:  # fmt: skip
    client_credentials(emulator, monkeypatch)
    before = len(emulator.calls.entries())

    code, _stdout, stderr = _train("--out", str(tmp_path / out))

    assert code == 2 and message in stderr
    assert len(emulator.calls.entries()) == before


def test_no_org_configured_exits_2(env: str, tmp_path: Path) -> None:
    code, _stdout, stderr = _train("--out", str(tmp_path / "m.json"))

    assert code == 2 and "no Salesforce credentials" in stderr


def test_unreachable_org_exits_4(env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SF_LOGIN_URL", "https://127.0.0.1:9")
    monkeypatch.setenv("SF_CLIENT_ID", "x")
    monkeypatch.setenv("SF_CLIENT_SECRET", "y")

    code, _stdout, stderr = _train("--out", str(tmp_path / "m.json"))

    assert code == 4 and "unreachable" in stderr
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("days", ["0", "-3", "many"])
def test_bad_min_age_is_a_usage_error(env: str, tmp_path: Path, days: str) -> None:
    code, _stdout, _stderr = _train("--out", str(tmp_path / "m.json"), "--min-age-days", days)

    assert code == 2
