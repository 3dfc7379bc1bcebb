"""`sfsync test-rules`: example leads through the rules, offline; pass, fail and bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.jobs.rule_tests import run_rule_tests
from sfsync.jobs.rule_tests_file import Band

FIXTURE = Path(__file__).parent / "fixtures" / "rule_tests"
SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
runner = CliRunner()


def _mappings(tmp_path: Path, tests: dict[str, str | None] | None = None) -> Path:
    """A copy of the fixture rules; `tests` adds (or with None removes) test files by name."""
    target = tmp_path / "mappings"
    shutil.copytree(FIXTURE, target)
    for name, text in (tests or {}).items():
        path = target / "tests" / name
        if text is not None:
            path.write_text(text, encoding="utf-8")
        else:
            path.unlink()
    return target


def _run(mappings: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["test-rules", "--mappings", str(mappings), *extra], env={"COLUMNS": "200"}
    )
    return result.exit_code, result.output


def test_passing_cases_exit_0_with_a_table() -> None:
    code, output = _run(FIXTURE)

    assert code == 0, output
    for name in ("CEO of a bank", "Geschäftsführer with a free-mail address 📧", "Nobody"):
        assert name in output
    assert "examples.yaml:2" in output
    assert "3 passed, 0 failed" in output


FAILING = """\
- name: CEO expected cold
  lead: {Title: CEO, Industry: Banking}
  expect:
    score: {min: 0, max: 10}
    rating: Cold
    grade: B
- name: Still fine
  lead: {Title: CFO}
  expect: {score: 40, rating: Warm}
"""


def test_a_failing_case_exits_1_with_expected_got_and_reasons(tmp_path: Path) -> None:
    code, output = _run(_mappings(tmp_path, {"failing.yaml": FAILING}))

    assert code == 1
    assert "4 passed, 1 failed" in output
    assert "0 to 10" in output and "60" in output  # expected band, got score
    assert "failing.yaml:1: CEO expected cold" in output
    assert "Executive (+40)" in output and "Bank (+20)" in output  # the reasons
    assert "Still fine" in output


def test_json_output_for_machines(tmp_path: Path) -> None:
    code, output = _run(_mappings(tmp_path, {"failing.yaml": FAILING}), "--json")

    assert code == 1
    data = json.loads(output)
    assert (data["passed"], data["failed"]) == (4, 1)
    failed = next(c for c in data["cases"] if not c["passed"])
    assert failed["name"] == "CEO expected cold" and failed["line"] == 1
    checks = {c["key"]: c for c in failed["checks"]}
    assert checks["score"] == {"key": "score", "expected": "0 to 10", "got": "60", "passed": False}
    assert checks["grade"]["got"] == "—" and not checks["grade"]["passed"]
    # The failed rating's own line first, then the biggest contributions.
    assert failed["reasons"][0].startswith("Rating Hot (+0): score 60")
    assert failed["reasons"][1:3] == ["Executive (+40)", "Bank (+20)"]


def test_mappings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(FIXTURE))

    result = runner.invoke(app, ["test-rules"])

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("- name: a\n  lead: {Title: CEO}\n  expect: {score: [1}\n", "bad.yaml:3: invalid YAML"),
        (
            "- name: a\n  lead: {Title: CEO}\n  expect: {colour: red}\n",
            "bad.yaml:3: [0].expect.colour",
        ),
        ("- name: a\n  lead: {Title: CEO}\n", "bad.yaml:1: [0].expect: Field required"),
        ("- name: a\n  lead: {Title: CEO}\n  expect: {}\n", "bad.yaml:3: [0].expect: expect needs"),
        (
            "- name: a\n  lead: {Title: CEO}\n  expect:\n    score: {min: 9, max: 1}\n",
            "bad.yaml:4: [0].expect.score: min 9 is above max 1",
        ),
        (
            "- name: a\n  lead: {Title: CEO}\n  expect: {score: {}}\n",
            "bad.yaml:3: [0].expect.score: a band needs min, max or both",
        ),
        (
            "- name: a\n  lead: {Title: CEO}\n  expect: {score: 1}\n"
            "- name: a\n  lead: {Title: CFO}\n  expect: {score: 1}\n",
            "bad.yaml:1: (top level): case name(s) ['a'] are used more than once",
        ),
        ("name: a\nlead: {Title: CEO}\n", "bad.yaml:1: (top level): Input should be a valid list"),
        ("[]\n", "bad.yaml:1: (top level): a test file holds a list of cases"),
        ("", "bad.yaml:1: file is empty"),
        (
            "- name: a\n  lead: {Title: [CEO, CFO]}\n  expect: {score: 1}\n",
            "bad.yaml:2: [0].lead.Title: a field value is text",
        ),
        (
            "- name: a\n  lead: {Title: CEO}\n  engagement:\n"
            "    - {kind: webinar, days_ago: 1}\n  expect: {score: 1}\n",
            "bad.yaml:4: [0].engagement[0].kind",
        ),
        (
            "- name: a\n  lead: {Title: CEO}\n  engagement:\n"
            "    - {kind: download, days_ago: -1}\n  expect: {score: 1}\n",
            "bad.yaml:4: [0].engagement[0].days_ago",
        ),
        (
            "- name: a\n  lead: {Title: CEO}\n  expect: {rating: [Hot, {x: 1}]}\n",
            "bad.yaml:3: [0].expect.rating: expect one value or a list",
        ),
        (
            "- name: a\n  lead: {Title: '" + "x" * 40_000 + "'}\n  expect: {score: 1}\n",
            "bad.yaml:2: [0].lead.Title: text longer than 32000",
        ),
        ("- name: a\n  lead: {}\n  expect: {score: 1}\n", "bad.yaml:2: [0].lead"),
    ],
    ids=[
        "yaml",
        "unknown-check",
        "no-expect",
        "empty-expect",
        "inverted-band",
        "empty-band",
        "duplicate-names",
        "not-a-list",
        "no-cases",
        "empty-file",
        "list-value",
        "unknown-kind",
        "negative-age",
        "odd-option",
        "oversized",
        "empty-lead",
    ],
)
def test_a_malformed_test_file_exits_2_naming_file_line_and_key(
    tmp_path: Path, text: str, where: str
) -> None:
    code, output = _run(_mappings(tmp_path, {"bad.yaml": text}))

    assert code == 2
    assert where in output.replace("\n", "")


def test_a_test_file_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    mappings = _mappings(tmp_path)
    (mappings / "tests" / "latin1.yaml").write_bytes(b"- name: caf\xe9\n")

    code, output = _run(mappings)

    assert code == 2
    assert "latin1.yaml:1: not UTF-8" in output


def test_no_test_files_is_an_error_not_a_pass(tmp_path: Path) -> None:
    code, output = _run(_mappings(tmp_path, {"examples.yaml": None}))

    assert code == 2
    assert "no rule tests" in output


def test_broken_rules_exit_2_before_any_case_runs(tmp_path: Path) -> None:
    mappings = _mappings(tmp_path)
    scoring = mappings / "scoring.yaml"
    scoring.write_text(scoring.read_text().replace("contains_word", "resembles"))

    code, output = _run(mappings)

    assert code == 2
    assert "scoring.yaml:9: rules[0].criteria[0].operator" in output


def test_the_case_now_and_engagement_ages_are_used(tmp_path: Path) -> None:
    report = run_rule_tests(FIXTURE)

    assert [c.passed for c in report.cases] == [True, True, True]
    assert report.exit_code == 0 and report.files == (FIXTURE / "tests" / "examples.yaml",)


@pytest.mark.parametrize(
    ("band", "value", "holds"),
    [
        ({"min": 10, "max": 20}, 10, True),
        ({"min": 10, "max": 20}, 20, True),
        ({"min": 10, "max": 20}, 20.01, False),
        ({"min": 10}, 1e9, True),
        ({"max": 0}, -5, True),
        ({"max": 0}, 0.1, False),
        ({"min": 45, "max": 45}, 45.0, True),
        ({"min": 0.3, "max": 0.3}, 0.1 + 0.2, True),
    ],
)
def test_score_bands(band: dict[str, Any], value: float, holds: bool) -> None:
    assert Band.model_validate(band).holds(value) is holds


GRADING = """\
behavior:
  half_life_days: 10
  events:
    - {name: Webinar, kind: campaign_response, detail: [Webinar], points: 10}
