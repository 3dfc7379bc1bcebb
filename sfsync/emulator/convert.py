"""Lead conversion as SOAP `convertLead` runs it for one lead: all of its records, or none.

Salesforce's semantics (shared/SALESFORCE.md §4), in the order they are checked:

1. the lead exists, is not in the recycle bin and was not converted before;
2. `convertedStatus` is a LeadStatus value with IsConverted = true;
3. the owner of new records is `ownerId` (an active user), else the lead's
   owner, which must then be a user: a queue cannot own accounts;
4. `accountId`, `contactId` and `opportunityId` name live records, the
   contact and opportunity belonging to that account.

Then the writes: the account (an existing one gets only its empty fields
filled from the lead; else a new one), the contact (likewise, under the
account; `overwriteLeadSource` replaces its LeadSource), the opportunity
(unless `doNotCreateOpportunity` or `opportunityId`), and last the lead:
IsConverted, Status, ConvertedDate (the org's today) and the three ids,
journalled as a "convert" WriteEvent.

New and merged records go through the org's ordinary `create`/`update`, so
field checks, validation rules and owner checks apply as on any write. A
refusal anywhere undoes what this lead's conversion had written; the caller
holds the org's lock throughout. This module is the org's own save path, split
out for size: it stamps and journals the lead with `Org._audit`/`Org._journal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from sfsync.emulator import convert_messages as errors
from sfsync.emulator import references
from sfsync.emulator.results import OrgError, Record, SaveResult
from sfsync.ids import is_id, key_prefix, to18

if TYPE_CHECKING:
    from sfsync.emulator.org import Org

OPPORTUNITY_CLOSE_DAYS: Final = 30
# The opportunity's name when the caller gives none: "<Company>-", cut to the field length.
OPPORTUNITY_NAME_SUFFIX: Final = "-"
QUEUE_PREFIX: Final = "00G"

# (target field, Lead field): what a new record takes from the lead, and what a merge fills.
ACCOUNT_FROM_LEAD: Final = (
    ("Name", "Company"), ("BillingStreet", "Street"), ("BillingCity", "City"),
    ("BillingState", "State"), ("BillingPostalCode", "PostalCode"),
    ("BillingCountry", "Country"), ("Industry", "Industry"),
    ("NumberOfEmployees", "NumberOfEmployees"), ("AnnualRevenue", "AnnualRevenue"),
    ("Website", "Website"), ("Phone", "Phone"),
)  # fmt: skip
CONTACT_FROM_LEAD: Final = (
    ("Salutation", "Salutation"), ("FirstName", "FirstName"), ("LastName", "LastName"),
    ("Title", "Title"), ("Email", "Email"), ("Phone", "Phone"),
    ("MobilePhone", "MobilePhone"), ("MailingStreet", "Street"), ("MailingCity", "City"),
    ("MailingState", "State"), ("MailingPostalCode", "PostalCode"),
    ("MailingCountry", "Country"), ("LeadSource", "LeadSource"),
    ("HasOptedOutOfEmail", "HasOptedOutOfEmail"),
)  # fmt: skip


@dataclass(frozen=True)
class LeadConvert:
    """One `leadConverts` element as the org reads it (None: the element was absent)."""

    lead_id: str | None
    converted_status: str | None
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    owner_id: str | None = None
    opportunity_name: str | None = None
    do_not_create_opportunity: bool = False
    overwrite_lead_source: bool = False
    send_notification_email: bool = False
    bypass_account_dedupe_check: bool = False
    bypass_contact_dedupe_check: bool = False
    # accountRecord, contactRecord, opportunityRecord: present but not emulated.
    unsupported: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeadConvertResult:
    """A `LeadConvertResult`: the records the lead became, or why it did not convert."""

    lead_id: str | None
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    errors: tuple[OrgError, ...] = ()

    @property
    def success(self) -> bool:
        """True when the lead was converted."""
        return not self.errors


class Refused(Exception):
    """One check or write refused the conversion; carries what the result reports."""

    def __init__(self, *reasons: OrgError) -> None:
        super().__init__(", ".join(r.status_code for r in reasons))
        self.reasons = reasons


@dataclass
class _Undo:
    """What one conversion wrote so far, so that a refusal can take it all back."""

    org: Org
    history_len: int
    created: list[tuple[str, str]] = field(default_factory=list)
    replaced: list[tuple[str, Record]] = field(default_factory=list)

    def rollback(self) -> None:
        for sobject, record_id in self.created:
            self.org.tables[sobject].pop(record_id, None)
        for sobject, record in reversed(self.replaced):
            self.org.tables[sobject][record["Id"]] = record
        del self.org.history[self.history_len :]


@dataclass(frozen=True)
class _Plan:
    """Everything the checks established, before anything is written."""

    request: LeadConvert
    lead: Record
    status: str
    owner_id: str
    account: Record | None
    contact: Record | None
    opportunity: Record | None


def convert_lead(org: Org, request: LeadConvert, user_id: str) -> LeadConvertResult:
    """Convert one lead, or write nothing and say why (see the module docstring)."""
    undo = _Undo(org, len(org.history))
    try:
        return _write(org, _plan(org, request), user_id, undo)
    except Refused as refused:
        undo.rollback()
        return LeadConvertResult(_echo_id(request.lead_id), errors=refused.reasons)


# -- checks --------------------------------------------------------------------------


def _plan(org: Org, request: LeadConvert) -> _Plan:
    lead = _lead(org, request.lead_id)
    if request.unsupported:
        raise Refused(errors.unsupported(request.unsupported[0]))
    status = _status(org, request.converted_status)
    owner_id = _owner(org, request.owner_id, lead)
    account = _optional(org, "Account", request.account_id, "accountId")
    contact = _belonging(org, "Contact", request.contact_id, "contactId", account)
    _check_opportunity_request(request)
    opportunity = _belonging(org, "Opportunity", request.opportunity_id, "opportunityId", account)
    return _Plan(request, lead, status, owner_id, account, contact, opportunity)


def _lead(org: Org, lead_id: str | None) -> Record:
    if not lead_id:
        raise Refused(errors.missing("leadId"))
    lead = _live(org, "Lead", lead_id, "leadId")
    if lead.get("IsConverted"):
        raise Refused(errors.already_converted())
    return lead


def _status(org: Org, value: str | None) -> str:
    if not value:
        raise Refused(errors.missing("convertedStatus"))
    converted = {
        name
        for row in org.lead_statuses()
        if row.get("IsConverted")
        for name in (row.get("ApiName"), row.get("MasterLabel"))
        if name
    }
    if value not in converted:
        raise Refused(errors.invalid_status(value))
    return value


def _owner(org: Org, owner_id: str | None, lead: Record) -> str:
    """Who owns the new records: `ownerId`, else the lead's owner if that is a user."""
    if owner_id is None:
        owner = str(lead["OwnerId"])
        if key_prefix(owner) == QUEUE_PREFIX:
            raise Refused(errors.owner_required())
        return owner
    # Accounts are owned by users only: a queue id is refused as the wrong type.
    problem = references.check_owner(org.schema, org.tables, owner_id, "Account")
    if problem is not None:
        raise Refused(problem)
    return to18(owner_id)


