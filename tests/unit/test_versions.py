"""Which pulled versions are new: a later stamp, or the same second with other inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sfsync.connectors.soql import by_ids_query
from sfsync.jobs.sync import _is_new_version
from sfsync.mappings import load_rules
from sfsync.models import Lead
from sfsync.rules.pipeline import input_hash
from sfsync.store import LeadState

RULES = load_rules(Path(__file__).resolve().parents[2] / "mappings")
T = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def _lead(stamp: datetime, title: str) -> Lead:
    return Lead("00Q000000000001AAA", stamp, {"Title": title, "LastName": "X"})


def _state(stamp: datetime, title: str) -> LeadState:
    return LeadState(
        lead_id="00Q000000000001AAA",
        system_modstamp=stamp,
        input_hash=input_hash(_lead(stamp, title), RULES),
    )


@pytest.mark.parametrize(
    ("stamp", "title", "new"),
    [
        (T + timedelta(seconds=1), "CEO", True),  # later
        (T, "CEO", False),  # the overlap re-reading what was decided
        (T, "CTO", True),  # a second change within the same second
        (T - timedelta(seconds=1), "CTO", False),  # older than what was decided
    ],
)
def test_new_versions(stamp: datetime, title: str, new: bool) -> None:
    assert _is_new_version(_lead(stamp, title), _state(T, "CEO"), RULES) is new
    assert _is_new_version(_lead(stamp, title), None, RULES) is True


def test_re_reading_other_objects_asks_only_for_fields_they_have() -> None:
    soql = by_ids_query("Contact", ["Lead_Score__c"], ["003000000000001AAA"])
    assert "IsConverted" not in soql and "MasterRecordId" not in soql
    assert soql.startswith("SELECT Id, SystemModstamp, IsDeleted, LastModifiedById, Lead_Score__c")
    assert "IsConverted" in by_ids_query("Lead", [], ["00Q000000000001AAA"])
