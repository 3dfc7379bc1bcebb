"""Replaying the recorded fixtures offline: unchanged rules, a changed threshold, faults, misses."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sfsync.connectors.playback import NotInRecording, recorded_writes
from sfsync.connectors.recording import load_recording
from sfsync.jobs.replay import FieldDiff, replay_cycle
from sfsync.mappings import load_rules
from sfsync.rules.score import rate, score_lead
from tests.fixtures.make_fixtures import FIXTURE_MAPPINGS as MAPPINGS
from tests.replay.conftest import (
    ALL_FIXTURES,
    CYCLE,
    CYCLE_DRY_RUN,
    CYCLE_FAULTS,
    app,
    flat,
    set_hot_threshold,
)

runner = CliRunner()


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket connection fails the test: a replay must not touch the network."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a replay opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)


@pytest.mark.parametrize("fixture", ALL_FIXTURES, ids=lambda p: p.stem)
def test_unchanged_rules_write_exactly_what_was_recorded(fixture: Path) -> None:
    result = replay_cycle(fixture, MAPPINGS)

    assert result.status == result.recorded_status == "ok"
    assert result.diff == [] and result.same
    assert result.writes == result.recorded and len(result.writes) > 30


def test_check_exits_zero_when_nothing_changed() -> None:
    outcome = runner.invoke(app, ["replay", str(CYCLE), "--mappings", str(MAPPINGS), "--check"])

    assert outcome.exit_code == 0, outcome.output
    assert "no difference" in outcome.output and "Writes now" in outcome.output


def _expected_rating_diff(fixture: Path, mappings: Path) -> list[FieldDiff]:
    """From the rules alone: recorded Rating writes whose score now falls in another band."""
    recording = load_recording(fixture)
    scoring = load_rules(mappings).scoring
    page = next(e for e in recording.exchanges if "/queryAll" in e.url and e.status == 200)
    scores = {r["Id"]: score_lead(r, scoring).score for r in json.loads(page.body)["records"]}
    expected = []
    for lead_id, fields in sorted(recorded_writes(recording).items()):
        new = rate(scores[lead_id], scoring)
        if "Rating" in fields and new != fields["Rating"]:
            expected.append(FieldDiff(lead_id, "Rating", fields["Rating"], new, True, True))
    return expected


def test_a_lower_hot_threshold_gives_exactly_the_expected_diff(rules_copy: Path) -> None:
    set_hot_threshold(rules_copy, 40)
    expected = _expected_rating_diff(CYCLE, rules_copy)

    result = replay_cycle(CYCLE, rules_copy)

    assert expected and all(d.old == "Warm" and d.new == "Hot" for d in expected)
    assert result.diff == expected
    assert not result.same


def test_check_exits_one_and_json_lists_the_diff(rules_copy: Path) -> None:
    set_hot_threshold(rules_copy, 40)
    expected = _expected_rating_diff(CYCLE, rules_copy)
    args = ["replay", str(CYCLE), "--mappings", str(rules_copy), "--check"]

    table = runner.invoke(app, args)
    data = json.loads(runner.invoke(app, [*args, "--json"]).stdout)

    assert table.exit_code == 1
    assert "Diff against the recording" in table.output and expected[0].lead_id in table.output
    assert [(d["lead_id"], d["field"], d["old"], d["new"]) for d in data["diff"]] == [
        (d.lead_id, d.field, d.old, d.new) for d in expected
    ]
    assert data["same"] is False and data["status"] == "ok"


def test_a_recording_with_faults_replays_them_in_order() -> None:
    recording = load_recording(CYCLE_FAULTS)
    statuses = [e.status for e in recording.exchanges]
    tokens = [e for e in recording.exchanges if e.url.endswith("/services/oauth2/token")]

    result = replay_cycle(CYCLE_FAULTS, MAPPINGS)

    assert 401 in statuses and any(s >= 500 for s in statuses) and len(tokens) >= 2
    assert any(e.error for e in recording.exchanges)  # a dropped connection
    assert result.status == "ok" and result.same
    assert result.counts["api_calls"] > len(result.writes) // 200 + 3


def test_a_dry_run_recording_compares_plans() -> None:
    recording = load_recording(CYCLE_DRY_RUN)

    result = replay_cycle(CYCLE_DRY_RUN, MAPPINGS)

    assert not any(e.is_collections_write for e in recording.exchanges)
    assert result.counts["written"] == 0 and result.same and result.writes


def test_a_request_not_in_the_recording_fails_clearly(rules_copy: Path) -> None:
    fields = rules_copy / "fields.yaml"
    data = yaml.safe_load(fields.read_text())
    data["read"].append("City")
    fields.write_text(yaml.safe_dump(data))

    with pytest.raises(NotInRecording, match=r"GET .*/queryAll/ \(q=SELECT .*City.* is not in"):
        replay_cycle(CYCLE, rules_copy)
    outcome = runner.invoke(app, ["replay", str(CYCLE), "--mappings", str(rules_copy)])

    assert outcome.exit_code == 5
    assert "is not in the recording" in flat(outcome.output)
    assert "record a new fixture" in flat(outcome.output)


def test_credentials_in_the_environment_do_not_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_ACCESS_TOKEN", "from-the-environment")
    monkeypatch.setenv("SF_PASSWORD", "hunter22")
    monkeypatch.setenv("SFSYNC_RETRY_ATTEMPTS", "1")

    assert replay_cycle(CYCLE, MAPPINGS).same


def test_a_file_that_is_not_a_recording_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text("responses: []\n")

    outcome = runner.invoke(app, ["replay", str(path), "--mappings", str(MAPPINGS)])

    assert outcome.exit_code == 2 and "not an sfsync recording" in outcome.output