def _optional(org: Org, sobject: str, value: str | None, element: str) -> Record | None:
    return None if value is None else _live(org, sobject, value, element)


def _belonging(
    org: Org, sobject: str, value: str | None, element: str, account: Record | None
) -> Record | None:
    """A contact or opportunity to merge into: it must belong to the account named."""
    if value is None:
        return None
    if account is None:
        raise Refused(errors.account_required(element))
    record = _live(org, sobject, value, element)
    if record.get("AccountId") != account["Id"]:
        raise Refused(errors.not_in_account(element))
    return record


def _check_opportunity_request(request: LeadConvert) -> None:
    """An existing opportunity excludes naming a new one, or asking for none."""
    if request.opportunity_id is None:
        return
    if request.opportunity_name is not None:
        raise Refused(errors.opportunity_conflict("opportunityName"))
    if request.do_not_create_opportunity:
        raise Refused(errors.opportunity_conflict("doNotCreateOpportunity"))


def _live(org: Org, sobject: str, value: str, element: str) -> Record:
    """The live record an id element names, or the refusal Salesforce gives."""
    if not is_id(value):
        raise Refused(errors.malformed_id(element, value))
    record_id = to18(value)
    if key_prefix(record_id) != org.schema.objects[sobject].key_prefix:
        raise Refused(errors.wrong_type(element, value))
    record = org.tables[sobject].get(record_id)
    if record is None:
        raise Refused(errors.not_found(element))
    if record.get("IsDeleted"):
        raise Refused(errors.deleted(element))
    return record


