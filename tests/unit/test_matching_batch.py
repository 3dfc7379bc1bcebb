"""A batch of leads against stored candidates and against each other, with the default rules."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sfsync.jobs.match_setup import load_matcher
from sfsync.rules.matching import Record
from sfsync.rules.matching_batch import match_batch

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
MATCHER = load_matcher(MAPPINGS)

ANA = {"FirstName": "Ana", "LastName": "García", "Email": "ana.garcia@acme.com",
       "Phone": "+34 91 123 4567", "Company": "Acme S.L.", "Title": "CTO"}  # fmt: skip


def lead(lead_id: str, created: str = "2024-05-01T10:00:00+00:00", **fields: Any) -> Record:
    return Record(lead_id, "Lead", {**ANA, **fields}, created=created)


def run(leads: list[Record], stored: Sequence[Record] = ()) -> dict[str, Any]:
    return match_batch(leads, stored, MATCHER.config, MATCHER.data)


def ids(found: dict[str, Any], lead_id: str) -> list[tuple[str, str, bool]]:
    return [(m.record_id, m.sobject, m.same_batch) for m in found[lead_id]]


def test_two_leads_for_one_person_in_the_same_batch_match_each_other() -> None:
    first = lead("00QA", "2024-05-01T10:00:00+00:00")
    second = lead("00QB", "2024-05-01T10:00:40+00:00", FirstName="ANA", Email="ANA.GARCIA@ACME.COM")
    found = run([first, second])
    assert ids(found, "00QA") == [("00QB", "Lead", True)]
    assert ids(found, "00QB") == [("00QA", "Lead", True)]
    # Each side knows when the other arrived, so the caller keeps the older one.
    assert found["00QB"][0].created == first.created


def test_every_lead_of_the_batch_has_an_entry() -> None:
    other = lead("00QC", Email="x@other.org", FirstName="Zed", LastName="Zulu", Phone=None,
                 Company="Elsewhere")  # fmt: skip
    found = run([lead("00QA"), other])
    assert found == {"00QA": [], "00QC": []}


def test_a_batch_lead_replaces_its_own_older_copy_from_the_store() -> None:
    stored_copy = Record("00QA", "Lead", {**ANA, "Email": "old@acme.com"})
    found = run([lead("00QA")], [stored_copy])
    assert found == {"00QA": []}


def test_a_lead_matches_a_contact_and_its_companys_account() -> None:
    contact = Record("003A", "Contact", {**ANA, "Email": "ana@gmail.com", "Company": "ACME"},
                     owner_id="005X", account_id="001A")  # fmt: skip
    account = Record("001A", "Account", {"Company": "Acme", "Website": "https://www.acme.com"})
    found = run([lead("00QA")], [contact, account])
    by_object = {m.sobject: m for m in found["00QA"]}
    assert by_object["Contact"].rule in ("standard_person", "person_extras")
    assert by_object["Contact"].owner_id == "005X" and by_object["Contact"].account_id == "001A"
    assert by_object["Account"].rule == "lead_to_account"
    assert by_object["Account"].confidence == 1.0


def test_lead_to_account_by_email_domain_alone() -> None:
    account = Record("001B", "Account", {"Company": "Completely Different Name",
                                         "Website": "acme.com"})  # fmt: skip
    found = run([lead("00QA")], [account])
    (match,) = found["00QA"]
    assert match.record_id == "001B"
    assert [c.field for c in match.comparisons if c.matched] == ["Website"]


def test_lead_to_account_by_company_name_alone() -> None:
    account = Record("001C", "Account", {"Company": "ACME, S.L.", "Website": None})
    free_mail_lead = lead("00QA", Email="ana@gmail.com")
    (match,) = run([free_mail_lead], [account])["00QA"]
    assert [c.field for c in match.comparisons if c.matched] == ["Company"]


def test_a_free_mail_domain_never_finds_an_account() -> None:
    gmail = Record("001D", "Account", {"Company": "Google", "Website": "gmail.com"})
    found = run([lead("00QA", Email="ana@gmail.com")], [gmail])
    assert found["00QA"] == []


def test_a_similar_company_name_is_not_the_same_account() -> None:
    account = Record("001E", "Account", {"Company": "Acme Solutions", "Website": None})
    found = run([lead("00QA", Company="Acme Systems", Email="ana@gmail.com")], [account])
    assert found["00QA"] == []


def test_records_sharing_no_blocking_key_are_never_compared() -> None:
    # Same person by every rule, but nothing indexed in common: not a candidate at all.
    stranger = Record("00QZ", "Lead", {**ANA, "Email": "a@b.org", "Phone": None,
                                       "Company": "Another Co"})  # fmt: skip
    found = run([lead("00QA", Phone=None)], [stranger])
    assert found["00QA"] == []


def test_a_key_shared_by_too_many_records_finds_nothing() -> None:
    limit = MATCHER.config.max_candidates_per_key
    switchboard = "+34 91 000 0000"
    crowd = [
        Record(f"00Q{i:04d}", "Lead", {**ANA, "Email": f"p{i}@x.org", "Company": f"C{i}",
                                       "Phone": switchboard})
        for i in range(limit + 1)
    ]  # fmt: skip
    found = run([lead("00QA", Phone=switchboard)], crowd)
    assert found["00QA"] == []
    found = run([lead("00QA", Phone=switchboard)], crowd[:limit])
    assert len(found["00QA"]) == limit


def test_swapped_names_in_the_same_batch() -> None:
    swapped = lead("00QB", FirstName="García", LastName="Ana", Email="ana@gmail.com")
    found = run([lead("00QA"), swapped])
    (match,) = found["00QB"]
    assert match.record_id == "00QA" and match.transposed
