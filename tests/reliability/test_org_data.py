"""Bad input, part 2: odd data in the org meets the real worker, over HTTPS, on both stores.

Leads are created in the emulator org through its save pipeline (validation
on, as the REST API would), or planted with `Org.load` where the point is data
an org holds from before a validation rule or an import that skipped it. The
worker runs as deployed (`make_worker`), against SQLite and PostgreSQL. Each
test asserts the org's state afterwards and a clear outcome per lead:
scored, converted, blocked with a reason, or dead-lettered with the org's code.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.emulator.org import Org
from sfsync.emulator.schema import FieldDef, OrgSchema
from sfsync.emulator.seed import SeededOrg, build_org
from sfsync.emulator.settings import ValidationRule
from sfsync.errors import ConfigError, SfsyncError
from sfsync.store import OutboxState
from tests.integration import conftest as integration
from tests.integration.conftest import MAPPINGS, Worker
from tests.integration.helpers import SCORE, expected_score

MakeWorker = Callable[..., Worker]
REASON = "Score_Reason__c"
MQL = "Marketing Qualified"
# 25 (Executive title) + 15 (Inbound source): the shipped conversion's 40 points.
CONVERTIBLE = {"Title": "CEO", "LeadSource": "Web", "Status": MQL}
runner = CliRunner()
# The integration fixtures: the real worker against the emulator, on SQLite and PostgreSQL.
emulator = integration.emulator
make_worker = integration.make_worker
env = integration.env


@pytest.fixture
def seeded() -> SeededOrg:
    """A small seeded org: the tests add the leads they are about."""
    return build_org(leads=20, seed=5)


def add_lead(seeded: SeededOrg, **values: Any) -> str:
    """Create a lead through the org's save pipeline (validation on), as its owner would."""
    owner = seeded.human_user_ids[0]
    row = {"LastName": "Doe", "Company": "Acme", "OwnerId": owner, **values}
    result = seeded.org.create("Lead", row, user_id=owner, auto_assign=False)
    assert result.success and result.id, result.errors
    return result.id


def plant_lead(seeded: SeededOrg, **values: Any) -> str:
    """A lead the org holds without today's validation (older data, a careless import)."""
    owner = seeded.human_user_ids[0]
    row = {"LastName": "Doe", "Company": "Acme", "OwnerId": owner, "Status": "Open - Not Contacted"}
    (lead_id,) = seeded.org.load("Lead", [{**row, **values}], user_id=owner)
    return lead_id


def lead(org: Org, lead_id: str) -> dict[str, Any]:
    record = org.get("Lead", lead_id)
    assert record is not None
    return dict(record)


def run_ok(worker: Worker) -> None:
    report = worker.job.run_once()
    assert report.status == "ok"
    assert report.rejected == 0 and report.retry_later == 0


def decision_summary(worker: Worker, lead_id: str) -> Mapping[str, Any]:
    rows = worker.store.decisions_for(lead_id)
    assert rows, f"no decision for {lead_id}"
    return rows[0].summary


def copy_mappings(tmp_path: Path, conversion: Mapping[str, str] | None = None) -> Path:
    """The shipped mappings, with lines of conversion.yaml replaced (old → new)."""
    target = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, target)
    path = target / "conversion.yaml"
    text = path.read_text("utf-8")
    for old, new in (conversion or {}).items():
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return target


# -- unicode, right-to-left text, combining marks, control characters -----------------------------

