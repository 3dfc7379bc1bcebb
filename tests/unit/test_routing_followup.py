"""SLA follow-up Tasks, hot-lead webhook payloads, and the `between` territory operator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sfsync.rules.conditions import compile_row
from sfsync.rules.criteria import Criterion
from sfsync.rules.routing_followup import render, sla_task, webhook_payload
from tests.unit.routing_kit import ANN, EMEA_Q, NOW, config, lead, route_one

STAMP = datetime(2025, 3, 12, 13, 0, tzinfo=UTC)
SLA = {"subject": "Call {FirstName} {LastName} at {Company}", "due_in": "2h", "priority": "High"}


def _cfg(**overrides: Any) -> Any:
    return config(
        sla={"subject": "File default", "due_in": "1d", "priority": "Normal"},
        rules=[
            {"name": "Queue", "assign": {"queue": "EMEA Sales"},
             "criteria": [{"field": "Country", "operator": "equals", "value": "DE"}]},
            {"name": "Team", "assign": {"team": "t"}, **overrides},
        ],
        teams={"t": {"members": [ANN], "sla": {"subject": "Team {LastName}", "due_in": "30m"}}},
        webhook={"hot": [{"field": "Rating", "operator": "equals", "value": "Hot"}]},
    )  # fmt: skip


def test_the_rule_sla_wins_over_team_and_file() -> None:
    values = lead(FirstName="Ana", LastName="Díaz", Company="Acme {x}")
    outcome = route_one(_cfg(sla=SLA), values)

    task = sla_task("00Q000000000001AAA", values, outcome, STAMP, NOW)

    assert task is not None
    assert task.values == {
        "Subject": "Call Ana Díaz at Acme {x}",
        "WhoId": "00Q000000000001AAA",
        "OwnerId": ANN,
        "Priority": "High",
        "Status": "Not Started",
        "ActivityDate": "2025-03-12",
        "IsReminderSet": True,
        "ReminderDateTime": "2025-03-12T16:00:00+00:00",
    }


def test_team_sla_then_file_sla() -> None:
    values = lead(LastName="Doe")
    team = sla_task("00Q1", values, route_one(_cfg(), values), STAMP, NOW)
    assert team is not None and team.values["Subject"] == "Team Doe"
    assert team.values["ReminderDateTime"] == "2025-03-12T14:30:00+00:00"


def test_no_task_for_a_queue_or_an_unrouted_lead() -> None:
    german = lead(Country="DE")
    queued = route_one(_cfg(), german)
    assert queued.owner_id == EMEA_Q and queued.sla is None
    assert sla_task("00Q1", german, queued, STAMP, NOW) is None

    manual = lead(OwnerId=ANN, CreatedById=ANN)
    assert sla_task("00Q1", manual, route_one(_cfg(), manual), STAMP, NOW) is None


def test_the_task_key_is_the_same_for_a_repeat_and_differs_per_routing() -> None:
    values = lead()
    outcome = route_one(_cfg(sla=SLA), values)
    first = sla_task("00Q1", values, outcome, STAMP, NOW)
    again = sla_task("00Q1", values, outcome, STAMP, datetime(2025, 3, 13, tzinfo=UTC))
    later = sla_task("00Q1", values, outcome, datetime(2025, 3, 14, tzinfo=UTC), NOW)

    assert first is not None and again is not None and later is not None
    assert first.key == again.key != later.key


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{FirstName} {LastName}", "Ana Doe"),
        ("{Missing} at {Company}", "at Acme"),
        ("{FirstName.__class__}", ""),  # no attribute access: just an unknown field
        ("{0} {} {{x}}", "{0} {} {}"),  # no escapes: {x} inside is an (unknown) field
        ("{owner} / {rule}", "ann / Team"),
    ],
)
def test_templates(template: str, expected: str) -> None:
    values = {"FirstName": "Ana", "LastName": "Doe", "Company": "Acme"}
    assert render(template, values, {"owner": "ann", "rule": "Team"}) == expected


def test_hot_leads_notify_and_the_payload_is_slack_shaped() -> None:
    values = lead(Rating="Hot", FirstName="Ana", LastName="<!channel>", Company="A&B")
    outcome = route_one(_cfg(), values)
    assert outcome.notify
    assert not route_one(_cfg(), lead(Rating="Cold")).notify
    assert route_one(_cfg(notify=True), lead(Rating="Cold")).notify

    payload = webhook_payload(
        "00Q1", values, outcome, "Hot lead: {FirstName} {LastName} at {Company} -> {owner}",
        lead_url="https://example.my.salesforce.com/00Q1", owner_name="Ann",
    )  # fmt: skip

    text = "Hot lead: Ana &lt;!channel&gt; at A&amp;B -&gt; Ann"
    assert payload == {
        "text": text,
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": text + "\n<https://example.my.salesforce.com/00Q1|Open the lead>",
                },
            }
        ],
    }


# -- between -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "value", "holds"),
    [
        (["94000", "94999"], "94105", True),
        (["94000", "94999"], "94105-1234", True),
        (["94000", "94999"], 94105, True),
        (["94000", "94999"], "93999", False),
        (["94000", "94999"], "95000", False),
        (["94000", "94999"], None, False),
        (["94000", "94999"], "  ", False),
        (["01000", "01999"], "01067", True),
        (["01000", "01999"], "1067", False),  # text bounds: the leading zero matters
        ([1000, 1999], "01067", True),  # number bounds: numbers
        (["SW1", "SW9"], "SW1A 1AA", True),
        (["SW1", "SW9"], "sw9 9zz", True),
        (["SW1", "SW9"], "SE1 7PB", False),
        ([50, 200], 50, True),
        ([50, 200], 200.0, True),
        ([50, 200], 201, False),
        ([50, 200], True, False),
    ],
)
def test_between(bounds: list[Any], value: Any, holds: bool) -> None:
    row = Criterion(field="F", operator="between", value=bounds)  # type: ignore[arg-type]

    assert row.holds({"F": value}) is holds
    assert compile_row(row)({"F": value}) is holds


@pytest.mark.parametrize("bounds", [[1], [1, 2, 3], "10000", [2, 1], ["SW9", "SW1"], [True, 5]])
def test_between_needs_ordered_bounds(bounds: Any) -> None:
    with pytest.raises(ValueError, match="between needs"):
        Criterion(field="F", operator="between", value=bounds)  # type: ignore[arg-type]
