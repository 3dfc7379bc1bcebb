"""Matching in the sync cycle, against the emulator over HTTPS: account owners and duplicate flags.

The mirror is filled by `backfill` as an admin would before turning matching
on; the cycle then matches every new lead against it and against each other.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.errors import SfsyncError
from sfsync.explain import explanation
from sfsync.jobs.backfill import backfill
from sfsync.jobs.match_setup import load_matcher
from tests.integration.conftest import MAPPINGS, Worker

ROUTING = """
owner_field: OwnerId
intake: [Lead Intake]
default: {queue: Lead Intake}
rules:
  - name: Existing customers
    assign: account_owner
"""
ACTIONS = """
actions:
  lead_to_lead: flag
  duplicate_field: Duplicate_Of__c
"""


@pytest.fixture
def matching_mappings(tmp_path: Path) -> Path:
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, directory)
    (directory / "routing.yaml").write_text(ROUTING)
    matching = directory / "matching.yaml"
    matching.write_text(matching.read_text() + ACTIONS)
    fields = directory / "fields.yaml"
    fields.write_text(fields.read_text().replace("write:\n", "write:\n  - Duplicate_Of__c\n", 1))
    return directory


def cycle(
    make_worker: Callable[..., Worker], mappings: Path, *, fill_mirror: bool = False
) -> Worker:
    worker = make_worker(sfsync_mappings=mappings)
    if fill_mirror:
        backfill(worker.client, worker.store, load_matcher(mappings))
    worker.job.run_once()
    worker.close()
    return worker


def lead_row(seeded: SeededOrg, lead_id: str) -> dict[str, Any]:
    with seeded.org.lock:
        return dict(seeded.org.tables["Lead"][lead_id])


def an_account(seeded: SeededOrg) -> dict[str, Any]:
    with seeded.org.lock:
        accounts = [dict(a) for a in seeded.org.tables["Account"].values()
                    if not a.get("IsDeleted") and a.get("Website")]  # fmt: skip
    owned = [a for a in accounts if a["OwnerId"] in seeded.human_user_ids]
    return sorted(owned, key=lambda a: a["Id"])[0]


def test_a_new_lead_from_a_customer_company_goes_to_the_account_owner(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    matching_mappings: Path,
) -> None:
    cycle(make_worker, matching_mappings, fill_mirror=True)
    account = an_account(seeded)
    domain = account["Website"].removeprefix("https://www.")
    intake = seeded.queue_ids["Lead Intake"]
    values = {"FirstName": "Nia", "LastName": "Okafor", "Company": account["Name"],
              "Email": f"nia.okafor@{domain}", "OwnerId": intake}  # fmt: skip
    created = seeded.org.create(
        "Lead", values, user_id=seeded.human_user_ids[-1], auto_assign=False
    )
    assert created.success

    cycle(make_worker, matching_mappings)

    assert lead_row(seeded, str(created.id))["OwnerId"] == account["OwnerId"]
    store = make_worker(sfsync_mappings=matching_mappings).store
    summary = explanation(store, str(created.id))["latest"]["summary"]
    assert any(
        m["record_id"] == account["Id"] and m["sobject"] == "Account" for m in summary["matches"]
    )
    assert summary["routing"]["assignee"] == "account_owner"


def test_a_new_copy_of_a_known_lead_is_flagged_with_the_older_one(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    matching_mappings: Path,
) -> None:
    cycle(make_worker, matching_mappings, fill_mirror=True)
    with seeded.org.lock:
        rows = [dict(r) for r in seeded.org.tables["Lead"].values()]
    open_rows = [r for r in rows if not r["IsDeleted"] and not r["IsConverted"]]
    known = sorted((r for r in open_rows if r.get("Email") and r.get("FirstName")),
                   key=lambda r: r["Id"])[0]  # fmt: skip
    rep = seeded.human_user_ids[-1]
    copy = {k: known[k] for k in ("FirstName", "LastName", "Email", "Company")}
    twin = {**copy, "Email": "ada.twin@example.org", "LastName": "Twin"}
    twin_a = seeded.org.create("Lead", twin, user_id=rep, auto_assign=False)
    twin_b = seeded.org.create("Lead", twin, user_id=rep, auto_assign=False)
    again = seeded.org.create("Lead", copy, user_id=rep, auto_assign=False)
    assert again.success and twin_a.success and twin_b.success

    cycle(make_worker, matching_mappings)

    assert lead_row(seeded, str(again.id))["Duplicate_Of__c"] == known["Id"]
    assert lead_row(seeded, known["Id"]).get("Duplicate_Of__c") is None
    # Two copies arriving in the same pull: the newer one names the older, never both ways.
    assert lead_row(seeded, str(twin_b.id))["Duplicate_Of__c"] == str(twin_a.id)
    assert lead_row(seeded, str(twin_a.id)).get("Duplicate_Of__c") is None

    # A person clears the flag (not a duplicate after all): sfsync does not set it again.
    assert seeded.org.update("Lead", str(again.id), {"Duplicate_Of__c": None}, user_id=rep).success
    cycle(make_worker, matching_mappings)
    assert lead_row(seeded, str(again.id)).get("Duplicate_Of__c") is None


@pytest.mark.parametrize("fault", [None, "drop_after"])
def test_merge_folds_the_new_copy_into_the_older_lead_once(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    matching_mappings: Path,
    fault: str | None,
) -> None:
    matching = matching_mappings / "matching.yaml"
    matching.write_text(matching.read_text().replace("lead_to_lead: flag", "lead_to_lead: merge"))
    cycle(make_worker, matching_mappings, fill_mirror=True)
    rep = seeded.human_user_ids[-1]
    older = seeded.org.create(
        "Lead", {"FirstName": "Ines", "LastName": "Duarte", "Company": "Tejo Lda",
                 "Email": "ines.duarte@tejo.pt"}, user_id=rep, auto_assign=False,
    )  # fmt: skip
    cycle(make_worker, matching_mappings)
    copy = seeded.org.create(
        "Lead", {"FirstName": "Inês", "LastName": "Duarte", "Company": "Tejo",
                 "Email": "ines.duarte@tejo.pt"}, user_id=rep, auto_assign=False,
    )  # fmt: skip
    if fault:  # the org runs the merge but the answer is lost: it must not run twice
        emulator.faults.script(fault, path_contains="/Soap/", method="POST")
    start = len(emulator.calls.entries())

    for _ in range(3):
        with contextlib.suppress(SfsyncError):  # the cycle that lost the answer may fail
            cycle(make_worker, matching_mappings)

    merged = lead_row(seeded, str(copy.id))
    assert merged["IsDeleted"] is True and merged["MasterRecordId"] == str(older.id)
    assert lead_row(seeded, str(older.id))["IsDeleted"] is False
    merges = [c for c in emulator.calls.entries()[start:] if c.path.startswith("/services/Soap/")]
    assert 1 <= len(merges) <= 2  # a second try, if any, is refused as already merged
    with seeded.org.lock:
        merges_done = [e for e in seeded.org.history if e.operation == "merge"]
    assert [e.record_id for e in merges_done] == [str(older.id)]
