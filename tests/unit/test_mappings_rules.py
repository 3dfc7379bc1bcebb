"""Loading enrichment.yaml, grading.yaml and lifecycle.yaml: optional, typed, checked across files.

Every problem is a ConfigError (exit 2) naming the file, the line and the key.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sfsync.errors import ConfigError
from sfsync.mappings import load_rules
from sfsync.rules.enrich_config import EnrichmentConfig
from sfsync.rules.grade import GradingConfig
from sfsync.rules.lifecycle import LifecycleConfig

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
OPTIONAL = ("enrichment.yaml", "grading.yaml", "lifecycle.yaml", "routing.yaml")


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(SHIPPED, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_the_shipped_mappings_load_every_rule_file() -> None:
    rules = load_rules(SHIPPED)
    assert isinstance(rules.enrichment, EnrichmentConfig)
    assert isinstance(rules.grading, GradingConfig)
    assert isinstance(rules.lifecycle, LifecycleConfig)
    assert rules.enrichment_data is not None and rules.reads_engagement
    assert rules.recycle_queue == "Marketing Nurture"
    assert not any(name.startswith("$") for name in rules.fields_read())
    assert {"Website", "Email", "LastName", "HasOptedOutOfEmail"} <= rules.fields_read()


@pytest.mark.parametrize("missing", OPTIONAL)
def test_each_rule_file_is_optional(mappings: Path, missing: str) -> None:
    (mappings / missing).unlink()
    if missing == "enrichment.yaml":  # grading, lifecycle and routing read `$facts`: they go too
        for other in OPTIONAL:
            (mappings / other).unlink(missing_ok=True)
    rules = load_rules(mappings)
    attribute = missing.removesuffix(".yaml")
    assert getattr(rules, attribute) is None
    assert rules.reads_engagement is (rules.grading is not None)


def test_a_broken_grading_file_names_file_line_and_key(mappings: Path) -> None:
    grading = mappings / "grading.yaml"
    _edit(grading, "half_life_days: 30\n", "half_life_days: -3\n")
    with pytest.raises(ConfigError) as raised:
        load_rules(mappings)
    assert f"{grading}:{_line_of(grading, 'half_life_days: -3')}: behavior.half_life_days" in str(
        raised.value
    )


def test_bad_yaml_in_lifecycle_stops_loading_with_its_line(mappings: Path) -> None:
    lifecycle = mappings / "lifecycle.yaml"
    _edit(lifecycle, "people_own:\n", "people_own: [unclosed\n")
    with pytest.raises(ConfigError, match=rf"{lifecycle}:\d+: invalid YAML"):
        load_rules(mappings)


@pytest.mark.parametrize(
    ("file", "old", "new", "key", "field"),
    [
        ("enrichment.yaml", "{field: Industry, from: $company.industry}",
         "{field: Sfsync_Note__c, from: $company.industry}", "fills[4].field", "Sfsync_Note__c"),
        ("grading.yaml", "grade: Lead_Grade__c", "grade: Grade__c", "targets.grade", "Grade__c"),
        ("lifecycle.yaml", "status_field: Status", "status_field: Sfsync_Note__c",
         "status_field", "Sfsync_Note__c"),
    ],
)  # fmt: skip
def test_every_field_a_rule_file_writes_is_listed_under_write(
    mappings: Path, file: str, old: str, new: str, key: str, field: str
) -> None:
    _edit(mappings / file, old, new)
    with pytest.raises(ConfigError) as raised:
        load_rules(mappings)
    line = _line_of(mappings / file, new.split(",")[0].strip("{"))
    assert f"{mappings / file}:{line}: {key}: field {field!r} is not listed under 'write'" in str(
        raised.value
    )


def test_the_recycling_owner_field_must_be_writable(mappings: Path) -> None:
    _edit(mappings / "fields.yaml", "  - OwnerId\n  # enrichment", "  # enrichment")
    with pytest.raises(ConfigError, match=r"lifecycle.yaml:\d+: recycle.owner_queue: field "):
        load_rules(mappings)


def test_a_misspelt_fact_is_refused_with_its_line(mappings: Path) -> None:
    grading = mappings / "grading.yaml"
    _edit(grading, "{field: $title.seniority, operator: equals, value: Manager}",
          "{field: $title.senority, operator: equals, value: Manager}")  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        load_rules(mappings)
    line = _line_of(grading, "$title.senority")
    assert f"{grading}:{line}: grade.profile[5].criteria[0].field: '$title.senority' is not" in str(
        raised.value
    )


def test_facts_need_enrichment(mappings: Path) -> None:
    (mappings / "enrichment.yaml").unlink()
    with pytest.raises(ConfigError, match=r"grading.yaml:\d+: .*is an enrichment fact, but there"):
        load_rules(mappings)


def test_the_orgs_own_firmographics_file_is_read(mappings: Path) -> None:
    (mappings / "firms.csv").write_text(
        "domain,name,employees,annual_revenue,industry,country\n"
        "zyxelquanta.example,Zyxel Quanta,900,120000000,Technology,DE\n",
        encoding="utf-8",
    )
    _edit(mappings / "enrichment.yaml", "# firmographics: firmographics.csv",
          "firmographics: firms.csv")  # fmt: skip
    data = load_rules(mappings).enrichment_data
    assert data is not None and data.firmographics["zyxelquanta.example"].employees == 900


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"domain,name\n\xff\xfe,bad\n", "not UTF-8"),
        (b"domain,name,employees\nacme.com,Acme,many\n", "firms.csv:2: employees must be a number"),
    ],
)
def test_a_bad_firmographics_file_is_a_config_error(
    mappings: Path, content: bytes | None, message: str
) -> None:
    if content is not None:
        (mappings / "firms.csv").write_bytes(content)
    enrichment = mappings / "enrichment.yaml"
    _edit(enrichment, "# firmographics: firmographics.csv", "firmographics: firms.csv")
    with pytest.raises(ConfigError, match=message):
        load_rules(mappings)
