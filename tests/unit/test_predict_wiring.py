"""The predictive score in the decision: grading.yaml's `predictive:` section and its model file.

A tiny hand-made model (industry, seniority, salutation) shows what the
model adds to a decision (the score line, the short reason, the summary, the
probability's own field), that it reads the lead as enrichment leaves it,
that it is part of every input hash and of the rules version, and that a
missing or broken model file or section stops loading with grading.yaml's
file, line and key.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfsync.errors import ConfigError
from sfsync.mappings import load_rules
from sfsync.model_file import save_model
from sfsync.models import Contribution, Decision, Lead
from sfsync.rules.pipeline import HUMAN_OVERRIDE, decide, input_hash
from sfsync.rules.predict import (
    LeadModel,
    PredictiveConfig,
    PredictiveRules,
    dump_model,
    predict,
    sigmoid,
    whole_percent,
)
from sfsync.rules.predict_features import (
    BLANK,
    DEFAULT_SENIORITY,
    CategoryFeature,
    TitleLevelFeature,
)
from sfsync.rules.ruleset import RuleSet

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
QUEUE_ID = "00G000000000001AAA"
BASE = dataclasses.replace(load_rules(SHIPPED), queue_ids={"Marketing Nurture": QUEUE_ID})
NOW = datetime(2025, 6, 1, 15, 30, tzinfo=UTC)
STAMP = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SCORE, REASON, TARGET = "Lead_Score__c", "Score_Reason__c", "Conversion_Probability__c"
# A VP at SAP (known to the shipped firmographics): Industry is blank until enrichment fills it.
FIT: dict[str, Any] = {
    "FirstName": "Ana", "LastName": "Roth", "Company": "SAP SE", "Email": "ana.roth@sap.com",
    "Title": "VP Sales", "Country": "Deutschland", "Phone": "030 1234567",
    "LeadSource": "Trade Show", "Status": "Open - Not Contacted",
    "OwnerId": "005000000000001AAA",
}  # fmt: skip
TRAINING = {
    "trained_at": "2026-01-02T03:04:05Z", "min_age_days": 30, "leads": 900, "converted": 90,
    "held_out": 300, "held_out_converted": 30, "auc": 0.71, "seed": 7,
}  # fmt: skip


def tiny_model(intercept: float = -1.5) -> LeadModel:
    """Industry, seniority and salutation (a field no rule file reads) in log-odds."""
    return LeadModel.model_validate(
        {
            "format": "sfsync.lead-model",
            "version": 1,
            "features": [
                CategoryFeature(
                    name="Industry", field="Industry", values=("Technology", "Education")
                ),
                TitleLevelFeature(name="Seniority", field="Title", table=DEFAULT_SENIORITY),
                CategoryFeature(name="Salutation", field="Salutation", values=("Dr.",)),
            ],
            "intercept": intercept,
            "weights": {
                "Industry": {"Technology": 1.0, "Education": -1.0, BLANK: -0.5},
                "Seniority": {"VP": 0.8, "Junior": -1.2},
                "Salutation": {"Dr.": 0.3},
            },
            "training": TRAINING,
        }
    )


MODEL = tiny_model()


def rules_with(model: LeadModel = MODEL, points: float = 30, **config: Any) -> RuleSet:
    """The shipped rules plus a model worth `points` (and its target, when named)."""
    section = PredictiveConfig(model=Path("models/m.json"), points=points, **config)
    fields = BASE.fields
    if section.target:
        fields = fields.model_copy(update={"write": (*fields.write, section.target)})
    return dataclasses.replace(BASE, fields=fields, predictive=PredictiveRules(section, model))


def lead(**values: Any) -> Lead:
    return Lead("00Q000000000001AAA", STAMP, {**FIT, **values})


def after(decision: Decision, base: Lead) -> Lead:
    """The lead as the org holds it once the decision's writes landed."""
    return Lead(base.id, STAMP + timedelta(seconds=5), {**base.values, **decision.changes})


def predict_lines(decision: Decision) -> list[Contribution]:
    return [r for r in decision.reasons if r.part == "predict"]


# -- the decision ---------------------------------------------------------------------


def test_the_prediction_joins_the_score_the_story_and_the_short_reason() -> None:
    plain = decide(lead(), BASE, {}, NOW)
    decision = decide(lead(), rules_with(), {}, NOW)

    probability = sigmoid(-1.5 + 1.0 + 0.8)  # Technology (filled by enrichment), VP
    (line,) = predict_lines(decision)
    assert line.rule == "Predictive score" and line.points == round(probability * 30, 2)
    assert line.detail == "57% likely to convert: Industry Technology +1.00, Seniority VP +0.80"
    score = math.floor(plain.summary["score"] + line.points + 0.5)
    assert decision.summary["score"] == score and decision.changes[SCORE] == score
    assert decision.summary["conversion_probability"] == round(probability, 4)
    assert "Predictive score +17" in decision.changes[REASON]
    assert "conversion_probability" not in plain.summary and not predict_lines(plain)


