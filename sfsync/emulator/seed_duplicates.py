"""Planted duplicates: later leads that copy an existing lead or contact with one variation.

Each kind of variation is one thing Salesforce's matching methods are built
to see through (shared/SALESFORCE.md section 10): a keyboard typo in the last
name, a nickname, swapped first and last names, the same phone written
another way, the company with or without its legal suffix, a free-mail
address instead of the corporate one, changed case and spacing. Everything
else is copied, so the kind names the only difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sfsync.emulator.seed_companies import Company
from sfsync.emulator.seed_context import SeedContext
from sfsync.emulator.seed_persons import email_local_parts
from sfsync.emulator.seed_pools import ascii_fold
from sfsync.emulator.seed_words import (
    DISPOSABLE_DOMAINS,
    FREEMAIL_DOMAINS,
    KEYBOARD_NEIGHBOURS,
    NICKNAMES,
)

# The fields a duplicate copies from its original (then one of them is varied).
COPIED_FIELDS = (
    "Salutation", "FirstName", "LastName", "Title", "Company", "Street", "City", "State",
    "PostalCode", "Country", "Phone", "MobilePhone", "Email", "Website", "Industry",
    "NumberOfEmployees", "AnnualRevenue",
)  # fmt: skip


@dataclass(frozen=True)
class DuplicateTruth:
    """One planted duplicate: which lead copies which record, and how it differs."""

    duplicate_id: str
    original_id: str
    original_type: str
    kind: str


@dataclass(frozen=True)
class Original:
    """A live lead or contact that a duplicate may copy, in lead-shaped fields."""

    record_id: str
    sobject: str
    fields: dict[str, Any]
    company: Company
    created: datetime


Variation = Callable[[SeedContext, Original], dict[str, Any] | None]


def _typo(ctx: SeedContext, o: Original) -> dict[str, Any] | None:
    last: str = o.fields["LastName"]
    spots = [i for i, ch in enumerate(last) if ch.lower() in KEYBOARD_NEIGHBOURS]
    if len(last) < 3 or not spots:
        return None
    i = ctx.rng.choice(spots)
    hit = ctx.rng.choice(KEYBOARD_NEIGHBOURS[last[i].lower()])
    hit = hit.upper() if last[i].isupper() else hit
    return {"LastName": last[:i] + hit + last[i + 1 :]}


def _nickname(ctx: SeedContext, o: Original) -> dict[str, Any] | None:
    options = NICKNAMES.get(o.fields["FirstName"] or "")
    return {"FirstName": ctx.rng.choice(options)} if options else None


def _swapped(ctx: SeedContext, o: Original) -> dict[str, Any] | None:
    first, last = o.fields["FirstName"], o.fields["LastName"]
    # FirstName holds 40 characters, LastName 80.
    if not first or first == last or len(last) > 40:
        return None
    return {"FirstName": last, "LastName": first}


def _phone_format(ctx: SeedContext, o: Original) -> dict[str, Any] | None:
    phone, text = ctx.phones.get(o.record_id), o.fields["Phone"]
    if phone is None or not text:
        return None
    others = [style for style in phone.styles() if style != text]
    return {"Phone": ctx.rng.choice(others)} if others else None


def _company_suffix(ctx: SeedContext, o: Original) -> dict[str, Any] | None:
    company, typed = o.company, o.fields["Company"]
    if company.suffix:
        return {"Company": company.stem if typed == company.name else company.name}
    return {"Company": f"{company.stem} {ctx.rng.choice(company.region.legal_suffixes)}"}


def _freemail(ctx: SeedContext, o: Original) -> dict[str, Any] | None:
    email: str | None = o.fields["Email"]
    last = ascii_fold(o.fields["LastName"])
    if not email or not last or email.split("@")[1] in (*FREEMAIL_DOMAINS, *DISPOSABLE_DOMAINS):
        return None
    first = ascii_fold(o.fields["FirstName"] or "")
    for local in email_local_parts(first, last, ctx.rng):
        taken = ctx.people.reserve(f"{local}@{ctx.rng.choice(FREEMAIL_DOMAINS[:6])}")
        if taken:
            return {"Email": taken}
    return None


def _case_and_spaces(ctx: SeedContext, o: Original) -> dict[str, Any] | None:
    first, last, company = o.fields["FirstName"], o.fields["LastName"], o.fields["Company"]
    shouted = last.upper() if last != last.upper() else last.lower()
    if shouted == last:
        return None
    email = o.fields["Email"]
    return {
        "FirstName": first.lower() if first and ctx.rng.random() < 0.5 else first,
        "LastName": shouted,
        "Company": company.replace(" ", "  ", 1) if " " in company else company.lower(),
        "Email": email.upper() if email and ctx.rng.random() < 0.5 else email,
    }


VARIATIONS: dict[str, Variation] = {
    "typo": _typo,
    "nickname": _nickname,
    "swapped_names": _swapped,
    "phone_format": _phone_format,
    "company_suffix": _company_suffix,
    "freemail_vs_corporate": _freemail,
    "case_and_spaces": _case_and_spaces,
}
DUPLICATE_KINDS = tuple(VARIATIONS)


def vary(ctx: SeedContext, original: Original, kind: str) -> dict[str, Any] | None:
    """The original's fields with one variation of `kind`, or None when it does not apply."""
    changes = VARIATIONS[kind](ctx, original)
    if changes is None:
        return None
    return {**{f: original.fields.get(f) for f in COPIED_FIELDS}, **changes}
