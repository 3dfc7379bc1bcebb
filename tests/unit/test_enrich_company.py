"""Company names without legal suffixes; firmographics by domain; the firmographics file."""

from __future__ import annotations

import re

import pytest

from sfsync.errors import ConfigError
from sfsync.rules.enrich_company import (
    CompanyFacts,
    find_company,
    normalise_company,
    parse_firmographics,
    suffix_pattern,
)
from sfsync.rules.enrich_data import load_enrichment_data, shipped_texts, word_list

DATA = load_enrichment_data(shipped_texts())
SUFFIXES = DATA.legal_suffixes
BIG = "Acme " * 20_000 + "Inc."


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Acme Inc.", "Acme"),
        ("Acme, Inc.", "Acme"),
        ("ACME INC", "ACME"),
        ("Acme Corporation", "Acme"),
        ("Acme Holdings, LLC", "Acme Holdings"),
        ("Siemens AG", "Siemens"),
        ("Müller GmbH & Co. KG", "Müller"),
        ("Mu\u0308ller GmbH", "Müller"),  # combining diaeresis composes
        ("Globex Pty. Ltd.", "Globex"),
        ("Globex Pty Ltd", "Globex"),
        ("Initech Co., Ltd.", "Initech"),
        ("Nordisk A/S", "Nordisk"),
        ("Vandelay S.p.A.", "Vandelay"),
        ("Vandelay SpA", "Vandelay"),
        ("Bancorp", "Bancorp"),  # "corp" inside a word stays
        ("Acme Incubator", "Acme Incubator"),
        ("Inc.", "Inc."),  # nothing left: keep the name
        ("  Acme   Inc.  ", "Acme"),
        ("Acme 🚀 Inc.", "Acme 🚀"),
        ("شركة أكمي LLC", "شركة أكمي"),  # right-to-left script
        ("Ac\x00me\u202e Inc.", "Acme"),  # NUL and bidi override dropped
        ("株式会社アクメ", "株式会社アクメ"),
        ("", None),
        (None, None),
        ("\x00 \u200b", None),
    ],
)
def test_normalise_company(raw: object, name: str | None) -> None:
    assert normalise_company(raw, SUFFIXES) == name


def test_oversized_company_is_cut_to_the_field_length() -> None:
    name = normalise_company(BIG, SUFFIXES)
    assert name is not None and len(name) <= 255 and name.startswith("Acme Acme")


def test_an_empty_suffix_list_strips_nothing() -> None:
    assert normalise_company("Acme Inc.", suffix_pattern([])) == "Acme Inc."
    assert normalise_company("Acme KK", suffix_pattern(["K.K."])) == "Acme"


@pytest.mark.parametrize(
    ("email_domain", "website", "name", "source", "domain"),
    [
        ("siemens.com", None, "Siemens", "e-mail domain", "siemens.com"),
        ("healthcare.siemens.com", None, "Siemens", "e-mail domain", "siemens.com"),
        (None, "https://www.sap.com/about?x=1", "SAP", "Website", "sap.com"),
        (None, "WWW.BBC.CO.UK", "BBC", "Website", "bbc.co.uk"),
        (None, "news.bbc.co.uk:443/path", "BBC", "Website", "bbc.co.uk"),
        ("unknown.example", "www.hubspot.com", "HubSpot", "Website", "hubspot.com"),
        ("sap.com", "www.oracle.com", "SAP", "e-mail domain", "sap.com"),
    ],
)
def test_find_company(
    email_domain: str | None, website: str | None, name: str, source: str, domain: str
) -> None:
    match = find_company(email_domain, website, DATA.firmographics)
    assert match is not None
    assert (match.facts.name, match.source, match.domain) == (name, source, domain)


@pytest.mark.parametrize(
    "website", [None, "", "not a url", "😀.com", "http://", "co.uk", "a" * 100_000, "\u202e"]
)
def test_no_company_without_a_known_domain(website: object) -> None:
    assert find_company(None, website, DATA.firmographics) is None
    assert find_company("gmail.com", website, DATA.firmographics) is None


def test_website_is_cleaned_before_lookup() -> None:
    match = find_company(None, "\x00www.s\u200bap.com", DATA.firmographics)
    assert match is not None and match.facts.name == "SAP"


def test_shipped_firmographics() -> None:
    table = DATA.firmographics
    assert 50 <= len(table) <= 100
    assert table["sap.com"] == CompanyFacts(
        "sap.com", "SAP", 107_000, 34_000_000_000.0, "Technology", "DE"
    )
    assert table["stripe.com"].annual_revenue is None


def test_firmographics_file_of_a_user() -> None:
    text = "# mine\ndomain,name,employees\nwww.Acme.com,Acme,1_200\n\nglobex.io,Globex,\n"
    table = parse_firmographics(text, "firms.csv")
    assert table["acme.com"].employees == 1200
    assert table["globex.io"] == CompanyFacts("globex.io", "Globex")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("domain,name\nacme,Acme\n", "f.csv:2: domain 'acme' is not a domain like acme.com"),
        ("domain,name\nacme.com,\n", "f.csv:2: no value in column(s) ['name']"),
        ("name\nAcme\n", "f.csv:1: missing column(s) ['domain']"),
        ("domain,name\na.com,A\n# x\na.com,B\n", "f.csv:4: domain 'a.com' is listed twice"),
        (
            "domain,name,employees\na.com,A,many\n",
            "f.csv:2: employees must be a number, got 'many'",
        ),
        ("domain,name,employees\na.com,A,1.5\n", "f.csv:2: employees must be a whole number"),
        ("domain,name,annual_revenue\na.com,A,-1\n", "f.csv:2: annual_revenue must be between"),
        ("domain,name,annual_revenue\na.com,A,nan\n", "f.csv:2: annual_revenue must be between"),
        (
            "domain,name,country\na.com,A,Germany\n",
            "f.csv:2: country 'GERMANY' must be an ISO code",
        ),
    ],
)
def test_bad_firmographics_rows_name_their_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_firmographics(text, "f.csv")


def test_word_list_skips_comments_and_blanks() -> None:
    assert word_list("# c\n\n gmail.com \n  # indented\n-\n") == ["gmail.com"]