def test_the_model_reads_the_lead_as_enrichment_leaves_it() -> None:
    """Industry is blank on the lead; the firmographics fill it, and the model sees the fill.

    Predicting from the raw lead would see BLANK now and Technology once the
    fill is written: the score would change again on the next cycle.
    """
    decision = decide(lead(), rules_with(), {}, NOW)

    assert decision.changes["Industry"] == "Technology"
    raw = predict(lead().values, MODEL).probability
    assert decision.summary["conversion_probability"] != round(raw, 4)
    assert decision.summary["conversion_probability"] == round(
        predict({**lead().values, **decision.changes}, MODEL).probability, 4
    )


@pytest.mark.parametrize(
    ("values", "logit"),
    [
        ({}, -1.5 + 1.0 + 0.8),
        ({"Title": "Student", "Salutation": "Dr."}, -1.5 + 1.0 - 1.2 + 0.3),
        ({"Industry": "Education", "Email": "a@gmail.com"}, -1.5 - 1.0 + 0.8),
        ({"Title": None, "Email": "a@example.org", "Company": "Nobody Ltd"}, -1.5 - 0.5),
    ],
)
def test_the_line_is_probability_times_points(values: dict[str, Any], logit: float) -> None:
    decision = decide(lead(**values), rules_with(points=30), {}, NOW)

    (line,) = predict_lines(decision)
    assert line.points == round(sigmoid(logit) * 30, 2)


def test_lines_passed_in_by_the_caller_stay_beside_the_models() -> None:
    extra = [Contribution("Partner referral", 5.0, "from the CRM")]
    decision = decide(lead(), rules_with(), {}, NOW, (), extra)

    assert [r.rule for r in predict_lines(decision)] == ["Partner referral", "Predictive score"]


@pytest.mark.parametrize(
    ("current", "last_written", "written"),
    [
        (None, {}, 57),  # blank: sfsync's to fill
        (12, {TARGET: 12}, 57),  # still what sfsync wrote: updated
        (57, {TARGET: 57}, None),  # already right: nothing to write
        (90, {}, None),  # someone else's value: theirs wins
    ],
)
def test_the_probability_goes_to_its_target_in_whole_percent(
    current: int | None, last_written: dict[str, Any], written: int | None
) -> None:
    decision = decide(lead(**{TARGET: current}), rules_with(target=TARGET), last_written, NOW)

    assert decision.changes.get(TARGET) == written
    if current == 90:
        assert decision.skipped[TARGET] == HUMAN_OVERRIDE


@pytest.mark.parametrize(("probability", "percent"), [(0.0, 0), (0.234, 23), (0.235, 24),
                                                      (0.9951, 100), (1.0, 100)])  # fmt: skip
def test_whole_percent(probability: float, percent: int) -> None:
    assert whole_percent(probability) == percent


CASES = [
    {},
    {"Industry": None, "Email": "x@siemens.com", "Company": "Siemens AG", "State": "Bayern"},
    {"Email": "s@gmail.com", "Title": "Student", "Company": "Student", "Salutation": "Dr."},
    {"Country": "U.K.", "Phone": "020 7946 0000", "Title": "Head of IT"},
    {"Status": "Closed - Not Converted", "Industry": "Education"},
]


@pytest.mark.parametrize("values", CASES)
def test_deciding_again_after_the_writes_changes_nothing(values: dict[str, Any]) -> None:
    rules = rules_with(target=TARGET)
    first = lead(**values)
    decision = decide(first, rules, {}, NOW)
    again = decide(after(decision, first), rules, dict(decision.changes), NOW)

    assert dict(again.changes) == {}
    assert again.summary["score"] == decision.summary["score"]
    assert again.summary["conversion_probability"] == decision.summary["conversion_probability"]


# -- inputs and versions --------------------------------------------------------------


def test_the_models_fields_are_read_and_hashed_and_its_target_is_not() -> None:
    rules = rules_with(target=TARGET)

    assert "Salutation" in rules.fields_read() and "Salutation" not in BASE.fields_read()
    assert "Salutation" in rules.hashed_fields and TARGET not in rules.hashed_fields
    assert TARGET in rules.result_fields
    assert input_hash(lead(Salutation="Dr."), rules) != input_hash(lead(), rules)
    assert input_hash(lead(**{TARGET: 99}), rules) == input_hash(lead(), rules)


def test_another_model_is_another_input() -> None:
    one, other = rules_with(MODEL), rules_with(tiny_model(intercept=-1.4))
    same = rules_with(LeadModel.model_validate_json(dump_model(MODEL)))

    hashes = {input_hash(lead(), r) for r in (BASE, one, other)}
    assert len(hashes) == 3
    assert input_hash(lead(), same) == input_hash(lead(), one)


# -- loading grading.yaml's section and the model file ---------------------------------

