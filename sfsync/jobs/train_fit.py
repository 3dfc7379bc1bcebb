"""Fitting the predictive model with scikit-learn: vocabulary, split, logistic regression.

Everything the fitted model needs is turned into plain data (`LeadModel`):
the levels each feature learnt, and one weight per (feature, level). Weights
are *centred*: for each feature, the average weight over the training leads
moves into the intercept, so a weight reads as "log-odds above or below the
average lead" and predictions stay exactly those of the fitted regression.

scikit-learn is an optional extra (`pip install 'sfsync[predict]'`); it is
imported only when a model is fitted, so the worker runs without it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sfsync.errors import ConfigError
from sfsync.rules.enrich_data import shipped_texts, word_list
from sfsync.rules.enrich_geo import build_geo_index, resolve_country
from sfsync.rules.enrich_text import clean_text, fold_key
from sfsync.rules.predict_features import (
    DEFAULT_SENIORITY,
    EMPLOYEE_EDGES,
    MAX_CATEGORY_TEXT,
    REVENUE_EDGES,
    BandFeature,
    CategoryFeature,
    EmailFeature,
    Feature,
    TitleLevelFeature,
)

# A value seen on fewer training leads gets no weight of its own (it joins OTHER).
MIN_LEVEL_LEADS = 10
# Inverse L2 strengths to choose from by cross-validated log-loss: small
# histories need more shrinkage, or rare levels get large chance weights.
# (On seeded histories of 6,000 and 20,000 leads 0.1 wins; AUC moves < 0.01.)
C_CANDIDATES = (0.03, 0.1, 0.3, 1.0)
CV_FOLDS = 4
MAX_ITERATIONS = 5000
INSTALL_HINT = "sfsync train needs scikit-learn: pip install 'sfsync[predict]'"

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Fitted:
    """A fitted regression as plain data: centred weights per (feature, level)."""

    intercept: float
    weights: dict[str, dict[str, float]]
    inverse_regularisation: float


def build_features(rows: Sequence[Row]) -> tuple[Feature, ...]:
    """The features, with vocabularies learnt from the training leads."""
    texts = shipped_texts()
    return (
        _category("Lead source", "LeadSource", rows),
        _category("Industry", "Industry", rows),
        BandFeature(name="Employees", field="NumberOfEmployees", edges=EMPLOYEE_EDGES),
        BandFeature(name="Revenue", field="AnnualRevenue", edges=REVENUE_EDGES),
        TitleLevelFeature(name="Seniority", field="Title", table=DEFAULT_SENIORITY),
        _country(rows, texts["country_aliases.csv"], texts["state_aliases.csv"]),
        EmailFeature(
            name="E-mail", field="Email", free_mail=tuple(word_list(texts["free_mail.txt"]))
        ),
    )


def _category(name: str, field: str, rows: Sequence[Row]) -> CategoryFeature:
    """Values common enough to learn from, each in its most frequent spelling."""
    spellings: Counter[tuple[str, str]] = Counter()
    for row in rows:
        text = clean_text(row.get(field), MAX_CATEGORY_TEXT)
        if text:
            spellings[(fold_key(text) or text, text)] += 1
    return CategoryFeature(name=name, field=field, values=_common(spellings))


def _common(spellings: Counter[tuple[str, str]]) -> tuple[str, ...]:
    by_key: Counter[str] = Counter()
    best: dict[str, tuple[int, str]] = {}
    for (key, text), count in spellings.items():
        by_key[key] += count
        best[key] = max(best.get(key, (0, text)), (count, text))
    return tuple(best[key][1] for key, count in by_key.most_common() if count >= MIN_LEVEL_LEADS)


def _country(rows: Sequence[Row], country_aliases: str, state_aliases: str) -> CategoryFeature:
    """Countries by ISO name, with every spelling sfsync knows for the ones learnt."""
    geo = build_geo_index(country_aliases, state_aliases)
    found = Counter(
        country.name for row in rows if (country := resolve_country(row.get("Country"), geo))
    )
    names = tuple(n for n, count in found.most_common() if count >= MIN_LEVEL_LEADS)
    kept = set(names)
    aliases = {key: c.name for key, c in geo.countries.items() if c.name in kept}
    return CategoryFeature(name="Country", field="Country", values=names, aliases=aliases)


def fit(
    rows: Sequence[Row], labels: Sequence[bool], features: Sequence[Feature], seed: int
) -> Fitted:
    """An L2 logistic regression over one-hot levels, as centred weights.

    The regularisation strength is the candidate with the best log-loss in a
    stratified cross-validation on the same rows (fixed folds: reproducible).
    """
    sklearn = require_sklearn()
    levels = [[feature.level(row) for feature in features] for row in rows]
    columns = _columns(features)
    matrix = _one_hot(levels, features, columns)
    targets = [int(y) for y in labels]
    strength = _best_strength(sklearn, matrix, targets, seed)
    model = sklearn.linear_model.LogisticRegression(C=strength, max_iter=MAX_ITERATIONS)
    model.fit(matrix, targets)
    raw = {key: float(model.coef_[0][index]) for key, index in columns.items()}
    return _centred(float(model.intercept_[0]), raw, levels, features, strength)


def _best_strength(sklearn: Any, matrix: Any, targets: list[int], seed: int) -> float:
    folds = sklearn.model_selection.StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)

    def log_loss(strength: float) -> float:
        model = sklearn.linear_model.LogisticRegression(C=strength, max_iter=MAX_ITERATIONS)
        scores = sklearn.model_selection.cross_val_score(
            model, matrix, targets, cv=folds, scoring="neg_log_loss"
        )
        return -float(scores.mean())

    return min(C_CANDIDATES, key=log_loss)


def _columns(features: Sequence[Feature]) -> dict[tuple[str, str], int]:
    keys = [(f.name, level) for f in features for level in f.levels()]
    return {key: index for index, key in enumerate(keys)}


def _one_hot(
    levels: Sequence[Sequence[str]],
    features: Sequence[Feature],
    columns: Mapping[tuple[str, str], int],
) -> Any:
    from scipy.sparse import csr_matrix

    indices = [
        columns[(f.name, level)] for row in levels for f, level in zip(features, row, strict=True)
    ]
    width = len(features)
    indptr = list(range(0, len(levels) * width + 1, width))
    data = [1.0] * len(indices)
    return csr_matrix((data, indices, indptr), shape=(len(levels), len(columns)))


def _centred(
    intercept: float,
    raw: Mapping[tuple[str, str], float],
    levels: Sequence[Sequence[str]],
    features: Sequence[Feature],
    strength: float,
) -> Fitted:
    """Move each feature's mean training weight into the intercept; keep seen levels only."""
    weights: dict[str, dict[str, float]] = {}
    for position, feature in enumerate(features):
        seen = Counter(row[position] for row in levels)
        mean = sum(raw[(feature.name, lv)] * n for lv, n in seen.items()) / max(len(levels), 1)
        intercept += mean
        weights[feature.name] = {
            lv: round(raw[(feature.name, lv)] - mean, 6) for lv in _ordered(feature, seen)
        }
    return Fitted(round(intercept, 6), weights, strength)


def _ordered(feature: Feature, seen: Iterable[str]) -> list[str]:
    present = set(seen)
    return [level for level in feature.levels() if level in present]


def stratified_split(
    labels: Sequence[bool], share: float, seed: int
) -> tuple[list[int], list[int]]:
    """(training, held-out) row positions, both with the history's share of conversions."""
    sklearn = require_sklearn()
    positions = list(range(len(labels)))
    train, held_out = sklearn.model_selection.train_test_split(
        positions, test_size=share, stratify=[int(y) for y in labels], random_state=seed
    )
    return sorted(train), sorted(held_out)


def roc_auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """The area under the ROC curve: the chance a converted lead outscores one that did not."""
    return float(require_sklearn().metrics.roc_auc_score([int(y) for y in labels], list(scores)))


def require_sklearn() -> Any:
    """scikit-learn's modules, or a clear error when the optional extra is missing."""
    try:
        import sklearn.linear_model
        import sklearn.metrics
        import sklearn.model_selection
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return sklearn
