"""The emulated org's objects and fields: what `describe` reports and writes enforce.

Field types, lengths and picklists follow Salesforce's Field Reference for the
standard objects (see shared/SALESFORCE.md section 8). Custom fields (`__c`)
are the ones the shipped mappings write to; an org's schema can be extended
with `ObjectSchema.with_fields`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# Types whose values are text in JSON and in records.
TEXT_TYPES = frozenset(
    {"id", "string", "textarea", "picklist", "multipicklist", "reference", "email", "phone", "url"}
)
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "string": "xsd:string",
    "textarea": "xsd:string",
    "picklist": "xsd:string",
    "multipicklist": "xsd:string",
    "email": "xsd:string",
    "phone": "xsd:string",
    "url": "xsd:string",
    "boolean": "xsd:boolean",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
}


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, as `describe` reports it."""

    name: str
    type: str
    length: int = 0
    label: str = ""
    updateable: bool = True
    createable: bool = True
    nillable: bool = True
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    default_value: str | None = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    precision: int = 0
    scale: int = 0
    custom: bool = False
    # Set by the org, never by a client (Id, audit fields, IsConverted...).
    system: bool = False

    @property
    def required(self) -> bool:
        """Required on create: not nillable, createable, and not defaulted by the org."""
        return (
            not self.nillable
            and self.createable
            and not self.system
            and self.type != "boolean"
            and self.default_value is None
        )

    def describe(self) -> dict[str, Any]:
        """The field entry of a describe response."""
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "soapType": SOAP_TYPES[self.type],
            "length": self.length,
            "byteLength": self.length * 3,
            "precision": self.precision,
            "scale": self.scale,
            "digits": 9 if self.type == "int" else 0,
            "updateable": self.updateable and not self.system,
            "createable": self.createable and not self.system,
            "nillable": self.nillable,
            "defaultedOnCreate": self.system or self.default_value is not None,
            "custom": self.custom,
            "filterable": self.type != "textarea" or self.length <= 255,
            "sortable": self.type != "textarea" or self.length <= 255,
            "calculated": False,
            "externalId": False,
            "unique": self.name == "Id",
            "idLookup": self.name in ("Id", "Email", "Name"),
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {
                    "value": value,
                    "label": value,
                    "active": True,
                    "defaultValue": value == self.default_value,
                    "validFor": None,
                }
                for value in self.picklist
            ],
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "polymorphicForeignKey": len(self.reference_to) > 1,
        }


