"""Org writes refused as Salesforce refuses them: codes, messages, fields, nothing stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from sfsync.emulator.org import Org, OrgError
from tests.emulator.org_kit import VALID_LEAD, Kit, make_kit

NO_SUCH_LEAD = "00Q0A0000000ZZZ"


@pytest.fixture
def kit() -> Kit:
    return make_kit()


@dataclass(frozen=True)
class Case:
    """A create whose values are VALID_LEAD with `extra` on top and `drop` removed."""

    extra: dict[str, Any]
    code: str
    fields: tuple[str, ...] = ()
    message: str | None = None
    drop: tuple[str, ...] = field(default=())

    def values(self, ids: dict[str, str]) -> dict[str, Any]:
        merged = {**VALID_LEAD, **self.extra}
        for name in self.drop:
            merged.pop(name)
        # "@name" stands for the id of the kit's metadata record `name`.
        return {k: _resolve(v, ids) for k, v in merged.items()}


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        return ids[value[1:]]
    return value


CREATE_ERRORS = {
    "unknown field": Case(
        {"Foo": 1}, "INVALID_FIELD", message="No such column 'Foo' on sobject of type Lead"
    ),
    "system field": Case(
        {"IsConverted": True},
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        ("IsConverted",),
        "Unable to create/update fields: IsConverted. Please check the security settings of "
        "this field and verify that it is read/write for your profile or permission set.",
    ),
    "two system fields in one error": Case(
        {"Name": "X", "SystemModstamp": "2024-01-01T00:00:00Z"},
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        ("Name", "SystemModstamp"),
    ),
    "id on insert": Case(
        {"Id": NO_SUCH_LEAD},
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        ("Id",),
        "cannot specify Id in an insert call",
    ),
    "too long": Case(
        {"Company": "x" * 256},
        "STRING_TOO_LONG",
        ("Company",),
        "Company: data value too large: xxxxxxxxxxxxxxxxxxxx... (max length=255)",
    ),
    "restricted picklist": Case(
        {"Rating": "Boiling"},
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ("Rating",),
        "Rating: bad value for restricted picklist field: Boiling",
    ),
    "picklist values are case-sensitive": Case(
        {"Rating": "hot"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ("Rating",)
    ),
    "status not in LeadStatus": Case(
        {"Status": "Qualified"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ("Status",)
    ),
    "email": Case(
        {"Email": "foo"},
        "INVALID_EMAIL_ADDRESS",
        ("Email",),
        "Email: invalid email address: foo",
    ),
    "email without domain": Case({"Email": "a@b"}, "INVALID_EMAIL_ADDRESS", ("Email",)),
    "missing required": Case(
        {},
        "REQUIRED_FIELD_MISSING",
        ("LastName",),
        "Required fields are missing: [LastName]",
        drop=("LastName",),
    ),
    "empty string is missing": Case({"Company": ""}, "REQUIRED_FIELD_MISSING", ("Company",)),
    "null is missing": Case({"LastName": None}, "REQUIRED_FIELD_MISSING", ("LastName",)),
    "both required missing": Case(
        {},
        "REQUIRED_FIELD_MISSING",
        ("LastName", "Company"),
        "Required fields are missing: [LastName, Company]",
        drop=("LastName", "Company"),
    ),
    "text for a number": Case(
        {"AnnualRevenue": "lots"},
        "JSON_PARSER_ERROR",
        message="Cannot deserialize instance of double from VALUE_STRING value lots "
        "or request may be missing a required field",
    ),
    "fraction for an int": Case({"NumberOfEmployees": 2.5}, "JSON_PARSER_ERROR"),
    "number for a checkbox": Case({"DoNotCall": 1}, "JSON_PARSER_ERROR"),
    "boolean for text": Case({"Title": True}, "JSON_PARSER_ERROR"),
    "array for text": Case({"Company": ["Acme"]}, "JSON_PARSER_ERROR"),
    "number too large": Case(
        {"Lead_Score__c": 1e20}, "NUMBER_OUTSIDE_VALID_RANGE", ("Lead_Score__c",)
    ),
    "malformed reference": Case(
        {"Duplicate_Of__c": "abc"},
        "MALFORMED_ID",
        ("Duplicate_Of__c",),
        "Duplicate Of: id value of incorrect type: abc",
    ),
    "reference to the wrong object": Case(
        {"Duplicate_Of__c": "@account"}, "INVALID_CROSS_REFERENCE_KEY", ("Duplicate_Of__c",)
    ),
    "reference to nothing": Case(
        {"Duplicate_Of__c": NO_SUCH_LEAD},
        "INVALID_CROSS_REFERENCE_KEY",
        ("Duplicate_Of__c",),
        "invalid cross reference id",
    ),
    "inactive owner": Case({"OwnerId": "@former"}, "INACTIVE_OWNER_OR_USER", ("OwnerId",)),
    "queue for cases only": Case(
        {"OwnerId": "@case_queue"}, "INVALID_CROSS_REFERENCE_KEY", ("OwnerId",)
    ),
    "group that is not a queue": Case(
        {"OwnerId": "@team"}, "INVALID_CROSS_REFERENCE_KEY", ("OwnerId",)
    ),
    "owner that is an account": Case(
        {"OwnerId": "@account"}, "INVALID_CROSS_REFERENCE_KEY", ("OwnerId",)
    ),
    "owner that does not exist": Case(
        {"OwnerId": "005000000000999"}, "INVALID_CROSS_REFERENCE_KEY", ("OwnerId",)
    ),
    "malformed owner": Case(
        {"OwnerId": "nobody"},
        "MALFORMED_ID",
        ("OwnerId",),
        "Owner ID: id value of incorrect type: nobody",
    ),
}


@pytest.mark.parametrize("case", CREATE_ERRORS.values(), ids=CREATE_ERRORS.keys())
def test_create_refused(kit: Kit, case: Case) -> None:
    result = kit.org.create("Lead", case.values(kit.ids), user_id=kit.admin)
    assert not result.success
    assert result.id is None
    [error] = result.errors
    assert error.status_code == case.code
    assert error.fields == case.fields
    if case.message is not None:
        assert error.message == case.message
    assert kit.org.tables["Lead"] == {}
    # A refused create does not use up an id: the next lead gets the first one.
    assert kit.create_lead() == Org().new_id("Lead")


def test_inactive_owner_message_names_the_user_and_object(kit: Kit) -> None:
    result = kit.org.create("Lead", {**VALID_LEAD, "OwnerId": kit.ids["former"]}, user_id="x")
    expected = f"operation performed with inactive user [{kit.ids['former'][:15]}] as owner of lead"
    assert result.errors[0].message == expected


def test_field_errors_are_reported_together(kit: Kit) -> None:
    values = {"Company": "x" * 300, "Rating": "Boiling", "Email": "foo", "IsConverted": True}
    result = kit.org.create("Lead", values, user_id=kit.admin)
    codes = {error.status_code: error.fields for error in result.errors}
    assert codes == {
        "INVALID_FIELD_FOR_INSERT_UPDATE": ("IsConverted",),
        "STRING_TOO_LONG": ("Company",),
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": ("Rating",),
        "INVALID_EMAIL_ADDRESS": ("Email",),
        "REQUIRED_FIELD_MISSING": ("LastName",),
    }


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("😀" * 40, True),
        ("😀" * 41, False),
        ("é" * 40, True),
        ("Zoë-Ångström" * 3, True),
        ("Zoë-Ångström" * 4, False),
    ],
)
def test_lengths_count_characters_not_bytes(kit: Kit, text: str, ok: bool) -> None:
    result = kit.org.create("Lead", {**VALID_LEAD, "FirstName": text}, user_id=kit.admin)
    assert result.success is ok
    if ok:
        assert kit.lead(str(result.id))["FirstName"] == text
    else:
        expected = f"First Name: data value too large: {text[:20]}... (max length=40)"
        assert result.errors[0].message == expected


def test_unknown_and_read_only_objects(kit: Kit) -> None:
    unknown = kit.org.create("Widget__c", {}, user_id=kit.admin)
    assert unknown.errors[0].status_code == "INVALID_TYPE"
    status = kit.org.create("LeadStatus", {"ApiName": "New"}, user_id=kit.admin)
    assert status.errors[0] == OrgError(
        "INVALID_TYPE_FOR_OPERATION", "entity type cannot be inserted: Lead Status"
    )


# -- updates -------------------------------------------------------------------------------


def _deleted_lead(kit: Kit) -> str:
    lead_id = kit.create_lead()
    assert kit.org.delete("Lead", lead_id, user_id=kit.admin).success
    return lead_id


def _converted_lead(kit: Kit) -> str:
    lead_id = kit.create_lead()
    record = kit.lead(lead_id)
    kit.org.tables["Lead"][lead_id] = {**record, "IsConverted": True}
    return lead_id


UPDATE_TARGET_ERRORS = {
    "deleted": (_deleted_lead, "ENTITY_IS_DELETED", "entity is deleted"),
    "converted": (
        _converted_lead,
        "CANNOT_UPDATE_CONVERTED_LEAD",
        "cannot reference converted lead",
    ),
    "never existed": (
        lambda kit: NO_SUCH_LEAD,
        "INVALID_CROSS_REFERENCE_KEY",
        "invalid cross reference id",
    ),
    "malformed": (lambda kit: "00Q-bad", "MALFORMED_ID", "malformed id 00Q-bad"),
    "another object's id": (
        lambda kit: kit.ids["account"],
        "MALFORMED_ID",
        "Lead ID: id value of incorrect type: {id}",
    ),
}


@pytest.mark.parametrize(
    ("target", "code", "message"), UPDATE_TARGET_ERRORS.values(), ids=UPDATE_TARGET_ERRORS.keys()
)
def test_update_target_refused(kit: Kit, target: Any, code: str, message: str) -> None:
    record_id = target(kit)
    before = dict(kit.org.tables["Lead"])
    result = kit.update_lead(record_id, Title="CEO")
    assert [(e.status_code, e.message) for e in result.errors] == [
        (code, message.format(id=record_id))
    ]
    assert kit.org.tables["Lead"] == before


UPDATE_VALUE_ERRORS = {
    "id in the body": ({"Id": "@lead"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ("Id",)),
    "system field": ({"IsConverted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ("IsConverted",)),
    "nulled required": ({"LastName": None}, "REQUIRED_FIELD_MISSING", ("LastName",)),
    "emptied required": ({"Company": ""}, "REQUIRED_FIELD_MISSING", ("Company",)),
    "nulled status": ({"Status": None}, "REQUIRED_FIELD_MISSING", ("Status",)),
    "nulled owner": ({"OwnerId": None}, "REQUIRED_FIELD_MISSING", ("OwnerId",)),
    "reference to a deleted lead": (
        {"Duplicate_Of__c": "@deleted"},
        "ENTITY_IS_DELETED",
        ("Duplicate_Of__c",),
    ),
    "reference to a converted lead": (
        {"Duplicate_Of__c": "@converted"},
        "CANNOT_UPDATE_CONVERTED_LEAD",
        ("Duplicate_Of__c",),
    ),
    "owner is an inactive user": ({"OwnerId": "@former"}, "INACTIVE_OWNER_OR_USER", ("OwnerId",)),
}


@pytest.mark.parametrize(
    ("values", "code", "fields"), UPDATE_VALUE_ERRORS.values(), ids=UPDATE_VALUE_ERRORS.keys()
)
def test_update_values_refused(
    kit: Kit, values: dict[str, Any], code: str, fields: tuple[str, ...]
) -> None:
    kit.ids.update(lead=kit.create_lead(), deleted=_deleted_lead(kit))
    kit.ids["converted"] = _converted_lead(kit)
    before = dict(kit.org.tables["Lead"])
    kit.clock.advance(5)
    result = kit.update_lead(
        kit.ids["lead"], **{k: _resolve(v, kit.ids) for k, v in values.items()}
    )
    assert result.id == kit.ids["lead"]
    assert [(e.status_code, e.fields) for e in result.errors] == [(code, fields)]
    assert kit.org.tables["Lead"] == before


def test_update_of_a_read_only_field_of_a_writable_object(kit: Kit) -> None:
    campaign = kit.org.load("Campaign", [{"Name": "Spring"}])[0]
    other = kit.org.load("Campaign", [{"Name": "Autumn"}])[0]
    member = kit.org.create(
        "CampaignMember", {"CampaignId": campaign, "LeadId": kit.create_lead()}, user_id=kit.admin
    )
    assert member.success, member.errors
    moved = kit.org.update(
        "CampaignMember", str(member.id), {"CampaignId": other}, user_id=kit.admin
    )
    assert moved.errors[0].fields == ("CampaignId",)


# -- deletes -------------------------------------------------------------------------------


def test_delete_keeps_the_row_in_the_recycle_bin(kit: Kit) -> None:
    lead_id = kit.create_lead()
    kit.clock.advance(60)
    result = kit.org.delete("Lead", lead_id, user_id=kit.ids["rep"])
    assert (result.id, result.success) == (lead_id, True)
    record = kit.lead(lead_id)
    assert record["IsDeleted"] is True
    assert record["SystemModstamp"] == kit.clock.now
    assert record["LastModifiedById"] == kit.ids["rep"]


@pytest.mark.parametrize(
    ("operation", "code", "message"),
    [
        ("delete", "ENTITY_IS_DELETED", "entity is deleted"),
        ("undelete", None, None),
    ],
)
def test_delete_twice_and_undelete(
    kit: Kit, operation: str, code: str | None, message: str | None
) -> None:
    lead_id = _deleted_lead(kit)
    result = getattr(kit.org, operation)("Lead", lead_id, user_id=kit.admin)
    if code is None:
        assert result.success
        assert kit.lead(lead_id)["IsDeleted"] is False
    else:
        assert result.errors == (OrgError(code, str(message)),)


def test_undelete_of_a_live_record(kit: Kit) -> None:
    result = kit.org.undelete("Lead", kit.create_lead(), user_id=kit.admin)
    assert result.errors == (OrgError("UNDELETE_FAILED", "Entity is not in the recycle bin"),)


@pytest.mark.parametrize(
    ("sobject", "record_id", "code"),
    [
        ("Lead", NO_SUCH_LEAD, "INVALID_CROSS_REFERENCE_KEY"),
        ("Lead", "bad", "MALFORMED_ID"),
        ("LeadStatus", "01J0A0000000001", "INVALID_TYPE_FOR_OPERATION"),
        ("Nope", NO_SUCH_LEAD, "INVALID_TYPE"),
    ],
)
def test_delete_refused(kit: Kit, sobject: str, record_id: str, code: str) -> None:
    result = kit.org.delete(sobject, record_id, user_id=kit.admin)
    assert [e.status_code for e in result.errors] == [code]


def test_purge_removes_for_good(kit: Kit) -> None:
    lead_id = _deleted_lead(kit)
    kit.org.purge("Lead", lead_id[:15])
    kit.org.purge("Lead", NO_SUCH_LEAD)
    assert kit.org.get("Lead", lead_id) is None
    assert kit.org.undelete("Lead", lead_id, user_id=kit.admin).errors[0].status_code == (
        "INVALID_CROSS_REFERENCE_KEY"
    )


# -- ids and reads ------------------------------------------------------------------------


def test_fifteen_character_ids_are_accepted_everywhere(kit: Kit) -> None:
    target = kit.create_lead()
    lead_id = kit.create_lead(Duplicate_Of__c=target[:15], OwnerId=kit.ids["lead_queue"][:15])
    assert kit.org.get("Lead", lead_id[:15]) == kit.org.get("Lead", lead_id)
    record = kit.lead(lead_id)
    assert (record["Duplicate_Of__c"], record["OwnerId"]) == (target, kit.ids["lead_queue"])
    assert kit.update_lead(lead_id[:15], Title="CTO").id == lead_id
    assert kit.org.delete("Lead", lead_id[:15], user_id=kit.admin).success
    by_short_user = kit.org.create("Lead", VALID_LEAD, user_id=kit.ids["rep"][:15])
    record = kit.lead(str(by_short_user.id))
    assert record["OwnerId"] == record["CreatedById"] == kit.ids["rep"]


@pytest.mark.parametrize("record_id", ["junk", "001000000000001", NO_SUCH_LEAD])
def test_get_of_nothing(kit: Kit, record_id: str) -> None:
    assert kit.org.get("Lead", record_id) is None
    assert kit.org.get("Nope", record_id) is None


def test_get_returns_deleted_rows(kit: Kit) -> None:
    assert kit.lead(_deleted_lead(kit))["IsDeleted"] is True


@pytest.mark.parametrize(
    ("owner", "sobject", "code"),
    [
        ("admin", "Lead", None),
        ("lead_queue", "Lead", None),
        ("former", "Lead", "INACTIVE_OWNER_OR_USER"),
        ("case_queue", "Lead", "INVALID_CROSS_REFERENCE_KEY"),
        ("team", "Lead", "INVALID_CROSS_REFERENCE_KEY"),
        ("former", "Contact", "INACTIVE_OWNER_OR_USER"),
        # Contacts cannot be owned by queues at all.
        ("lead_queue", "Contact", "INVALID_CROSS_REFERENCE_KEY"),
        ("admin", "LeadStatus", "INVALID_TYPE"),
    ],
)
def test_check_owner(kit: Kit, owner: str, sobject: str, code: str | None) -> None:
    error = kit.org.check_owner(kit.ids[owner], sobject)
    assert (error.status_code if error else None) == code


def test_lead_statuses_in_sort_order(kit: Kit) -> None:
    kit.org.load("LeadStatus", [{"ApiName": "First", "MasterLabel": "First", "SortOrder": 0}])
    names = [row["ApiName"] for row in kit.org.lead_statuses()]
    assert names == [
        "First", "Open - Not Contacted", "Working - Contacted", "Nurturing", "Closed - Converted",
    ]  # fmt: skip


def test_save_result_shapes_for_the_server() -> None:
    error = OrgError("STRING_TOO_LONG", "too long", ("Company",))
    assert error.as_rest() == {
        "errorCode": "STRING_TOO_LONG",
        "message": "too long",
        "fields": ["Company"],
    }
    assert error.as_save_result()["statusCode"] == "STRING_TOO_LONG"
