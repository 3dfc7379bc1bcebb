"""`sfsync check` and `sfsync explain` against the emulator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from tests.integration.conftest import MAPPINGS
from tests.integration.helpers import client_credentials, expected_score, open_leads

runner = CliRunner()


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_check_passes_on_the_shipped_mappings(
    emulator: Emulator,
    env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client_credentials(emulator, monkeypatch)
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "fit the org" in result.output


def test_check_names_file_and_line_of_each_problem(
    emulator: Emulator,
    env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    client_credentials(emulator, monkeypatch)
    broken = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, broken)
    fields, scoring = broken / "fields.yaml", broken / "scoring.yaml"
    fields.write_text(
        fields.read_text()
        .replace("  - Industry\n", "  - Industri__c\n", 1)  # under read only
        .replace("  - Rating\n", "  - Rating\n  - IsConverted\n")
    )
    scoring.write_text(scoring.read_text().replace("rating: Warm", "rating: Lukewarm"))
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(broken))

    result = runner.invoke(app, ["check"])

    assert result.exit_code == 2
    output = result.output.replace("\n", " ")
    assert (
        f"fields.yaml:{_line_of(fields, 'Industri__c')}: read[9]: no field 'Industri__c'" in output
    )
    assert (
        f"fields.yaml:{_line_of(fields, 'IsConverted')}: write[2]: IsConverted is not updateable"
        in output
    )
    assert f"scoring.yaml:{_line_of(scoring, 'Lukewarm')}: ratings[1].rating: 'Lukewarm'" in output


def test_check_reports_bad_filter_logic_with_its_line(
    emulator: Emulator,
    env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    client_credentials(emulator, monkeypatch)
    broken = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, broken)
    scoring = broken / "scoring.yaml"
    scoring.write_text(
        scoring.read_text().replace('filter_logic: "1 OR 2"', 'filter_logic: "1 OR"')
    )
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(broken))

    result = runner.invoke(app, ["check"])

    assert result.exit_code == 2
    assert f"scoring.yaml:{_line_of(scoring, '1 OR')}: rules[10].filter_logic" in result.output


def test_explain_tells_the_story_of_a_lead(
    seeded: SeededOrg,
    emulator: Emulator,
    env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client_credentials(emulator, monkeypatch)
    assert runner.invoke(app, ["run", "--once"]).exit_code == 0
    lead_id, record = next(
        (i, r) for i, r in open_leads(seeded.org).items() if r["Rating"] == "Hot"
    )

    human = runner.invoke(app, ["explain", lead_id[:15]])
    machine = runner.invoke(app, ["explain", lead_id, "--json"])

    assert human.exit_code == 0 and machine.exit_code == 0
    data = json.loads(machine.output)
    latest = data["latest"]
    score = expected_score(record, seeded.org)
    assert latest["summary"]["score"] == score
    parts = {r["part"] for r in latest["reasons"]}
    assert {"enrichment", "score", "grade", "rating", "status"} <= parts
    assert latest["write"]["state"] == "done"
    assert f"Score {score:g}" in human.output
    assert runner.invoke(app, ["explain", "not-an-id"]).exit_code == 2


def test_check_refuses_a_converted_status_that_does_not_convert(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client_credentials(emulator, monkeypatch)
    broken = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, broken)
    conversion = broken / "conversion.yaml"
    conversion.write_text(
        conversion.read_text()
        .replace("converted_status: Closed - Converted", "converted_status: Working - Contacted")
        .replace("Lead_Score__c: Lead_Score__c", "Lead_Score__c: Score_On_Contact__c")
    )
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(broken))

    result = runner.invoke(app, ["check"])

    assert result.exit_code == 2
    line = _line_of(conversion, "converted_status:")
    expected = (
        f"conversion.yaml:{line}: converted_status: 'Working - Contacted' is not a LeadStatus"
    )
    assert expected in result.output
    line = _line_of(conversion, "Score_On_Contact__c")
    assert f"conversion.yaml:{line}: copy_to.Contact.Lead_Score__c: no field" in result.output