@dataclass(frozen=True)
class ObjectSchema:
    """One sObject type: its key prefix and fields."""

    name: str
    key_prefix: str
    fields: Mapping[str, FieldDef]
    label: str = ""
    createable: bool = True
    updateable: bool = True
    deletable: bool = True

    def field(self, name: str) -> FieldDef | None:
        """The field named `name`, case-insensitively, as SOQL and the REST API resolve it."""
        found = self.fields.get(name)
        if found is not None:
            return found
        lowered = name.lower()
        for candidate in self.fields.values():
            if candidate.name.lower() == lowered:
                return candidate
        return None

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is `name` (`Owner` → `OwnerId`)."""
        lowered = name.lower()
        for candidate in self.fields.values():
            if candidate.relationship_name and candidate.relationship_name.lower() == lowered:
                return candidate
        return None

    def with_fields(self, extra: Iterable[FieldDef]) -> ObjectSchema:
        """A copy of this schema with fields added or replaced."""
        merged = dict(self.fields)
        merged.update({f.name: f for f in extra})
        return replace(self, fields=merged)

    def describe(self, api_version: str) -> dict[str, Any]:
        """The body of `GET /sobjects/{name}/describe`."""
        base = f"/services/data/v{api_version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label or self.name,
            "labelPlural": (self.label or self.name) + "s",
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": self.createable,
            "updateable": self.updateable,
            "deletable": self.deletable,
            "queryable": True,
            "retrieveable": True,
            "searchable": True,
            "mergeable": self.name in ("Lead", "Contact", "Account"),
            "fields": [f.describe() for f in self.fields.values()],
            "childRelationships": [],
            "recordTypeInfos": [],
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }


def _f(name: str, type_: str, length: int = 0, **kw: Any) -> FieldDef:
    return FieldDef(name=name, type=type_, length=length, **kw)


def _sys(name: str, type_: str, length: int = 0, **kw: Any) -> FieldDef:
    return FieldDef(
        name=name, type=type_, length=length, system=True, updateable=False, createable=False, **kw
    )


def _ref(name: str, to: tuple[str, ...], rel: str | None, **kw: Any) -> FieldDef:
    return FieldDef(
        name=name, type="reference", length=18, reference_to=to, relationship_name=rel, **kw
    )


def _audit() -> list[FieldDef]:
    """The system fields every object has."""
    return [
        _sys("Id", "id", 18, nillable=False),
        _sys("IsDeleted", "boolean", nillable=False),
        _sys("CreatedDate", "datetime", nillable=False),
        _ref(
            "CreatedById", ("User",), "CreatedBy", system=True, updateable=False, createable=False
        ),
        _sys("LastModifiedDate", "datetime", nillable=False),
        _ref(
            "LastModifiedById",
            ("User",),
            "LastModifiedBy",
            system=True,
            updateable=False,
            createable=False,
        ),
        _sys("SystemModstamp", "datetime", nillable=False),
    ]


def _object(name: str, prefix: str, fields: list[FieldDef], **kw: Any) -> ObjectSchema:
    return ObjectSchema(name=name, key_prefix=prefix, fields={f.name: f for f in fields}, **kw)


LEAD_SOURCES = (
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
    "Advertisement",
    "Employee Referral",
    "External Referral",
    "Trade Show",
    "Word of mouth",
)
INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
RATINGS = ("Hot", "Warm", "Cold")
SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
DEFAULT_LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
GRADES = ("A", "B", "C", "D", "F")

_ADDRESS = [
    _f("Street", "textarea", 255),
    _f("City", "string", 40),
    _f("State", "string", 80),
    _f("PostalCode", "string", 20),
    _f("Country", "string", 80),
]


def _prefixed_address(prefix: str) -> list[FieldDef]:
    return [replace(f, name=prefix + f.name) for f in _ADDRESS]


LEAD = _object(
    "Lead",
    "00Q",
    [
        *_audit(),
        _ref(
            "MasterRecordId",
            ("Lead",),
            "MasterRecord",
            system=True,
            updateable=False,
            createable=False,
        ),
        _f("Salutation", "picklist", 40, picklist=SALUTATIONS),
        _f("FirstName", "string", 40),
        _f("LastName", "string", 80, nillable=False),
        _sys("Name", "string", 121),
        _f("Title", "string", 128),
        _f("Company", "string", 255, nillable=False),
        *_ADDRESS,
        _f("Phone", "phone", 40),
        _f("MobilePhone", "phone", 40),
        _f("Email", "email", 80),
        _f("Website", "url", 255),
        _f("Description", "textarea", 32000),
        _f("LeadSource", "picklist", 255, picklist=LEAD_SOURCES),
        # Status values come from LeadStatus; the org fills this picklist at start.
        _f(
            "Status",
            "picklist",
            255,
            nillable=False,
            restricted=True,
            default_value="Open - Not Contacted",
            picklist=DEFAULT_LEAD_STATUSES,
        ),
        _f("Industry", "picklist", 255, picklist=INDUSTRIES),
        _f("Rating", "picklist", 255, picklist=RATINGS, restricted=True),
        _f("AnnualRevenue", "currency", precision=18, scale=0),
        _f("NumberOfEmployees", "int"),
        _ref("OwnerId", ("Group", "User"), "Owner", nillable=False),
        _f("HasOptedOutOfEmail", "boolean", nillable=False),
        _f("DoNotCall", "boolean", nillable=False),
        _sys("IsConverted", "boolean", nillable=False),
        _sys("ConvertedDate", "date"),
        _ref(
            "ConvertedAccountId",
            ("Account",),
            "ConvertedAccount",
            system=True,
            updateable=False,
            createable=False,
        ),
        _ref(
            "ConvertedContactId",
            ("Contact",),
            "ConvertedContact",
            system=True,
            updateable=False,
            createable=False,
        ),
        _ref(
            "ConvertedOpportunityId",
            ("Opportunity",),
            "ConvertedOpportunity",
            system=True,
            updateable=False,
            createable=False,
        ),
        _f("IsUnreadByOwner", "boolean", nillable=False),
        _sys("EmailBouncedDate", "datetime"),
        _f("EmailBouncedReason", "string", 255),
        _sys("LastActivityDate", "date"),
        # Custom fields the shipped mappings write.
        _f("Lead_Score__c", "double", precision=18, scale=0, custom=True),
        _f("Lead_Grade__c", "picklist", 255, picklist=GRADES, restricted=True, custom=True),
        _f("Score_Reason__c", "string", 255, custom=True),
        _ref("Duplicate_Of__c", ("Lead",), "Duplicate_Of__r", custom=True),
        _f("Sfsync_Note__c", "string", 255, custom=True),
    ],
    label="Lead",
)

CONTACT = _object(
    "Contact",
    "003",
    [
        *_audit(),
        _ref(
            "MasterRecordId",
            ("Contact",),
            "MasterRecord",
            system=True,
            updateable=False,
            createable=False,
        ),
        _ref("AccountId", ("Account",), "Account"),
        _f("Salutation", "picklist", 40, picklist=SALUTATIONS),
        _f("FirstName", "string", 40),
        _f("LastName", "string", 80, nillable=False),
        _sys("Name", "string", 121),
        _f("Title", "string", 128),
        _f("Email", "email", 80),
        _f("Phone", "phone", 40),
        _f("MobilePhone", "phone", 40),
        _f("Department", "string", 80),
        *_prefixed_address("Mailing"),
        _f("LeadSource", "picklist", 255, picklist=LEAD_SOURCES),
        _ref("OwnerId", ("User",), "Owner", nillable=False),
        _f("HasOptedOutOfEmail", "boolean", nillable=False),
        _f("Lead_Score__c", "double", precision=18, scale=0, custom=True),
    ],
    label="Contact",
)

ACCOUNT = _object(
    "Account",
    "001",
    [
        *_audit(),
        _ref(
            "MasterRecordId",
            ("Account",),
            "MasterRecord",
            system=True,
            updateable=False,
            createable=False,
        ),
        _f("Name", "string", 255, nillable=False),
        _f(
            "Type",
            "picklist",
            255,
            picklist=(
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Channel Partner / Reseller",
                "Installation Partner",
                "Technology Partner",
                "Other",
            ),
        ),
        _f("Website", "url", 255),
        _f("Phone", "phone", 40),
        _f("Industry", "picklist", 255, picklist=INDUSTRIES),
        _f("AnnualRevenue", "currency", precision=18, scale=0),
        _f("NumberOfEmployees", "int"),
        *_prefixed_address("Billing"),
        _ref("OwnerId", ("User",), "Owner", nillable=False),
        _f("Description", "textarea", 32000),
    ],
    label="Account",
)

OPPORTUNITY = _object(
    "Opportunity",
    "006",
    [
        *_audit(),
        _f("Name", "string", 120, nillable=False),
        _ref("AccountId", ("Account",), "Account"),
        _f(
            "StageName",
            "picklist",
            255,
            nillable=False,
            picklist=(
                "Prospecting",
                "Qualification",
                "Needs Analysis",
                "Closed Won",
                "Closed Lost",
            ),
        ),
        _f("CloseDate", "date", nillable=False),
        _f("Amount", "currency", precision=18, scale=2),
        _f("LeadSource", "picklist", 255, picklist=LEAD_SOURCES),
        _ref("OwnerId", ("User",), "Owner", nillable=False),
    ],
    label="Opportunity",
)

USER = _object(
    "User",
    "005",
    [
        *_audit(),
        _f("Username", "string", 80, nillable=False),
        _f("FirstName", "string", 40),
        _f("LastName", "string", 80, nillable=False),
        _sys("Name", "string", 121),
        _f("Email", "email", 128, nillable=False),
        _f("Alias", "string", 8),
        _f("IsActive", "boolean", nillable=False),
        _f(
            "TimeZoneSidKey",
            "picklist",
            40,
            picklist=(
                "America/Los_Angeles",
                "America/New_York",
                "Europe/London",
                "Europe/Berlin",
                "Europe/Paris",
                "Asia/Tokyo",
                "Australia/Sydney",
                "America/Sao_Paulo",
            ),
        ),
        _f(
            "LanguageLocaleKey", "picklist", 40, picklist=("en_US", "de", "fr", "es", "ja", "pt_BR")
        ),
        _f("Department", "string", 80),
        _f("Title", "string", 80),
        _f(
            "UserType",
            "picklist",
            40,
            picklist=("Standard", "AutomatedProcess"),
            default_value="Standard",
        ),
    ],
    label="User",
)

GROUP = _object(
    "Group",
    "00G",
    [
        *_audit(),
        _f("Name", "string", 40, nillable=False),
        _f("DeveloperName", "string", 80),
        _f("Type", "picklist", 40, picklist=("Queue", "Regular", "Role"), nillable=False),
        _f("Email", "email", 80),
    ],
    label="Group",
)

QUEUE_SOBJECT = _object(
    "QueueSobject",
    "03g",
    [
        _sys("Id", "id", 18, nillable=False),
        _ref("QueueId", ("Group",), "Queue", nillable=False),
        _f("SobjectType", "picklist", 40, picklist=("Lead", "Case"), nillable=False),
        _sys("SystemModstamp", "datetime", nillable=False),
    ],
    label="Queue Sobject",
    updateable=False,
)

LEAD_STATUS = _object(
    "LeadStatus",
    "01J",
    [
        *_audit(),
        _f("ApiName", "string", 255),
        _f("MasterLabel", "string", 255),
        _f("SortOrder", "int"),
        _f("IsDefault", "boolean", nillable=False),
        _f("IsConverted", "boolean", nillable=False),
    ],
    label="Lead Status",
    createable=False,
    updateable=False,
    deletable=False,
)

CAMPAIGN = _object(
    "Campaign",
    "701",
    [
        *_audit(),
        _f("Name", "string", 80, nillable=False),
        _f(
            "Type",
            "picklist",
            255,
            picklist=(
                "Webinar",
                "Conference",
                "Email",
                "Advertisement",
                "Content Download",
                "Trade Show",
                "Other",
            ),
        ),
        _f("Status", "picklist", 255, picklist=("Planned", "In Progress", "Completed", "Aborted")),
        _f("IsActive", "boolean", nillable=False),
        _f("StartDate", "date"),
        _f("EndDate", "date"),
    ],
    label="Campaign",
)

CAMPAIGN_MEMBER = _object(
    "CampaignMember",
    "00v",
    [
        *_audit(),
        _ref("CampaignId", ("Campaign",), "Campaign", nillable=False, updateable=False),
        _ref("LeadId", ("Lead",), "Lead", updateable=False),
        _ref("ContactId", ("Contact",), "Contact", updateable=False),
        _f("Status", "picklist", 255, picklist=("Sent", "Responded", "Attended", "Registered")),
        _f("HasResponded", "boolean", nillable=False),
        _f("FirstRespondedDate", "date"),
    ],
    label="Campaign Member",
)

TASK = _object(
    "Task",
    "00T",
    [
        *_audit(),
        _ref("WhoId", ("Contact", "Lead"), "Who"),
        _ref("WhatId", ("Account", "Opportunity"), "What"),
        _ref("OwnerId", ("User",), "Owner", nillable=False),
        _f("Subject", "string", 255),
        _f(
            "Status",
            "picklist",
            255,
            picklist=("Not Started", "In Progress", "Completed"),
            nillable=False,
            default_value="Not Started",
        ),
        _f(
            "Priority",
            "picklist",
            40,
            picklist=("High", "Normal", "Low"),
            nillable=False,
            default_value="Normal",
        ),
        _f("ActivityDate", "date"),
        _f("IsReminderSet", "boolean", nillable=False, default_value=False),
        _f("ReminderDateTime", "datetime"),
        _f("Type", "picklist", 40, picklist=("Call", "Email", "Meeting", "Other")),
        _f("TaskSubtype", "picklist", 40, picklist=("Task", "Email", "Call")),
        _sys("IsClosed", "boolean", nillable=False),
        _f("Description", "textarea", 32000),
    ],
    label="Task",
)

STANDARD_OBJECTS: dict[str, ObjectSchema] = {
    o.name: o
    for o in (
        LEAD,
        CONTACT,
        ACCOUNT,
        OPPORTUNITY,
        USER,
        GROUP,
        QUEUE_SOBJECT,
        LEAD_STATUS,
        CAMPAIGN,
        CAMPAIGN_MEMBER,
        TASK,
    )
}


@dataclass(frozen=True)
class OrgSchema:
    """All objects of one emulated org, looked up case-insensitively like SOQL does."""

    objects: Mapping[str, ObjectSchema] = field(default_factory=lambda: dict(STANDARD_OBJECTS))

    def get(self, name: str) -> ObjectSchema | None:
        """The object named `name`, or None."""
        found = self.objects.get(name)
        if found is not None:
            return found
        lowered = name.lower()
        return next((o for o in self.objects.values() if o.name.lower() == lowered), None)

    def by_prefix(self, prefix: str) -> ObjectSchema | None:
        """The object whose ids start with `prefix`."""
        return next((o for o in self.objects.values() if o.key_prefix == prefix), None)
