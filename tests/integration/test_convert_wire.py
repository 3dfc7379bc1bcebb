"""The SOAP convert client against the emulator over HTTPS: leads converted once, faults or not."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sfsync.connectors.auth import token_provider
from sfsync.connectors.retry import RetryingCaller, RetryPolicy
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.connectors.soap import (
    NOT_APPLIED,
    OUTCOME_UNKNOWN,
    ConvertResult,
    LeadConvert,
    convert_leads,
)
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.models import WriteOutcome
from tests.integration.conftest import worker_settings

CONVERTED = "Closed - Converted"
SOAP = "/services/Soap/"
pytestmark = pytest.mark.parametrize("seeded", [120], indirect=True)


@dataclass
class Wire:
    """The worker's SOAP path to the emulator: its session, a retry layer, a token, a query."""

    client: SalesforceClient
    caller: RetryingCaller
    token: Any

    def convert(self, converts: Sequence[LeadConvert], *, recheck: bool) -> list[ConvertResult]:
        settings = self.client.settings

        def query(soql: str) -> list[dict[str, Any]]:
            return self.client.query(soql, include_deleted=True)

        return convert_leads(
            self.client.session,
            self.caller,
            self.token.token().instance_url,
            settings.sf_api_version,
            lambda: str(self.token.token().access_token),
            converts,
            client_name=settings.sfsync_client_name,
            recheck=query if recheck else None,
        )


@pytest.fixture
def wire(emulator: Emulator, tmp_path: Path) -> Iterator[Wire]:
    settings = worker_settings(emulator, f"sqlite:///{tmp_path}/state.db")
    client = SalesforceClient(settings)
    tokens = token_provider(settings, client.session)
    caller = RetryingCaller(RetryPolicy(wait_scale=0.0), tokens.refresh)
    yield Wire(client, caller, tokens)
    client.close()


def open_leads(seeded: SeededOrg, count: int, owner_prefix: str = "005") -> list[str]:
    """Live, unconverted leads owned by an active user (or by a queue, with "00G")."""
    org = seeded.org
    active = {u["Id"] for u in org.tables["User"].values() if u["IsActive"]}
    found = [
        lead["Id"]
        for lead in sorted(org.tables["Lead"].values(), key=lambda r: str(r["Id"]))
        if not lead["IsDeleted"]
        and not lead["IsConverted"]
        and lead["OwnerId"].startswith(owner_prefix)
        and (owner_prefix == "00G" or lead["OwnerId"] in active)
    ]
    assert len(found) >= count
    return found[:count]


def lead_where(seeded: SeededOrg, **values: Any) -> str:
    return next(
        str(lead["Id"])
        for lead in seeded.org.tables["Lead"].values()
        if all(lead[k] == v for k, v in values.items())
    )


def convert_events(seeded: SeededOrg, lead_id: str) -> int:
    return sum(1 for e in seeded.org.history if e.record_id == lead_id and e.operation == "convert")


def test_seeded_leads_convert_through_the_wire(
    seeded: SeededOrg, emulator: Emulator, wire: Wire
) -> None:
    plain = open_leads(seeded, 3)
    queued = open_leads(seeded, 1, owner_prefix="00G")[0]
    converted = lead_where(seeded, IsConverted=True, IsDeleted=False)
    deleted = lead_where(seeded, IsDeleted=True)
    owner = seeded.human_user_ids[0]
    converts = [
        LeadConvert(plain[0], CONVERTED),
        LeadConvert(queued, CONVERTED, owner_id=owner, opportunity_name="Big <deal> & co"),
        LeadConvert(converted, CONVERTED),
        LeadConvert(plain[1], CONVERTED, do_not_create_opportunity=True),
        LeadConvert(deleted, CONVERTED),
        LeadConvert(plain[2][:15], "Working - Contacted"),
    ]
    results = wire.convert(converts, recheck=False)
    assert [(r.outcome, r.error_code) for r in results] == [
        (WriteOutcome.WRITTEN, None),
        (WriteOutcome.WRITTEN, None),
        # Re-read before judging: it may be our own earlier call that timed out.
        (WriteOutcome.RETRY, "CANNOT_UPDATE_CONVERTED_LEAD"),
        (WriteOutcome.WRITTEN, None),
        (WriteOutcome.REJECTED, "ENTITY_IS_DELETED"),
        (WriteOutcome.REJECTED, "INVALID_STATUS"),
    ]
    org = seeded.org
    for result in (results[0], results[1], results[3]):
        lead = org.tables["Lead"][result.lead_id]
        assert (lead["IsConverted"], lead["Status"]) == (True, CONVERTED)
        assert lead["ConvertedAccountId"] == result.account_id
        assert org.tables["Contact"][result.contact_id]["AccountId"] == result.account_id
        assert lead["LastModifiedById"] == seeded.integration_user_id
    assert org.tables["Account"][results[1].account_id]["OwnerId"] == owner
    assert org.tables["Opportunity"][results[1].opportunity_id]["Name"] == "Big <deal> & co"
    assert results[3].opportunity_id is None
    assert not org.tables["Lead"][plain[2]]["IsConverted"]
    assert emulator.calls.count("POST", SOAP) == 1


