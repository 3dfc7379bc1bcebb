"""Capture's writes: leads created 200 a request, and found again when the org's answer was lost.

Creates are not idempotent, so a create whose outcome is unknown (the
connection dropped after the request left, a 5xx, an unreadable answer, or
a crash before the ledger recorded it) is never simply sent again. The lead
is looked up first by its marker: created by the integration user since the
ledger row was written, with the LastName, Company and Email that were sent
(`SELECT ... WHERE CreatedById = me AND CreatedDate >= t AND LastName IN
(...)`, one query per ~190 names). Two rows with the same three values and
no other difference would be one person, and matching makes them one
candidate before anything is sent. Rows that share the marker but differ
elsewhere do occur (two people of one company with the same last name and
no e-mail); FirstName, Title and Phone then tell their leads apart. An org
with an external-id field for the capture key could use that instead; the
stock Lead has none, so the marker needs no schema change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from sfsync.connectors.salesforce import COLLECTION_MAX, SalesforceClient
from sfsync.connectors.soql import by_ids_query, datetime_literal, id_chunks, quote
from sfsync.models import WriteOutcome, WriteResult

log = structlog.get_logger("sfsync.capture")

MARKER_FIELDS = ("LastName", "Company", "Email")
# Equal markers do occur (two people of one company, same last name, no e-mail: matching
# keeps them apart); these fields tell such leads apart when their answers were lost.
TIE_FIELDS = ("FirstName", "Title", "Phone")
# How far before its ledger row a lead may look created: the org's clock may be behind ours.
CLOCK_MARGIN = timedelta(hours=12)
# Rounds of sending again what the org asked to retry (UNABLE_TO_LOCK_ROW) or never received.
SEND_ROUNDS = 3
# Lead fields and where a Contact keeps the same thing (what fills a duplicate contact).
CONTACT_FIELDS = {
    "Salutation": "Salutation", "FirstName": "FirstName", "LastName": "LastName",
    "Title": "Title", "Email": "Email", "Phone": "Phone", "MobilePhone": "MobilePhone",
    "LeadSource": "LeadSource", "Street": "MailingStreet", "City": "MailingCity",
    "State": "MailingState", "PostalCode": "MailingPostalCode", "Country": "MailingCountry",
    "Description": "Description",
}  # fmt: skip


def marker(values: Mapping[str, Any]) -> dict[str, Any]:
    """What finds a lead whose create answer was lost (see the module docstring)."""
    return {name: values.get(name) for name in MARKER_FIELDS}


def _fold(value: Any) -> str:
    return " ".join(str(value or "").split()).casefold()


def marker_key(values: Mapping[str, Any]) -> tuple[str, ...]:
    """The marker as compared: case and spacing aside, a missing value as an empty one."""
    return tuple(_fold(values.get(name)) for name in MARKER_FIELDS)


@dataclass(frozen=True)
class ToCreate:
    """One lead to create, by its ledger key."""

    key: str
    values: Mapping[str, Any]
    since: datetime


@dataclass
class CreateRound:
    """What the org said about a round of creates."""

    created: dict[str, str] = field(default_factory=dict)  # key -> new lead id
    refused: dict[str, WriteResult] = field(default_factory=dict)
    later: dict[str, WriteResult] = field(default_factory=dict)  # transient: send again


def find_created(client: SalesforceClient, me: str, items: Sequence[ToCreate]) -> dict[str, str]:
    """Key -> the id of the lead its create made, for those the org has (by marker)."""
    if not items:
        return {}
    since = min(i.since for i in items) - CLOCK_MARGIN
    wanted: dict[tuple[str, ...], list[ToCreate]] = {}
    for item in items:
        wanted.setdefault(marker_key(item.values), []).append(item)
    names = sorted({str(i.values.get("LastName") or "") for i in items})
    found: dict[str, str] = {}
    for chunk in id_chunks(names, budget=3500):
        soql = (
            f"SELECT Id, {', '.join(MARKER_FIELDS + TIE_FIELDS)} FROM Lead WHERE CreatedById = "
            f"{quote(me)} AND CreatedDate >= {datetime_literal(since)} AND LastName IN "
            f"({', '.join(quote(n) for n in chunk)}) ORDER BY CreatedDate, Id"
        )
        for record in client.query(soql):
            options = wanted.get(marker_key(record), [])
            if options:
                item = max(options, key=lambda i: _alike(i.values, record))
                options.remove(item)
                found[item.key] = str(record["Id"])
    log.info("sfsync.capture.looked_up", asked=len(items), found=len(found))
    return found


def _alike(values: Mapping[str, Any], record: Mapping[str, Any]) -> int:
    """How many tie-breaking fields agree (the first of equals wins: `max` keeps it)."""
    return sum(_fold(values.get(name)) == _fold(record.get(name)) for name in TIE_FIELDS)


def create_round(
    client: SalesforceClient,
    me: str,
    items: Sequence[ToCreate],
    before_send: Callable[[Sequence[str]], None],
    after_chunk: Callable[[CreateRound], None],
) -> CreateRound:
    """Create `items` 200 a request; `before_send` marks a chunk in flight, `after_chunk` keeps it.

    A chunk whose answer is lost is looked up by marker at once: found leads
    count as created, the rest go back to be sent in the next round.
    """
    total = CreateRound()
    for start in range(0, len(items), COLLECTION_MAX):
        chunk = items[start : start + COLLECTION_MAX]
        before_send([i.key for i in chunk])
        answers = client.create("Lead", [(i.key, i.values) for i in chunk])
        done = _read_answers(chunk, answers)
        lost = [i for i, a in zip(chunk, answers, strict=True) if a is None]
        if lost:
            found = find_created(client, me, lost)
            done.created.update(found)
            done.later.update({i.key: unknown_outcome(i.key) for i in lost if i.key not in found})
        after_chunk(done)
        total.created.update(done.created)
        total.refused.update(done.refused)
        total.later.update(done.later)
    return total


def _read_answers(chunk: Sequence[ToCreate], answers: Sequence[WriteResult | None]) -> CreateRound:
    done = CreateRound()
    for item, answer in zip(chunk, answers, strict=True):
        if answer is None:
            continue
        if answer.outcome is WriteOutcome.WRITTEN and answer.created.get("id"):
            done.created[item.key] = answer.created["id"]
        elif answer.outcome is WriteOutcome.REJECTED:
            done.refused[item.key] = answer
        else:
            done.later[item.key] = answer
    return done


def unknown_outcome(key: str) -> WriteResult:
    """A create whose answer never came: to look up, then send again."""
    return WriteResult(key, WriteOutcome.RETRY, "OUTCOME_UNKNOWN", "the org's answer was lost")


def current_values(
    client: SalesforceClient, sobject: str, ids: Sequence[str], fields: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Id -> the records' present values of `fields` (what filling must not overwrite)."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in id_chunks(list(ids)):
        for record in client.query(by_ids_query(sobject, fields, chunk)):
            found[str(record["Id"])] = record
    return found
