"""Assertions about the org's state and the calls made, shared by integration tests."""

from __future__ import annotations

from typing import Any

import pytest

from sfsync.emulator.calllog import CallEntry
from sfsync.emulator.org import Org
from sfsync.emulator.seed_setup import INTEGRATION_USERNAME
from sfsync.emulator.server import Emulator
from sfsync.mappings import load_rules
from sfsync.models import Lead
from sfsync.rules.behavior import Engagement, EventKind
from sfsync.rules.pipeline import decide
from tests.integration.conftest import MAPPINGS

RULES = load_rules(MAPPINGS)
SCORE, RATING, REASON = "Lead_Score__c", "Rating", "Score_Reason__c"


def open_leads(org: Org) -> dict[str, dict[str, Any]]:
    """Leads the worker must score: not deleted, not converted."""
    with org.lock:
        return {
            i: r
            for i, r in org.tables["Lead"].items()
            if not r["IsDeleted"] and not r["IsConverted"]
        }


def org_engagement(org: Org) -> dict[str, list[Engagement]]:
    """Each lead's campaign responses and completed Tasks, read straight from the org's tables.

    An oracle of its own: it does not use the worker's mirror or translation.
    """
    found: dict[str, list[Engagement]] = {}
    with org.lock:
        campaigns = {i: r.get("Type") for i, r in org.tables["Campaign"].items()}
        for row in org.tables["CampaignMember"].values():
            if row.get("LeadId") and row.get("HasResponded") and not row.get("IsDeleted"):
                at = row.get("FirstRespondedDate") or row["CreatedDate"]
                event = Engagement(
                    EventKind.CAMPAIGN_RESPONSE, at, campaigns.get(row["CampaignId"])
                )
                found.setdefault(row["LeadId"], []).append(event)
        for row in org.tables["Task"].values():
            who = str(row.get("WhoId") or "")
            if who.startswith("00Q") and row.get("IsClosed") and not row.get("IsDeleted"):
                subtype = row.get("TaskSubtype")
                detail = subtype if subtype and subtype != "Task" else row.get("Type")
                at = row.get("ActivityDate") or row["CreatedDate"]
                found.setdefault(who, []).append(Engagement(EventKind.TASK, at, detail))
    return found


def worker_writes(org: Org) -> dict[str, dict[str, Any]]:
    """What the worker (the integration user) wrote to each lead, latest value per field.

    Read from the org's own journal: rules tell sfsync's values from people's.
    """
    with org.lock:
        me = next(
            u["Id"] for u in org.tables["User"].values() if u["Username"] == INTEGRATION_USERNAME
        )
    written: dict[str, dict[str, Any]] = {}
    for event in org.writes_by(me):
        written.setdefault(event.record_id, {}).update(event.changes)
    return written


def expected_score(record: dict[str, Any], org: Org | None = None) -> float:
    """What the shipped rules make of the record's current inputs and engagement.

    Decay is worked out per day, so the score is the one of the day the lead
    was last written (its SystemModstamp). Without `org`, the lead has no
    engagement and no value counts as the worker's own.
    """
    if org is None:
        return _score(record, [], {})
    engagement, written = org_engagement(org), worker_writes(org)
    return _score(record, engagement.get(record["Id"], []), written.get(record["Id"], {}))


def _score(record: dict[str, Any], engagement: list[Engagement], written: dict[str, Any]) -> float:
    lead = Lead(record["Id"], record["SystemModstamp"], record)
    decision = decide(lead, RULES, written, record["SystemModstamp"], engagement)
    score: float = decision.summary["score"]
    return score


def calls_since(emu: Emulator, start: int) -> list[CallEntry]:
    """API calls (counted against the allowance) made after index `start` of the log."""
    return [c for c in emu.calls.entries()[start:] if c.counted]


def is_query(call: CallEntry) -> bool:
    return "/query" in call.path or "/queryAll" in call.path


def is_collection_write(call: CallEntry) -> bool:
    return call.path.endswith("/composite/sobjects") and call.method == "PATCH"


def assert_scored(org: Org) -> int:
    """Every open lead carries the score the rules give it, a rating and a reason."""
    leads = open_leads(org)
    engagement, written = org_engagement(org), worker_writes(org)
    for lead_id, record in leads.items():
        expected = _score(record, engagement.get(lead_id, []), written.get(lead_id, {}))
        assert record[SCORE] == expected, lead_id
        assert record[RATING] in ("Hot", "Warm", "Cold"), lead_id
        assert record[REASON] and record[REASON].startswith("Score "), lead_id
    return len(leads)


def client_credentials(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_CLIENT_ID", emu.credentials.client_id)
    monkeypatch.setenv("SF_CLIENT_SECRET", emu.credentials.client_secret)