ODD_TEXT: dict[str, dict[str, str]] = {
    "emoji": {
        "FirstName": "Zoë 🚀",
        "LastName": "Ng 👩‍💻",
        "Company": "🍕 Pizza GmbH",
        "Title": "Chief Executive Officer 🎉",
    },
    "right-to-left": {
        "FirstName": "محمد",
        "LastName": "عبد الله",
        "Company": "שלום בע״מ",
        "Title": "\u202eOEC\u202c מנכ״ל",
    },
    "combining": {
        "FirstName": "Ame\u0301lie",
        "LastName": "Z\u0337\u0322\u031ba\u0338l\u0334g\u0335o\u0336",
        "Company": "Cafe\u0301 Noir",
        "Title": "Director\u0301 of Sales",
    },
    "astral": {"LastName": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Company": "𠜎𠜱 Ltd", "Title": "𝐂𝐄𝐎"},
    "zero-width": {"LastName": "Zero\u200bWidth", "Company": "\ufeffBOM Inc", "Title": "C\u200bEO"},
    "controls": {
        "LastName": "Null\x00Byte",
        "Company": "Tab\tNew\nLine\r\x1b[31mRed\x07",
        "Title": "VP\x00 Sales",
        "LeadSource": "Partner\x00Referral",
    },
    "markup": {"LastName": "[/bold]", "Company": "[red]Acme[/red] <script>", "Title": "[link=x]"},
}


def test_odd_text_is_scored_left_untouched_and_not_written_twice(
    seeded: SeededOrg, make_worker: MakeWorker
) -> None:
    ids = {case: add_lead(seeded, **values) for case, values in ODD_TEXT.items()}
    converting = {
        case: add_lead(seeded, **{**values, **CONVERTIBLE}) for case, values in ODD_TEXT.items()
    }
    worker = make_worker()

    run_ok(worker)

    org = seeded.org
    for case, lead_id in ids.items():
        record = lead(org, lead_id)
        assert record[SCORE] == expected_score(record), case
        assert str(record[REASON]).startswith("Score "), case
        assert {k: record[k] for k in ODD_TEXT[case]} == ODD_TEXT[case], case
    for case, lead_id in converting.items():
        record = lead(org, lead_id)
        assert record["IsConverted"], case
        opportunity = org.get("Opportunity", str(record["ConvertedOpportunityId"]))
        assert opportunity is not None, case
        # "{Company} - {LeadSource}", whitespace folded, characters XML cannot carry dropped.
        company = "".join(ch for ch in ODD_TEXT[case]["Company"] if ch not in "\x00\x07\x1b")
        assert opportunity["Name"] == " ".join(f"{company} - Web".split()), case
    again = worker.job.run_once()
    assert again.status == "ok" and again.written == 0 and again.queued == 0


# -- field lengths --------------------------------------------------------------------------------

AT_LENGTH = {"FirstName": 40, "LastName": 80, "Title": 128, "Company": 255, "Phone": 40}


@pytest.mark.parametrize("name", sorted(AT_LENGTH))
def test_the_org_refuses_one_character_over_a_field_length(seeded: SeededOrg, name: str) -> None:
    length = AT_LENGTH[name]
    owner = seeded.human_user_ids[0]
    values = {"LastName": "Doe", "Company": "Acme", name: "é" * (length + 1)}

    result = seeded.org.create("Lead", values, user_id=owner)

    assert not result.success and result.errors[0].status_code == "STRING_TOO_LONG"


def test_values_exactly_at_their_length_are_read_and_scored(
    seeded: SeededOrg, make_worker: MakeWorker
) -> None:
    at_length = {name: ("CEO " + "ü" * n)[:n] for name, n in AT_LENGTH.items()}
    at_length["Email"] = "a" * (80 - len("@example.com")) + "@example.com"
    lead_id = add_lead(seeded, **at_length)
    worker = make_worker()

    run_ok(worker)

    record = lead(seeded.org, lead_id)
    assert {k: record[k] for k in at_length} == at_length
    assert record[SCORE] == expected_score(record) and record[SCORE] > 0


def shrink_field(org: Org, name: str, length: int) -> None:
    """The org's describe (and its validation) now says `name` holds `length` characters."""
    lead_schema = org.schema.objects["Lead"]
    field = lead_schema.fields[name]
    narrower = FieldDef(**{**field.__dict__, "length": length})
    org.schema = OrgSchema({**org.schema.objects, "Lead": lead_schema.with_fields([narrower])})


@pytest.mark.parametrize("length", [1, 12, 40])
def test_the_reason_the_worker_writes_is_cut_to_the_described_length(
    seeded: SeededOrg, make_worker: MakeWorker, length: int
) -> None:
    shrink_field(seeded.org, REASON, length)
    lead_id = add_lead(seeded, Title="Chief Executive Officer", LeadSource="Web", Company="Acme")
    worker = make_worker()

    run_ok(worker)

    reason = str(lead(seeded.org, lead_id)[REASON])
    assert len(reason) == length and reason.endswith("…")
    assert worker.store.outbox(OutboxState.DEAD) == []


# -- blank names: scored, and not converted, with the reason --------------------------------------


@pytest.mark.parametrize(
    ("values", "blank"),
    [
        ({"LastName": "   "}, "LastName"),
        ({"Company": " \t "}, "Company"),
        ({"Company": None}, "Company"),
        ({"LastName": None}, "LastName"),
        ({"LastName": "", "Company": ""}, "LastName, Company"),
    ],
)
def test_a_lead_with_a_blank_name_is_scored_and_blocked_from_conversion(
    seeded: SeededOrg, make_worker: MakeWorker, env: str, values: dict[str, Any], blank: str
) -> None:
    lead_id = plant_lead(seeded, **CONVERTIBLE, **values)
    worker = make_worker()

    run_ok(worker)

    record = lead(seeded.org, lead_id)
    assert not record["IsConverted"] and record[SCORE] == expected_score(record)
    why = f"cannot convert: {blank} is blank"
    assert decision_summary(worker, lead_id)["conversion_blocked"] == why
    explained = runner.invoke(app, ["explain", lead_id])
    assert explained.exit_code == 0 and why in explained.output


# -- malformed emails and phones ------------------------------------------------------------------

ODD_EMAILS = [
    "O'Brien@Example.COM",
    "first.last+tag@sub.example.co",
    "100%_off@deals.example",
    "a@b.com\n",
    "x@xn--bcher-kva.example",
]
# Older data the org's validation would refuse today.
LEGACY_EMAILS = ["not an email", "a@@b.example", "@", "trailing@", "back\\slash@example.com", "é@ü"]
ODD_PHONES = ["call me ☎", "+1 (555) 010-0000 ext. 12", "٠١٢٣٤٥٦٧٨٩", "++--", "0", "+" + "9" * 39]


def test_odd_emails_and_phones_are_scored_and_converted_or_refused_one_by_one(
    seeded: SeededOrg, make_worker: MakeWorker
) -> None:
    accepted = [add_lead(seeded, Email=e, **CONVERTIBLE) for e in ODD_EMAILS]
    legacy = [plant_lead(seeded, Email=e, **CONVERTIBLE) for e in LEGACY_EMAILS]
    phones = [add_lead(seeded, Phone=p, Title="Sales Manager") for p in ODD_PHONES]
    worker = make_worker()

    report = worker.job.run_once()

    assert report.status == "ok" and report.retry_later == 0
    for lead_id in accepted + legacy + phones:
        record = lead(seeded.org, lead_id)
        assert record[SCORE] == expected_score(record), (record["Email"], record["Phone"])
    assert all(lead(seeded.org, i)["IsConverted"] for i in accepted)
    # The org refuses to make a Contact of an invalid address: that conversion alone is
    # dead-lettered with the org's code, the rest of its batch converts.
    dead = {row.lead_id: row for row in worker.store.outbox(OutboxState.DEAD)}
    assert sorted(dead) == sorted(legacy) and report.rejected == len(legacy)
    assert {(r.kind, r.error_code) for r in dead.values()} == {("convert", "INVALID_EMAIL_ADDRESS")}
    assert not any(lead(seeded.org, i)["IsConverted"] for i in legacy)


# -- SOQL metacharacters in the conversion-target queries -----------------------------------------


def add(org: Org, sobject: str, user: str, **values: Any) -> str:
    result = org.create(sobject, values, user_id=user)
    assert result.success and result.id, result.errors
    return result.id


@pytest.fixture
def spied_queries(make_worker: MakeWorker) -> Iterator[tuple[Worker, list[tuple[str, list[Any]]]]]:
    """A worker whose SOQL reads are noted with their rows (the real calls still happen)."""
    worker = make_worker()
    seen: list[tuple[str, list[Any]]] = []
    real = worker.client.query

    def query(soql: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        rows = real(soql, include_deleted=include_deleted)
        seen.append((soql, rows))
        return rows

    worker.client.query = query  # type: ignore[method-assign]
    yield worker, seen


def test_metacharacters_in_emails_and_companies_find_only_the_right_records(
    seeded: SeededOrg, spied_queries: tuple[Worker, list[tuple[str, list[Any]]]]
) -> None:
    org, user = seeded.org, seeded.human_user_ids[0]
    accounts = {
        "quote": add(org, "Account", user, Name="Quote Holdings"),
        "percent": add(org, "Account", user, Name="Deals Unlimited"),
        "name": add(org, "Account", user, Name="Per%cent_Co 'Quoted' \\Slash Ltd"),
    }
    decoys = {
        add(org, "Account", user, Name="Perxcent Co Quoted Slash"),
        add(org, "Account", user, Name="Per Cent"),
        add(org, "Contact", user, LastName="Decoy", Email="obrien@example.com"),
        add(org, "Contact", user, LastName="Decoy", Email="100x_off@deals.example"),
        add(org, "Contact", user, LastName="Decoy", Email="1000_off@deals.example"),
    }
    contacts = {
        "quote": add(org, "Contact", user, LastName="O'Brien", Email="o'brien@example.com",
                     AccountId=accounts["quote"]),
        "percent": add(org, "Contact", user, LastName="Off", Email="100%_off@deals.example",
                       AccountId=accounts["percent"]),
    }  # fmt: skip
    leads = {
        "quote": add_lead(seeded, Email="O'Brien@example.com", **CONVERTIBLE),
        "percent": add_lead(seeded, Email="100%_off@deals.example", **CONVERTIBLE),
        "name": add_lead(
            seeded,
            Company="Per%cent_Co 'Quoted' \\Slash Ltd",
            Email="someone@personal.example",
            **CONVERTIBLE,
        ),
        "injection": add_lead(
            seeded,
            Company="x') OR Name != ('",
            Email="x'or'1'='1@evil.example",
            **CONVERTIBLE,
        ),
    }
    worker, seen = spied_queries

    run_ok(worker)

    for case in ("quote", "percent"):
        record = lead(org, leads[case])
        assert record["ConvertedContactId"] == contacts[case], case
        assert record["ConvertedAccountId"] == accounts[case], case
    assert lead(org, leads["name"])["ConvertedAccountId"] == accounts["name"]
    injected = lead(org, leads["injection"])
    assert injected["IsConverted"] and injected["ConvertedAccountId"] not in accounts.values()
    wanted_emails = {str(lead(org, i)["Email"]).lower() for i in leads.values()}
    for soql, rows in seen:
        if soql.startswith("SELECT Id, Email, AccountId FROM Contact"):
            assert {str(r["Email"]).lower() for r in rows} <= wanted_emails, soql
        assert not decoys & {r["Id"] for r in rows if "FROM Contact" in soql}, soql


# -- ids in the mappings --------------------------------------------------------------------------


FALLBACK_LINE = "# fallback_owner: 005XXXXXXXXXXXXXXX"


def queue_owned_lead(seeded: SeededOrg) -> str:
    return add_lead(seeded, OwnerId=seeded.queue_ids["Lead Intake"], **CONVERTIBLE)


def test_fallback_owner_as_an_18_character_id_owns_what_a_queue_lead_becomes(
    seeded: SeededOrg, make_worker: MakeWorker, tmp_path: Path
) -> None:
    fallback = seeded.human_user_ids[1]
    mappings = copy_mappings(tmp_path, {FALLBACK_LINE: f"fallback_owner: {fallback}"})
    lead_id = queue_owned_lead(seeded)

    run_ok(make_worker(sfsync_mappings=mappings))

    contact = seeded.org.get("Contact", str(lead(seeded.org, lead_id)["ConvertedContactId"]))
    assert contact is not None and contact["OwnerId"] == fallback


def test_fallback_owner_as_a_15_character_id_works_too(
    seeded: SeededOrg, make_worker: MakeWorker, tmp_path: Path
) -> None:
    fallback = seeded.human_user_ids[1]
    mappings = copy_mappings(tmp_path, {FALLBACK_LINE: f"fallback_owner: {fallback[:15]}"})
    lead_id = queue_owned_lead(seeded)

    run_ok(make_worker(sfsync_mappings=mappings))

    contact = seeded.org.get("Contact", str(lead(seeded.org, lead_id)["ConvertedContactId"]))
    assert contact is not None and contact["OwnerId"] == fallback


@pytest.mark.parametrize("owner", ["005XXXXXXXXXXXXXXX", "not-an-id", "00G0A0000000001UAA"])
def test_a_fallback_owner_that_is_no_active_user_stops_start_up_with_its_line(
    seeded: SeededOrg, make_worker: MakeWorker, tmp_path: Path, owner: str
) -> None:
    mappings = copy_mappings(tmp_path, {FALLBACK_LINE: f"fallback_owner: {owner}"})
    lead_id = queue_owned_lead(seeded)
    line = next(
        n
        for n, text in enumerate((mappings / "conversion.yaml").read_text().splitlines(), 1)
        if text.startswith("fallback_owner:")
    )

    with pytest.raises(ConfigError) as refused:
        make_worker(sfsync_mappings=mappings).job.run_once()

    message = str(refused.value)
    assert f"conversion.yaml:{line}: fallback_owner: " in message
    # A malformed id is refused as such at load; a well-formed one that is no active user
    # (a queue, say) by the check against the org.
    assert (
        "is not an active user" in message
        or "not a Salesforce id" in message
        or "case-safe suffix" in message
    ), message
    assert not lead(seeded.org, lead_id)["IsConverted"]


# -- what the org says about a record, shown as it says it ----------------------------------------


def lock_with_message(seeded: SeededOrg, message: str) -> str:
    lead_id = add_lead(seeded, Title="CEO", LeadSource="Web")
    rule = ValidationRule("Locked", message, lambda r: r["Id"] == lead_id)
    seeded.org.settings.validation_rules = [rule]
    return lead_id


def test_an_org_message_with_quotes_and_unicode_is_kept_verbatim(
    seeded: SeededOrg, make_worker: MakeWorker, env: str
) -> None:
    message = 'Ne pas modifier « O\'Brien » — 🔒 "locked" \\ 100% _'
    lead_id = lock_with_message(seeded, message)
    worker = make_worker()

    report = worker.job.run_once()

    assert report.status == "ok" and report.rejected == 1
    (dead,) = worker.store.outbox(OutboxState.DEAD)
    assert (dead.lead_id, dead.error_code) == (lead_id, "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert dead.error_message == message
    listed = runner.invoke(app, ["dead-letters", "list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output)[0]["message"] == message


@pytest.mark.parametrize("command", [["status"], ["dead-letters", "list"]], ids=" ".join)
def test_an_org_message_that_looks_like_markup_is_shown_verbatim(
    seeded: SeededOrg, make_worker: MakeWorker, env: str, command: list[str]
) -> None:
    message = "Ask [b]Sales Ops[/b] first [/x]"
    lock_with_message(seeded, message)
    assert make_worker().job.run_once().rejected == 1

    shown = runner.invoke(app, command, env={"COLUMNS": "400"})  # one table row, one line

    assert shown.exit_code == 0, shown.output
    assert message in shown.output


# -- a template that loaded, meeting a number -----------------------------------------------------


def test_an_opportunity_name_template_never_crashes_the_cycle(
    seeded: SeededOrg, make_worker: MakeWorker, tmp_path: Path
) -> None:
    mappings = copy_mappings(
        tmp_path,
        {'"{Company} - {LeadSource}"': '"{NumberOfEmployees:s}"'},
    )
    add_lead(seeded, NumberOfEmployees=250, **CONVERTIBLE)

    try:
        report = make_worker(sfsync_mappings=mappings).job.run_once()
    except SfsyncError as exc:
        assert "conversion.yaml:" in str(exc)  # refusing the mappings, with file and line
        return
    assert report.status == "ok"
