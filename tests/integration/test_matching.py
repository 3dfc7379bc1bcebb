"""Matching end to end: backfill the mirror from a seeded org over HTTPS, then match leads.

The org is the emulator's seeded one, with its planted duplicates; the store
is SQLite and PostgreSQL. Nothing of sfsync is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.ids import to18
from sfsync.jobs.backfill import backfill
from sfsync.jobs.match import find_matches
from sfsync.jobs.match_setup import load_matcher
from sfsync.store import Store
from sfsync.store.mirror import candidates, counts, record
from tests.integration.conftest import MAPPINGS, worker_settings
from tests.integration.helpers import calls_since, client_credentials, is_query

runner = CliRunner()
MATCHER = load_matcher(MAPPINGS)
NOW = "2030-01-01T00:00:00+00:00"


class Mirror:
    """A store and a client against the emulator, closed at the end of the test."""

    def __init__(self, emulator: Emulator, store_url: str) -> None:
        settings = worker_settings(emulator, store_url)
        self.store = Store(store_url)
        self.client = SalesforceClient(settings)

    def backfill(self, **options: Any) -> Any:
        return backfill(self.client, self.store, MATCHER, **options)

    def close(self) -> None:
        self.client.close()
        self.store.close()


@pytest.fixture
def mirror(emulator: Emulator, store_url: str) -> Iterator[Mirror]:
    opened = Mirror(emulator, store_url)
    yield opened
    opened.close()


def live(org_rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i: r for i, r in org_rows.items() if not r["IsDeleted"]}


def new_lead(lead_id: str, **fields: Any) -> dict[str, Any]:
    """A lead as the pull gives it, arriving now."""
    return {"Id": lead_id, "CreatedDate": NOW, **fields}


def test_backfill_mirrors_every_object_with_deletes_and_merges(
    seeded: SeededOrg, emulator: Emulator, mirror: Mirror
) -> None:
    start = len(emulator.calls.entries())
    result = mirror.backfill()
    tables = seeded.org.tables
    held = counts(mirror.store.engine)
    for sobject in ("Lead", "Contact", "Account"):
        total = len(tables[sobject])
        assert result.objects[sobject].read == total
        assert held[sobject]["live"] + held[sobject]["deleted"] == total
    deleted_leads = [r for r in tables["Lead"].values() if r["IsDeleted"]]
    assert held["Lead"]["deleted"] == len(deleted_leads) > 0
    merged = next(r for r in deleted_leads if r.get("MasterRecordId"))
    kept = record(mirror.store.engine, merged["Id"])
    assert kept is not None and all(v is None for v in kept.keys.values())
    # queryAll, one page per object here: three query calls in all.
    queries = [c for c in calls_since(emulator, start) if is_query(c)]
    assert len(queries) == 3 and all("/queryAll" in c.path for c in queries)


def test_planted_duplicates_find_their_originals_with_confidence_and_comparisons(
    seeded: SeededOrg, mirror: Mirror
) -> None:
    mirror.backfill()
    truths = seeded.duplicates[:6]
    leads = [dict(seeded.org.tables["Lead"][t.duplicate_id]) for t in truths]
    found = find_matches(mirror.store, leads, MATCHER)
    for truth in truths:
        by_record = {m.record_id: m for m in found[truth.duplicate_id]}
        match = by_record.get(truth.original_id)
        assert match is not None, truth
        assert match.sobject == truth.original_type
        assert 0.5 <= match.confidence <= 1.0
        matched = [c.field for c in match.comparisons if c.matched]
        assert {"LastName"} <= set(matched) or match.transposed
        plain = json.loads(json.dumps(match.as_dict()))
        assert plain["comparisons"][0]["field"] == "FirstName"


def test_lead_to_contact_and_lead_to_account(seeded: SeededOrg, mirror: Mirror) -> None:
    mirror.backfill()
    tables = seeded.org.tables
    contact = next(c for c in live(tables["Contact"]).values() if c["Email"] and c["FirstName"])
    account = tables["Account"][contact["AccountId"]]
    domain = contact["Email"].split("@")[1]
    person = new_lead(
        "00Q000000000NEW1AA", FirstName=contact["FirstName"], LastName=contact["LastName"],
        Email=contact["Email"].upper(), Company=account["Name"],
    )  # fmt: skip
    by_domain = new_lead("00Q000000000NEW2AA", FirstName="Zed", LastName="Newcomer",
                         Email=f"zed@{domain}", Company="Something Else")  # fmt: skip
    by_website = new_lead("00Q000000000NEW3AA", LastName="Newcomer", Email="zed@gmail.com",
                          Company="Unrelated", Website=account["Website"])  # fmt: skip
    by_name = new_lead("00Q000000000NEW4AA", LastName="Newcomer", Email="new@gmail.com",
                       Company=account["Name"].upper())  # fmt: skip
    found = find_matches(mirror.store, [person, by_domain, by_website, by_name], MATCHER)

    contact_match = next(m for m in found["00Q000000000NEW1AA"] if m.sobject == "Contact")
    assert contact_match.record_id == contact["Id"]
    assert contact_match.account_id == account["Id"] and contact_match.owner_id
    assert contact_match.confidence == 1.0
    for lead_id, field in (("00Q000000000NEW2AA", "Website"), ("00Q000000000NEW3AA", "Website"),
                           ("00Q000000000NEW4AA", "Company")):  # fmt: skip
        accounts = [m for m in found[lead_id] if m.sobject == "Account"]
        assert [m.record_id for m in accounts] == [account["Id"]], lead_id
        assert field in [c.field for c in accounts[0].comparisons if c.matched]
        assert accounts[0].owner_id == account["OwnerId"]


def test_two_new_leads_in_one_batch_match_each_other(mirror: Mirror) -> None:
    mirror.backfill()
    first = new_lead("00Q000000000NEW5AA", FirstName="Quentin", LastName="Zzyzx",
                     Email="qz@zzyzx-labs.example", Company="Zzyzx Labs")  # fmt: skip
    second = {**first, "Id": "00Q000000000NEW6AA", "FirstName": "QUENTIN"}
    found = find_matches(mirror.store, [first, second], MATCHER)
    assert [(m.record_id, m.same_batch) for m in found["00Q000000000NEW6AA"]] == [
        ("00Q000000000NEW5AA", True)
    ]


def test_incremental_backfill_applies_a_delete(
    seeded: SeededOrg, emulator: Emulator, mirror: Mirror
) -> None:
    mirror.backfill()
    lead = next(r for r in live(seeded.org.tables["Lead"]).values() if r["Email"])
    key = record(mirror.store.engine, lead["Id"])
    assert key is not None and key.keys["email_key"]
    lookup = ("email", str(key.keys["email_key"]))
    assert lead["Id"] in [r.id for r in candidates(mirror.store.engine, [lookup])]
    assert seeded.org.delete("Lead", lead["Id"], user_id=seeded.integration_user_id).success

    again = mirror.backfill()
    assert again.objects["Lead"].incremental and again.objects["Lead"].deleted >= 1
    assert again.objects["Lead"].read < len(seeded.org.tables["Lead"])
    assert lead["Id"] not in [r.id for r in candidates(mirror.store.engine, [lookup])]


def test_a_full_backfill_retires_records_purged_from_the_org(
    seeded: SeededOrg, mirror: Mirror
) -> None:
    mirror.backfill()
    contact = next(iter(live(seeded.org.tables["Contact"]).values()))
    seeded.org.purge("Contact", contact["Id"])
    result = mirror.backfill(full=True)
    assert result.objects["Contact"].retired == 1
    assert counts(mirror.store.engine)["Contact"]["deleted"] == 1


def _cli(*args: str) -> tuple[int, str]:
    outcome = runner.invoke(app, ["--log-json", *args])
    return outcome.exit_code, outcome.output


def _json(*args: str) -> Any:
    """The command's --json answer (log lines go to stderr)."""
    outcome = runner.invoke(app, ["--log-json", *args, "--json"])
    assert outcome.exit_code == 0, outcome.output
    return json.loads(outcome.stdout)


