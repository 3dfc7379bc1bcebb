"""The SOQL engine's features, case by case, over a small org built with `Org.load`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sfsync.emulator import soql
from sfsync.emulator.org import Org

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class World:
    """The org and the ids of its named records."""

    org: Org
    ids: dict[str, str]

    def run(self, text: str, *, include_deleted: bool = False) -> soql.QueryResult:
        query = soql.parse(text, self.org.schema)
        tables = self.org.tables
        return soql.execute(
            query, tables, include_deleted=include_deleted, api_version="62.0", now=T0
        )

    def names(self, text: str, **kw: Any) -> list[str]:
        return [row["LastName"] for row in self.run(text, **kw).page(0, 100)]


def _leads(users: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        "alpha": {
            "LastName": "Alpha", "Company": "Acme", "Email": "alpha@example.com",
            "OwnerId": users["ann"], "NumberOfEmployees": 10, "AnnualRevenue": 1000,
            "Rating": "Hot", "CreatedDate": T0 - DAY, "Title": 'VP "Sales"\n\\ Ops',
            "City": "\u03c2",  # final small sigma: folds like the other two sigmas
        },
        "bravo": {
            "LastName": "bravo", "Company": "O'Hara & Sons", "OwnerId": users["queue"],
            "Rating": "Warm", "CreatedDate": T0 - 10 * DAY, "LeadSource": "Web",
        },
        "charlie": {
            "LastName": "Charlie_1%", "Company": "Zeta", "Email": "CHARLIE@Example.com",
            "OwnerId": users["bob"], "NumberOfEmployees": 500, "CreatedDate": T0,
            "ConvertedDate": date(2024, 4, 30), "HasOptedOutOfEmail": True,
        },
        "delta": {"LastName": "Delta", "Company": "Gone", "OwnerId": users["ann"],
                  "IsDeleted": True, "CreatedDate": T0},
        "echo": {"LastName": "Écho", "Company": "Ng", "Email": "echo@example.com",
                 "OwnerId": None, "CreatedDate": T0 + timedelta(hours=11, minutes=59)},
    }  # fmt: skip


@pytest.fixture(scope="module")
def world() -> World:
    org = Org()
    ids: dict[str, str] = {}
    people = [{"FirstName": "Ann", "LastName": "Lee", "IsActive": True, "Email": "ann@x.org"},
              {"FirstName": "Bob", "LastName": "Roe", "IsActive": False}]  # fmt: skip
    ids["ann"], ids["bob"] = org.load("User", people, stamp=T0)
    [ids["queue"]] = org.load("Group", [{"Name": "Inbound", "Type": "Queue"}], stamp=T0)
    org.load("QueueSobject", [{"QueueId": ids["queue"], "SobjectType": "Lead"}], stamp=T0)
    [ids["acme"]] = org.load("Account", [{"Name": "Acme", "OwnerId": ids["ann"]}], stamp=T0)
    org.load("Contact", [{"LastName": "Kim", "AccountId": ids["acme"]}], stamp=T0)
    leads = _leads(ids)
    ids.update(zip(leads, org.load("Lead", list(leads.values()), stamp=T0), strict=True))
    return World(org, ids)


WHERE_CASES = [
    # Text compares ignore case; != and NOT IN keep nulls; < and > never match null.
    ("Email = 'ALPHA@example.com'", ["Alpha"]),
    ("Email != 'alpha@example.com'", ["bravo", "Charlie_1%", "Écho"]),
    ("Email <> 'alpha@example.com'", ["bravo", "Charlie_1%", "Écho"]),
    ("Email = null", ["bravo"]),
    ("Email != NULL", ["Alpha", "Charlie_1%", "Écho"]),
    ("Email = ''", ["bravo"]),
    ("Company < 'b'", ["Alpha"]),
    ("Company >= 'o'", ["bravo", "Charlie_1%"]),
    ("NumberOfEmployees > 10", ["Charlie_1%"]),
    ("NumberOfEmployees >= 10", ["Alpha", "Charlie_1%"]),
    ("NumberOfEmployees < 500", ["Alpha"]),
    ("NumberOfEmployees <= 500.0", ["Alpha", "Charlie_1%"]),
    ("NumberOfEmployees != 10", ["bravo", "Charlie_1%", "Écho"]),
    ("NumberOfEmployees < null", []),
    ("AnnualRevenue = 1000", ["Alpha"]),
    ("AnnualRevenue > -999.5", ["Alpha"]),
    ("LastName LIKE 'a%'", ["Alpha"]),
    ("LastName LIKE '_LPHA'", ["Alpha"]),
    ("LastName LIKE '%\\_1\\%'", ["Charlie_1%"]),
    ("LastName LIKE 'charlie_1_'", ["Charlie_1%"]),
    ("LastName LIKE '%1'", []),
    ("LastName LIKE 'é%'", ["Écho"]),
    ("Company LIKE '%o\\'hara%'", ["bravo"]),
    ("NOT LastName LIKE 'a%'", ["bravo", "Charlie_1%", "Écho"]),
    ("Email LIKE '%'", ["Alpha", "Charlie_1%", "Écho"]),
    ("City LIKE '\u03a3'", ["Alpha"]),
    ("City = '\u03c3'", ["Alpha"]),
    ("Rating IN ('hot', 'Warm')", ["Alpha", "bravo"]),
    ("Rating NOT IN ('Hot')", ["bravo", "Charlie_1%", "Écho"]),
    ("Rating IN ('Hot', null)", ["Alpha", "Charlie_1%", "Écho"]),
    ("Rating not in ('Hot', null)", ["bravo"]),
    ("HasOptedOutOfEmail = true", ["Charlie_1%"]),
    ("HasOptedOutOfEmail = False", ["Alpha", "bravo", "Écho"]),
    ("ConvertedDate = 2024-04-30", ["Charlie_1%"]),
    ("ConvertedDate < 2024-05-01", ["Charlie_1%"]),
    ("ConvertedDate = YESTERDAY", ["Charlie_1%"]),
    ("ConvertedDate = LAST_N_DAYS:1", ["Charlie_1%"]),
    ("ConvertedDate = TODAY", []),
    # Relative dates are whole UTC days around `now` (2024-05-01 12:00).
    ("CreatedDate = TODAY", ["Charlie_1%", "Écho"]),
    ("CreatedDate = YESTERDAY", ["Alpha"]),
    ("CreatedDate = TOMORROW", []),
    ("CreatedDate < TODAY", ["Alpha", "bravo"]),
    ("CreatedDate <= TODAY", ["Alpha", "bravo", "Charlie_1%", "Écho"]),
    ("CreatedDate > YESTERDAY", ["Charlie_1%", "Écho"]),
    ("CreatedDate >= YESTERDAY", ["Alpha", "Charlie_1%", "Écho"]),
    ("CreatedDate != TODAY", ["Alpha", "bravo"]),
    ("CreatedDate = LAST_N_DAYS:1", ["Alpha", "Charlie_1%", "Écho"]),
    ("CreatedDate = LAST_N_DAYS:10", ["Alpha", "bravo", "Charlie_1%", "Écho"]),
    ("CreatedDate = last_n_days:9", ["Alpha", "Charlie_1%", "Écho"]),
    ("CreatedDate = NEXT_N_DAYS:5", []),
    ("CreatedDate IN (YESTERDAY, LAST_N_DAYS:0)", ["Alpha", "Charlie_1%", "Écho"]),
    ("CreatedDate = 2024-05-01T12:00:00Z", ["Charlie_1%"]),
    ("CreatedDate = 2024-05-01T12:00:00.000Z", ["Charlie_1%"]),
    ("CreatedDate = 2024-05-01T14:00:00+02:00", ["Charlie_1%"]),
    ("CreatedDate > 2024-05-01T05:00:00.000-08:00", ["Écho"]),
    ("CreatedDate >= 2024-04-30T12:00:00Z AND CreatedDate < 2024-05-01T12:00:00Z", ["Alpha"]),
    ("Owner.Name = 'ann lee'", ["Alpha"]),
    ("Owner.IsActive = false", ["Charlie_1%"]),
    # A queue has no IsActive and Écho has no owner: both read as null.
    ("Owner.IsActive = null", ["bravo", "Écho"]),
    ("Owner.Name = 'Inbound'", ["bravo"]),
    ("(Rating = 'Hot' OR Rating = 'Warm') AND NumberOfEmployees = null", ["bravo"]),
    ("Rating = 'Hot' OR Rating = 'Warm' OR LastName = 'ÉCHO'", ["Alpha", "bravo", "Écho"]),
    ("NOT (Rating = 'Hot' OR Email = null)", ["Charlie_1%", "Écho"]),
    ("NOT NOT Rating = 'Hot'", ["Alpha"]),
    ("Rating = 'Hot' AND (NOT (Email = null OR Company = 'x'))", ["Alpha"]),
    ("Company = 'O\\'Hara & Sons'", ["bravo"]),
    ("Title = 'VP \\\"Sales\\\"\\n\\\\ Ops'", ["Alpha"]),
    ("Title = 'vp \"sales\"\\N\\\\ ops'", ["Alpha"]),
]


@pytest.mark.parametrize(("where", "expected"), WHERE_CASES)
def test_where(world: World, where: str, expected: list[str]) -> None:
    assert world.names(f"SELECT LastName FROM Lead WHERE {where} ORDER BY LastName") == expected


def test_ids_match_in_15_and_18_characters(world: World) -> None:
    ann, charlie = world.ids["ann"], world.ids["charlie"]
    assert world.names(f"SELECT LastName FROM Lead WHERE OwnerId = '{ann[:15]}'") == ["Alpha"]
    where = f"Id IN ('{charlie}', '{world.ids['alpha'][:15]}') ORDER BY LastName"
    assert world.names(f"SELECT LastName FROM Lead WHERE {where}") == ["Alpha", "Charlie_1%"]


def test_deleted_rows_only_with_query_all(world: World) -> None:
    text = "SELECT LastName FROM Lead WHERE Company = 'Gone'"
    assert world.names(text) == []
    assert world.names(text, include_deleted=True) == ["Delta"]
    assert world.run("SELECT COUNT() FROM Lead", include_deleted=True).total_size == 5


ORDER_CASES = [
    ("LastName", ["Alpha", "bravo", "Charlie_1%", "Écho"]),
    ("LastName DESC", ["Écho", "Charlie_1%", "bravo", "Alpha"]),
    # Nulls first on ASC and last on DESC, unless told; ties keep table order.
    ("NumberOfEmployees", ["bravo", "Écho", "Alpha", "Charlie_1%"]),
    ("NumberOfEmployees DESC", ["Charlie_1%", "Alpha", "bravo", "Écho"]),
    ("NumberOfEmployees ASC NULLS LAST", ["Alpha", "Charlie_1%", "bravo", "Écho"]),
    ("NumberOfEmployees DESC NULLS FIRST", ["bravo", "Écho", "Charlie_1%", "Alpha"]),
    ("NumberOfEmployees NULLS FIRST, LastName DESC", ["Écho", "bravo", "Alpha", "Charlie_1%"]),
    ("Rating DESC, LastName", ["bravo", "Alpha", "Charlie_1%", "Écho"]),
    ("HasOptedOutOfEmail DESC, CreatedDate", ["Charlie_1%", "bravo", "Alpha", "Écho"]),
    ("Owner.Name DESC NULLS LAST, LastName", ["bravo", "Charlie_1%", "Alpha", "Écho"]),
    ("CreatedDate desc nulls last", ["Écho", "Charlie_1%", "Alpha", "bravo"]),
]


@pytest.mark.parametrize(("order", "expected"), ORDER_CASES)
def test_order_by(world: World, order: str, expected: list[str]) -> None:
    assert world.names(f"SELECT LastName FROM Lead ORDER BY {order}") == expected


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("LIMIT 2", ["Alpha", "bravo"]),
        ("LIMIT 2 OFFSET 1", ["bravo", "Charlie_1%"]),
        ("OFFSET 3", ["Écho"]),
        ("LIMIT 0", []),
        ("OFFSET 2000", []),
    ],
)
def test_limit_and_offset(world: World, tail: str, expected: list[str]) -> None:
    result = world.run(f"SELECT LastName FROM Lead ORDER BY LastName {tail}")
    assert [row["LastName"] for row in result.page(0, 10)] == expected
    assert result.total_size == len(expected)


def test_count(world: World) -> None:
    result = world.run("select count() from LEAD where Email != null limit 2")
    assert (result.is_count, result.total_size, result.page(0, 10)) == (True, 2, [])
    assert world.run("SELECT COUNT() FROM Lead WHERE Email != null").total_size == 3


def test_record_json_is_salesforce_shaped(world: World) -> None:
    text = (
        "select owner.name, id, numberofemployees, ANNUALREVENUE, createddate, convertedDate, "
        "hasOptedOutOfEmail, Owner.Email, email FROM lead WHERE LastName = 'Charlie_1%'"
    )
    [row] = world.run(text).page(0, 1)
    base = "/services/data/v62.0/sobjects"
    lead, bob = world.ids["charlie"], world.ids["bob"]
    assert row == {
        "attributes": {"type": "Lead", "url": f"{base}/Lead/{lead}"},
        "Owner": {
            "attributes": {"type": "User", "url": f"{base}/User/{bob}"},
            "Name": "Bob Roe",
            "Email": None,
        },
        "Id": lead,
        "NumberOfEmployees": 500,
        "AnnualRevenue": None,
        "CreatedDate": "2024-05-01T12:00:00.000+0000",
        "ConvertedDate": "2024-04-30",
        "HasOptedOutOfEmail": True,
        "Email": "CHARLIE@Example.com",
    }
    assert list(row) == ["attributes", "Owner", "Id", "NumberOfEmployees", "AnnualRevenue",
                         "CreatedDate", "ConvertedDate", "HasOptedOutOfEmail", "Email"]  # fmt: skip


def test_numbers_take_the_field_json_type(world: World) -> None:
    [row] = world.run(
        "SELECT NumberOfEmployees, AnnualRevenue FROM Lead WHERE LastName = 'Alpha'"
    ).page(0, 1)
    assert (row["NumberOfEmployees"], row["AnnualRevenue"]) == (10, 1000.0)
    assert (type(row["NumberOfEmployees"]), type(row["AnnualRevenue"])) == (int, float)


def test_polymorphic_owner_follows_the_id_prefix(world: World) -> None:
    text = (
        "SELECT Owner.Name, Owner.IsActive, Owner.Type FROM Lead "
        "WHERE LastName IN ('bravo', 'Alpha') ORDER BY LastName"
    )
    alpha, bravo = world.run(text).page(0, 2)
    assert alpha["Owner"]["attributes"]["type"] == "User"
    assert (alpha["Owner"]["IsActive"], alpha["Owner"]["Type"]) == (True, None)
    assert bravo["Owner"] == {
        "attributes": {
            "type": "Group",
            "url": f"/services/data/v62.0/sobjects/Group/{world.ids['queue']}",
        },
        "Name": "Inbound",
        "IsActive": None,
        "Type": "Queue",
    }


def test_null_parent_renders_null(world: World) -> None:
    [row] = world.run("SELECT Owner.Name FROM Lead WHERE LastName = 'Écho'").page(0, 1)
    assert row["Owner"] is None


def test_multi_level_and_queue_paths(world: World) -> None:
    [contact] = world.run("SELECT Account.Owner.Name, Account.Name FROM Contact").page(0, 1)
    assert contact["Account"]["Owner"]["Name"] == "Ann Lee"
    assert list(contact["Account"]) == ["attributes", "Owner", "Name"]
    [queue] = world.run("SELECT Queue.Name FROM QueueSobject WHERE SobjectType = 'Lead'").page(0, 1)
    assert queue["Queue"]["Name"] == "Inbound"


def test_api_version_in_urls(world: World) -> None:
    query = soql.parse("SELECT Id FROM Account", world.org.schema)
    for version in ("59.0", "v59.0"):
        result = soql.execute(query, world.org.tables, include_deleted=False, api_version=version)
        assert result.page(0, 1)[0]["attributes"]["url"].startswith("/services/data/v59.0/")


def test_pages_slice_the_result(world: World) -> None:
    result = world.run("SELECT LastName FROM Lead ORDER BY LastName")
    assert [row["LastName"] for row in result.page(1, 2)] == ["bravo", "Charlie_1%"]
    assert result.page(4, 2) == []


def test_flat_values_for_csv(world: World) -> None:
    result = world.run("SELECT Id, owner.name, CreatedDate FROM Lead WHERE LastName = 'Alpha'")
    assert result.columns == ("Id", "Owner.Name", "CreatedDate")
    assert result.flat(0, 5) == [(world.ids["alpha"], "Ann Lee", T0 - DAY)]


def test_a_result_is_a_snapshot() -> None:
    org = Org()
    [user] = org.load("User", [{"LastName": "Old"}])
    [lead] = org.load("Lead", [{"LastName": "Before", "OwnerId": user}])
    query = soql.parse("SELECT LastName, Owner.Name FROM Lead", org.schema)
    result = soql.execute(query, org.tables, include_deleted=False, api_version="62.0")
    # Writes replace record dicts; the result keeps what it matched.
    org.tables["Lead"][lead] = {**org.tables["Lead"][lead], "LastName": "After"}
    org.tables["User"][user] = {**org.tables["User"][user], "Name": "New"}
    [row] = result.page(0, 1)
    assert (row["LastName"], row["Owner"]["Name"]) == ("Before", "Old")


def test_now_defaults_to_the_current_time() -> None:
    org = Org()
    org.load("Lead", [{"LastName": "Fresh"}], stamp=datetime.now(UTC))
    # LAST_N_DAYS:1 spans yesterday and today, so a midnight in between cannot flake this.
    recent = soql.parse("SELECT COUNT() FROM Lead WHERE CreatedDate = LAST_N_DAYS:1", org.schema)
    future = soql.parse("SELECT COUNT() FROM Lead WHERE CreatedDate = TOMORROW", org.schema)
    counts = [
        soql.execute(query, org.tables, include_deleted=False, api_version="62.0").total_size
        for query in (recent, future)
    ]
    assert counts == [1, 0]
