"""The predictive score: a trained model's chance that a lead converts, with its reasons.

`sfsync train` fits the model on the org's history and saves it as JSON
(`LeadModel`): the features (see `predict_features`), an intercept, and one
weight per (feature, level), in log-odds relative to the average lead of the
training history. Scoring a lead is adding the weights of its levels:

    probability = sigmoid(intercept + sum of the lead's level weights)

so every term is a readable reason ("Lead source Employee Referral +0.85"),
and the lead's top factors are its largest weights either way. The model is
data, never code: loading one cannot execute anything. No scikit-learn here,
so the worker scores without the optional `[predict]` extra.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sfsync.errors import ConfigError
from sfsync.models import Contribution
from sfsync.rules.predict_features import Feature

FORMAT: Final = "sfsync.lead-model"
MODEL_VERSION: Final = 1
# A factor this close to the average lead (in log-odds) explains nothing.
MIN_FACTOR_WEIGHT = 0.05
DEFAULT_RULE_NAME = "Predictive score"
MODEL_DIGEST_LENGTH = 12

_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class PredictiveConfig(BaseModel):
    """The `predictive:` section of grading.yaml: which model, and what it is worth."""

    model_config = _FROZEN

    # The model file, relative to the mappings folder (`sfsync train --out` writes it).
    model: Path
    # The score gains probability x points: a 40 % lead with points 30 gets 12.
    points: float = Field(gt=0, le=1000)
    # How many of the lead's strongest factors the explanation lists.
    factors: int = Field(default=3, ge=0, le=20)
    name: str = Field(default=DEFAULT_RULE_NAME, min_length=1, max_length=80)
    # A number (or percent) field that receives the probability in whole percent; null: none.
    target: str | None = Field(default=None, min_length=1, max_length=80)


class TrainingFacts(BaseModel):
    """How and on what the model was trained, and how well it did on held-out leads."""

    model_config = _FROZEN

    trained_at: datetime
    min_age_days: int = Field(ge=0)
    leads: int = Field(ge=0)
    converted: int = Field(ge=0)
    held_out: int = Field(ge=0)
    held_out_converted: int = Field(ge=0)
    auc: float = Field(ge=0, le=1)
    seed: int
    deleted_skipped: int = Field(default=0, ge=0)
    # The L2 strength (scikit-learn's C) cross-validation chose.
    inverse_regularisation: float = Field(default=1.0, gt=0)


class LeadModel(BaseModel):
    """A trained predictive model, as saved in its JSON file."""

    model_config = _FROZEN

    format: Literal["sfsync.lead-model"]
    version: Literal[1]
    features: tuple[Feature, ...] = Field(min_length=1, max_length=100)
    intercept: float
    # feature name -> level -> weight; a level not listed weighs 0 (the average lead).
    weights: dict[str, dict[str, float]]
    training: TrainingFacts

    @model_validator(mode="after")
    def _weights_name_levels(self) -> LeadModel:
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError("feature names repeat")
        levels = {f.name: set(f.levels()) for f in self.features}
        for name, weights in self.weights.items():
            if name not in levels:
                raise ValueError(f"weights for unknown feature {name!r}")
            unknown = sorted(set(weights) - levels[name])
            if unknown:
                raise ValueError(f"weights for unknown levels of {name!r}: {unknown[:5]}")
        return self

    def weight(self, feature: str, level: str) -> float:
        """The weight of one level (0 for a level the model did not see)."""
        return self.weights.get(feature, {}).get(level, 0.0)

    @cached_property
    def _terms(self) -> tuple[tuple[Feature, dict[str, float]], ...]:
        """Each feature with its weights, looked up once: scoring runs per lead."""
        return tuple((f, self.weights.get(f.name, {})) for f in self.features)


@dataclass(frozen=True)
class PredictiveRules:
    """The `predictive:` section with the model it names, loaded once at start-up."""

    config: PredictiveConfig
    model: LeadModel

    @cached_property
    def digest(self) -> str:
        """A short hash of the model's content: a new model is a new rules version."""
        return hashlib.sha256(dump_model(self.model).encode()).hexdigest()[:MODEL_DIGEST_LENGTH]

    @cached_property
    def fields_read(self) -> frozenset[str]:
        """The Lead fields the model's features read."""
        return frozenset(feature.field for feature in self.model.features)


