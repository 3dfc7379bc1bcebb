"""`sfsync train`: learn from the org's history which leads convert, and build the model.

The history is every Lead created more than `min_age_days` ago (younger ones
have not had their chance to convert yet), converted or not, read with
queryAll so that leads in the recycle bin are seen, counted and left out: a
deleted lead is mostly junk or the loser of a merge, and its fate says little
about leads like it. A stratified share of the history is held out; the model
is fitted on the rest, and its AUC on the held-out leads is measured with the
same pure scoring code the worker runs, so the figure describes the saved file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from sfsync.connectors.salesforce import SalesforceClient
from sfsync.connectors.soql import datetime_literal
from sfsync.errors import ConfigError
from sfsync.jobs.train_fit import (
    build_features,
    fit,
    require_sklearn,
    roc_auc,
    stratified_split,
)
from sfsync.rules.predict import FORMAT, MODEL_VERSION, LeadModel, TrainingFacts, predict

log = structlog.get_logger("sfsync.train")

DEFAULT_MIN_AGE_DAYS = 30
# Fewer than this many leads of either outcome cannot teach, nor measure, a model.
MIN_PER_OUTCOME = 40
HELD_OUT_SHARE = 0.25
SEED = 7
# Read besides the features' own fields: identity, outcome and the recycle bin.
HISTORY_SYSTEM_FIELDS = ("Id", "IsDeleted", "IsConverted", "CreatedDate", "MasterRecordId")
FEATURE_FIELDS = (
    "LeadSource", "Industry", "NumberOfEmployees", "AnnualRevenue", "Title", "Country", "Email",
)  # fmt: skip

Row = Mapping[str, Any]


@dataclass(frozen=True)
class History:
    """The leads to learn from, oldest-first by Id, and how many deleted ones were left out."""

    rows: Sequence[Row]
    deleted: int

    @property
    def labels(self) -> list[bool]:
        """Whether each lead converted."""
        return [row.get("IsConverted") is True for row in self.rows]


@dataclass(frozen=True)
class TrainResult:
    """The trained model and how many training leads had each level (for the report)."""

    model: LeadModel
    leads_per_level: Mapping[tuple[str, str], int]

    @property
    def base_rate(self) -> float:
        """The share of the history that converted."""
        facts = self.model.training
        return facts.converted / facts.leads if facts.leads else 0.0


def history_query(cutoff: datetime) -> str:
    """SELECT the history: every lead created before `cutoff`, with the features' fields."""
    fields = ", ".join((*HISTORY_SYSTEM_FIELDS, *FEATURE_FIELDS))
    return f"SELECT {fields} FROM Lead WHERE CreatedDate < {datetime_literal(cutoff)}"


def pull_history(client: SalesforceClient, cutoff: datetime) -> History:
    """The org's leads created before `cutoff`; deleted ones counted and left out."""
    records = client.query(history_query(cutoff), include_deleted=True)
    live = [r for r in records if not r.get("IsDeleted")]
    live.sort(key=lambda r: str(r.get("Id")))  # the split must not depend on the org's order
    log.info("sfsync.train.history_pulled", leads=len(live), deleted=len(records) - len(live))
    return History(rows=live, deleted=len(records) - len(live))


def check_history(history: History, min_age_days: int) -> None:
    """Refuse a history too small to learn from, saying what there is."""
    converted = sum(history.labels)
    other = len(history.rows) - converted
    if converted < MIN_PER_OUTCOME or other < MIN_PER_OUTCOME:
        raise ConfigError(
            f"too little history to train on: {converted} converted and {other} other leads "
            f"created more than {min_age_days} days ago (at least {MIN_PER_OUTCOME} of each "
            "needed); lower --min-age-days or train when the org has more history"
        )


def train_model(
    client: SalesforceClient, *, min_age_days: int, now: datetime, seed: int = SEED
) -> TrainResult:
    """Pull the history, fit on a stratified share, measure AUC on the rest."""
    require_sklearn()  # before the pull: a missing extra should cost no API calls
    history = pull_history(client, now - timedelta(days=min_age_days))
    check_history(history, min_age_days)
    return fit_history(history, min_age_days=min_age_days, now=now, seed=seed)


def fit_history(history: History, *, min_age_days: int, now: datetime, seed: int) -> TrainResult:
    """The model for a pulled history (split, vocabulary, fit, held-out AUC)."""
    labels = history.labels
    train, held_out = stratified_split(labels, HELD_OUT_SHARE, seed)
    train_rows = [history.rows[i] for i in train]
    train_labels = [labels[i] for i in train]
    features = build_features(train_rows)
    fitted = fit(train_rows, train_labels, features, seed)
    held_labels = [labels[i] for i in held_out]
    facts = _facts(history, train_labels, held_labels, min_age_days, now, seed)
    draft = LeadModel(
        format=FORMAT,
        version=MODEL_VERSION,
        features=features,
        intercept=fitted.intercept,
        weights=fitted.weights,
        training=facts,
    )
    scores = [predict(history.rows[i], draft).probability for i in held_out]
    auc = round(roc_auc(held_labels, scores), 4)
    measured = {"auc": auc, "inverse_regularisation": fitted.inverse_regularisation}
    model = draft.model_copy(update={"training": draft.training.model_copy(update=measured)})
    log.info("sfsync.train.fitted", leads=len(train), held_out=len(held_out), auc=auc)
    return TrainResult(model=model, leads_per_level=_leads_per_level(model, train_rows))


def _facts(
    history: History,
    train_labels: Sequence[bool],
    held_labels: Sequence[bool],
    min_age_days: int,
    now: datetime,
    seed: int,
) -> TrainingFacts:
    return TrainingFacts(
        trained_at=now.replace(microsecond=0),
        min_age_days=min_age_days,
        leads=len(train_labels),
        converted=sum(train_labels),
        held_out=len(held_labels),
        held_out_converted=sum(held_labels),
        auc=0.0,  # measured next, with the finished model
        seed=seed,
        deleted_skipped=history.deleted,
    )


def _leads_per_level(model: LeadModel, rows: Sequence[Row]) -> dict[tuple[str, str], int]:
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        for feature in model.features:
            counts[(feature.name, feature.level(row))] += 1
    return dict(counts)
