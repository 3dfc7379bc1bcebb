"""simple-salesforce, unchanged, against the emulator: the library sfsync's connector wraps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceExpiredSession

from sfsync.emulator.org import Org
from sfsync.emulator.server import Emulator
from tests.emulator.server_kit import LEADS, OrgIds


@pytest.fixture
def sf(emulator: Emulator) -> Iterator[Salesforce]:
    # Our own session, closed after the test: simple-salesforce would leak its own.
    with requests.Session() as session:
        yield Salesforce(
            instance_url=emulator.instance_url,
            session_id=emulator.credentials.access_token,
            session=session,
            version="62.0",
        )


def test_query_all_follows_every_page(sf: Salesforce, emulator: Emulator) -> None:
    result = sf.query_all(
        "SELECT Id, LastName FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"}
    )
    assert result["totalSize"] == LEADS
    assert len({r["Id"] for r in result["records"]}) == LEADS
    assert emulator.calls.count(path_contains="/query") == 3


def test_query_all_with_deleted_rows(sf: Salesforce, ids: OrgIds) -> None:
    sf.Lead.delete(ids.leads[0])
    result = sf.query_all("SELECT Id FROM Lead WHERE IsDeleted = true", include_deleted=True)
    assert [r["Id"] for r in result["records"]] == [ids.leads[0]]


def test_lead_update_with_auto_assign_off(sf: Salesforce, org: Org, ids: OrgIds) -> None:
    status = sf.Lead.update(
        ids.leads[0], {"OwnerId": ids.rep, "Title": "VP"}, headers={"Sforce-Auto-Assign": "FALSE"}
    )
    assert status == 204
    assert org.tables["Lead"][ids.leads[0]]["OwnerId"] == ids.rep
    assert sf.Lead.get(ids.leads[0])["Title"] == "VP"


def test_collections_through_restful(sf: Salesforce, org: Org, ids: OrgIds) -> None:
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Lead"}, "id": ids.leads[1], "Title": "CTO"},
            {"attributes": {"type": "Lead"}, "id": ids.leads[2], "Rating": "Lukewarm"},
        ],
    }
    results = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert [r["success"] for r in results] == [True, False]
    assert org.tables["Lead"][ids.leads[1]]["Title"] == "CTO"


def test_api_usage_is_parsed(sf: Salesforce, emulator: Emulator) -> None:
    emulator.usage.set_used(99)
    sf.query("SELECT Id FROM Lead LIMIT 1")
    usage = sf.api_usage["api-usage"]
    assert (usage.used, usage.total) == (100, 1_000_000)


def test_describe_and_limits(sf: Salesforce) -> None:
    assert any(o["name"] == "Lead" for o in sf.describe()["sobjects"])
    assert sf.Lead.describe()["keyPrefix"] == "00Q"
    assert sf.limits()["DailyApiRequests"]["Max"] == 1_000_000


def test_expired_session_raises_the_library_error(sf: Salesforce, emulator: Emulator) -> None:
    emulator.sessions.expire_all()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Lead LIMIT 1")
