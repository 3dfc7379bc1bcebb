"""Seeded people: the person behind a lead, a contact or a user.

Apart from the planted duplicates, no two people share an e-mail address or
the same first name, last name and company: an accidental duplicate would be
missing from the ground truth and make a correct matcher look wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from sfsync.emulator.seed_companies import weighted
from sfsync.emulator.seed_phone import Phone, random_phone
from sfsync.emulator.seed_pools import Name, Pools
from sfsync.emulator.seed_regions import City, Region
from sfsync.emulator.seed_words import (
    DISPOSABLE_DOMAINS,
    FREEMAIL_DOMAINS,
    ROLE_LOCAL_PARTS,
    TITLES,
)

# How people fill in the e-mail field of a form.
EMAIL_KINDS: tuple[tuple[str, float], ...] = (
    ("corporate", 62), ("freemail", 25), ("role", 2), ("disposable", 1), ("none", 10),
)  # fmt: skip
FIRST_NAME_SHARE = 0.97
TITLE_SHARE = 0.9
PHONE_SHARE = 0.8
MOBILE_SHARE = 0.2
_NAME_TRIES = 12
_LOCAL_MAX = 40
_FEMALE_SALUTATIONS = ("Ms.", "Mrs.")


@dataclass(frozen=True)
class Person:
    """A person's own details, independent of the record that holds them."""

    first: Name | None
    last: Name
    title: str | None
    email: str | None
    phone: Phone | None
    phone_style: int
    mobile: str | None
    salutation: str | None

    @property
    def phone_text(self) -> str | None:
        """The phone number as this person wrote it."""
        return self.phone.format(self.phone_style) if self.phone else None


def email_local_parts(first: str, last: str, rng: Random) -> list[str]:
    """Candidate local parts for a person, in the order this person would pick them."""
    if not first:
        return [last, f"{last}{rng.randint(1, 99)}"]
    styles = [f"{first}.{last}", f"{first[0]}{last}", first, f"{first}{last[0]}",
              f"{first}_{last}", f"{last}.{first}"]  # fmt: skip
    start = rng.randrange(len(styles))
    return [s[:_LOCAL_MAX] for s in styles[start:] + styles[:start]]


class PersonMaker:
    """Draws people with unique e-mail addresses and unique (name, company) keys."""

    def __init__(self, rng: Random, pools: Pools) -> None:
        self.rng = rng
        self.pools = pools
        self.emails: set[str] = set()
        self.keys: set[tuple[str, str, str]] = set()

    def one(
        self,
        region: Region,
        company_key: str,
        domain: str | None,
        city: City,
        *,
        email_kind: str | None = None,
        title: str | None = None,
    ) -> Person:
        """A new person at the company `company_key` (its stem); `email_kind` forces the e-mail."""
        rng = self.rng
        first, last = self._unique_name(region, company_key)
        kind = email_kind or str(weighted(rng, EMAIL_KINDS))
        phone = random_phone(rng, region, city) if rng.random() < PHONE_SHARE else None
        mobile = random_phone(rng, region, city) if rng.random() < MOBILE_SHARE else None
        return Person(
            first=first,
            last=last,
            title=title or (str(weighted(rng, TITLES)) if rng.random() < TITLE_SHARE else None),
            email=self.email(first, last, domain, kind),
            phone=phone,
            phone_style=rng.randrange(len(phone.styles())) if phone else 0,
            mobile=mobile.format(rng.randrange(3)) if mobile else None,
            salutation=self._salutation(),
        )

    def claim(self, first: str | None, last: str, company: str) -> bool:
        """Reserve a (first, last, company) key; False when someone already has it."""
        key = ((first or "").lower(), last.lower(), company.lower())
        if key in self.keys:
            return False
        self.keys.add(key)
        return True

    def email(self, first: Name | None, last: Name, domain: str | None, kind: str) -> str | None:
        """A unique address of the wanted kind (corporate falls back to free mail)."""
        if kind == "none":
            return None
        if kind == "role" and domain:
            taken = self.reserve(f"{self.rng.choice(ROLE_LOCAL_PARTS)}@{domain}")
            if taken:
                return taken
        if kind in ("corporate", "role") and domain:
            return self._personal(first, last, domain, numbered=False)
        pool = DISPOSABLE_DOMAINS if kind == "disposable" else FREEMAIL_DOMAINS
        return self._personal(first, last, self.rng.choice(pool), numbered=True)

    def _unique_name(self, region: Region, company: str) -> tuple[Name | None, Name]:
        rng = self.rng
        for _ in range(_NAME_TRIES):
            locale = str(weighted(rng, region.name_locales))
            last: Name = rng.choice(self.pools.last[locale])
            first: Name | None = rng.choice(self.pools.first[locale])
            if rng.random() >= FIRST_NAME_SHARE:
                first = None
            if self.claim(first.display if first else None, last.display, company):
                return first, last
        # Crowded company: a middle initial keeps the person distinct.
        base = first or Name("A", "a")
        for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            display = f"{base.display} {letter}."
            if self.claim(display, last.display, company):
                return Name(display, base.ascii), last
        raise RuntimeError(f"too many people named {last.display} at {company}")

    def _personal(self, first: Name | None, last: Name, domain: str, *, numbered: bool) -> str:
        rng = self.rng
        for local in email_local_parts(first.ascii if first else "", last.ascii, rng):
            candidate = f"{local}{rng.randint(1, 99)}" if numbered and rng.random() < 0.4 else local
            taken = self.reserve(f"{candidate}@{domain}")
            if taken:
                return taken
        counter = len(self.emails)
        while not (taken := self.reserve(f"{last.ascii}{counter}@{domain}")):
            counter += 1
        return taken

    def reserve(self, address: str) -> str | None:
        """`address` if nobody has it yet (now reserved), else None."""
        if address.lower() in self.emails:
            return None
        self.emails.add(address.lower())
        return address

    def _salutation(self) -> str | None:
        roll = self.rng.random()
        if roll < 0.6:
            return None
        if roll < 0.8:
            return "Mr."
        if roll < 0.95:
            return self.rng.choice(_FEMALE_SALUTATIONS)
        return "Dr."
