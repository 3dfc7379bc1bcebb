"""Every per-lead error `convertLead` returns, worded in one place.

Codes are Salesforce `StatusCode` values. The situations are documented
(shared/SALESFORCE.md §4); the exact codes and wording for several of them
are not, and are marked [INF]: correct them here once seen in a real org.
Field names are the `LeadConvert` element names, as the API reports them.
"""

from __future__ import annotations

from sfsync.emulator import messages
from sfsync.emulator.results import OrgError


def missing(element: str) -> OrgError:
    """A required element (leadId, convertedStatus) is absent or empty. [INF wording]"""
    return OrgError(
        "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{element}]", (element,)
    )


def malformed_id(element: str, value: str) -> OrgError:
    """An id element holds text that is not an id."""
    return OrgError("MALFORMED_ID", f"{element}: id value of incorrect type: {value}", (element,))


def wrong_type(element: str, value: str) -> OrgError:
    """An id element names a record of another object."""
    return OrgError(
        "INVALID_CROSS_REFERENCE_KEY", f"{element}: id value of incorrect type: {value}", (element,)
    )


def not_found(element: str) -> OrgError:
    """An id element names no record of this org."""
    return OrgError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", (element,))


def deleted(element: str) -> OrgError:
    """The lead, account, contact or opportunity named is in the recycle bin."""
    return messages.entity_is_deleted((element,))


def already_converted() -> OrgError:
    """The lead was converted before: it can no longer be referenced."""
    return messages.converted_lead(("leadId",))


def invalid_status(value: str) -> OrgError:
    """convertedStatus is not a LeadStatus with IsConverted = true."""
    return OrgError("INVALID_STATUS", f"invalid convertedStatus: {value}", ("convertedStatus",))


def owner_required() -> OrgError:
    """A queue owns the lead and no ownerId says who owns the new records. [INF code]"""
    return OrgError(
        "REQUIRED_FIELD_MISSING",
        "ownerId is required when the lead is owned by a queue: "
        "accounts, contacts and opportunities cannot be owned by a queue",
        ("ownerId",),
    )


def account_required(element: str) -> OrgError:
    """contactId or opportunityId without the accountId they must belong to. [INF code]"""
    return OrgError(
        "REQUIRED_FIELD_MISSING", f"accountId is required when {element} is specified", (element,)
    )


def not_in_account(element: str) -> OrgError:
    """The contact or opportunity named belongs to another account. [INF code]"""
    return OrgError(
        "INVALID_CROSS_REFERENCE_KEY",
        f"{element}: the record does not belong to the account accountId names",
        (element,),
    )


def opportunity_conflict(element: str) -> OrgError:
    """opportunityId together with opportunityName or doNotCreateOpportunity. [INF code]"""
    return OrgError(
        "FIELD_INTEGRITY_EXCEPTION",
        f"opportunityId cannot be combined with {element}",
        ("opportunityId", element),
    )


def unsupported(element: str) -> OrgError:
    """accountRecord, contactRecord, opportunityRecord: valid, but not emulated."""
    return OrgError(
        "INVALID_OPERATION", f"{element} is not supported by the sfsync emulator", (element,)
    )
