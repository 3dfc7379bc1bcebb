"""Matching's normal forms, blocking keys and field comparison methods, each a table of cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sfsync.jobs.match_setup import load_matcher
from sfsync.rules.matching_config import MatchKey
from sfsync.rules.matching_keys import blocking_keys, lookups
from sfsync.rules.matching_methods import METHODS, NEIGHBOURS, keyboard, phone_sections
from sfsync.rules.matching_text import (
    company_key,
    company_name,
    email_address,
    email_domain,
    email_key,
    fold,
    name_key,
    phone_e164,
    website_domain,
)

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
DATA = load_matcher(MAPPINGS).data


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("JOSÉ  Müller", "jose muller"),
        ("O'Brien-Smith, Jr.", "obrien smith jr"),
        ("Straße", "strasse"),
        ("Øystein Løvås", "oystein lovas"),
        ("Mu\u0308ller", "muller"),  # decomposed umlaut
        ("王伟", "王伟"),  # no case, no accents: unchanged
        ("محمد", "محمد"),
        ("ＡＣＭＥ", "acme"),  # full-width letters
        ("   ", ""),
        ("Łukasz_Żak", "lukasz zak"),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


@pytest.mark.parametrize(
    ("raw", "address", "key", "domain"),
    [
        ("john_doe@us.ibm.com", "john_doe@us.ibm.com", "johndoe@ibm.com", "ibm.com"),
        ("John.Doe+news@Example.CO.UK", "john.doe@example.co.uk", "johndoe@example.co.uk",
         "example.co.uk"),
        ("<jane@acme.com>", "jane@acme.com", "jane@acme.com", "acme.com"),
        ("jane@gmail.com", "jane@gmail.com", "jane@gmail.com", None),  # free mail: no company
        ("not an address", None, None, None),
        ("", None, None, None),
        (None, None, None, None),
        ("a@b@c.com", None, None, None),
    ],
)  # fmt: skip
def test_email_forms(raw: Any, address: str | None, key: str | None, domain: str | None) -> None:
    assert email_address(raw) == address
    assert email_key(raw) == key
    assert email_domain(raw, DATA) == domain


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("https://www.acme.com/about", "acme.com"),
        ("www.acme.co.uk", "acme.co.uk"),
        ("http://shop.eu.acme.com.br", "acme.com.br"),
        ("acme", None),
        ("gmail.com", None),
        ("", None),
        ("not a website at all", None),
    ],
)
def test_website_domain(raw: str, domain: str | None) -> None:
    assert website_domain(raw, DATA) == domain


@pytest.mark.parametrize(
    ("raw", "name", "key"),
    [
        ("ACME Systems, Inc.", "acme systems", "acmesystems"),
        ("Acme  Systems", "acme systems", "acmesystems"),
        ("Smith & Jones GmbH & Co. KG", "smith jones", "smithjones"),
        ("Smith and Jones", "smith and jones", "smithjones"),
        ("Initech Co., Ltd.", "initech", "initech"),
        ("Vandelay S.p.A.", "vandelay", "vandelay"),
        ("Shenzhen Cloud Group", "shenzhen cloud", "shenzhencloud"),  # matching.yaml adds Group
        ("Inc.", "inc", "inc"),  # nothing would be left: kept
        ("", "", None),
    ],
)
def test_company_forms(raw: str, name: str, key: str | None) -> None:
    assert company_name(raw, DATA) == name
    assert company_key(name) == key


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("(415) 555-0134", "US", "+14155550134"),
        ("+1 415.555.0134", None, "+14155550134"),
        ("0044 20 7946 0958", None, "+442079460958"),  # 00 read as +
        ("030 1234567", "DE", "+49301234567"),
        ("030 1234567", None, None),  # national format without a country: unknown
        ("555-5555", "US", None),
        ("+1 (415) 555-0134 ext. 12", None, "+14155550134"),
        ("", "US", None),
    ],
)
def test_phone_e164(raw: str, country: str | None, e164: str | None) -> None:
    assert phone_e164(raw, country, DATA) == e164


@pytest.mark.parametrize(
    ("e164", "sections"),
    [
        ("+14155551234", ("1", "415", "555", "1234")),
        ("+442079460958", ("44", "20", "7946", "0958")),
        ("+493012345678", ("49", "30", "1234", "5678")),
    ],
)
def test_phone_sections(e164: str, sections: tuple[str, ...]) -> None:
    assert phone_sections(e164) == sections


@pytest.mark.parametrize(
    ("first", "last", "key"),
    [
        ("john", "smith", "SM0J"),
        ("jon", "smyth", "SM0J"),  # sounds alike: same key
        ("", "smith", "SM0"),
        ("john", "", None),
        ("伟", "王", "王伟"),  # non-Latin: the name itself stands in for its sound
    ],
)
def test_name_key(first: str, last: str, key: str | None) -> None:
    assert name_key(first, last) == key


def test_blocking_keys_of_a_person_and_an_account() -> None:
    person = {"FirstName": "John", "LastName": "Smith", "Email": "John.Smith@Acme.com",
              "Phone": "(415) 555-0134", "Country": "USA", "Company": "Acme, Inc."}  # fmt: skip
    keys = blocking_keys(person, "Lead", DATA)
    assert keys.as_columns() == {
        "email_key": "johnsmith@acme.com", "email_domain": "acme.com",
        "phone_key": "+14155550134", "name_key": "SM0J", "company_key": "acme",
    }  # fmt: skip
    account = {"Company": "Acme Inc", "Website": "https://acme.com", "Phone": "(415) 555-0100"}
    assert blocking_keys(account, "Account", DATA).as_columns() == {
        "email_key": None, "email_domain": "acme.com", "phone_key": None, "name_key": None,
        "company_key": "acme",
    }  # fmt: skip


def test_a_lead_looks_its_names_up_both_ways_round_and_its_mobile_too() -> None:
    lead = {"FirstName": "John", "LastName": "Smith", "Company": "Acme",
            "MobilePhone": "+44 20 7946 0958"}  # fmt: skip
    found = lookups(lead, DATA, (MatchKey.NAME_COMPANY, MatchKey.PHONE))
    assert found == {("name_company", "SM0J", "acme"), ("name_company", "JNS", "acme"),
                     ("phone", "+442079460958")}  # fmt: skip


def score(method: str, field: str, a: dict[str, Any], b: dict[str, Any]) -> tuple[float, str]:
    m = METHODS[method]
    x, y = m.prepare(a, field, DATA), m.prepare(b, field, DATA)
    assert x is not None and y is not None
    return m.score(x, y, DATA)


FIRST, LAST, COMPANY = "FirstName", "LastName", "Company"


@pytest.mark.parametrize(
    ("method", "field", "a", "b", "expected", "algorithm"),
    [
        # Fuzzy first name (threshold 85): exact, initials, name variant, Jaro-Winkler.
        ("fuzzy_first_name", FIRST, "Jonathan", "JONATHAN", 100, "exact"),
        ("fuzzy_first_name", FIRST, "Jonathan", "J.", 100, "initials"),
        ("fuzzy_first_name", FIRST, "J R", "John Robert", 100, "initials"),
        ("fuzzy_first_name", FIRST, "Robert", "Bob", 100, "name variant"),
        ("fuzzy_first_name", FIRST, "Bob", "Robert", 100, "name variant"),
        ("fuzzy_first_name", FIRST, "Katherine", "Kate", 100, "name variant"),
        ("fuzzy_first_name", FIRST, "Johannes", "Hans", 100, "name variant"),  # matching.yaml
        ("fuzzy_first_name", FIRST, "José", "Jose", 100, "exact"),
        ("fuzzy_first_name", FIRST, "Micheal", "Michael", 97.1, "jaro-winkler"),
        ("fuzzy_first_name", FIRST, "Anna", "Maria", 63.3, "jaro-winkler"),
        # Fuzzy last name (threshold 90): exact, keyboard distance, metaphone.
        ("fuzzy_last_name", LAST, "Smith", "SMITH", 100, "exact"),
        ("fuzzy_last_name", LAST, "Smith", "Smyth", 100, "metaphone"),
        ("fuzzy_last_name", LAST, "Wang", "Wanf", 92.5, "keyboard distance"),  # g, f neighbours
        ("fuzzy_last_name", LAST, "Gordon", "Goedon", 95.0, "keyboard distance"),
        ("fuzzy_last_name", LAST, "Smith", "Smxth", 80.0, "keyboard distance"),  # not neighbours
        ("fuzzy_last_name", LAST, "Smith", "Msith", 80.0, "keyboard distance"),  # swapped letters
        ("fuzzy_last_name", LAST, "O'Brien", "Obrien", 100, "exact"),
        ("fuzzy_last_name", LAST, "Müller", "Mueller", 100, "metaphone"),
        ("fuzzy_last_name", LAST, "Smith", "Jones", 0, "keyboard distance"),
        # Same metaphone, spelt far apart: not the same name (found as false matches).
        ("fuzzy_last_name", LAST, "Kaur", "Gray", 17.5, "keyboard distance"),
        ("fuzzy_last_name", LAST, "Bull", "Bailey", 45.0, "keyboard distance"),
        ("fuzzy_last_name", LAST, "王", "李", 0, "keyboard distance"),  # no metaphone for CJK
        # Fuzzy company (threshold 70): exact without suffix, acronym, alignment.
        ("fuzzy_company", COMPANY, "Acme, Inc.", "ACME", 100, "exact"),
        ("fuzzy_company", COMPANY, "Advanced Micro Devices", "AMD", 100, "acronym"),
        ("fuzzy_company", COMPANY, "Blue Wave Systems", "Bluewave Systems Ltd", 100, "exact"),
        ("fuzzy_company", COMPANY, "Acme Systems", "Acme Solutions", 61.5, "syllable alignment"),
        ("fuzzy_company", COMPANY, "Globex Corporation", "Globex Corp Intl", 60.0,
         "syllable alignment"),  # "corp intl" is not a suffix: below 70
    ],
)  # fmt: skip
def test_name_and_company_methods(
    method: str, field: str, a: str, b: str, expected: float, algorithm: str
) -> None:
    assert score(method, field, {field: a}, {field: b}) == (expected, algorithm)


US = {"Country": "United States"}


@pytest.mark.parametrize(
    ("method", "field", "a", "b", "expected", "matched"),
    [
        # Phone by sections (threshold 80): country 10, area 50, next 3 digits 30, last 4 10.
        ("fuzzy_phone", "Phone", {"Phone": "1-415-555-1234", **US},
         {"Phone": "(415) 555-1234", **US}, 100, True),
        ("fuzzy_phone", "Phone", {"Phone": "1-415-555-1234", **US},
         {"Phone": "1-415-555-5678", **US}, 90, True),  # Salesforce's own example: 90, a match
        ("fuzzy_phone", "Phone", {"Phone": "1-415-555-1234", **US},
         {"Phone": "1-415-666-1234", **US}, 70, False),
        ("fuzzy_phone", "Phone", {"Phone": "1-415-555-1234", **US},
         {"Phone": "1-212-555-1234", **US}, 50, False),
        ("fuzzy_phone", "Phone", {"Phone": "+49 30 1234567"},
         {"Phone": "030 1234567", "Country": "Deutschland"}, 100, True),
        ("fuzzy_phone", "Phone", {"Phone": "011 6535 1776"}, {"Phone": "011-6535-1776"}, 100,
         True),  # valid nowhere: digit for digit
        ("fuzzy_phone", "Phone", {"Phone": "011 6535 1776"}, {"Phone": "+14155551234"}, 0, False),
        # City (threshold 85): exact, edit distance.
        ("fuzzy_city", "City", {"City": "San Francisco"}, {"City": "san francisco"}, 100, True),
        ("fuzzy_city", "City", {"City": "San Francisco"}, {"City": "San Fransisco"}, 92.3, True),
        ("fuzzy_city", "City", {"City": "Boston"}, {"City": "Austin"}, 50.0, False),
        # Street (threshold 80): house number 40, words 60.
        ("fuzzy_street", "Street", {"Street": "12 Main Street"}, {"Street": "12 main st."}, 100,
         True),
        ("fuzzy_street", "Street", {"Street": "12 Main Street"}, {"Street": "14 Main Street"}, 60,
         False),
        ("fuzzy_street", "Street", {"Street": "rue Arnaud"}, {"Street": "Rue Arnauld"}, 95.2,
         True),
        # Postal code (threshold 80).
        ("postal_code", "PostalCode", {"PostalCode": "94105"}, {"PostalCode": "94105-1234"}, 90,
         True),
        ("postal_code", "PostalCode", {"PostalCode": "SW1A 1AA"}, {"PostalCode": "sw1a1aa"}, 100,
         True),
        ("postal_code", "PostalCode", {"PostalCode": "94105"}, {"PostalCode": "94107"}, 0, False),
        # Title (threshold 50): exact, acronym, edit distance.
        ("fuzzy_title", "Title", {"Title": "CTO"}, {"Title": "Chief Technology Officer"}, 100,
         True),
        ("fuzzy_title", "Title", {"Title": "VP Sales"}, {"Title": "VP of Sales"}, 100, True),
        ("fuzzy_title", "Title", {"Title": "Nurse"}, {"Title": "Software Engineer"}, 36.4, False),
        # Exact, e-mail, domain (threshold 100).
        ("email", "Email", {"Email": "Jane@Acme.com"}, {"Email": "jane+crm@acme.com"}, 100, True),
        ("email", "Email", {"Email": "jane@acme.com"}, {"Email": "jane@acme.org"}, 0, False),
        ("domain", "Website", {"Email": "jane@acme.com"}, {"Website": "https://www.acme.com"},
         100, True),
        ("domain", "Website", {"Website": "acme.co.uk"}, {"Website": "acme.com"}, 0, False),
        ("exact", "State", {"State": "Calif."}, {"State": "calif"}, 100, True),
    ],
)  # fmt: skip
def test_methods_and_their_thresholds(
    method: str, field: str, a: dict[str, Any], b: dict[str, Any], expected: float, matched: bool
) -> None:
    value, _algorithm = score(method, field, a, b)
    assert value == expected
    assert (value >= METHODS[method].threshold) is matched


@pytest.mark.parametrize(
    ("method", "field", "value"),
    [
        ("fuzzy_phone", "Phone", "123"),  # too short to be a number
        ("fuzzy_phone", "Phone", "0000000000"),  # one digit repeated
        ("fuzzy_first_name", "FirstName", "  "),
        ("email", "Email", "nobody"),
        ("domain", "Website", "jane@gmail.com"),  # only free-mail: no company domain
        ("fuzzy_street", "Street", "  \x00 "),
        ("fuzzy_company", "Company", None),
    ],
)
def test_values_that_read_as_blank(method: str, field: str, value: Any) -> None:
    record = {field: value, "Email": value if field == "Website" else None}
    assert METHODS[method].prepare(record, field, DATA) is None


def test_keyboard_neighbours_are_symmetric_and_local() -> None:
    assert "s" in NEIGHBOURS["a"] and "a" in NEIGHBOURS["s"]
    assert "p" not in NEIGHBOURS["a"]
    assert all(a in NEIGHBOURS[b] for a, near in NEIGHBOURS.items() for b in near)
    assert keyboard("", "") == 100.0
