"""`Org.query` runs the SOQL engine over the org's tables, under its lock and its clock."""

from __future__ import annotations

import pytest

from sfsync.emulator.soql import SoqlError
from tests.emulator.org_kit import Kit, make_kit


@pytest.fixture
def kit() -> Kit:
    return make_kit()


def test_query_and_query_all(kit: Kit) -> None:
    kept, gone = kit.create_lead(LastName="Kept"), kit.create_lead(LastName="Gone")
    kit.org.delete("Lead", gone, user_id=kit.admin)
    soql = "SELECT Id, Name FROM Lead ORDER BY Name"
    live = kit.org.query(soql)
    assert [row["Id"] for row in live.page(0, 10)] == [kept]
    everything = kit.org.query(soql, include_deleted=True)
    assert [row["Name"] for row in everything.page(0, 10)] == ["Gone", "Kept"]


def test_date_literals_follow_the_org_clock(kit: Kit) -> None:
    kit.create_lead()
    # The kit's clock is frozen on 2024-05-01: TODAY is that day, not the machine's.
    result = kit.org.query("SELECT COUNT() FROM Lead WHERE CreatedDate = TODAY")
    assert result.total_size == 1


def test_soql_errors_propagate(kit: Kit) -> None:
    with pytest.raises(SoqlError) as caught:
        kit.org.query("SELECT Nope__c FROM Lead")
    assert caught.value.error_code == "INVALID_FIELD"