class Factor(NamedTuple):
    """One term of a prediction: a feature's level and its weight in log-odds.

    A named tuple, not a dataclass: every lead makes one per feature.
    """

    feature: str
    level: str
    weight: float

    def describe(self) -> str:
        """'Industry Technology +0.61', for explanations."""
        return f"{self.feature} {self.level} {self.weight:+.2f}"


@dataclass(frozen=True)
class Prediction:
    """A lead's conversion probability and every term behind it."""

    probability: float
    terms: tuple[Factor, ...]


def predict(values: Mapping[str, Any], model: LeadModel) -> Prediction:
    """The chance that this lead converts, from its field values."""
    terms = []
    logit = model.intercept
    for feature, weights in model._terms:
        level = feature.level(values)
        weight = weights.get(level, 0.0)
        logit += weight
        terms.append(Factor(feature.name, level, weight))
    return Prediction(sigmoid(logit), tuple(terms))


def top_factors(terms: tuple[Factor, ...], count: int) -> tuple[Factor, ...]:
    """The `count` terms that move the prediction most, either way, strongest first."""
    strong = [t for t in terms if abs(t.weight) >= MIN_FACTOR_WEIGHT]
    strong.sort(key=lambda t: (-abs(t.weight), t.feature))
    return tuple(strong[:count])


def global_factors(model: LeadModel) -> tuple[Factor, ...]:
    """Every weighted level of the model, most favourable first."""
    factors = [
        Factor(name, level, weight)
        for name, weights in model.weights.items()
        for level, weight in weights.items()
    ]
    return tuple(sorted(factors, key=lambda f: (-f.weight, f.feature, f.level)))


def predicted_contribution(
    values: Mapping[str, Any], model: LeadModel, config: PredictiveConfig
) -> tuple[float, Contribution, tuple[Factor, ...]]:
    """(probability, the score line it adds, the lead's top factors) for one lead."""
    prediction = predict(values, model)
    factors = top_factors(prediction.terms, config.factors)
    points = round(prediction.probability * config.points, 2)
    detail = f"{prediction.probability:.0%} likely to convert"
    if factors:
        detail += ": " + ", ".join(f.describe() for f in factors)
    return prediction.probability, Contribution(config.name, points, detail), factors


def whole_percent(probability: float) -> int:
    """23 for 0.234: what the target field receives (whole numbers stay put in any number field).

    A value with decimals the org's field would round differently would look
    changed at every cycle and be written again.
    """
    return math.floor(probability * 100 + 0.5)


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x) without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def parse_model(text: str, origin: str) -> LeadModel:
    """A model from its JSON text; anything wrong is a ConfigError naming `origin`.

    NaN and Infinity are refused (JSON has neither, Python's parser allows both).
    """
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{origin}:{exc.lineno}: not a JSON model file ({exc.msg})") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{origin}: not a JSON model file ({exc})") from None
    _check_format(data, origin)
    try:
        return LeadModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: invalid model file: {_first_error(exc)}") from None


def dump_model(model: LeadModel) -> str:
    """The model's JSON text, stable and readable (the file is reviewed like mappings)."""
    return json.dumps(model.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a model may hold")


def _check_format(data: Any, origin: str) -> None:
    """Say 'not a model' or 'another version' before listing a hundred field errors."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f'{origin}: not an sfsync lead model (no "format": "{FORMAT}")')
    if data.get("version") != MODEL_VERSION:
        raise ConfigError(
            f"{origin}: model version {data.get('version')!r} is not the one this sfsync "
            f"reads ({MODEL_VERSION}); run `sfsync train` again"
        )


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{key}: {str(first['msg']).removeprefix('Value error, ')}{more}"