def test_a_lost_answer_is_rechecked_not_resent(
    seeded: SeededOrg, emulator: Emulator, wire: Wire
) -> None:
    lead_ids = open_leads(seeded, 3)
    accounts = len(seeded.org.tables["Account"])
    emulator.faults.script("drop_after", path_contains=SOAP)
    results = wire.convert([LeadConvert(i, CONVERTED) for i in lead_ids], recheck=True)
    assert [r.outcome for r in results] == [WriteOutcome.WRITTEN] * 3
    for result in results:
        lead = seeded.org.tables["Lead"][result.lead_id]
        assert (result.account_id, result.contact_id, result.opportunity_id) == (
            lead["ConvertedAccountId"],
            lead["ConvertedContactId"],
            lead["ConvertedOpportunityId"],
        )
        assert convert_events(seeded, result.lead_id) == 1
    assert len(seeded.org.tables["Account"]) == accounts + 3
    assert emulator.calls.count("POST", SOAP) == 1
    assert emulator.faults.injected["drop_after"] == 1


def test_without_a_recheck_the_lost_answer_comes_back_unknown(
    seeded: SeededOrg, emulator: Emulator, wire: Wire
) -> None:
    lead_id = open_leads(seeded, 1)[0]
    emulator.faults.script("drop_after", path_contains=SOAP)
    (result,) = wire.convert([LeadConvert(lead_id, CONVERTED)], recheck=False)
    assert (result.outcome, result.error_code, result.needs_check) == (
        WriteOutcome.RETRY,
        OUTCOME_UNKNOWN,
        True,
    )
    assert convert_events(seeded, lead_id) == 1
    assert emulator.calls.count("POST", SOAP) == 1


def test_a_dropped_request_is_found_unapplied_and_then_sent_again(
    seeded: SeededOrg, emulator: Emulator, wire: Wire
) -> None:
    lead_id = open_leads(seeded, 1)[0]
    emulator.faults.script("drop", path_contains=SOAP)
    (first,) = wire.convert([LeadConvert(lead_id, CONVERTED)], recheck=True)
    assert (first.outcome, first.error_code) == (WriteOutcome.RETRY, NOT_APPLIED)
    assert not seeded.org.tables["Lead"][lead_id]["IsConverted"]
    (second,) = wire.convert([LeadConvert(lead_id, CONVERTED)], recheck=True)
    assert second.outcome is WriteOutcome.WRITTEN
    assert convert_events(seeded, lead_id) == 1


def test_a_conversion_sent_again_after_it_ran_is_settled_with_its_ids(
    seeded: SeededOrg, emulator: Emulator, wire: Wire
) -> None:
    """The second send is refused as already converted; the re-read turns that into success."""
    lead_id = open_leads(seeded, 1)[0]
    (first,) = wire.convert([LeadConvert(lead_id, CONVERTED)], recheck=True)
    (again,) = wire.convert([LeadConvert(lead_id, CONVERTED)], recheck=True)
    assert again.outcome is WriteOutcome.WRITTEN and again.error_code is None
    assert (again.account_id, again.contact_id) == (first.account_id, first.contact_id)
    assert convert_events(seeded, lead_id) == 1
    assert emulator.calls.count("POST", SOAP) == 2


@pytest.mark.parametrize("kind", ["503", "expire_session"])
def test_a_call_the_org_did_not_run_is_retried_once_more(
    seeded: SeededOrg, emulator: Emulator, wire: Wire, kind: str
) -> None:
    lead_id = open_leads(seeded, 1)[0]
    wire.token.token()
    emulator.faults.script(kind, path_contains=SOAP)
    (result,) = wire.convert([LeadConvert(lead_id, CONVERTED)], recheck=False)
    assert result.outcome is WriteOutcome.WRITTEN
    assert convert_events(seeded, lead_id) == 1
    assert emulator.calls.count("POST", SOAP) == 2
    assert emulator.faults.injected[kind] == 1
