"""The SOAP merge client against the emulator over HTTPS: merged at most once, faults or not."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sfsync.connectors.auth import token_provider
from sfsync.connectors.retry import RetryingCaller, RetryPolicy
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.connectors.soap_merge import MergeOutcome, MergeRequest, merge_records
from sfsync.connectors.soap_merge_xml import NOT_APPLIED, OUTCOME_UNKNOWN, UNREADABLE_RESPONSE
from sfsync.emulator.faults import FaultPlan
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.models import WriteOutcome
from tests.integration.conftest import worker_settings

SOAP = "/services/Soap/"
QUERY_ALL = "/queryAll"
pytestmark = pytest.mark.parametrize("seeded", [120], indirect=True)


@dataclass
class Wire:
    """The worker's SOAP path to the emulator: its session, a retry layer, a token, a query."""

    client: SalesforceClient
    caller: RetryingCaller
    token: Any
    emulator: Emulator

    def merge(
        self, requests: Sequence[MergeRequest], *, recheck: bool, wait_for_late: bool = True
    ) -> list[MergeOutcome]:
        settings = self.client.settings

        def query(soql: str) -> list[dict[str, Any]]:
            if wait_for_late:
                settle(self.emulator)  # a request a timeout fault still holds runs first
            return self.client.query(soql, include_deleted=True)

        return merge_records(
            self.client.session,
            self.caller,
            self.token.token().instance_url,
            settings.sf_api_version,
            lambda: str(self.token.token().access_token),
            requests,
            client_name=settings.sfsync_client_name,
            recheck=query if recheck else None,
        )


def settle(emulator: Emulator) -> None:
    """Wait until no request held by a `timeout` fault is unfinished (the org ran it)."""
    deadline = time.monotonic() + 10
    while emulator.faults.late():
        assert time.monotonic() < deadline, "a held request never finished"
        time.sleep(0.02)


def make_wire(emulator: Emulator, tmp_path: Path, **overrides: Any) -> Iterator[Wire]:
    settings = worker_settings(emulator, f"sqlite:///{tmp_path}/state.db", **overrides)
    client = SalesforceClient(settings)
    tokens = token_provider(settings, client.session)
    caller = RetryingCaller(RetryPolicy(wait_scale=0.0), tokens.refresh)
    yield Wire(client, caller, tokens, emulator)
    client.close()


@pytest.fixture
def wire(emulator: Emulator, tmp_path: Path) -> Iterator[Wire]:
    yield from make_wire(emulator, tmp_path)


@pytest.fixture
def client(emulator: Emulator, tmp_path: Path) -> Iterator[SalesforceClient]:
    """The worker's client as the CLI builds it: `merge` re-checks with queryAll itself."""
    built = SalesforceClient(worker_settings(emulator, f"sqlite:///{tmp_path}/state.db"))
    yield built
    built.close()


def open_leads(seeded: SeededOrg, count: int) -> list[str]:
    """Live, unconverted leads, in id order."""
    found = sorted(
        str(lead["Id"])
        for lead in seeded.org.tables["Lead"].values()
        if not lead["IsDeleted"] and not lead["IsConverted"]
    )
    assert len(found) >= count
    return found[:count]


def planted_pair(seeded: SeededOrg) -> tuple[str, str]:
    """(original, duplicate): a lead the seed planted as another lead's duplicate."""
    leads = seeded.org.tables["Lead"]
    return next(
        (d.original_id, d.duplicate_id)
        for d in seeded.duplicates
        if d.original_type == "Lead"
        and not any(
            leads[i]["IsDeleted"] or leads[i]["IsConverted"]
            for i in (d.original_id, d.duplicate_id)
        )
    )


def merges_of(seeded: SeededOrg, master_id: str) -> int:
    return sum(1 for e in seeded.org.history if e.operation == "merge" and e.record_id == master_id)


def merged_into(seeded: SeededOrg, record_id: str) -> str | None:
    lead = seeded.org.tables["Lead"][record_id]
    return lead["MasterRecordId"] if lead["IsDeleted"] else None