SECTION = """
predictive:
  model: models/lead_model.json
  points: 30
"""


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """A copy of the shipped mappings with the predictive section on and a model saved."""
    target = tmp_path / "mappings"
    shutil.copytree(SHIPPED, target)
    (target / "models").mkdir()
    save_model(MODEL, target / "models" / "lead_model.json")
    with (target / "grading.yaml").open("a", encoding="utf-8") as handle:
        handle.write(SECTION)
    return target


def _line_of(path: Path, text: str, *, exact: bool = False) -> int:
    """The first line holding `text` (or, `exact`, just it) that is not a comment."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        found = line.strip() == text if exact else text in line
        if found and not line.lstrip().startswith("#"):  # the shipped example is a comment
            return number
    raise AssertionError(f"{text!r} is not in {path}")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_section_is_commented_out_and_valid_once_uncommented(tmp_path: Path) -> None:
    assert BASE.predictive is None and BASE.grading and BASE.grading.predictive is None
    target = tmp_path / "mappings"
    shutil.copytree(SHIPPED, target)
    (target / "models").mkdir()
    save_model(MODEL, target / "models" / "lead_model.json")
    grading = target / "grading.yaml"
    text = grading.read_text(encoding="utf-8")
    start = text.index("# predictive:")
    example = "\n".join(line.removeprefix("# ") for line in text[start:].splitlines())
    grading.write_text(text[:start] + example + "\n", encoding="utf-8")

    rules = load_rules(target)

    assert rules.predictive is not None and rules.predictive.model == MODEL
    assert rules.predictive.config.points == 30 and rules.predictive.config.target is None


def test_the_model_is_loaded_with_the_rules_and_versions_them(mappings: Path) -> None:
    path = mappings / "models" / "lead_model.json"
    first = load_rules(mappings)
    path.write_text(json.dumps(json.loads(path.read_text()), indent=4), encoding="utf-8")
    reformatted = load_rules(mappings)
    save_model(tiny_model(intercept=-1.4), path)
    retrained = load_rules(mappings)

    assert first.predictive is not None and first.predictive.model == MODEL
    assert "Salutation" in first.fields_read()
    assert reformatted.version == first.version  # the model's content, not its spacing
    assert retrained.version != first.version
    assert retrained.hash_prefix != first.hash_prefix


def _broken_model(path: Path) -> None:
    path.write_text('{"format": "sfsync.lead-model",\n "version": 1,\n oops}', encoding="utf-8")


def _other_version(path: Path) -> None:
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "version": 2}), encoding="utf-8")


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (Path.unlink, "model file not found (`sfsync train --out"),
        (_broken_model, "lead_model.json:3: not a JSON model file"),
        (_other_version, "model version 2 is not the one this sfsync reads"),
        (lambda path: path.write_text("[]"), "not an sfsync lead model"),
        (lambda path: path.write_bytes(b"\xff\xfe"), "not UTF-8"),
    ],
)
def test_model_file_problems_name_grading_yaml_line_and_key(
    mappings: Path, spoil: Any, message: str
) -> None:
    path = mappings / "models" / "lead_model.json"
    spoil(path)
    grading = mappings / "grading.yaml"

    with pytest.raises(ConfigError) as raised:
        load_rules(mappings)

    text = str(raised.value)
    assert text.startswith(f"{grading}:{_line_of(grading, 'model: models/')}: predictive.model: ")
    assert str(path) in text and message in text
    assert raised.value.exit_code == 2


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ("points: 30\n", "points: 0\n", "predictive.points", "greater than 0"),
        ("points: 30\n", "points: 30\n  weight: 2\n", "predictive.weight", "Extra inputs"),
        ("points: 30\n", "points: 30\n  factors: many\n", "predictive.factors", "integer"),
        ("  model: models/lead_model.json\n", "", "predictive.model", "Field required"),
    ],
)
def test_a_bad_section_names_its_line_and_key(
    mappings: Path, old: str, new: str, key: str, message: str
) -> None:
    grading = mappings / "grading.yaml"
    _edit(grading, SECTION, SECTION.replace(old, new))
    shown = new.strip().split("\n")[-1].strip() or "predictive:"

    with pytest.raises(ConfigError) as raised:
        load_rules(mappings)

    assert f"{grading}:{_line_of(grading, shown, exact=True)}: {key}: " in str(raised.value)
    assert message in str(raised.value)


def test_the_target_must_be_a_field_sfsync_may_write(mappings: Path) -> None:
    grading = mappings / "grading.yaml"
    _edit(grading, SECTION, SECTION + "  target: Conversion_Probability__c\n")

    with pytest.raises(ConfigError) as raised:
        load_rules(mappings)

    line = _line_of(grading, "target: Conversion_Probability__c")
    assert f"{grading}:{line}: predictive.target: field 'Conversion_Probability__c' is not " in str(
        raised.value
    )
    _edit(mappings / "fields.yaml", "  - Lead_Grade__c\n", f"  - Lead_Grade__c\n  - {TARGET}\n")
    rules = load_rules(mappings)
    assert rules.predictive is not None and rules.predictive.config.target == TARGET
