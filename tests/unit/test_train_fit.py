"""Training on a synthetic history with a known model: vocabulary, centring, split, refusals."""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime
from random import Random
from typing import Any

import pytest

from sfsync.errors import ConfigError
from sfsync.jobs.train import History, check_history, fit_history, history_query
from sfsync.jobs.train_fit import (
    INSTALL_HINT,
    MIN_LEVEL_LEADS,
    build_features,
    require_sklearn,
    roc_auc,
    stratified_split,
)
from sfsync.rules.predict import predict
from sfsync.rules.predict_features import BLANK, OTHER, CategoryFeature

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SOURCES = {"Employee Referral": 1.2, "Web": 0.0, "Purchased List": -1.2}
TITLES = {"VP Sales": 0.8, "Engineer": 0.0, "Student": -2.0}


def synthetic_history(leads: int, seed: int = 3) -> History:
    """Leads whose conversion follows SOURCES + TITLES exactly (plus blank e-mails, noise)."""
    rng = Random(seed)
    rows: list[dict[str, Any]] = []
    for number in range(leads):
        source, title = rng.choice(list(SOURCES)), rng.choice(list(TITLES))
        logit = -1.5 + SOURCES[source] + TITLES[title]
        rows.append({
            "Id": f"00Q{number:015d}", "LeadSource": source, "Title": title,
            "Country": rng.choice(["Germany", "Deutschland", "DE", "USA", "Atlantis", None]),
            "NumberOfEmployees": rng.choice([5, 120, None]),
            "IsConverted": rng.random() < 1 / (1 + math.exp(-logit)),
        })  # fmt: skip
    return History(rows=rows, deleted=4)


HISTORY = synthetic_history(3000)
RESULT = fit_history(HISTORY, min_age_days=30, now=NOW, seed=7)


def test_the_model_rediscovers_the_known_effects() -> None:
    model = RESULT.model
    source = model.weights["Lead source"]
    seniority = model.weights["Seniority"]
    assert source["Employee Referral"] > source["Web"] + 0.5 > source["Purchased List"] + 1.0
    assert seniority["VP"] > seniority["Individual"] > seniority["Junior"] + 1.0
    assert model.training.auc > 0.7
    assert all(abs(w) < 0.3 for w in model.weights["Country"].values())  # no effect in truth


def test_weights_are_centred_on_the_average_training_lead() -> None:
    """Each feature's weights average 0 over the training leads, so a weight reads 'vs average'."""
    model, counts = RESULT.model, RESULT.leads_per_level
    for feature in model.features:
        total = sum(n for (name, _level), n in counts.items() if name == feature.name)
        mean = sum(model.weight(feature.name, lv) * n for (name, lv), n in counts.items()
                   if name == feature.name) / total  # fmt: skip
        assert mean == pytest.approx(0, abs=1e-5), feature.name


def test_predictions_match_the_base_rate_on_average() -> None:
    """The intercept is not shrunk: on the training leads mean probability = conversion rate."""
    train, _held_out = stratified_split(HISTORY.labels, 0.25, 7)
    rows = [HISTORY.rows[i] for i in train]
    mean = sum(predict(r, RESULT.model).probability for r in rows) / len(rows)
    assert mean == pytest.approx(RESULT.base_rate, abs=0.002)


def test_split_counts_and_facts() -> None:
    facts = RESULT.model.training
    labels = HISTORY.labels
    assert facts.leads + facts.held_out == len(labels)
    assert facts.converted + facts.held_out_converted == sum(labels)
    assert facts.held_out == 750
    assert facts.held_out_converted / facts.held_out == pytest.approx(sum(labels) / 3000, abs=0.01)
    assert facts.deleted_skipped == 4 and facts.trained_at == NOW and facts.seed == 7
    assert facts.inverse_regularisation > 0


def test_the_reported_auc_is_the_saved_models() -> None:
    _train, held_out = stratified_split(HISTORY.labels, 0.25, 7)
    scores = [predict(HISTORY.rows[i], RESULT.model).probability for i in held_out]
    labels = [HISTORY.labels[i] for i in held_out]
    assert RESULT.model.training.auc == round(roc_auc(labels, scores), 4)


def test_training_is_reproducible() -> None:
    again = fit_history(synthetic_history(3000), min_age_days=30, now=NOW, seed=7)
    assert again.model == RESULT.model


def test_vocabulary_keeps_common_values_and_folds_spellings() -> None:
    rows = (
        [{"Industry": "Technology"}] * 8
        + [{"Industry": "technology "}] * 3  # the same value: counted together
        + [{"Industry": "Mining"}] * (MIN_LEVEL_LEADS - 1)
        + [{"Industry": None}] * 20
    )
    industry = next(f for f in build_features(rows) if f.name == "Industry")
    assert isinstance(industry, CategoryFeature)
    assert industry.values == ("Technology",)  # the most frequent spelling names it
    assert industry.level({"Industry": "Mining"}) == OTHER
    assert industry.level({"Industry": ""}) == BLANK


def test_countries_learn_every_known_spelling() -> None:
    country = next(f for f in RESULT.model.features if f.name == "Country")
    assert isinstance(country, CategoryFeature)
    assert set(country.values) == {"Germany", "United States"}
    for spelling in ("Deutschland", "DEU", "germany", "U.S.A.", "United States of America"):
        assert country.level({"Country": spelling}) != OTHER, spelling
    assert country.level({"Country": "Atlantis"}) == OTHER


@pytest.mark.parametrize(("converted", "other"), [(39, 500), (500, 39), (0, 0)])
def test_too_little_history_is_refused(converted: int, other: int) -> None:
    rows = [{"IsConverted": True}] * converted + [{"IsConverted": False}] * other
    with pytest.raises(ConfigError, match=f"{converted} converted and {other} other") as exc:
        check_history(History(rows=rows, deleted=0), 30)
    assert "--min-age-days" in str(exc.value) and exc.value.exit_code == 2


def test_enough_history_passes() -> None:
    rows = [{"IsConverted": True}] * 40 + [{"IsConverted": False}] * 40
    check_history(History(rows=rows, deleted=0), 30)


def test_labels_need_a_real_true() -> None:
    """Only the boolean true is a conversion; text from a broken proxy is not."""
    history = History(rows=[{"IsConverted": "true"}, {"IsConverted": True}, {}], deleted=0)
    assert history.labels == [False, True, False]


def test_history_query() -> None:
    soql = history_query(datetime(2026, 1, 31, 8, 30, 15, 999, tzinfo=UTC))
    assert soql.startswith("SELECT Id, IsDeleted, IsConverted, CreatedDate, MasterRecordId, ")
    assert soql.endswith("FROM Lead WHERE CreatedDate < 2026-01-31T08:30:15Z")
    for field in ("LeadSource", "Industry", "NumberOfEmployees", "Title", "Country", "Email"):
        assert field in soql


def test_missing_scikit_learn_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ConfigError, match="pip install 'sfsync\\[predict\\]'") as exc:
        require_sklearn()
    assert str(exc.value) == INSTALL_HINT
