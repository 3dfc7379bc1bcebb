"""Finding leads whose create answer was lost: equal markers are told apart by other fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sfsync.connectors.salesforce import SalesforceClient
from sfsync.jobs.capture_send import ToCreate, find_created

SINCE = datetime(2026, 1, 1, tzinfo=UTC)


class FakeOrg:
    """The one call `find_created` makes, answered with fixed records."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.queries: list[str] = []

    def query(self, soql: str) -> list[dict[str, Any]]:
        self.queries.append(soql)
        return self.records


def twin(first: str, title: str | None = None) -> dict[str, Any]:
    return {"FirstName": first, "LastName": "Quell", "Company": "Acme", "Email": None,
            "Title": title, "Phone": None}  # fmt: skip


def test_equal_markers_go_to_the_lead_whose_other_fields_agree() -> None:
    items = [ToCreate("k-anna", twin("Anna"), SINCE), ToCreate("k-berta", twin("Berta"), SINCE),
             ToCreate("k-carla", twin("carla ", "CEO"), SINCE)]  # fmt: skip
    org = FakeOrg([{"Id": "00Q3", **twin("Carla", "ceo")}, {"Id": "00Q2", **twin("Berta")},
                   {"Id": "00Q1", **twin("Anna")}])  # fmt: skip

    found = find_created(cast(SalesforceClient, org), "005me", items)

    assert found == {"k-anna": "00Q1", "k-berta": "00Q2", "k-carla": "00Q3"}
    assert "FirstName, Title, Phone" in org.queries[0]


def test_a_marker_nobody_sent_and_a_lead_not_found_stay_apart() -> None:
    items = [ToCreate("k-anna", twin("Anna"), SINCE), ToCreate("k-dora", twin("Dora"), SINCE)]
    other = {"Id": "00Q9", **twin("Anna"), "Company": "Elsewhere"}
    org = FakeOrg([other, {"Id": "00Q1", **twin("Dora")}])
    # Another company's Anna is not this Anna: her create is still unknown (sent again).
    assert find_created(cast(SalesforceClient, org), "005me", items) == {"k-dora": "00Q1"}
