"""Where a conversion goes: look up existing contacts and accounts, let the rule choose.

Converting into the account a lead's company already has (and the contact the
person already is) keeps the org free of duplicate accounts. For the leads of
one page that are to be converted, this reads candidates (contacts by email,
accounts by website domain or name) in one Composite call of up to five
queries (queryAll, so deleted records are filtered out in the WHERE) and
hands them to the pure `rules.convert.choose_targets`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

from sfsync.connectors.salesforce import SalesforceClient
from sfsync.connectors.soql import like_literal, quote
from sfsync.models import Decision, Lead
from sfsync.rules.convert import FREE_MAIL, choose_targets, company_key, email_domain

TERMS_PER_QUERY = 40  # keeps each WHERE well under Salesforce's 4,000-character literals budget


def attach_targets(
    client: SalesforceClient, decisions: list[Decision], leads: dict[str, Lead]
) -> list[Decision]:
    """The decisions, with each conversion pointed at an existing account/contact where found."""
    converting = [leads[d.lead_id] for d in decisions if d.convert is not None]
    if not converting:
        return decisions
    contact_soqls, account_soqls = _contact_queries(converting), _account_queries(converting)
    found = client.query_together([*contact_soqls, *account_soqls])
    contacts = [r for rows in found[: len(contact_soqls)] for r in rows]
    accounts = [r for rows in found[len(contact_soqls) :] for r in rows]
    return [_with_target(d, leads[d.lead_id], contacts, accounts) for d in decisions]


def _with_target(
    decision: Decision,
    lead: Lead,
    contacts: list[dict[str, Any]],
    accounts: list[dict[str, Any]],
) -> Decision:
    if decision.convert is None:
        return decision
    account_id, contact_id, why = choose_targets(lead.values, contacts, accounts)
    convert = {**decision.convert, "account_id": account_id, "contact_id": contact_id}
    summary = {**decision.summary, "conversion_target": why}
    return dataclasses.replace(decision, convert=convert, summary=summary)


def _chunks(terms: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(terms), TERMS_PER_QUERY):
        yield terms[start : start + TERMS_PER_QUERY]


def _contact_queries(leads: list[Lead]) -> list[str]:
    emails = sorted({str(lead.get("Email")).strip().lower() for lead in leads if lead.get("Email")})
    return [
        f"SELECT Id, Email, AccountId FROM Contact WHERE IsDeleted = false AND Email IN "
        f"({', '.join(quote(e) for e in chunk)})"
        for chunk in _chunks(emails)
    ]


def _account_queries(leads: list[Lead]) -> list[str]:
    terms = sorted(set(_account_terms(leads)))
    return [
        f"SELECT Id, Name, Website FROM Account WHERE IsDeleted = false AND ({' OR '.join(chunk)})"
        for chunk in _chunks(terms)
    ]


def _account_terms(leads: list[Lead]) -> Iterator[str]:
    for lead in leads:
        domain = email_domain(lead.get("Email"))
        if domain and domain not in FREE_MAIL:
            yield f"Website LIKE {like_literal(domain, contains=True)}"
        key = company_key(lead.get("Company"))
        if key:
            yield f"Name LIKE {like_literal(key.split()[0], prefix=True)}"
