"""What a write returns: per-record errors and save results, in Salesforce's shapes.

These live apart from `org` so that the validation and automation modules can
build errors without importing the `Org` class; `org` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]

# Names a blocking duplicate error reports; an admin's rule would have its own.
DUPLICATE_RULE = "Sfsync_Block_Lead_Email"
MATCHING_RULE = "Sfsync_Lead_Email_Exact"


@dataclass(frozen=True)
class OrgError:
    """One error on one record, as Salesforce reports it (`statusCode`, `message`, `fields`).

    `duplicates` holds the ids a blocking duplicate rule matched; Salesforce
    returns them in a `duplicateResult` beside the error.
    """

    status_code: str
    message: str
    fields: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()

    def as_rest(self) -> dict[str, Any]:
        """The REST single-record shape: `{"errorCode", "message", "fields"}`."""
        body = {"errorCode": self.status_code, "message": self.message, "fields": list(self.fields)}
        return self._with_duplicates(body)

    def as_save_result(self) -> dict[str, Any]:
        """The Collections SaveResult shape: `{"statusCode", "message", "fields"}`."""
        body = {
            "statusCode": self.status_code,
            "message": self.message,
            "fields": list(self.fields),
        }
        return self._with_duplicates(body)

    def _with_duplicates(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.duplicates:
            body["duplicateResult"] = duplicate_result(self.message, self.duplicates)
        return body


def duplicate_result(message: str, ids: tuple[str, ...]) -> dict[str, Any]:
    """The `duplicateResult` of a DUPLICATES_DETECTED error (Lead matches only)."""
    matches = [
        {
            "additionalInformation": [],
            "fieldDiffs": [],
            "matchConfidence": 100.0,
            "record": {"attributes": {"type": "Lead"}, "Id": record_id},
        }
        for record_id in ids
    ]
    return {
        "allowSave": False,
        "duplicateRule": DUPLICATE_RULE,
        "duplicateRuleEntityType": "Lead",
        "errorMessage": message,
        "matchResults": [
            {
                "entityType": "Lead",
                "errors": [],
                "matchEngine": "ExactMatchEngine",
                "matchRecords": matches,
                "rule": MATCHING_RULE,
                "size": len(matches),
                "success": True,
            }
        ],
    }


@dataclass(frozen=True)
class SaveResult:
    """The outcome of one create, update or delete."""

    id: str | None
    success: bool
    errors: tuple[OrgError, ...] = ()
    created: bool = False

    @classmethod
    def failed(cls, record_id: str | None, *errors: OrgError) -> SaveResult:
        """A refused write; nothing was stored."""
        return cls(id=record_id, success=False, errors=errors)
