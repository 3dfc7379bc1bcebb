"""Enrichment of whole leads: facts, fills that respect people's values, config errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sfsync.errors import ConfigError
from sfsync.mappings import load_model
from sfsync.rules.enrich import PERSON_VALUE, Fill, enrich_lead
from sfsync.rules.enrich_config import EnrichmentConfig, Fact
from sfsync.rules.enrich_data import DataExtras, load_enrichment_data, shipped_texts

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SHIPPED = load_model(MAPPINGS / "enrichment.yaml", EnrichmentConfig)
TEXTS = shipped_texts()
DATA = load_enrichment_data(TEXTS, SHIPPED.extras())

SIEMENS_LEAD = {
    "Email": "Jane.Doe@healthcare.siemens.com",
    "Phone": "089 636 00",
    "Country": "Deutschland",
    "State": "Bavaria",
    "Company": "Siemens AG",
    "Title": "VP Sales",
}


def _config(**overrides: Any) -> EnrichmentConfig:
    return EnrichmentConfig.model_validate(overrides)


def test_facts_of_a_full_lead() -> None:
    facts = enrich_lead(SIEMENS_LEAD, SHIPPED, DATA).facts
    assert {name: facts[name] for name in (
        "$email.address", "$email.free", "$phone.e164", "$country.code", "$state.code",
        "$company.name", "$company.domain", "$company.employees", "$company.industry",
        "$company.competitor", "$title.seniority", "$title.department",
    )} == {
        "$email.address": "jane.doe@healthcare.siemens.com", "$email.free": False,
        "$phone.e164": "+498963600", "$country.code": "DE", "$state.code": "BY",
        "$company.name": "Siemens", "$company.domain": "siemens.com",
        "$company.employees": 320_000, "$company.industry": "Manufacturing",
        "$company.competitor": False, "$title.seniority": "VP", "$title.department": "Sales",
    }  # fmt: skip
    assert set(facts) == {fact.value for fact in Fact}


def test_blank_lead_has_unknown_facts() -> None:
    facts = enrich_lead({}, SHIPPED, DATA).facts
    known = {name: value for name, value in facts.items() if value is not None}
    assert known == {"$company.known": False, "$company.competitor": False}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Country", "Germany"),  # "Deutschland" standardised
        ("State", "BY"),  # "Bavaria" standardised
        ("Phone", "+498963600"),
        ("Industry", "Manufacturing"),  # blank: filled from firmographics
        ("NumberOfEmployees", 320_000),
        ("AnnualRevenue", 84_000_000_000.0),
    ],
)
def test_shipped_fills(field: str, value: Any) -> None:
    fills = {f.field: f.value for f in enrich_lead(SIEMENS_LEAD, SHIPPED, DATA).fills}
    assert fills[field] == value


def test_a_person_s_value_is_never_replaced_by_other_information() -> None:
    lead = {**SIEMENS_LEAD, "Industry": "Banking", "NumberOfEmployees": 12}
    result = enrich_lead(lead, SHIPPED, DATA)
    assert {f.field for f in result.fills} == {"Country", "State", "Phone", "AnnualRevenue"}
    assert result.kept == {"Industry": PERSON_VALUE, "NumberOfEmployees": PERSON_VALUE}


def test_sfsync_s_own_value_may_be_refreshed() -> None:
    lead = {**SIEMENS_LEAD, "Industry": "Banking"}
    result = enrich_lead(lead, SHIPPED, DATA, last_written={"Industry": "Banking"})
    assert Fill("Industry", "Manufacturing", Fact.COMPANY_INDUSTRY) in result.fills


def test_standardize_marks_rewrites_of_a_person_s_value() -> None:
    fills = {f.field: f for f in enrich_lead(SIEMENS_LEAD, SHIPPED, DATA).fills}
    assert fills["Country"].standardizes and not fills["Industry"].standardizes


def test_fill_empty_does_not_standardize() -> None:
    config = _config(fills=[{"field": "Country", "from": "$country.name"}])
    result = enrich_lead({"Country": "USA"}, config, DATA)
    assert result.fills == () and result.kept == {"Country": PERSON_VALUE}


def test_a_value_already_standard_is_left_alone() -> None:
    lead = {"Country": "Germany", "State": "BY", "Phone": "+498963600"}
    assert enrich_lead(lead, SHIPPED, DATA).fills == ()


def test_country_inferred_from_an_international_phone_fills_only_a_blank_country() -> None:
    lead = {"Phone": "+44 20 7946 0958"}
    result = enrich_lead(lead, SHIPPED, DATA)
    assert result.country_source == "Phone"
    assert Fill("Country", "United Kingdom", Fact.COUNTRY_NAME) in result.fills
    national = enrich_lead({"Phone": "(415) 555-0132"}, SHIPPED, DATA)
    assert national.country is None  # read in the default country: proves nothing


def test_inference_can_be_switched_off() -> None:
    config = _config(infer_country_from_phone=False)
    assert enrich_lead({"Phone": "+44 20 7946 0958"}, config, DATA).country is None


def test_phone_is_read_in_the_lead_s_country() -> None:
    result = enrich_lead({"Phone": "030 1234567", "Country": "DE"}, _config(), DATA)
    assert result.phone.e164 == "+49301234567"
    assert enrich_lead({"Phone": "030 1234567"}, _config(), DATA).phone.e164 is None


def test_competitor_by_email_or_website() -> None:
    assert enrich_lead({"Email": "bob@eu.leadloop.io"}, SHIPPED, DATA).competitor == "leadloop.io"
    by_site = enrich_lead({"Website": "https://www.scorebird.com/"}, SHIPPED, DATA)
    assert by_site.facts["$company.competitor"] is True


def test_free_mail_company_is_found_by_website() -> None:
    result = enrich_lead({"Email": "jane@gmail.com", "Website": "sap.com"}, SHIPPED, DATA)
    assert result.facts["$company.industry"] == "Technology"
    assert result.facts["$email.free"] is True


def test_sources_can_be_switched_off() -> None:
    config = _config(sources={"email": None, "title": None})
    facts = enrich_lead(SIEMENS_LEAD, config, DATA).facts
    assert facts["$email.address"] is None and facts["$title.seniority"] is None


def test_values_overlay_fills_and_facts() -> None:
    result = enrich_lead(SIEMENS_LEAD, SHIPPED, DATA)
    values = result.values(SIEMENS_LEAD)
    assert values["Industry"] == "Manufacturing" and values["Company"] == "Siemens AG"
    assert values["$title.seniority"] == "VP"


def test_explanation_tells_the_whole_story() -> None:
    lines = enrich_lead({**SIEMENS_LEAD, "Industry": "Banking"}, SHIPPED, DATA).explain()
    text = {c.rule: c.detail for c in lines}
    assert text["Enrich country"] == "Germany (DE) from Country, state Bayern (BY)"
    assert (
        text["Fill Country"] == "'Germany' from $country.name (standard form of the value entered)"
    )
    assert text["Keep Industry"] == PERSON_VALUE
    assert text["Enrich company"].startswith("Siemens; Siemens by e-mail domain siemens.com")


@pytest.mark.parametrize(
    "junk",
    ["", None, "\x00" * 10, "😀" * 50, "\u202e" + "x" * 100_000, "ا" * 100_000, 3.5, True],
)
def test_any_junk_in_every_field_is_survived(junk: object) -> None:
    lead = dict.fromkeys(("Email", "Phone", "MobilePhone", "Country", "State", "Company",
                          "Website", "Title"), junk)  # fmt: skip
    result = enrich_lead(lead, SHIPPED, DATA)
    assert result.facts["$email.address"] is None
    assert result.facts["$phone.e164"] is None and result.facts["$country.code"] is None


def test_extras_extend_the_shipped_lists() -> None:
    extras = DataExtras(free_mail=["corp-mail.example"], role_prefixes=["Vertrieb"],
                        legal_suffixes=["Group"])  # fmt: skip
    data = load_enrichment_data(TEXTS, extras)
    result = enrich_lead({"Email": "vertrieb@corp-mail.example", "Company": "Acme Group"},
                         _config(), data)  # fmt: skip
    assert (result.email.free, result.email.role, result.company_name) == (True, True, "Acme")


def test_a_user_firmographics_file_replaces_the_sample() -> None:
    data = load_enrichment_data(TEXTS, firmographics=("domain,name\nacme.com,Acme\n", "my.csv"))
    assert set(data.firmographics) == {"acme.com"}
    with pytest.raises(ConfigError, match=r"my\.csv:2: domain 'acme'"):
        load_enrichment_data(TEXTS, firmographics=("domain,name\nacme,Acme\n", "my.csv"))


def test_config_lists_the_fields_it_reads() -> None:
    assert {"Email", "Phone", "Website", "Industry", "AnnualRevenue"} <= SHIPPED.fields_read()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"fills": [{"field": "Industry", "from": "$company.sector"}]},
         "Input should be '\\$email"),
        ({"fills": [{"field": "Industry", "from": "$company.industry", "mode": "standardize"}]},
         "standardize only rewrites a field into the standard form of its own value"),
        ({"fills": [{"field": "BillingCountry", "from": "$country.code", "mode": "standardize"}]},
         "\\$country.code cannot standardize BillingCountry"),
        ({"fills": [{"field": "Country", "from": "$country.code"},
                    {"field": "Country", "from": "$country.name"}]},
         "field\\(s\\) \\['Country'\\] are filled by more than one rule"),
        ({"fills": [{"field": "Country", "from": "$country.code", "mode": "always"}]},
         "Input should be 'fill_empty' or 'standardize'"),
        ({"fills": [{"field": "", "from": "$country.code"}]}, "at least 1 character"),
        ({"default_country": "Germany"}, "'Germany' is not an ISO 3166-1 alpha-2 country code"),
        ({"default_country": "XX"}, "'XX' is not an ISO 3166-1 alpha-2"),
        ({"sources": {"fax": "Fax"}}, "Extra inputs are not permitted"),
        ({"infer_country_from_phone": "maybe"}, "Input should be a valid boolean"),
        ({"title": {"seniority": {"groups": [{"name": "A", "keywords": ["ceo"]},
                                             {"name": "B", "keywords": ["CEO"]}]}}},
         "keyword 'CEO' is in both 'A' and 'B'"),
    ],
)  # fmt: skip
def test_bad_config(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EnrichmentConfig.model_validate(config)


def test_bad_config_in_a_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "enrichment.yaml"
    path.write_text("default_country: US\nfills:\n  - {field: Industry, from: $nope}\n")
    with pytest.raises(ConfigError, match=r"enrichment\.yaml:3: fills\[0\]\.from: Input should be"):
        load_model(path, EnrichmentConfig)
