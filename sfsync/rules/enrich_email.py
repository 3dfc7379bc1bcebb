"""What an e-mail address says about a lead: who hosts it, and whether a person reads it.

A free-mail address (gmail.com) says nothing about the employer; a
disposable one (mailinator.com) says the person does not want to be reached;
a role address (info@, sales@) reaches a shared inbox, not a buyer. Scoring,
grading and disqualification read these flags, so they are computed once here.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from sfsync.rules.enrich_text import clean_text, domain_candidates

# RFC 5321 limits: 64 for the local part, 254 for the whole path.
MAX_LOCAL, MAX_ADDRESS = 64, 254
_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")
_WORD_BREAK = re.compile(r"[.\-_]")
_WRAPPERS = "<>\"' ,;"
# Domains remembered: a pure function's answers; thousands of leads share a few domains.
CACHE_SIZE = 16_384


@dataclass(frozen=True)
class EmailLists:
    """The domain and prefix lists e-mail analysis needs, loaded once and passed in."""

    free_mail: frozenset[str]
    disposable: frozenset[str]
    role_prefixes: frozenset[str]


@dataclass(frozen=True, slots=True)
class EmailFacts:
    """An address, normalised, with what it tells; `address` is None when it is not valid."""

    address: str | None
    domain: str | None
    free: bool = False
    disposable: bool = False
    role: bool = False
    # False when the field was blank: "no address" is not "a bad address".
    present: bool = True

    @property
    def valid(self) -> bool:
        """Whether the value is a usable address at all."""
        return self.address is not None

    @property
    def corporate_domain(self) -> str | None:
        """The domain when it can stand for the lead's employer (not free-mail or disposable)."""
        return None if (self.free or self.disposable) else self.domain

    def describe(self) -> str:
        """One line for `sfsync explain`."""
        if self.address is None:
            return "not a valid e-mail address" if self.present else "no e-mail address"
        return f"{self.address}: {_KINDS[bool(self.free), bool(self.disposable), bool(self.role)]}"


def _kinds(free: bool, disposable: bool, role: bool) -> str:
    kinds = [n for n, on in (("free-mail", free), ("disposable", disposable),
                             ("role address", role)) if on]  # fmt: skip
    return ", ".join(kinds) if kinds else "personal, corporate domain"


# What an address is, for each (free, disposable, role): worked out once.
_KINDS = {flags: _kinds(*flags) for flags in itertools.product((False, True), repeat=3)}
NO_EMAIL = EmailFacts(address=None, domain=None, present=False)
INVALID_EMAIL = EmailFacts(address=None, domain=None)


def analyse_email(value: object, lists: EmailLists) -> EmailFacts:
    """Normalise an Email field value and flag free-mail, disposable and role addresses.

    The whole address is lower-cased: mailbox providers treat the local part
    case-insensitively in practice, and duplicate matching needs one form.
    """
    if value is None or value == "":
        return NO_EMAIL
    address = normalise_address(value)
    if address is None:
        return INVALID_EMAIL if clean_text(value, MAX_ADDRESS) else NO_EMAIL
    local, domain = address.rsplit("@", 1)
    free, disposable = _hosted_by(domain, lists.free_mail, lists.disposable)
    return EmailFacts(
        address=address,
        domain=domain,
        free=free,
        disposable=disposable,
        role=is_role(local, lists.role_prefixes),
    )


@lru_cache(maxsize=CACHE_SIZE)
def _hosted_by(
    domain: str, free_mail: frozenset[str], disposable: frozenset[str]
) -> tuple[bool, bool]:
    """(free-mail, disposable) for a domain or any of its parents; domains recur across leads.

    The lists are keys too (a frozenset keeps its hash): other lists, other answers.
    """
    candidates = tuple(domain_candidates(domain))
    free = not free_mail.isdisjoint(candidates)
    return free, not free and not disposable.isdisjoint(candidates)


def normalise_address(value: object) -> str | None:
    """The address in lower case without "mailto:", display name or brackets; None if invalid."""
    text = clean_text(value, MAX_ADDRESS + 200).casefold()
    if "<" in text and text.endswith(">"):
        text = text.rsplit("<", 1)[1]
    text = text.removeprefix("mailto:").strip(_WRAPPERS).rstrip(".")
    if len(text) > MAX_ADDRESS or text.count("@") != 1:
        return None
    local, domain = text.split("@")
    if len(local) > MAX_LOCAL or not _LOCAL.fullmatch(local) or not _valid_domain(domain):
        return None
    return f"{local}@{domain}"


@lru_cache(maxsize=CACHE_SIZE)
def _valid_domain(domain: str) -> bool:
    """Whether the part after "@" is a domain name (in its ASCII form); domains recur."""
    ascii_domain = _ascii_domain(domain)
    return ascii_domain is not None and _DOMAIN.fullmatch(ascii_domain) is not None


def _ascii_domain(domain: str) -> str | None:
    """The domain's ASCII (punycode) form, for validation; None when it cannot have one."""
    if domain.isascii():
        return domain
    # IDNA 2008 allows letters and digits only: no emoji or symbols in labels.
    if not all(label.replace("-", "").isalnum() for label in domain.split(".")):
        return None
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def is_role(local: str, prefixes: frozenset[str]) -> bool:
    """Whether a local part names a shared mailbox: listed itself, or its first word is."""
    local = local.split("+", 1)[0]
    return local in prefixes or _WORD_BREAK.split(local, 1)[0] in prefixes
