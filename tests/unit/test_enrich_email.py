"""E-mail analysis: normalisation, validity, free-mail, disposable and role flags."""

from __future__ import annotations

import pytest

from sfsync.rules.enrich_data import load_enrichment_data, shipped_texts
from sfsync.rules.enrich_email import (
    INVALID_EMAIL,
    NO_EMAIL,
    EmailFacts,
    analyse_email,
    is_role,
    normalise_address,
)

LISTS = load_enrichment_data(shipped_texts()).email
BIG = "a" * 100_000


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("jane.doe@acme.com", "jane.doe@acme.com"),
        ("  Jane.Doe@ACME.com ", "jane.doe@acme.com"),
        ("mailto:jane@acme.com", "jane@acme.com"),
        ("Jane Doe <jane@acme.com>", "jane@acme.com"),
        ("<jane@acme.com>;", "jane@acme.com"),
        ("jane+news@acme.co.uk", "jane+news@acme.co.uk"),
        ("o'brien@acme.ie", "o'brien@acme.ie"),
        ("jane@acme.com.", "jane@acme.com"),
        ("jane@xn--mnchen-3ya.de", "jane@xn--mnchen-3ya.de"),
        ("jane@münchen.de", "jane@münchen.de"),
        ("jane@mu\u0308nchen.de", "jane@münchen.de"),  # combining diaeresis composes
        ("ja\x00ne@acme.com", "jane@acme.com"),  # NUL dropped
        ("\u202ejane@acme.com", "jane@acme.com"),  # right-to-left override dropped
        ("jane@acme.com\u200b", "jane@acme.com"),  # zero-width space dropped
        ("ＪＡＮＥ@ＡＣＭＥ.com", "jane@acme.com"),  # full-width letters
        ("jane@acme", None),
        ("jane@@acme.com", None),
        ("jane@acme..com", None),
        (".jane@acme.com", None),
        ("jane.@acme.com", None),
        ("jane..doe@acme.com", None),
        ("jane doe@acme.com", None),
        ("jané@acme.com", None),  # non-ASCII local parts are refused by Salesforce
        ("😀@acme.com", None),
        ("jane@😀.com", None),
        ("jane@-acme.com", None),
        ("jane@acme.c", None),
        ("جين@acme.com", None),  # right-to-left script
        ("x" * 65 + "@acme.com", None),
        ("x@" + "a" * 250 + ".com", None),
        ("", None),
        (None, None),
        (42, None),
        (BIG + "@acme.com", None),
        ("@", None),
    ],
)
def test_normalise_address(raw: object, address: str | None) -> None:
    assert normalise_address(raw) == address


@pytest.mark.parametrize(
    ("raw", "free", "disposable", "role"),
    [
        ("jane@acme.com", False, False, False),
        ("jane@gmail.com", True, False, False),
        ("jane@GoogleMail.com", True, False, False),
        ("jane@yahoo.co.uk", True, False, False),
        ("jane@mail.yahoo.co.uk", True, False, False),  # subdomain of a listed domain
        ("jane@gmx.de", True, False, False),
        ("throwaway@mailinator.com", False, True, False),
        ("x@sub.mailinator.com", False, True, False),
        ("x@yopmail.com", False, True, False),
        ("info@acme.com", False, False, True),
        ("sales.emea@acme.com", False, False, True),
        ("no-reply@acme.com", False, False, True),
        ("support+tickets@acme.com", False, False, True),
        ("infoguy@acme.com", False, False, False),
        ("dev.patel@acme.com", False, False, False),
        ("info@gmail.com", True, False, True),
    ],
)
def test_flags(raw: str, free: bool, disposable: bool, role: bool) -> None:
    facts = analyse_email(raw, LISTS)
    assert (facts.free, facts.disposable, facts.role) == (free, disposable, role)
    assert facts.valid


def test_free_mail_is_never_also_disposable() -> None:
    assert not (LISTS.free_mail & LISTS.disposable)
    assert "mailinator.com" in LISTS.disposable and "gmail.com" in LISTS.free_mail


def test_corporate_domain_only_for_business_addresses() -> None:
    assert analyse_email("j@eu.acme.com", LISTS).corporate_domain == "eu.acme.com"
    assert analyse_email("j@gmail.com", LISTS).corporate_domain is None
    assert analyse_email("j@mailinator.com", LISTS).corporate_domain is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, NO_EMAIL), ("", NO_EMAIL), ("  \x00 ", NO_EMAIL), ("bad", INVALID_EMAIL)],
)
def test_blank_is_not_invalid(raw: object, expected: EmailFacts) -> None:
    facts = analyse_email(raw, LISTS)
    assert facts == expected
    assert facts.present is (expected is INVALID_EMAIL)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("info@gmail.com", "info@gmail.com: free-mail, role address"),
        ("jane@acme.com", "jane@acme.com: personal, corporate domain"),
        ("nope", "not a valid e-mail address"),
        (None, "no e-mail address"),
    ],
)
def test_describe(raw: object, text: str) -> None:
    assert analyse_email(raw, LISTS).describe() == text


@pytest.mark.parametrize(
    ("local", "role"), [("info", True), ("info-de", True), ("hr_team", True), ("jane", False)]
)
def test_is_role(local: str, role: bool) -> None:
    assert is_role(local, frozenset({"info", "hr"})) is role
