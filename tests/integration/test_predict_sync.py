"""The predictive score in the sync cycle: train on the seeded history, score, explain, check.

`sfsync train` fits a model on the emulator's history; grading.yaml's
`predictive:` section (in a copy of the shipped mappings) points at it and
names a percent field the admin added for the probability. One real cycle
(`sfsync run --once`) must then write scores that include the model's points
and probabilities that match the model on the lead as the org now holds it;
the next cycle writes nothing more, and `sfsync explain` shows the prediction.
`sfsync check` reports a probability field that cannot take a number and a
model reading a field the org does not have, each with grading.yaml's line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.emulator.org import Org
from sfsync.emulator.schema import FieldDef, OrgSchema
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.mappings import load_rules
from sfsync.model_file import load_model, save_model
from sfsync.models import Lead
from sfsync.rules.pipeline import decide
from sfsync.rules.predict import LeadModel, predict, whole_percent
from sfsync.rules.predict_features import CategoryFeature
from sfsync.store import Store
from sfsync.store.tables import DecisionRow
from tests.integration.conftest import MAPPINGS
from tests.integration.helpers import (
    SCORE,
    calls_since,
    client_credentials,
    is_collection_write,
    open_leads,
    org_engagement,
    worker_writes,
)

runner = CliRunner()
TARGET = "Conversion_Probability__c"
POINTS = 30
# Enough history for `sfsync train` (at least 40 conversions older than 30 days).
HISTORY_LEADS = 1500
SECTION = f"""
predictive:
  model: models/lead_model.json
  points: {POINTS}
  target: {TARGET}
