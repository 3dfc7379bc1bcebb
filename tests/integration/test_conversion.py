"""Lead conversion by the real worker against the emulator: targets, owners, at-most-once."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfsync.emulator.convert import LeadConvert
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.emulator.settings import ValidationRule
from sfsync.store import OutboxKind, OutboxState
from tests.integration.conftest import MAPPINGS, Worker, worker_settings
from tests.integration.test_sync_cycle import _after_first_query

HOT = {
    "Status": "Marketing Qualified",
    "Title": "CEO",
    "LeadSource": "Web",
    "Industry": "Technology",
    "NumberOfEmployees": 500,
    "Country": "USA",
}


def _lead(seeded: SeededOrg, n: int, **values: Any) -> str:
    fields = {
        "FirstName": f"Ada{n}",
        "LastName": f"Convertible{n}",
        "Company": f"Zyxel Quanta {n}",
        "Email": f"ada{n}@zyxelquanta{n}.example",
        **HOT,
        **values,
    }
    result = seeded.org.create("Lead", fields, user_id=seeded.human_user_ids[0], auto_assign=False)
    assert result.success, result.errors
    assert result.id is not None
    return result.id


def _converts(seeded: SeededOrg, lead_id: str) -> int:
    return sum(1 for e in seeded.org.history if e.operation == "convert" and e.record_id == lead_id)


def _mappings(tmp_path: Path, **replace: str) -> Path:
    copy = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, copy)
    conversion = copy / "conversion.yaml"
    text = conversion.read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    conversion.write_text(text)
    return copy


def test_a_qualified_lead_becomes_account_contact_and_opportunity(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    lead_id = _lead(seeded, 1)
    accounts_before = len(seeded.org.tables["Account"])
    worker = make_worker()

    worker.job.run_once()

    lead = seeded.org.get("Lead", lead_id)
    assert lead is not None and lead["IsConverted"] and lead["Status"] == "Closed - Converted"
    account = seeded.org.get("Account", lead["ConvertedAccountId"])
    contact = seeded.org.get("Contact", lead["ConvertedContactId"])
    opportunity = seeded.org.get("Opportunity", lead["ConvertedOpportunityId"])
    assert account is not None and account["Name"] == "Zyxel Quanta 1"
    assert contact is not None and contact["Email"] == "ada1@zyxelquanta1.example"
    assert opportunity is not None and opportunity["Name"] == "Zyxel Quanta 1 - Web"
    assert contact["Lead_Score__c"] == 80  # copied onto the new contact after conversion
    assert len(seeded.org.tables["Account"]) > accounts_before
    (row,) = [r for r in worker.store.outbox_for(lead_id) if r.kind == OutboxKind.CONVERT]
    assert row.state == OutboxState.DONE
    assert row.result == {
        "account_id": account["Id"],
        "contact_id": contact["Id"],
        "opportunity_id": opportunity["Id"],
    }
    assert _converts(seeded, lead_id) == 1
    assert worker.job.run_once().written == 0  # converted: never touched again
    assert worker.store.outbox_counts(OutboxKind.CONVERT)["done"] >= 1


def test_a_known_person_converts_into_their_contact_and_account(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    rep = seeded.human_user_ids[0]
    account = seeded.org.create(
        "Account",
        {"Name": "Zyxel Quanta 2 GmbH", "Website": "https://www.zyxelquanta2.example"},
        user_id=rep,
    )
    contact = seeded.org.create(
        "Contact",
        {"LastName": "Known", "AccountId": account.id, "Email": "ADA2@zyxelquanta2.example"},
        user_id=rep,
    )
    domain_only = _lead(seeded, 3, Email="grace@zyxelquanta2.example", Company="ZQ2")
    person = _lead(seeded, 2)
    accounts = set(seeded.org.tables["Account"])

    make_worker().job.run_once()

    converted = seeded.org.get("Lead", person)
    assert converted is not None and converted["ConvertedContactId"] == contact.id
    assert converted["ConvertedAccountId"] == account.id
    by_domain = seeded.org.get("Lead", domain_only)
    assert by_domain is not None and by_domain["ConvertedAccountId"] == account.id
    assert by_domain["ConvertedContactId"] != contact.id
    created = set(seeded.org.tables["Account"]) - accounts
    assert created == _accounts_of_others(seeded, {person, domain_only}) - accounts


def _accounts_of_others(seeded: SeededOrg, known: set[str]) -> set[str]:
    """Accounts this run's other conversions (the seeded leads the rules qualify) went into."""
    others = {
        e.record_id
        for e in seeded.org.history
        if e.operation == "convert" and e.record_id not in known
    }
    return {str(seeded.org.tables["Lead"][i]["ConvertedAccountId"]) for i in others}