def test_the_commands_backfill_match_and_report(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_credentials(emulator, monkeypatch)
    summary = _json("backfill")
    assert summary["Lead"]["read"] == len(seeded.org.tables["Lead"])

    truth = seeded.duplicates[0]
    answer = _json("match", truth.duplicate_id)
    assert truth.original_id in [m["record_id"] for m in answer["matches"]]

    code, output = _cli("match", truth.duplicate_id)
    assert code == 0 and "confidence" in output and "FirstName" in output

    report = _json("duplicates", "report")
    pairs = {(d["lead_id"], d["record_id"]) for d in report["duplicates"]}
    planted = {(t.duplicate_id, t.original_id) for t in seeded.duplicates}
    assert planted <= pairs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("match", "not-an-id"), "LEAD_ID"),
        (("match", to18("00Q000000000XYZ")), "not in the mirror"),
        (("backfill", "--objects", "Opportunity"), "--objects"),
    ],
)
def test_bad_input_to_the_commands_exits_2(
    args: tuple[str, ...], message: str, emulator: Emulator, env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    client_credentials(emulator, monkeypatch)
    code, output = _cli(*args)
    assert code == 2 and message in output


def test_a_bad_matching_file_stops_backfill_before_any_call(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    client_credentials(emulator, monkeypatch)
    for source in MAPPINGS.glob("*.yaml"):
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "matching.yaml").write_text("rules:\n  - name: x\n    objects: [Fax]\n")
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(tmp_path))
    start = len(emulator.calls.entries())
    code, output = _cli("backfill")
    assert code == 2 and "matching.yaml:3: rules[0].objects" in output
    assert emulator.calls.entries()[start:] == []


def test_a_lead_pulled_without_its_created_date_takes_the_mirrors(
    seeded: SeededOrg, mirror: Mirror
) -> None:
    mirror.backfill()
    truth = seeded.duplicates[0]
    pulled = dict(seeded.org.tables["Lead"][truth.duplicate_id])
    created = pulled.pop("CreatedDate")
    copied = ("FirstName", "LastName", "Email", "Company")
    twin = new_lead("00Q000000000NEW7AA", **{k: pulled[k] for k in copied})
    found = find_matches(mirror.store, [pulled, twin], MATCHER)
    (back,) = [m for m in found["00Q000000000NEW7AA"] if m.record_id == truth.duplicate_id]
    assert back.same_batch and back.created == created.isoformat()
