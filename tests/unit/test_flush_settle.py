"""settle(): what became of an outbox row whose send outcome is unknown after a crash."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sfsync.errors import OrgUnavailable
from sfsync.jobs.flush import settle
from sfsync.store import OutboxRow, OutboxState

ME = "005000000000001AAA"
SOMEONE = "005000000000002AAA"
BASE = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
BEFORE, AT_BASE, AFTER = (
    "2024-05-01T11:59:59.000+0000",
    "2024-05-01T12:00:00.000+0000",
    "2024-05-01T12:00:01.000+0000",
)
PATCH = {"Lead_Score__c": 40.0, "Rating": "Warm"}


def row(patch: dict[str, Any] | None = None) -> OutboxRow:
    return OutboxRow(
        id=1,
        decision_id=1,
        run_id="run-1",
        lead_id="00Q000000000001AAA",
        patch=PATCH if patch is None else patch,
        patch_hash="h",
        rules_version="v1",
        base_stamp=BASE,
        state=OutboxState.SENDING,
    )


def record(stamp: str = AT_BASE, by: str = ME, **values: Any) -> dict[str, Any]:
    return {
        "Id": "00Q000000000001AAA",
        "SystemModstamp": stamp,
        "LastModifiedById": by,
        "IsDeleted": False,
        "IsConverted": False,
        "Lead_Score__c": None,
        "Rating": None,
        **values,
    }


SUPERSEDED, DONE, PENDING = OutboxState.SUPERSEDED, OutboxState.DONE, OutboxState.PENDING


@pytest.mark.parametrize(
    ("current", "state"),
    [
        # the lead is gone or can no longer be written
        (None, SUPERSEDED),
        (record(IsDeleted=True), SUPERSEDED),
        (record(IsConverted=True), SUPERSEDED),
        (record(AFTER, IsDeleted=True, Lead_Score__c=40, Rating="Warm"), SUPERSEDED),
        # every patched value is there: the write landed
        (record(AFTER, Lead_Score__c=40.0, Rating="Warm"), DONE),
        (record(AFTER, Lead_Score__c=40, Rating="Warm"), DONE),
        (record(AFTER, SOMEONE, Lead_Score__c=40, Rating="Warm"), DONE),
        (record(AT_BASE, Lead_Score__c=40, Rating="Warm"), DONE),
        # someone else changed the lead after the decision's base: re-decide it
        (record(AFTER, SOMEONE), SUPERSEDED),
        (record(AFTER, SOMEONE, Lead_Score__c=40.0), SUPERSEDED),
        (record("2024-05-01T12:00:00.001+0000", SOMEONE), SUPERSEDED),
        # unchanged since the base, or changed only by sfsync: send it again
        (record(AT_BASE), PENDING),
        (record(BEFORE, SOMEONE), PENDING),
        (record(AT_BASE, SOMEONE), PENDING),
        (record(AFTER, ME), PENDING),
        (record(AFTER, ME, Lead_Score__c=40.0, Rating="Hot"), PENDING),
        (record("2024-05-01T12:00:01Z", ME), PENDING),
    ],
)
def test_settle(current: dict[str, Any] | None, state: OutboxState) -> None:
    assert settle(row(), current, ME) is state


@pytest.mark.parametrize(
    ("patch", "current", "state"),
    [
        ({"Rating": None}, record(AFTER, SOMEONE, Rating=""), DONE),
        ({"Rating": ""}, record(AFTER, SOMEONE, Rating=None), DONE),
        ({"Rating": "Warm"}, record(AFTER, SOMEONE, Rating="warm"), SUPERSEDED),
        ({}, record(AFTER, SOMEONE), DONE),
    ],
)
def test_settle_compares_values_as_the_org_stores_them(
    patch: dict[str, Any], current: dict[str, Any], state: OutboxState
) -> None:
    assert settle(row(patch), current, ME) is state


@pytest.mark.parametrize("stamp", [None, 1714564800, "yesterday"])
def test_an_unreadable_stamp_is_an_org_error(stamp: Any) -> None:
    with pytest.raises(OrgUnavailable):
        settle(row(), record(stamp), ME)