def test_seeded_duplicates_merge_through_the_client(
    seeded: SeededOrg, emulator: Emulator, client: SalesforceClient
) -> None:
    master, duplicate = planted_pair(seeded)
    other_master, *others = open_leads(seeded, 6)[-3:]
    leads = seeded.org.tables["Lead"]
    converted = next(i for i, r in leads.items() if r["IsConverted"] and not r["IsDeleted"])
    elsewhere = next(i for i, r in leads.items() if r["IsDeleted"] and r["MasterRecordId"])
    tasks = [t["Id"] for t in seeded.org.tables["Task"].values() if t["WhoId"] == duplicate]
    requests = [
        MergeRequest(master, (duplicate,), fields={"Title": "Head of <R&D>", "Phone": None}),
        MergeRequest(other_master, (others[0][:15], others[1])),
        MergeRequest(master, (converted,)),
        MergeRequest(other_master, (elsewhere,)),  # merged into another lead by someone else
    ]
    outcomes = client.merge(requests)
    assert [(o.outcome, o.error_code) for o in outcomes] == [
        (WriteOutcome.WRITTEN, None),
        (WriteOutcome.WRITTEN, None),
        (WriteOutcome.REJECTED, "CANNOT_UPDATE_CONVERTED_LEAD"),
        (WriteOutcome.REJECTED, "ENTITY_IS_DELETED"),  # re-read: not ours, not resent
    ]
    assert (outcomes[0].merged_ids, outcomes[1].merged_ids) == ((duplicate,), tuple(others))
    assert set(tasks) <= set(outcomes[0].updated_related_ids)
    assert (leads[master]["Title"], leads[master]["Phone"]) == ("Head of <R&D>", None)
    assert leads[master]["LastModifiedById"] == seeded.integration_user_id
    assert [merged_into(seeded, i) for i in (duplicate, *others)] == [master, *[other_master] * 2]
    assert all(seeded.org.tables["Task"][t]["WhoId"] == master for t in tasks)
    assert merged_into(seeded, converted) is None
    assert emulator.calls.count("POST", SOAP) == 1
    assert emulator.calls.count("GET", QUERY_ALL) == 1  # the ENTITY_IS_DELETED re-read


def test_no_requests_no_call(emulator: Emulator, client: SalesforceClient) -> None:
    assert client.merge([]) == []
    assert emulator.calls.count("POST", SOAP) == 0


@pytest.mark.parametrize("kind", ["503", "expire_session"])
def test_a_call_the_org_did_not_run_is_retried(
    seeded: SeededOrg, emulator: Emulator, wire: Wire, kind: str
) -> None:
    master, duplicate = open_leads(seeded, 2)
    wire.token.token()
    emulator.faults.script(kind, path_contains=SOAP)
    (outcome,) = wire.merge([MergeRequest(master, (duplicate,))], recheck=False)
    assert (outcome.outcome, outcome.merged_ids) == (WriteOutcome.WRITTEN, (duplicate,))
    assert merges_of(seeded, master) == 1
    assert emulator.calls.count("POST", SOAP) == 2
    assert emulator.faults.injected[kind] == 1


@pytest.mark.parametrize("kind", ["drop_after", "truncated"])
def test_a_lost_answer_is_rechecked_not_resent(
    seeded: SeededOrg, emulator: Emulator, wire: Wire, kind: str
) -> None:
    """The org ran the merge; its answer never arrived whole: the re-read says it is done."""
    master, first, second, third = open_leads(seeded, 4)
    leads = seeded.org.tables["Lead"]
    converted = next(i for i, r in leads.items() if r["IsConverted"] and not r["IsDeleted"])
    emulator.faults.script(kind, path_contains=SOAP)
    requests = [MergeRequest(master, (first, second)), MergeRequest(third, (converted,))]
    outcomes = wire.merge(requests, recheck=True)
    assert [(o.outcome, o.error_code) for o in outcomes] == [
        (WriteOutcome.WRITTEN, None),
        # Refused in the org, but the refusal was lost too: safe to send again and learn why.
        (WriteOutcome.RETRY, NOT_APPLIED),
    ]
    assert outcomes[0].merged_ids == (first, second)
    assert [merged_into(seeded, i) for i in (first, second)] == [master, master]
    assert merges_of(seeded, master) == 1
    assert emulator.calls.count("POST", SOAP) == 1
    assert emulator.faults.injected[kind] == 1


def test_without_a_recheck_the_lost_answer_comes_back_unknown(
    seeded: SeededOrg, emulator: Emulator, wire: Wire
) -> None:
    master, duplicate = open_leads(seeded, 2)
    emulator.faults.script("drop_after", path_contains=SOAP)
    (outcome,) = wire.merge([MergeRequest(master, (duplicate,))], recheck=False)
    assert (outcome.outcome, outcome.error_code, outcome.needs_check) == (
        WriteOutcome.RETRY,
        OUTCOME_UNKNOWN,
        True,
    )
    assert merged_into(seeded, duplicate) == master
    assert emulator.calls.count("POST", SOAP) == 1


