"""The field-level checks of `sfsync check`, on a hand-made describe: one table per check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sfsync.connectors.salesforce import FieldInfo, ObjectInfo
from sfsync.jobs.check_base import OrgFacts, Queue, Source, key_text
from sfsync.jobs.check_fields import constant, criteria, readable, writable
from sfsync.jobs.check_rules import reachable_grades, written_grades
from sfsync.rules.criteria import Criterion
from sfsync.rules.grade import GradingConfig


def _field(name: str, kind: str = "string", length: int = 0, **more: Any) -> FieldInfo:
    values = {"updateable": True, "nillable": True, "picklist": (), "restricted": False}
    return FieldInfo(name=name, type=kind, length=length, **{**values, **more})


LEAD = ObjectInfo(
    "Lead",
    {
        f.name: f
        for f in (
            _field("Title", length=128),
            _field("Industry", "picklist", 255, picklist=("Banking", "Retail")),
            _field("Rating", "picklist", 255, picklist=("Hot", "Cold"), restricted=True),
            _field("HasOptedOutOfEmail", "boolean"),
            _field("NumberOfEmployees", "int"),
            _field("IsConverted", "boolean", updateable=False),
        )
    },
)
SOURCE = Source(Path("m/rules.yaml"), {("rules",): 3, ("rules", 0): 4, ("rules", 0, "field"): 5})


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Title", None),
        ("Titel", "no field 'Titel' on Lead in the org"),
        ("$email.free", None),
        ("$email.fre", "no fact '$email.fre'; enrichment derives $company.competitor"),
        ("$", "no fact '$'"),
        ("", "no field '' on Lead in the org"),
    ],
)
def test_readable(name: str, problem: str | None) -> None:
    found = readable(SOURCE, ("rules", 0, "field"), name, LEAD)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.message.startswith(problem)
        assert str(found).startswith("m/rules.yaml:5: rules[0].field: ")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Title", None),
        ("IsConverted", "IsConverted is not updateable in the org"),
        ("Lead_Grade__c", "no field 'Lead_Grade__c' on Lead in the org"),
    ],
)
def test_writable(name: str, problem: str | None) -> None:
    found = writable(SOURCE, ("rules", 9), name, LEAD)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.message.startswith(problem)
        assert found.line == 3  # rules[9] is not in the file: the nearest key's line


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("Rating", "Hot", None),
        ("Rating", "hot", "'hot' is not a value of Rating in the org (Hot, Cold)"),
        ("Rating", "Lukewarm", "'Lukewarm' is not a value of Rating"),
        ("Title", "x" * 128, None),
        ("Title", "x" * 129, "'xxxxxxxx"),
        ("Title", "Ünïcödé ✓ " * 12, None),
        ("Title", "Ünïcödé ✓ " * 13, "is longer than Title's 128 characters"),
        ("NumberOfEmployees", "9" * 300, None),  # numbers have no text length
    ],
)
def test_constant(name: str, value: str, problem: str | None) -> None:
    found = constant(SOURCE, ("rules",), value, LEAD.fields[name])
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found.message


def _row(field: str, operator: str, value: Any = None) -> Criterion:
    return Criterion.model_validate({"field": field, "operator": operator, "value": value})


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (_row("Industry", "in", ["Banking", "retail"]), None),  # criteria ignore case
        (_row("Industry", "in", ["Banking", "Fintech"]), "value[1]: 'Fintech' is not a value"),
        (_row("Industry", "not_equal", "Fintech"), "value: 'Fintech' is not a value of Industry"),
        (_row("Industry", "contains", "Fin"), None),  # a part of a value is not a value
        (_row("Industry", "in", ["", "Banking"]), None),  # blank means "is blank"
        (_row("Title", "contains", "x" * 129), "is longer than Title's 128 characters"),
        (_row("Title", "equals", "CEO"), None),
        (_row("HasOptedOutOfEmail", "equals", True), None),
        (_row("HasOptedOutOfEmail", "equals", "false"), None),
        (_row("HasOptedOutOfEmail", "equals", "yes"), "is true or false; 'yes' never matches"),
        (_row("NumberOfEmployees", "greater_than", 200), None),
        (_row("Titel", "is_blank"), "field: no field 'Titel'"),
        (_row("$title.seniority", "in", ["anything at all"]), None),
    ],
)
def test_criteria_rows(row: Criterion, problem: str | None) -> None:
    found = criteria(SOURCE, ("rules", 0, "criteria"), [row], LEAD)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in str(found[0]), found


@pytest.mark.parametrize(
    ("key", "text"),
    [
        (("a",), "a"),
        (("a", 0, "b"), "a[0].b"),
        ((0, "expect"), "[0].expect"),
        (("stages", "mql"), "stages.mql"),
    ],
)
def test_key_text(key: tuple[str | int, ...], text: str) -> None:
    assert key_text(key) == text


def _grading(start: str, ups: list[int], downs: list[int], letters: bool) -> GradingConfig:
    profile = [
        {
            "name": f"r{i}",
            "up": up,
            "down": down,
            "criteria": [{"field": "X", "operator": "is_blank"}],
        }
        for i, (up, down) in enumerate(zip(ups, downs, strict=True))
    ]
    return GradingConfig.model_validate(
        {"targets": {"letter_only": letters}, "grade": {"start": start, "profile": profile}}
    )


@pytest.mark.parametrize(
    ("start", "ups", "downs", "reachable"),
    [
        ("D", [1], [0], ["D", "D+"]),
        ("D", [3, 3], [1, 1], ["F", "D-", "D", "D+", "C-", "C", "C+", "B-", "B"]),
        ("D", [3, 3], [1, 0], ["D-", "D", "D+", "C-", "C", "C+", "B-", "B"]),
        ("F", [0], [5], ["F"]),
        ("A", [9], [0], ["A", "A+"]),
        ("C", [0], [12], ["F", "D-", "D", "D+", "C-", "C"]),
    ],
)
def test_reachable_grades(
    start: str, ups: list[int], downs: list[int], reachable: list[str]
) -> None:
    assert reachable_grades(_grading(start, ups, downs, letters=False)) == reachable


def test_written_grades_as_letters_best_first() -> None:
    config = _grading("D", [3, 3], [1, 0], letters=True)
    assert list(dict.fromkeys(written_grades(config))) == ["B", "C", "D"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Marketing Nurture", True),
        ("Marketing_Nurture", True),
        ("00G0A0000000002", True),
        ("00G0A0000000002UAA", True),
        ("00g0a0000000002", False),  # ids are case-sensitive
        ("marketing nurture", False),
        ("Nurture", False),
    ],
)
def test_queues_are_named_by_name_developer_name_or_id(text: str, found: bool) -> None:
    queue = Queue("00G0A0000000002UAA", "Marketing Nurture", "Marketing_Nurture", takes_leads=True)
    facts = OrgFacts(LEAD, queues=(queue,))
    assert (facts.queue(text) is queue) is found


def test_lead_queue_ids_leave_out_queues_that_take_no_leads() -> None:
    queues = (
        Queue("00G0A0000000002UAA", "Marketing Nurture", "Marketing_Nurture", takes_leads=True),
        Queue("00G0A0000000005UAA", "Support Tier 1", "Support_Tier_1", takes_leads=False),
    )
    ids = OrgFacts(LEAD, queues=queues).lead_queue_ids()
    assert ids == {
        "Marketing Nurture": "00G0A0000000002UAA",
        "Marketing_Nurture": "00G0A0000000002UAA",
    }
    assert OrgFacts(LEAD).lead_queue_ids() == {}
