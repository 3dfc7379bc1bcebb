"""Seeded orgs: deterministic, valid against the schema, realistic in mix, honest ground truth."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sfsync.emulator import validate
from sfsync.emulator.org import Org, Record
from sfsync.emulator.seed import DUPLICATE_KINDS, SeededOrg, build_org, lead_counts
from sfsync.emulator.seed_companies import company_stem
from sfsync.emulator.seed_conversion import (
    BLANK_COUNTRY_EFFECT,
    COUNTRY_EFFECT,
    conversion_probability,
    country_effect,
    lead_probability,
)
from sfsync.emulator.seed_phone import Phone
from sfsync.emulator.seed_pools import ascii_fold, build_pools
from sfsync.emulator.seed_regions import REGIONS
from sfsync.emulator.seed_words import (
    FREEMAIL_DOMAINS,
    KEYBOARD_NEIGHBOURS,
    NICKNAMES,
    seniority,
)

NOW = datetime(2025, 6, 1, 9, 30, 0, tzinfo=UTC)
LEADS = 1500


def frozen() -> datetime:
    return NOW


@pytest.fixture(scope="module")
def seeded() -> SeededOrg:
    return build_org(LEADS, seed=11, clock=frozen)


def leads(seeded: SeededOrg) -> list[Record]:
    return list(seeded.org.tables["Lead"].values())


def live(seeded: SeededOrg) -> list[Record]:
    return [r for r in leads(seeded) if not r["IsDeleted"] and not r["IsConverted"]]


def share(records: list[Record], predicate: Any) -> float:
    return sum(1 for r in records if predicate(r)) / len(records)


# -- determinism and size -------------------------------------------------------


def test_same_leads_and_seed_give_identical_records_and_ids() -> None:
    first = build_org(300, seed=3, clock=frozen)
    build_pools.cache_clear()  # the Faker pools must be deterministic too, not just cached
    second = build_org(300, seed=3, clock=frozen)
    assert first.org.tables == second.org.tables
    assert first.duplicates == second.duplicates
    assert first.queue_ids == second.queue_ids


_DIGEST = """
import hashlib
from datetime import UTC, datetime
from sfsync.emulator.seed import build_org
seeded = build_org(150, seed=8, clock=lambda: datetime(2025, 1, 1, tzinfo=UTC))
rows = [sorted(table.items()) for table in seeded.org.tables.values()]
print(hashlib.sha256(repr((rows, seeded.duplicates)).encode()).hexdigest())
"""


def test_the_same_org_in_processes_with_different_hash_seeds() -> None:
    digests = {
        subprocess.run(
            [sys.executable, "-c", _DIGEST],
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout
        for hash_seed in (1, 2)
    }  # fmt: skip
    assert len(digests) == 1


def test_another_seed_gives_other_people() -> None:
    names = []
    for seed in (1, 2):
        rows = build_org(200, seed=seed, clock=frozen).org.tables["Lead"].values()
        names.append({(r["FirstName"], r["LastName"]) for r in rows})
    assert len(names[0] & names[1]) < 20


@pytest.mark.parametrize("size", [0, 7, 20, 250])
def test_the_org_holds_exactly_the_leads_asked_for(size: int) -> None:
    seeded = build_org(size, seed=5, clock=frozen)
    assert len(seeded.org.tables["Lead"]) == size
    assert sum(lead_counts(size)) == size


# -- validity -------------------------------------------------------------------


def _type_ok(ftype: str, value: Any) -> bool:
    if ftype == "datetime":
        return isinstance(value, datetime) and value.tzinfo == UTC and value.microsecond == 0
    if ftype == "date":
        return isinstance(value, date) and not isinstance(value, datetime)
    if ftype == "boolean":
        return isinstance(value, bool)
    if ftype == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if ftype in ("double", "currency", "percent"):
        return isinstance(value, float)
    return isinstance(value, str)


def _problems(org: Org, sobject: str, record: Record) -> list[str]:
    obj = org.schema.objects[sobject]
    found = [f"missing {n}" for n in obj.fields if n not in record]
    for f in obj.fields.values():
        value = record.get(f.name)
        if value is None:
            found += [] if f.nillable else [f"{f.name} is empty"]
        elif not _type_ok(f.type, value):
            found.append(f"{f.name}: {value!r} is not {f.type}")
        elif f.picklist and value not in f.picklist:
            found.append(f"{f.name}: {value!r} not in picklist")
    statuses = {s["MasterLabel"] for s in org.tables["LeadStatus"].values()}
    values = {k: v for k, v in record.items() if v is not None and k in obj.fields}
    found += [e.message for e in validate.check_values(obj, values, {"Status": statuses})]
    return found


def test_every_record_respects_the_schema(seeded: SeededOrg) -> None:
    org = seeded.org
    problems = [
        (sobject, record["Id"], problem)
        for sobject, table in org.tables.items()
        for record in table.values()
        for problem in _problems(org, sobject, record)
    ]
    assert problems == []


def test_every_reference_points_at_a_record_of_its_type(seeded: SeededOrg) -> None:
    org = seeded.org
    prefixes = {o.key_prefix: o.name for o in org.schema.objects.values()}
    dangling = []
    for sobject, table in org.tables.items():
        refs = [f for f in org.schema.objects[sobject].fields.values() if f.type == "reference"]
        for record in table.values():
            for f in refs:
                value = record[f.name]
                target = prefixes.get(value[:3]) if value else None
                if value and (target not in f.reference_to or value not in org.tables[target]):
                    dangling.append((sobject, record["Id"], f.name, value))
    assert dangling == []


def test_open_leads_are_owned_by_users_or_lead_queues(seeded: SeededOrg) -> None:
    org = seeded.org
    refused = [r["Id"] for r in live(seeded) if org.check_owner(r["OwnerId"]) is not None]
    inactive = set(seeded.inactive_user_ids)
    owners = Counter(r["OwnerId"] for r in live(seeded))
    # Leads left with people who have since gone are the only owners Salesforce would refuse.
    assert {org.tables["Lead"][i]["OwnerId"] for i in refused} <= inactive
    assert owners[seeded.integration_user_id] > 0
    assert 0.08 < sum(owners[q] for q in seeded.queue_ids.values()) / len(live(seeded)) < 0.25


def test_timestamps_are_past_whole_seconds_within_the_year(seeded: SeededOrg) -> None:
    for record in leads(seeded):
        assert NOW - timedelta(days=365) <= record["CreatedDate"] < NOW
        assert record["CreatedDate"] <= record["LastModifiedDate"] == record["SystemModstamp"] < NOW
    for table in seeded.org.tables.values():
        for record in table.values():
            assert record["SystemModstamp"] < NOW
            assert record.get("CreatedDate", record["SystemModstamp"]) <= record["SystemModstamp"]


# -- set-up objects -------------------------------------------------------------


def test_users(seeded: SeededOrg) -> None:
    users = seeded.org.tables["User"]
    integration = users[seeded.integration_user_id]
    assert integration["Username"] == "integration@sfsync.example.com" and integration["IsActive"]
    assert integration["Name"] == "sfsync Integration"
    assert 18 <= len(users) <= 22
    assert all(users[u]["IsActive"] for u in seeded.human_user_ids)
    assert seeded.inactive_user_ids
    assert not any(users[u]["IsActive"] for u in seeded.inactive_user_ids)
    assert len({u["TimeZoneSidKey"] for u in users.values()}) >= 5
    assert len({u["LanguageLocaleKey"] for u in users.values()}) >= 4


def test_queues_and_statuses(seeded: SeededOrg) -> None:
    org = seeded.org
    assert {"Lead Intake", "Marketing Nurture", "EMEA Sales"} <= set(seeded.queue_ids)
    kinds = Counter((q["QueueId"], q["SobjectType"]) for q in org.tables["QueueSobject"].values())
    case_only = [q for q in seeded.queue_ids.values() if (q, "Lead") not in kinds]
    assert len(case_only) == 1 and (case_only[0], "Case") in kinds
    statuses = org.lead_statuses()
    labels = [s["MasterLabel"] for s in statuses]
    assert labels[:2] == ["Open - Not Contacted", "Working - Contacted"]
    assert {"Nurturing", "Marketing Qualified", "Closed - Not Converted"} <= set(labels)
    assert [s["MasterLabel"] for s in statuses if s["IsDefault"]] == ["Open - Not Contacted"]
    assert [s["MasterLabel"] for s in statuses if s["IsConverted"]] == ["Closed - Converted"]
    assert all(s["ApiName"] == s["MasterLabel"] for s in statuses)


def test_accounts_contacts_and_engagement(seeded: SeededOrg) -> None:
    tables = seeded.org.tables
    assert LEADS // 10 <= len(tables["Account"]) <= LEADS // 10 + 30
    assert 1.5 < len(tables["Contact"]) / len(tables["Account"]) < 3.0
    assert {"Webinar", "Content Download", "Conference", "Email"} <= {
        c["Type"] for c in tables["Campaign"].values()
    }
    members = list(tables["CampaignMember"].values())
    assert all(m["HasResponded"] == (m["Status"] in ("Responded", "Attended")) for m in members)
    assert 0.2 < len({m["LeadId"] for m in members}) / LEADS < 0.4
    tasks = list(tables["Task"].values())
    assert tasks and all(t["Status"] == "Completed" and t["IsClosed"] for t in tasks)
    assert all(tables["Lead"][t["WhoId"]]["LastActivityDate"] >= t["ActivityDate"] for t in tasks)


def test_contacts_of_accounts_use_the_account_domain(seeded: SeededOrg) -> None:
    tables = seeded.org.tables
    converted = {r["ConvertedContactId"] for r in leads(seeded) if r["IsConverted"]}
    for contact in tables["Contact"].values():
        if contact["Id"] not in converted:
            website = tables["Account"][contact["AccountId"]]["Website"]
            assert contact["Email"].endswith("@" + website.removeprefix("https://www."))


# -- realistic variety ----------------------------------------------------------


def test_lead_values_vary_like_real_data(seeded: SeededOrg) -> None:
    rows = leads(seeded)
    text = " ".join(f"{r['FirstName']} {r['LastName']}" for r in rows)
    assert re.search("[éüøñ]", text) and re.search("[\u4e00-\u9fff]", text)
    assert re.search("[\u0600-\u06ff]", text)
    countries = {r["Country"] for r in rows}
    assert {"USA", "United States", "US", "U.K.", "United Kingdom", "Deutschland", "Germany",
            "France"} <= countries  # fmt: skip
    assert {"CA", "Calif.", "California"} <= {r["State"] for r in rows}
    assert {"CEO", "VP Sales", "Director of IT", "Student", "Intern"} <= {r["Title"] for r in rows}
    domains = Counter(r["Email"].split("@")[1] for r in rows if r["Email"])
    assert 0.15 < sum(domains[d] for d in FREEMAIL_DOMAINS) / sum(domains.values()) < 0.4
    assert any(r["Email"] and r["Email"].startswith(("info@", "sales@")) for r in rows)
    assert share(rows, lambda r: r["Phone"] is None) > 0.1
    assert share(rows, lambda r: r["Status"].startswith(("Open", "Working"))) > 0.5


@pytest.mark.parametrize(
    "pattern",
    [r"^\+1 \(\d{3}\) \d{3}-\d{4}$", r"^\d{3}\.\d{3}\.\d{4}$", r"^\+44 \d{2,3} \d{3,4} \d{4}$",
     r"^0049 \d{2,3} \d{7}$"],
)  # fmt: skip
def test_phone_formats_are_mixed(seeded: SeededOrg, pattern: str) -> None:
    assert any(r["Phone"] and re.match(pattern, r["Phone"]) for r in leads(seeded))


def test_junk_deleted_and_merged_leads(seeded: SeededOrg) -> None:
    tables = seeded.org.tables["Lead"]
    junk = [tables[i] for i in seeded.junk_lead_ids]
    assert junk and all(
        {"test", "asdf", "x", "aaa", "qwerty"} & {str(r["FirstName"]).lower(), r["Company"]}
        or (r["LastName"].isalpha() and r["LastName"].islower())
        for r in junk
    )
    deleted = [r for r in tables.values() if r["IsDeleted"]]
    assert 0.01 < len(deleted) / LEADS < 0.05
    merged = [r for r in deleted if r["MasterRecordId"]]
    assert merged
    assert all(not tables[r["MasterRecordId"]]["IsDeleted"] for r in merged)


# -- conversion -------------------------------------------------------------------


def test_converted_leads_point_at_their_account_contact_and_opportunity(
    seeded: SeededOrg,
) -> None:
    tables = seeded.org.tables
    converted = [r for r in leads(seeded) if r["IsConverted"]]
    assert 0.05 < len(converted) / LEADS < 0.15
    for lead in converted:
        assert lead["Status"] == "Closed - Converted"
        assert lead["CreatedDate"] < NOW - timedelta(days=30)
        assert lead["CreatedDate"].date() <= lead["ConvertedDate"] < NOW.date()
        contact = tables["Contact"][lead["ConvertedContactId"]]
        assert contact["AccountId"] == lead["ConvertedAccountId"]
        assert (contact["LastName"], contact["Email"]) == (lead["LastName"], lead["Email"])
        if lead["ConvertedOpportunityId"]:
            opportunity = tables["Opportunity"][lead["ConvertedOpportunityId"]]
            assert opportunity["AccountId"] == lead["ConvertedAccountId"]
    assert any(r["ConvertedOpportunityId"] for r in converted)
    assert any(not r["ConvertedOpportunityId"] for r in converted)


def test_conversion_follows_the_documented_factors(seeded: SeededOrg) -> None:
    old = [r for r in leads(seeded) if r["CreatedDate"] < NOW - timedelta(days=31)]

    old.sort(key=lead_probability)
    third = len(old) // 3
    low, high = old[:third], old[-third:]
    assert share(high, lambda r: r["IsConverted"]) > 2 * share(low, lambda r: r["IsConverted"])


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        (("Technology", 500, "VP Sales", "Employee Referral", "USA"),
         ("Education", 5, "Student", "Purchased List", "USA")),
        (("Technology", 500, "CEO", "Web", "UK"), ("Technology", 500, "Intern", "Web", "UK")),
        (("Finance", 300, "CEO", "Web", None), ("Finance", 3, "CEO", "Web", None)),
        (("Retail", 300, None, "Partner Referral", "France"),
         ("Retail", 300, None, "Purchased List", "France")),
        (("Banking", None, "IT Manager", None, "DE"),
         ("Not For Profit", None, "IT Manager", None, "DE")),
        # Core markets by any seeded spelling, blank and far markets below them.
        (("Consulting", 80, "Director", "Web", "Deutschland"),
         ("Consulting", 80, "Director", "Web", None)),
        (("Consulting", 80, "Director", "Web", " united states "),
         ("Consulting", 80, "Director", "Web", "中国")),
        (("Consulting", 80, "Director", "Web", "Spain"),
         ("Consulting", 80, "Director", "Web", "Brasil")),
    ],
)  # fmt: skip
def test_conversion_probability_table(better: tuple[Any, ...], worse: tuple[Any, ...]) -> None:
    assert conversion_probability(*better) > conversion_probability(*worse)


def test_every_seeded_country_spelling_has_its_regions_effect() -> None:
    for region in REGIONS:
        for spelling, _weight in region.countries:
            assert country_effect(spelling) == COUNTRY_EFFECT[region.key], spelling
            assert country_effect(f" {spelling.upper()} ") == COUNTRY_EFFECT[region.key]


@pytest.mark.parametrize(
    ("country", "effect"), [(None, BLANK_COUNTRY_EFFECT), ("", BLANK_COUNTRY_EFFECT),
                            ("   ", BLANK_COUNTRY_EFFECT), ("Atlantis", 0.0)],
)  # fmt: skip
def test_a_blank_or_unseeded_country(country: str | None, effect: float) -> None:
    assert country_effect(country) == effect


@pytest.mark.parametrize(
    ("title", "level"),
    [("CEO", "c_level"), ("Co-Founder & CEO", "c_level"), ("VP Sales", "vp"),
     ("Vice President, Engineering", "vp"), ("Director of IT", "director"),
     ("Head of Sales", "director"), ("Marketing Manager", "manager"),
     ("Software Engineer", "individual"), ("Student", "junior"), ("Intern", "junior"),
     (None, "none"), ("  ", "none")],
)  # fmt: skip
def test_seniority(title: str | None, level: str) -> None:
    assert seniority(title) == level


# -- helpers of the generators ------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "expected"),
    [(Phone("1", "", "415", "5550134"), {"+1 (415) 555-0134", "415.555.0134"}),
     (Phone("44", "0", "20", "79460958"), {"+44 20 7946 0958", "020 7946 0958"}),
     (Phone("49", "0", "30", "1234567", "none"), {"0049 30 1234567", "030 1234567"}),
     (Phone("33", "0", "1", "23456789", "pairs"), {"+33 1 23 45 67 89", "01 23 45 67 89"})],
)  # fmt: skip
def test_phone_styles(phone: Phone, expected: set[str]) -> None:
    assert expected <= set(phone.styles())


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Jørgen", "jorgen"), ("Müller", "muller"), ("van Nus", "vannus"), ("Strauß", "strauss"),
     ("José-María", "josemaria"), ("王", "")],
)  # fmt: skip
def test_ascii_fold(text: str, folded: str) -> None:
    assert ascii_fold(text) == folded


@pytest.mark.parametrize(
    ("name", "stem"),
    [("Acme Inc.", "Acme"), ("Acme", "Acme"), ("Tanaka Trading Co., Ltd.", "Tanaka Trading"),
     ("Foo GmbH & Co. KG", "Foo"), ("Acme  Inc.", "Acme"), ("Silva S.A.", "Silva")],
)  # fmt: skip
def test_company_stem(name: str, stem: str) -> None:
    assert company_stem(name) == stem


# -- planted duplicates ---------------------------------------------------------------


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)[-9:]


def _same_except(dup: Record, orig: Record, *varied: str) -> bool:
    names = ("FirstName", "LastName", "Email", "Phone", "Company", "Title")
    return all(dup[n] == orig[n] for n in names if n not in varied)


def _is_typo(a: str, b: str) -> bool:
    diffs = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(diffs) == 1 and diffs[0][1].lower() in KEYBOARD_NEIGHBOURS[diffs[0][0].lower()]


def _normal(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


KIND_CHECKS = {
    "typo": lambda d, o: _same_except(d, o, "LastName") and len(d["LastName"]) == len(o["LastName"])
    and _is_typo(o["LastName"], d["LastName"]),
    "nickname": lambda d, o: _same_except(d, o, "FirstName")
    and d["FirstName"] in NICKNAMES[o["FirstName"]],
    "swapped_names": lambda d, o: _same_except(d, o, "FirstName", "LastName")
    and (d["FirstName"], d["LastName"]) == (o["LastName"], o["FirstName"]),
    "phone_format": lambda d, o: _same_except(d, o, "Phone") and d["Phone"] != o["Phone"]
    and _digits(d["Phone"]) == _digits(o["Phone"]),
    "company_suffix": lambda d, o: _same_except(d, o, "Company") and d["Company"] != o["Company"]
    and company_stem(d["Company"]) == company_stem(o["Company"]),
    "freemail_vs_corporate": lambda d, o: _same_except(d, o, "Email")
    and d["Email"].split("@")[1] in FREEMAIL_DOMAINS
    and o["Email"].split("@")[1] not in FREEMAIL_DOMAINS,
    "case_and_spaces": lambda d, o: _same_except(d, o, "FirstName", "LastName", "Email", "Company")
    and d["LastName"] != o["LastName"]
    and all(_normal(d[n]) == _normal(o[n]) for n in ("FirstName", "LastName", "Email", "Company")),
}  # fmt: skip


def _as_lead(org: Org, truth_type: str, record: Record) -> Record:
    if truth_type == "Lead":
        return record
    return {**record, "Company": org.tables["Account"][record["AccountId"]]["Name"]}


def test_duplicates_are_about_five_percent_of_every_kind(seeded: SeededOrg) -> None:
    kinds = Counter(d.kind for d in seeded.duplicates)
    assert set(kinds) == set(DUPLICATE_KINDS)
    assert 0.045 < len(seeded.duplicates) / LEADS < 0.055
    assert {d.original_type for d in seeded.duplicates} == {"Lead", "Contact"}
    originals = [d.original_id for d in seeded.duplicates]
    assert len(set(originals)) == len(originals)


def test_each_duplicate_differs_from_its_original_only_by_its_kind(seeded: SeededOrg) -> None:
    tables = seeded.org.tables
    wrong = []
    for truth in seeded.duplicates:
        dup = tables["Lead"][truth.duplicate_id]
        orig = tables[truth.original_type][truth.original_id]
        assert not dup["IsDeleted"] and not orig["IsDeleted"] and not orig.get("IsConverted")
        assert dup["CreatedDate"] > orig["CreatedDate"]
        if not KIND_CHECKS[truth.kind](dup, _as_lead(seeded.org, truth.original_type, orig)):
            wrong.append((truth, dup, orig))
    assert wrong == []


def test_no_unplanted_duplicates_by_email_or_name_and_company(seeded: SeededOrg) -> None:
    planted = {d.duplicate_id for d in seeded.duplicates}
    people = [r for r in live(seeded) if r["Id"] not in planted]
    people = [r for r in people if r["Id"] not in set(seeded.junk_lead_ids)]
    emails = Counter(r["Email"].lower() for r in people if r["Email"])
    assert [e for e, n in emails.items() if n > 1] == []
    keys = Counter(
        (_normal(r["FirstName"]), _normal(r["LastName"]), _normal(company_stem(r["Company"])))
        for r in people
    )
    assert [k for k, n in keys.items() if n > 1] == []
