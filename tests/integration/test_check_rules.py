"""`sfsync check` on enrichment.yaml, grading.yaml and lifecycle.yaml against the emulator.

Each test breaks a copy of the shipped mappings the way an admin might and
expects every problem on its own line as `file:line: key: reason`, exit 2.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from tests.integration.conftest import MAPPINGS
from tests.integration.helpers import client_credentials

runner = CliRunner()


def _line_of(path: Path, text: str, after: int = 0) -> int:
    """The number of the first line holding `text` (after line `after`)."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if i > after and text in line)


def _broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **edits: list[tuple[str, str]]
) -> Path:
    """A copy of the shipped mappings with text replaced in the named files (stem=[(old, new)])."""
    target = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, target)
    for stem, replacements in edits.items():
        path = target / f"{stem}.yaml"
        text = path.read_text()
        for old, new in replacements:
            assert old in text, f"{old!r} is not in {path.name}"
            text = text.replace(old, new)
        path.write_text(text)
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(target))
    return target


def _check(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    client_credentials(emulator, monkeypatch)
    result = runner.invoke(app, ["check"])
    return result.exit_code, result.output


def test_shipped_rule_files_fit_the_seeded_org(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _check(emulator, monkeypatch)

    assert code == 0, output
    assert "fit the org" in output


def test_unknown_fields_are_named_with_their_line(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = _broken(
        tmp_path,
        monkeypatch,
        lifecycle=[
            (
                "{field: Title, operator: contains, value: [Looking",
                "{field: Titel, operator: contains, value: [Looking",
            )
        ],
        grading=[("{field: NumberOfEmployees,", "{field: Employees__c,")],
        enrichment=[("  website: Website\n", "  website: Homepage__c\n")],
    )

    code, output = _check(emulator, monkeypatch)

    assert code == 2
    lifecycle, grading, enrichment = (
        broken / f"{n}.yaml" for n in ("lifecycle", "grading", "enrichment")
    )
    assert (
        f"lifecycle.yaml:{_line_of(lifecycle, 'Titel')}: disqualify[1].criteria[0].field: "
        "no field 'Titel' on Lead in the org" in output
    )
    assert (
        f"grading.yaml:{_line_of(grading, 'Employees__c')}: grade.profile[1].criteria[0].field: "
        "no field 'Employees__c' on Lead in the org" in output
    )
    assert (
        f"enrichment.yaml:{_line_of(enrichment, 'Homepage__c')}: sources.website: "
        "no field 'Homepage__c' on Lead in the org" in output
    )


def test_an_unknown_fact_stops_the_check_with_its_line(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = _broken(
        tmp_path,
        monkeypatch,
        grading=[
            (
                "{field: $title.seniority, operator: equals, value: Manager}",
                "{field: $title.senority, operator: equals, value: Manager}",
            )
        ],
    )

    code, output = _check(emulator, monkeypatch)

    assert code == 2
    line = _line_of(broken / "grading.yaml", "senority")
    assert f"grading.yaml:{line}: grade.profile[5].criteria[0].field: " in output
    assert "'$title.senority'" in output


def test_targets_sfsync_cannot_write_are_refused(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = _broken(
        tmp_path,
        monkeypatch,
        grading=[("behavior_score: null", "behavior_score: LastActivityDate")],
        enrichment=[
            (
                "{field: AnnualRevenue, from: $company.revenue}",
                "{field: Name, from: $company.revenue}",
            ),
            (
                "{field: NumberOfEmployees, from: $company.employees}",
                "{field: NumberOfEmployees, from: $company.name}",
            ),
        ],
        lifecycle=[
            ("# stage_field: Lifecycle_Stage__c", "stage_field: Lifecycle_Stage__c"),
            ("status_field: Status", "status_field: IsConverted"),
        ],
        # Loading insists that every written field is listed under `write`.
        fields=[
            (
                "write:\n",
                "write:\n  - LastActivityDate\n  - Name\n  - Lifecycle_Stage__c\n  - IsConverted\n",
            )
        ],
    )

    code, output = _check(emulator, monkeypatch)

    assert code == 2
    grading, enrichment, lifecycle = (
        broken / f"{n}.yaml" for n in ("grading", "enrichment", "lifecycle")
    )
    line = _line_of(grading, "behavior_score: LastActivityDate")
    assert (
        f"grading.yaml:{line}: targets.behavior_score: LastActivityDate is not updateable" in output
    )
    line = _line_of(enrichment, "{field: Name,")
    assert f"enrichment.yaml:{line}: fills[6].field: Name is not updateable" in output
    line = _line_of(enrichment, "from: $company.name")
    assert (
        f"enrichment.yaml:{line}: fills[5].field: $company.name is text; "
        "NumberOfEmployees is a int field" in output
    )
    line = _line_of(lifecycle, "stage_field:")
    assert f"lifecycle.yaml:{line}: stage_field: no field 'Lifecycle_Stage__c'" in output
    line = _line_of(lifecycle, "status_field:")
    assert f"lifecycle.yaml:{line}: status_field: IsConverted is not updateable" in output


def test_values_the_org_does_not_have_are_named(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    too_long = "Chief " * 50
    broken = _broken(
        tmp_path,
        monkeypatch,
        lifecycle=[
            ("Marketing Qualified", "MQL Ready"),
            ("value: [Student, Self, N/A]", f"value: [Student, '{too_long}']"),
        ],
        grading=[
            (
                "{rating: Warm, min_score: 30, min_grade: C-}",
                "{rating: Lukewarm, min_score: 30, min_grade: C-}",
            ),
            ("value: [Technology, Finance,", "value: [Fintech, Finance,"),
            ("letter_only: true", "letter_only: false"),
        ],
    )

    code, output = _check(emulator, monkeypatch)

    assert code == 2
    lifecycle, grading = broken / "lifecycle.yaml", broken / "grading.yaml"
    first = _line_of(lifecycle, "- MQL Ready")
    assert f"lifecycle.yaml:{first}: order[2]: 'MQL Ready' is not a value of Status" in output
    line = _line_of(lifecycle, "mql: MQL Ready")
    assert f"lifecycle.yaml:{line}: stages.mql: 'MQL Ready' is not a value of Status" in output
    line = _line_of(lifecycle, "Chief Chief")
    assert f"lifecycle.yaml:{line}: disqualify[2].criteria[1].value[1]: " in output
    assert "is longer than Company's 255 characters" in output
    line = _line_of(grading, "Lukewarm")
    assert f"grading.yaml:{line}: ratings[1].rating: 'Lukewarm' is not a value of Rating" in output
    line = _line_of(grading, "Fintech")
    assert (
        f"grading.yaml:{line}: grade.profile[0].criteria[0].value[0]: "
        "'Fintech' is not a value of Industry" in output
    )
    line = _line_of(grading, "grade: Lead_Grade__c")
    assert (
        f"grading.yaml:{line}: targets.grade: the profile can give the grades A+, A-, B+" in output
    )


def test_a_converted_status_cannot_be_a_stage(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = _broken(
        tmp_path,
        monkeypatch,
        lifecycle=[
            ("disqualified: Closed - Not Converted", "disqualified: Closed - Converted"),
            ("  - Working - Contacted\n  - Closed - Converted\n", "  - Working - Contacted\n"),
        ],
    )

    code, output = _check(emulator, monkeypatch)

    assert code == 2
    line = _line_of(broken / "lifecycle.yaml", "disqualified: Closed - Converted")
    assert (
        f"lifecycle.yaml:{line}: stages.disqualified: 'Closed - Converted' is a converted status"
        in output
    )


@pytest.mark.parametrize(
    ("queue", "reason"),
    [
        ("Marketing Nuture", "no queue 'Marketing Nuture' in the org (queues that take Leads: "),
        ("Support Tier 1", "queue 'Support Tier 1' does not take Leads"),
    ],
    ids=["unknown", "cases-only"],
)
def test_the_recycle_queue_must_take_leads(
    emulator: Emulator,
    env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    queue: str,
    reason: str,
) -> None:
    broken = _broken(
        tmp_path,
        monkeypatch,
        lifecycle=[("owner_queue: Marketing Nurture", f"owner_queue: {queue}")],
    )

    code, output = _check(emulator, monkeypatch)

    assert code == 2
    line = _line_of(broken / "lifecycle.yaml", "owner_queue:")
    assert f"lifecycle.yaml:{line}: recycle.owner_queue: {reason}" in output
    assert "Marketing Nurture" in output  # the queues that would do are listed


def test_the_recycle_queue_may_be_named_by_developer_name_or_id(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    queue_id = seeded.queue_ids["Marketing Nurture"][:15]
    for name, folder in ((queue_id, "by-id"), ("Marketing_Nurture", "by-developer-name")):
        _broken(
            tmp_path / folder,
            monkeypatch,
            lifecycle=[("owner_queue: Marketing Nurture", f"owner_queue: {name}")],
        )
        code, output = _check(emulator, monkeypatch)
        assert code == 0, output


@pytest.mark.parametrize(
    ("file", "old", "new", "key"),
    [
        ("lifecycle", '"1 OR (2 AND 3)"', '"1 OR (2 AND 3"', "disqualify[2].filter_logic"),
        ("lifecycle", '"1 OR 2 OR 3 OR 4"', '"1 OR 2 AND 3 OR 4"', "disqualify[3].filter_logic"),
        # Which rows exist is the rule's business: the line is the rule's own.
        ("lifecycle", '"1 OR 2 OR 3 OR 4"', '"1 OR 2 OR 5"', "disqualify[3]: filter logic"),
    ],
    ids=["unclosed", "mixed", "no-such-row"],
)
def test_bad_filter_logic_is_reported_with_file_and_line(
    emulator: Emulator,
    env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    file: str,
    old: str,
    new: str,
    key: str,
) -> None:
    broken = _broken(tmp_path, monkeypatch, **{file: [(old, new)]})

    code, output = _check(emulator, monkeypatch)

    assert code == 2
    path = broken / f"{file}.yaml"
    line = _line_of(path, new) if "].filter_logic" in key else _line_of(path, "Test or junk")
    assert f"{file}.yaml:{line}: {key}" in output.replace("\n", " ")
