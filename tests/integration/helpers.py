"""Assertions about the org's state and the calls made, shared by integration tests."""

from __future__ import annotations

from typing import Any

import pytest

from sfsync.emulator.calllog import CallEntry
from sfsync.emulator.org import Org
from sfsync.emulator.server import Emulator
from sfsync.mappings import load_rules
from sfsync.rules.score import score_lead
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


def expected_score(record: dict[str, Any]) -> float:
    """What the shipped rules make of the record's current inputs."""
    return score_lead(record, RULES.scoring).score


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
    for lead_id, record in leads.items():
        assert record[SCORE] == expected_score(record), lead_id
        assert record[RATING] in ("Hot", "Warm", "Cold"), lead_id
        assert record[REASON] and record[REASON].startswith("Score "), lead_id
    return len(leads)


def client_credentials(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_CLIENT_ID", emu.credentials.client_id)
    monkeypatch.setenv("SF_CLIENT_SECRET", emu.credentials.client_secret)