def _echo_id(value: str | None) -> str | None:
    return to18(value) if value and is_id(value) else None


# -- writes --------------------------------------------------------------------------


def _write(org: Org, plan: _Plan, user_id: str, undo: _Undo) -> LeadConvertResult:
    lead, owner = plan.lead, {"OwnerId": plan.owner_id}
    account_values = {**_from_lead(ACCOUNT_FROM_LEAD, lead), **owner}
    account_id = _save(org, undo, "Account", plan.account, account_values, user_id)
    contact_values = {**_from_lead(CONTACT_FROM_LEAD, lead), "AccountId": account_id, **owner}
    overwrite = ("LeadSource",) if plan.request.overwrite_lead_source else ()
    contact_id = _save(org, undo, "Contact", plan.contact, contact_values, user_id, overwrite)
    opportunity_id = _opportunity(org, plan, account_id, user_id, undo)
    _mark_converted(org, plan, (account_id, contact_id, opportunity_id), user_id)
    return LeadConvertResult(lead["Id"], account_id, contact_id, opportunity_id)


def _from_lead(mapping: tuple[tuple[str, str], ...], lead: Record) -> dict[str, Any]:
    return {target: lead.get(source) for target, source in mapping}


def _save(
    org: Org,
    undo: _Undo,
    sobject: str,
    existing: Record | None,
    values: dict[str, Any],
    user_id: str,
    overwrite: tuple[str, ...] = (),
) -> str:
    """Create the record, or fill the existing one's empty fields (and `overwrite`)."""
    if existing is None:
        result = org.create(sobject, _present(values), user_id=user_id, auto_assign=False)
        record_id = _saved(result)
        undo.created.append((sobject, record_id))
        return record_id
    fills = {
        name: value
        for name, value in _present(values).items()
        if name != "OwnerId" and (existing.get(name) in (None, "") or name in overwrite)
    }
    if fills:
        undo.replaced.append((sobject, existing))
        _saved(org.update(sobject, existing["Id"], fills, user_id=user_id, auto_assign=False))
    return str(existing["Id"])


def _opportunity(org: Org, plan: _Plan, account_id: str, user_id: str, undo: _Undo) -> str | None:
    if plan.opportunity is not None:
        return str(plan.opportunity["Id"])
    if plan.request.do_not_create_opportunity:
        return None
    obj = org.schema.objects["Opportunity"]
    default_name = f"{plan.lead['Company']}{OPPORTUNITY_NAME_SUFFIX}"[: obj.fields["Name"].length]
    values = {
        "Name": plan.request.opportunity_name or default_name,
        "StageName": obj.fields["StageName"].picklist[0],
        "CloseDate": (org.now().date() + timedelta(days=OPPORTUNITY_CLOSE_DAYS)).isoformat(),
        "AccountId": account_id,
        "OwnerId": plan.owner_id,
        "LeadSource": plan.lead.get("LeadSource"),
    }
    return _save(org, undo, "Opportunity", None, values, user_id)


def _mark_converted(org: Org, plan: _Plan, ids: tuple[str, str, str | None], user_id: str) -> None:
    """The lead's own change: system fields no client may write, stamped and journalled."""
    account_id, contact_id, opportunity_id = ids
    changes: Record = {
        "IsConverted": True,
        "Status": plan.status,
        "ConvertedDate": org.now().date(),
        "ConvertedAccountId": account_id,
        "ConvertedContactId": contact_id,
        "ConvertedOpportunityId": opportunity_id,
    }
    obj = org.schema.objects["Lead"]
    record = {**plan.lead, **changes, **org._audit(obj, user_id, creating=False)}
    org.tables["Lead"][record["Id"]] = record
    org._journal("Lead", record, user_id, "convert", changes)


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """The values worth writing: a blank lead field leaves the target's field alone."""
    return {name: value for name, value in values.items() if value not in (None, "")}


def _saved(result: SaveResult) -> str:
    if not result.success or result.id is None:
        raise Refused(*(result.errors or (OrgError("UNKNOWN_EXCEPTION", "the save failed"),)))
    return result.id