def test_without_opportunity_and_with_a_fallback_owner_for_queue_leads(
    seeded: SeededOrg,
    emulator: Emulator,
    store_url: str,
    tmp_path: Path,
) -> None:
    owner = seeded.human_user_ids[1]
    mappings = _mappings(
        tmp_path,
        **{
            "create_opportunity: true": "create_opportunity: false",
            "# fallback_owner: 005XXXXXXXXXXXXXXX": f"fallback_owner: {owner}",
        },
    )
    queued = _lead(seeded, 4, OwnerId=seeded.queue_ids["Lead Intake"])
    worker = Worker(worker_settings(emulator, store_url, sfsync_mappings=mappings))
    try:
        worker.job.run_once()
    finally:
        worker.close()

    lead = seeded.org.get("Lead", queued)
    assert lead is not None and lead["IsConverted"] and lead["ConvertedOpportunityId"] is None
    account = seeded.org.get("Account", lead["ConvertedAccountId"])
    assert account is not None and account["OwnerId"] == owner


def test_a_queue_lead_without_fallback_owner_is_reported_not_sent(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    queued = _lead(seeded, 5, OwnerId=seeded.queue_ids["Lead Intake"])
    worker = make_worker()

    worker.job.run_once()

    lead = seeded.org.get("Lead", queued)
    assert lead is not None and not lead["IsConverted"]
    decision = worker.store.decisions_for(queued, limit=1)[0]
    assert "a queue owns the lead" in decision.summary["conversion_blocked"]
    assert not [r for r in worker.store.outbox_for(queued) if r.kind == OutboxKind.CONVERT]


def test_a_lead_a_person_converted_meanwhile_is_not_converted_again(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lead_id = _lead(seeded, 6)
    rep = seeded.human_user_ids[0]
    request = LeadConvert(lead_id, "Closed - Converted", do_not_create_opportunity=True)

    def person_converts() -> None:
        assert seeded.org.convert_lead(request, user_id=rep).success

    _after_first_query(seeded.org, monkeypatch, person_converts)
    make_worker().job.run_once()

    assert _converts(seeded, lead_id) == 1
    lead = seeded.org.get("Lead", lead_id)
    assert lead is not None and lead["ConvertedOpportunityId"] is None


def test_a_lost_answer_after_the_org_converted_is_recovered_without_a_second_conversion(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    leads = [_lead(seeded, n) for n in (7, 8, 9)]
    emulator.faults.script("drop_after", path_contains="/Soap/", method="POST")
    worker = make_worker()

    worker.job.run_once()

    assert emulator.faults.injected["drop_after"] == 1
    for lead_id in leads:
        assert _converts(seeded, lead_id) == 1
        (row,) = [r for r in worker.store.outbox_for(lead_id) if r.kind == OutboxKind.CONVERT]
        assert row.state == OutboxState.DONE and row.result and row.result["account_id"]


def test_a_batch_with_failures_converts_the_rest(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    good = [_lead(seeded, n) for n in (10, 11)]
    bad = _lead(seeded, 12, Title="CEO (blocked)")
    seeded.org.settings.validation_rules = [
        ValidationRule(
            name="No blocked contacts",
            message="Contacts marked blocked cannot be created",
            predicate=lambda r: "blocked" in str(r.get("Title") or ""),
            sobject="Contact",
        )
    ]
    worker = make_worker()

    report = worker.job.run_once()

    assert all(_converts(seeded, lead_id) == 1 for lead_id in good)
    assert _converts(seeded, bad) == 0
    (dead,) = [r for r in worker.store.outbox_for(bad) if r.kind == OutboxKind.CONVERT]
    assert dead.state == OutboxState.DEAD
    assert dead.error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert report.rejected >= 1