grade:
  start: D
  profile:
    - {name: Bank, up: 3, criteria: [{field: Industry, operator: equals, value: Banking}]}
"""
ENGAGED = """\
- name: A webinar ten days ago is worth half
  now: 2025-03-11T00:00:00Z
  lead: {Title: CFO, Industry: Banking}
  engagement:
    - {kind: campaign_response, detail: webinar, days_ago: 10}
    - {kind: page_view, days_ago: 1}
  expect: {behavior_score: 5, score: 65, grade: C}
- name: Engagement without a now counts from the moment the tests run
  lead: {Title: Analyst}
  engagement:
    - {kind: campaign_response, detail: Webinar, days_ago: 0}
  expect: {behavior_score: 10, grade: D}
"""


def test_engagement_ages_count_back_from_now(tmp_path: Path) -> None:
    mappings = _mappings(tmp_path, {"engaged.yaml": ENGAGED, "examples.yaml": None})
    (mappings / "grading.yaml").write_text(GRADING)

    report = run_rule_tests(mappings)

    assert [c.passed for c in report.cases] == [True, True], report.as_dict()


def test_the_shipped_examples_pass_with_the_shipped_rules() -> None:
    report = run_rule_tests(SHIPPED)

    assert report.exit_code == 0, [c for c in report.cases if not c.passed]
    assert len(report.cases) >= 10
    checked = {check.key for case in report.cases for check in case.checks}
    assert {"score", "grade", "rating", "status", "stage", "owner"} <= checked


def test_a_missing_mappings_directory_exits_2(tmp_path: Path) -> None:
    code, output = _run(tmp_path / "nowhere")

    assert code == 2
    assert "does not exist" in output


WRONG_STATUS = """\
- name: Student expected in nurture
  lead: {Title: Student, Company: Self, Email: tom@gmail.com, Status: Open - Not Contacted}
  expect: {status: Nurturing}
"""


def test_a_failed_status_shows_the_status_rule_that_fired(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(SHIPPED, mappings)
    shutil.rmtree(mappings / "tests")
    (mappings / "tests").mkdir()
    (mappings / "tests" / "wrong.yaml").write_text(WRONG_STATUS)

    code, output = _run(mappings)

    assert code == 1
    assert "Status Closed - Not Converted (+0): disqualified: Student" in output
    assert "Student or intern (-30)" in output  # and the biggest score contributions
