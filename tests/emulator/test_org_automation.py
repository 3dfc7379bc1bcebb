"""What the org does by itself on a save: defaults, stamps, derived fields and its rules."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sfsync.emulator.org import AssignmentRuleEntry, OrgSettings, ValidationRule
from tests.emulator.org_kit import T0, VALID_LEAD, Kit, make_kit


@pytest.fixture
def kit() -> Kit:
    return make_kit()


# -- defaults and derived fields -----------------------------------------------------------


def test_create_fills_defaults_and_audit_fields(kit: Kit) -> None:
    result = kit.org.create(
        "Lead", {"FirstName": "Ada", "LastName": "Ng", "Company": "A"}, user_id=kit.ids["rep"]
    )
    assert result.created
    record = kit.lead(str(result.id))
    assert record["Id"] == result.id
    assert record["Status"] == "Open - Not Contacted"
    assert record["OwnerId"] == kit.ids["rep"]
    assert record["Name"] == "Ada Ng"
    assert (record["IsConverted"], record["IsDeleted"], record["DoNotCall"]) == (
        False,
        False,
        False,
    )
    assert record["CreatedById"] == record["LastModifiedById"] == kit.ids["rep"]
    assert record["CreatedDate"] == record["LastModifiedDate"] == record["SystemModstamp"] == T0
    assert set(record) == set(kit.org.schema.objects["Lead"].fields)


def test_default_status_comes_from_lead_status(kit: Kit) -> None:
    kit.org.tables["LeadStatus"].clear()
    kit.org.load("LeadStatus", [{"ApiName": "New", "MasterLabel": "New", "IsDefault": True}])
    assert kit.lead(kit.create_lead())["Status"] == "New"


def test_explicit_nulls_of_defaulted_fields_get_the_default(kit: Kit) -> None:
    record = kit.lead(kit.create_lead(Status=None, OwnerId=None, DoNotCall=None))
    assert (record["Status"], record["OwnerId"], record["DoNotCall"]) == (
        "Open - Not Contacted",
        kit.admin,
        False,
    )


@pytest.mark.parametrize(
    ("statuses", "status", "ok"),
    [
        (True, "Nurturing", True),
        (True, "Working - Contacted", True),
        # Without LeadStatus rows, the schema's picklist decides.
        (False, "Nurturing", False),
        (False, "Working - Contacted", True),
    ],
)
def test_status_values_follow_lead_status(statuses: bool, status: str, ok: bool) -> None:
    kit = make_kit(statuses=statuses)
    result = kit.org.create("Lead", {**VALID_LEAD, "Status": status}, user_id=kit.admin)
    assert result.success is ok


def test_values_are_stored_as_python_types(kit: Kit) -> None:
    lead_id = kit.create_lead(
        lastname="Lower",  # field names are case-insensitive, stored under the API name
        Title="",
        Lead_Score__c=87.5,
        AnnualRevenue="1000",
        NumberOfEmployees=12.0,
        HasOptedOutOfEmail="true",
        attributes={"type": "Lead"},
    )
    record = kit.lead(lead_id)
    assert record["LastName"] == "Lower"
    assert record["Title"] is None
    # Number(18, 0): Salesforce rounds half up to the field's scale.
    assert record["Lead_Score__c"] == 88.0
    assert record["AnnualRevenue"] == 1000.0
    assert record["NumberOfEmployees"] == 12
    assert record["HasOptedOutOfEmail"] is True


def test_name_follows_first_and_last_name(kit: Kit) -> None:
    lead_id = kit.create_lead(FirstName="Ada")
    assert kit.update_lead(lead_id, FirstName=None, LastName="Lovelace").success
    assert kit.lead(lead_id)["Name"] == "Lovelace"


@pytest.mark.parametrize(
    ("status", "closed"), [("Completed", True), ("In Progress", False), (None, False)]
)
def test_task_is_closed_follows_status(kit: Kit, status: str | None, closed: bool) -> None:
    values = {"Subject": "Call", "WhoId": kit.create_lead()}
    if status:
        values["Status"] = status
    task_id = str(kit.org.create("Task", values, user_id=kit.admin).id)
    assert kit.record("Task", task_id)["IsClosed"] is closed
    kit.org.update("Task", task_id, {"Status": "Completed"}, user_id=kit.admin)
    assert kit.record("Task", task_id)["IsClosed"] is True


# -- stamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moves", "expected"),
    [
        ([12.0], T0 + timedelta(seconds=12)),
        ([0.4], T0),  # the same second: the stamp does not move
        ([30.7], T0 + timedelta(seconds=30)),  # whole seconds
        ([30, -20], T0 + timedelta(seconds=30)),  # the clock went back: never earlier
        ([30, -20, 25], T0 + timedelta(seconds=35)),
    ],
)
def test_stamps_are_whole_seconds_and_never_go_back(
    kit: Kit, moves: list[float], expected: datetime
) -> None:
    lead_id = kit.create_lead()
    for seconds in moves:
        kit.clock.advance(seconds)
        assert kit.update_lead(lead_id, Title="VP").success
    record = kit.lead(lead_id)
    assert record["SystemModstamp"] == record["LastModifiedDate"] == expected
    assert record["CreatedDate"] == T0


def test_an_update_that_changes_nothing_still_bumps_the_stamps(kit: Kit) -> None:
    lead_id = kit.create_lead(Title="VP")
    kit.clock.advance(90)
    result = kit.org.update("Lead", lead_id, {"Title": "VP"}, user_id=kit.ids["rep"])
    assert result.success and not result.created
    record = kit.lead(lead_id)
    assert record["SystemModstamp"] == T0 + timedelta(seconds=90)
    assert record["LastModifiedById"] == kit.ids["rep"]


def test_clock_offset_skews_the_stamps() -> None:
    kit = make_kit(OrgSettings(clock_offset_seconds=-3600))
    assert kit.lead(kit.create_lead())["SystemModstamp"] == T0 - timedelta(hours=1)


def test_writes_replace_records_instead_of_mutating_them(kit: Kit) -> None:
    lead_id = kit.create_lead()
    before = kit.lead(lead_id)
    snapshot = dict(before)
    kit.update_lead(lead_id, Title="CTO")
    kit.org.delete("Lead", lead_id, user_id=kit.admin)
    assert before == snapshot
    assert kit.lead(lead_id) is not before


# -- the assignment rule -------------------------------------------------------------------


def _rule_kit() -> Kit:
    kit = make_kit()
    kit.org.settings.assignment_rule = [
        AssignmentRuleEntry(kit.ids["rep"], {"LeadSource": "Web", "country": "DE"}),
        AssignmentRuleEntry(kit.ids["lead_queue"][:15]),
    ]
    return kit


@pytest.mark.parametrize(
    ("values", "auto_assign", "owner"),
    [
        ({"LeadSource": "web", "Country": "de"}, True, "rep"),  # case-insensitive
        ({"LeadSource": "Web"}, True, "lead_queue"),  # every criterion must hold
        ({}, True, "lead_queue"),  # the catch-all
        ({"OwnerId": "@admin"}, True, "lead_queue"),  # the rule overrides a written owner
        ({"OwnerId": "@admin"}, False, "admin"),
        ({}, False, "rep"),  # no rule: the creator owns it
    ],
)
def test_assignment_rule_on_create(values: dict[str, Any], auto_assign: bool, owner: str) -> None:
    kit = _rule_kit()
    values = {k: kit.ids[v[1:]] if k == "OwnerId" else v for k, v in values.items()}
    result = kit.org.create(
        "Lead", {**VALID_LEAD, **values}, user_id=kit.ids["rep"], auto_assign=auto_assign
    )
    assert kit.lead(str(result.id))["OwnerId"] == kit.ids[owner]


@pytest.mark.parametrize(("auto_assign", "owner"), [(True, "lead_queue"), (False, "admin")])
def test_assignment_rule_on_update_is_the_trap(auto_assign: bool, owner: str) -> None:
    kit = _rule_kit()
    lead_id = kit.create_lead()
    kit.org.update(
        "Lead", lead_id, {"OwnerId": kit.admin}, user_id=kit.admin, auto_assign=auto_assign
    )
    assert kit.lead(lead_id)["OwnerId"] == kit.ids[owner]


def test_no_rule_entries_leave_the_owner_alone(kit: Kit) -> None:
    lead_id = kit.create_lead(OwnerId=kit.ids["rep"])
    kit.org.update("Lead", lead_id, {"Title": "VP"}, user_id=kit.admin, auto_assign=True)
    assert kit.lead(lead_id)["OwnerId"] == kit.ids["rep"]


def test_assignment_rule_is_for_leads_only() -> None:
    kit = _rule_kit()
    result = kit.org.create("Contact", {"LastName": "Ng"}, user_id=kit.admin, auto_assign=True)
    assert kit.record("Contact", str(result.id))["OwnerId"] == kit.admin


def test_refused_save_does_not_run_the_rule() -> None:
    kit = _rule_kit()
    lead_id = kit.create_lead(OwnerId=kit.admin)
    kit.org.settings.assignment_rule = [AssignmentRuleEntry(kit.ids["rep"])]
    result = kit.org.update("Lead", lead_id, {"Rating": "Boiling"}, user_id=kit.admin)
    assert not result.success
    assert kit.lead(lead_id)["OwnerId"] == kit.ids["lead_queue"]


# -- validation and duplicate rules --------------------------------------------------------


def _no_gmail(record: dict[str, Any]) -> bool:
    return str(record.get("Email") or "").endswith("@gmail.com")


NO_GMAIL = ValidationRule("No_Gmail", "Use a work address", _no_gmail, error_field="Email")
NEED_TITLE = ValidationRule("Need_Title", "Title is required", lambda r: not r["Title"])
CONTACT_RULE = ValidationRule("Any", "never for leads", lambda r: True, sobject="Contact")


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"Email": "a@gmail.com", "Title": "VP"}, [("Use a work address", ("Email",))]),
        ({"Email": "a@gmail.com"}, [("Use a work address", ("Email",)), ("Title is required", ())]),
        ({"Email": "a@acme.com", "Title": "VP"}, []),
    ],
)
def test_validation_rules(
    values: dict[str, Any], errors: list[tuple[str, tuple[str, ...]]]
) -> None:
    kit = make_kit(OrgSettings(validation_rules=[NO_GMAIL, NEED_TITLE, CONTACT_RULE]))
    result = kit.org.create("Lead", {**VALID_LEAD, **values}, user_id=kit.admin)
    assert [(e.message, e.fields) for e in result.errors] == errors
    assert {e.status_code for e in result.errors} <= {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    assert len(kit.org.tables["Lead"]) == (0 if errors else 1)


def test_validation_rules_see_the_merged_record_on_update() -> None:
    kit = make_kit()
    lead_id = kit.create_lead(Email="a@gmail.com")
    kit.org.settings.validation_rules = [NO_GMAIL]
    result = kit.update_lead(lead_id, Title="VP")
    assert [e.status_code for e in result.errors] == ["FIELD_CUSTOM_VALIDATION_EXCEPTION"]


def _dupe_kit() -> tuple[Kit, str]:
    kit = make_kit(OrgSettings(duplicate_rule_blocks_email=True))
    return kit, kit.create_lead(Email="Ada@Example.com")


def test_duplicate_rule_blocks_the_same_email() -> None:
    kit, first = _dupe_kit()
    result = kit.org.create("Lead", {**VALID_LEAD, "Email": "ada@example.COM"}, user_id=kit.admin)
    [error] = result.errors
    assert (error.status_code, error.message) == (
        "DUPLICATES_DETECTED",
        "Use one of these records?",
    )
    matches = error.as_save_result()["duplicateResult"]["matchResults"][0]["matchRecords"]
    assert [m["record"]["Id"] for m in matches] == [first]


@pytest.mark.parametrize(
    ("setup", "ok"),
    [
        ("other email", True),
        ("first deleted", True),
        ("update itself", True),
        ("same email", False),
    ],
)
def test_duplicate_rule_cases(setup: str, ok: bool) -> None:
    kit, first = _dupe_kit()
    if setup == "first deleted":
        kit.org.delete("Lead", first, user_id=kit.admin)
    if setup == "update itself":
        result = kit.update_lead(first, Title="VP", Email="ADA@example.com")
    else:
        email = "bob@example.com" if setup == "other email" else "ada@example.com"
        result = kit.org.create("Lead", {**VALID_LEAD, "Email": email}, user_id=kit.admin)
    assert result.success is ok


def test_duplicate_rule_off_lets_duplicates_in(kit: Kit) -> None:
    kit.create_lead(Email="ada@example.com")
    kit.create_lead(Email="ada@example.com")
    assert len(kit.org.tables["Lead"]) == 2


# -- concurrency -----------------------------------------------------------------------------


def test_concurrent_creates_get_distinct_ids(kit: Kit) -> None:
    ids: list[str] = []

    def writer() -> None:
        for _ in range(50):
            result = kit.org.create("Lead", VALID_LEAD, user_id=kit.admin)
            ids.append(str(result.id))

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == len(kit.org.tables["Lead"]) == 400
    assert all(r["CreatedDate"].tzinfo is UTC for r in kit.org.tables["Lead"].values())
