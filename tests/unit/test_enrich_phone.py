"""Phone numbers: E.164 and country, read in the lead's country."""

from __future__ import annotations

import pytest

from sfsync.rules.enrich_phone import NO_PHONE, PhoneFacts, analyse_phone

BIG = "4" * 100_000


@pytest.mark.parametrize(
    ("raw", "country", "default", "e164", "number_country"),
    [
        ("(415) 555-0132", "US", None, "+14155550132", "US"),
        ("415.555.0132", None, "US", "+14155550132", "US"),
        ("+1 415 555 0132", None, None, "+14155550132", "US"),
        ("+1 416 555 0132", "US", None, "+14165550132", "CA"),  # Toronto, though the lead says US
        ("030 1234567", "DE", None, "+49301234567", "DE"),
        ("0049 30 1234567", "DE", None, "+49301234567", "DE"),
        ("+49 (0)30 1234567", "US", None, "+49301234567", "DE"),
        ("020 7946 0958", "GB", None, "+442079460958", "GB"),
        ("01 23 45 67 89", "FR", None, "+33123456789", "FR"),
        ("03-1234-5678", "JP", None, "+81312345678", "JP"),
        ("(415) 555-0132 x 204", "US", None, "+14155550132 ext. 204", "US"),
        ("４１５-５５５-０１３２", "US", None, "+14155550132", "US"),  # full-width digits
        ("415\x00555\u202e0132", "US", None, "+14155550132", "US"),  # NUL and RTL override
        ("\u200f+49 30 1234567", None, None, "+49301234567", "DE"),  # right-to-left mark
        ("030 1234567", None, None, None, None),  # no country to read it in
        ("123", "US", None, None, None),
        ("555-5555", "US", None, None, None),
        ("0000000000", "US", None, None, None),
        ("call me 📞", "US", None, None, None),
        ("n/a", "US", None, None, None),
        ("+1 415 555 0132 " * 5, "US", None, None, None),  # longer than the field holds
        (BIG, "US", None, None, None),
        ("", "US", None, None, None),
        (None, "US", None, None, None),
    ],
)
def test_e164_and_country(
    raw: object,
    country: str | None,
    default: str | None,
    e164: str | None,
    number_country: str | None,
) -> None:
    facts = analyse_phone(raw, country, default)
    assert (facts.e164, facts.country) == (e164, number_country)
    assert facts.valid is (e164 is not None)


@pytest.mark.parametrize(
    ("raw", "international"),
    [("+49 30 1234567", True), ("0049 30 1234567", True), ("030 1234567", False)],
)
def test_international_marks_numbers_with_their_own_country_code(
    raw: str, international: bool
) -> None:
    assert analyse_phone(raw, "DE", None).international is international


@pytest.mark.parametrize(
    ("raw", "country", "problem"),
    [
        (None, "US", "no number"),
        ("   ", "US", "no number"),
        ("123", "US", "not valid in US"),
        ("+999 123", None, "unknown country code"),
        ("hello", "US", "not a phone number"),
        ("030 1234567", None, "no country code, and the lead's country is unknown"),
        ("x" * 41, "US", "longer than 40 characters"),
    ],
)
def test_problems_are_explained(raw: object, country: str | None, problem: str) -> None:
    facts = analyse_phone(raw, country, None)
    assert facts.e164 is None and facts.problem == problem
    assert facts.describe() == problem


def test_blank_is_the_shared_no_phone() -> None:
    assert analyse_phone("", "US", "US") is NO_PHONE
    assert PhoneFacts("+14155550132", "US").describe() == "+14155550132 (US)"


def test_lower_case_country_codes_are_accepted() -> None:
    assert analyse_phone("030 1234567", "de", None).e164 == "+49301234567"