"""


def _add_percent_field(org: Org) -> None:
    """What an admin does first: a percent field on Lead for the probability."""
    lead = org.schema.objects["Lead"]
    field = FieldDef(name=TARGET, type="percent", precision=5, scale=0, custom=True)
    org.schema = OrgSchema(objects={**org.schema.objects, "Lead": lead.with_fields([field])})


def _mappings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str = SECTION) -> Path:
    """A copy of the shipped mappings with the predictive section on and its target writable."""
    target = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, target)
    with (target / "grading.yaml").open("a", encoding="utf-8") as handle:
        handle.write(section)
    fields = target / "fields.yaml"
    text = fields.read_text(encoding="utf-8")
    fields.write_text(text.replace("  - Lead_Grade__c\n", f"  - Lead_Grade__c\n  - {TARGET}\n"))
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(target))
    return target


def _newest_decisions(url: str) -> dict[str, DecisionRow]:
    store = Store(url)
    try:
        with Session(store.engine) as session:
            rows = session.exec(select(DecisionRow).order_by(col(DecisionRow.id)))
            return {row.lead_id: row for row in rows}
    finally:
        store.close()


def _cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


@pytest.mark.slow
@pytest.mark.parametrize("seeded", [HISTORY_LEADS], indirect=True)
def test_a_trained_model_scores_leads_in_the_cycle_and_explains_itself(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    client_credentials(emulator, monkeypatch)
    _add_percent_field(seeded.org)
    mappings = _mappings(tmp_path, monkeypatch)
    trained = _cli("train", "--json")  # to models/lead_model.json under the mappings
    assert trained.exit_code == 0, trained.output
    assert _cli("check").exit_code == 0

    ran = _cli("run", "--once")

    assert ran.exit_code == 0, ran.output
    model = load_model(mappings / "models" / "lead_model.json")
    rules, plain = load_rules(mappings), load_rules(MAPPINGS)
    decided = _newest_decisions(env)
    engagement, written = org_engagement(seeded.org), worker_writes(seeded.org)
    leads = open_leads(seeded.org)
    gains = []
    for lead_id, record in leads.items():
        lead = Lead(lead_id, record["SystemModstamp"], record)
        args = (written.get(lead_id, {}), record["SystemModstamp"], engagement.get(lead_id, []))
        expected = decide(lead, rules, *args)
        assert record[SCORE] == expected.summary["score"], lead_id
        # Independent of the chain: the model on the lead exactly as the org now holds it.
        probability = predict(record, model).probability
        assert record[TARGET] == whole_percent(probability), lead_id
        (line,) = [r for r in decided[lead_id].reasons if r["part"] == "predict"]
        assert line["points"] == round(probability * POINTS, 2), lead_id
        gains.append(expected.summary["score"] - decide(lead, plain, *args).summary["score"])
    assert leads and decided
    # Scores hit 0 and 100 at the ends, so the model's points show in most leads, not all.
    assert sum(1 for gain in gains if gain > 0) > 0.8 * len(gains), gains
    assert max(gains) > min(gains)  # different leads, different odds

    start = len(emulator.calls.entries())
    again = _cli("run", "--once")  # a sweep: it reads the echoes of the writes above
    assert again.exit_code == 0, again.output
    assert not [c for c in calls_since(emulator, start) if is_collection_write(c)]

    lead_id = max(leads, key=lambda i: leads[i][TARGET])
    explained = json.loads(_cli("explain", lead_id, "--json").output)
    latest = explained["latest"]
    (line,) = latest["story"]["predict"]
    assert line["rule"] == "Predictive score"
    assert f"{int(leads[lead_id][TARGET])}% likely to convert: " in line["detail"]
    assert latest["summary"]["conversion_probability"] > 0
    human = _cli("explain", lead_id)
    assert human.exit_code == 0
    assert "Predictive score" in human.output and "likely to convert" in human.output
    assert "Predictive score +" in leads[lead_id]["Score_Reason__c"]


def _hand_made_model(path: Path, field: str = "Industry") -> None:
    """A one-feature model, saved where the section points (no training needed for `check`)."""
    path.parent.mkdir(exist_ok=True)
    training = {
        "trained_at": "2026-01-02T03:04:05Z", "min_age_days": 30, "leads": 900,
        "converted": 90, "held_out": 300, "held_out_converted": 30, "auc": 0.7, "seed": 7,
    }  # fmt: skip
    feature = CategoryFeature(name="Industry", field=field, values=("Technology",))
    model = LeadModel(format="sfsync.lead-model", version=1, features=(feature,),
                      intercept=-2.0, weights={"Industry": {"Technology": 1.0}},
                      training=training)  # fmt: skip
    save_model(model, path)


def _line_of(path: Path, text: str) -> int:
    """The first line holding `text` that is not a comment."""
    lines = enumerate(path.read_text().splitlines(), 1)
    return next(i for i, line in lines if text in line and not line.lstrip().startswith("#"))


def test_check_names_a_target_that_takes_no_number_and_fields_the_org_lacks(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client_credentials(emulator, monkeypatch)
    mappings = _mappings(tmp_path, monkeypatch, SECTION.replace(TARGET, "Sfsync_Note__c"))
    fields = mappings / "fields.yaml"
    fields.write_text(fields.read_text().replace(f"  - {TARGET}\n", "  - Sfsync_Note__c\n"))
    _hand_made_model(mappings / "models" / "lead_model.json", field="Industry_Code__c")

    result = _cli("check")

    grading = mappings / "grading.yaml"
    assert result.exit_code == 2, result.output
    model_line, target_line = _line_of(grading, "model: models/"), _line_of(grading, "target: ")
    assert (
        f"{grading}:{model_line}: predictive.model: the model's feature 'Industry' reads "
        "'Industry_Code__c', which is not a Lead field in the org"
    ) in result.output
    assert (
        f"{grading}:{target_line}: predictive.target: Sfsync_Note__c is a string field; "
        "the probability is a number"
    ) in result.output


def test_check_names_a_target_the_org_does_not_have(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client_credentials(emulator, monkeypatch)
    mappings = _mappings(tmp_path, monkeypatch)  # the percent field was never added
    _hand_made_model(mappings / "models" / "lead_model.json")

    result = _cli("check")

    grading = mappings / "grading.yaml"
    assert result.exit_code == 2, result.output
    line = _line_of(grading, "target: ")
    assert f"{grading}:{line}: predictive.target: no field '{TARGET}' on Lead" in result.output
    assert "predictive.model" not in result.output  # Industry is a Lead field


def test_a_missing_model_stops_the_worker_before_any_call(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client_credentials(emulator, monkeypatch)
    mappings = _mappings(tmp_path, monkeypatch)
    before = len(emulator.calls.entries())

    result = _cli("run", "--once")

    assert result.exit_code == 2
    grading = mappings / "grading.yaml"
    line = _line_of(grading, "model: models/")
    assert f"{grading}:{line}: predictive.model: " in result.output
    assert "model file not found" in result.output
    assert len(emulator.calls.entries()) == before