def test_the_same_merge_sent_again_is_settled_as_written_not_merged_twice(
    seeded: SeededOrg, emulator: Emulator, wire: Wire
) -> None:
    """At most once: the second send is refused as deleted, the re-read shows it is ours."""
    master, duplicate = open_leads(seeded, 2)
    request = MergeRequest(master, (duplicate,), fields={"Title": "CFO"})
    (first,) = wire.merge([request], recheck=True)
    stamp = seeded.org.tables["Lead"][master]["SystemModstamp"]
    (again,) = wire.merge([request], recheck=True)
    assert (first.outcome, again.outcome, again.error_code) == (
        WriteOutcome.WRITTEN,
        WriteOutcome.WRITTEN,
        None,
    )
    assert again.merged_ids == (duplicate,)
    assert merges_of(seeded, master) == 1
    assert seeded.org.tables["Lead"][master]["SystemModstamp"] == stamp
    assert emulator.calls.count("POST", SOAP) == 2


def test_a_dropped_request_is_found_unapplied_and_then_sent_again(
    seeded: SeededOrg, emulator: Emulator, wire: Wire
) -> None:
    master, duplicate = open_leads(seeded, 2)
    emulator.faults.script("drop", path_contains=SOAP)
    (first,) = wire.merge([MergeRequest(master, (duplicate,))], recheck=True)
    assert (first.outcome, first.error_code) == (WriteOutcome.RETRY, NOT_APPLIED)
    assert merged_into(seeded, duplicate) is None
    (second,) = wire.merge([MergeRequest(master, (duplicate,))], recheck=True)
    assert second.outcome is WriteOutcome.WRITTEN
    assert merges_of(seeded, master) == 1


def test_a_gateway_error_page_is_not_trusted_but_rechecked(
    seeded: SeededOrg, emulator: Emulator, wire: Wire
) -> None:
    """A 500 page says nothing about the org: here it never ran the call, the re-read shows it."""
    master, duplicate = open_leads(seeded, 2)
    emulator.faults.script("500_html", path_contains=SOAP)
    (outcome,) = wire.merge([MergeRequest(master, (duplicate,))], recheck=True)
    assert (outcome.outcome, outcome.error_code) == (WriteOutcome.RETRY, NOT_APPLIED)
    assert merges_of(seeded, master) == 0
    assert emulator.calls.count("POST", SOAP) == 1


def test_a_merge_that_outlives_its_timeout_is_settled_once(
    seeded: SeededOrg, emulator: Emulator, tmp_path: Path
) -> None:
    """The client gives up; the org finishes the merge later; the re-read finds it done."""
    master, duplicate = open_leads(seeded, 2)
    emulator.faults.plan = FaultPlan(timeout_ms=1500)
    emulator.faults.script("timeout", path_contains=SOAP)
    for wire in make_wire(emulator, tmp_path, sfsync_http_timeout=0.5):
        wire.token.token()
        (outcome,) = wire.merge([MergeRequest(master, (duplicate,))], recheck=True)
        assert (outcome.outcome, outcome.merged_ids) == (WriteOutcome.WRITTEN, (duplicate,))
    assert merges_of(seeded, master) == 1
    assert emulator.calls.count("POST", SOAP) == 1
    assert emulator.faults.injected["timeout"] == 1


def test_a_merge_rechecked_before_the_org_ran_it_is_settled_by_the_next_send(
    seeded: SeededOrg, emulator: Emulator, tmp_path: Path
) -> None:
    """The re-read runs while the org still holds the request: "not merged", sent again later.

    The late merge runs meanwhile; the second send is refused as deleted and the
    re-read shows the records merged into this master: written, once.
    """
    master, duplicate = open_leads(seeded, 2)
    emulator.faults.plan = FaultPlan(timeout_ms=1500)
    emulator.faults.script("timeout", path_contains=SOAP)
    request = MergeRequest(master, (duplicate,))
    for wire in make_wire(emulator, tmp_path, sfsync_http_timeout=0.5):
        wire.token.token()
        (first,) = wire.merge([request], recheck=True, wait_for_late=False)
        assert (first.outcome, first.error_code) == (WriteOutcome.RETRY, NOT_APPLIED)
        settle(emulator)
        (second,) = wire.merge([request], recheck=True)
        assert (second.outcome, second.error_code) == (WriteOutcome.WRITTEN, None)
    assert merges_of(seeded, master) == 1
    assert merged_into(seeded, duplicate) == master
    assert emulator.calls.count("POST", SOAP) == 2


def test_an_unreadable_answer_without_recheck_says_so(
    seeded: SeededOrg, emulator: Emulator, wire: Wire
) -> None:
    master, duplicate = open_leads(seeded, 2)
    emulator.faults.script("truncated", path_contains=SOAP)
    (outcome,) = wire.merge([MergeRequest(master, (duplicate,))], recheck=False)
    assert (outcome.outcome, outcome.error_code) == (WriteOutcome.RETRY, UNREADABLE_RESPONSE)
    assert merged_into(seeded, duplicate) == master
