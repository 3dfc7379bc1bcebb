"""Where the planted duplicates and merged leads go, and the ground truth about them.

Originals are live, unconverted prospect leads and contacts, each copied at
most once, so the ground truth is a set of disjoint pairs. Merged leads are
copies too, but already resolved: in the recycle bin with `MasterRecordId`
pointing at the surviving lead; they are not part of the ground truth.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sfsync.emulator.org import Record
from sfsync.emulator.seed_accounts import AccountBook
from sfsync.emulator.seed_companies import weighted
from sfsync.emulator.seed_context import DAY, SeedContext, stamp
from sfsync.emulator.seed_duplicates import (
    COPIED_FIELDS,
    DUPLICATE_KINDS,
    DuplicateTruth,
    Original,
    vary,
)
from sfsync.emulator.seed_leads import SeededLead
from sfsync.emulator.seed_lifecycle import Routing, lifecycle
from sfsync.emulator.seed_words import LEAD_SOURCE_WEIGHTS

CONTACT_ORIGINAL_SHARE = 0.3
_TRIES = 60
_MIN_GAP = timedelta(hours=1)


def lead_original(lead: SeededLead) -> Original:
    """A lead as a possible original."""
    assert lead.company is not None
    fields = {name: lead.row[name] for name in COPIED_FIELDS}
    return Original(lead.row["Id"], "Lead", fields, lead.company, lead.row["CreatedDate"])


def contact_originals(ctx: SeedContext, book: AccountBook) -> list[Original]:
    """Every contact as a possible original, its account standing in for the company."""
    accounts = {a["Id"]: a for a in book.by_stem.values()}
    found = []
    for contact in ctx.rows.get("Contact", []):
        account = accounts[contact["AccountId"]]
        fields = {name: contact.get(name) for name in COPIED_FIELDS}
        fields.update({
            "Company": account["Name"], "Street": contact["MailingStreet"],
            "City": contact["MailingCity"], "State": contact["MailingState"],
            "PostalCode": contact["MailingPostalCode"], "Country": contact["MailingCountry"],
            "Industry": account["Industry"], "Website": account["Website"],
        })  # fmt: skip
        company = book.company_of[account["Id"]]
        found.append(Original(contact["Id"], "Contact", fields, company, contact["CreatedDate"]))
    return found


class Planter:
    """Plants duplicates and merged leads over a finished set of leads and contacts."""

    def __init__(
        self,
        ctx: SeedContext,
        routing: Routing,
        leads: list[SeededLead],
        contacts: list[Original],
    ) -> None:
        self.ctx = ctx
        self.routing = routing
        latest = ctx.ago(DAY)
        self.leads = [lead_original(s) for s in leads if _live_prospect(s, latest)]
        self.contacts = [c for c in contacts if c.created <= latest]
        self.rows = {s.row["Id"]: s.row for s in leads}
        self.used: set[str] = set()

    def duplicates(self, count: int) -> list[DuplicateTruth]:
        """Plant `count` duplicates, the kinds taking turns; returns the ground truth."""
        truths = []
        for index in range(count):
            kind = DUPLICATE_KINDS[index % len(DUPLICATE_KINDS)]
            picked = self._pick(kind, contacts_too=True)
            if picked is None:
                continue
            original, fields = picked
            row = self._add_copy(original, fields)
            truths.append(DuplicateTruth(row["Id"], original.record_id, original.sobject, kind))
        return truths

    def merged(self, count: int) -> None:
        """Plant `count` leads already merged into a surviving lead."""
        for _ in range(count):
            picked = self._pick(self.ctx.rng.choice(DUPLICATE_KINDS), contacts_too=False)
            if picked is None:
                continue
            original, fields = picked
            row = self._add_copy(original, fields)
            self._merge(row, self.rows[original.record_id])

    def _pick(self, kind: str, *, contacts_too: bool) -> tuple[Original, dict[str, Any]] | None:
        rng = self.ctx.rng
        for _ in range(_TRIES):
            use_contacts = contacts_too and self.contacts and rng.random() < CONTACT_ORIGINAL_SHARE
            pool = self.contacts if use_contacts else self.leads
            if not pool:
                return None
            original = rng.choice(pool)
            if original.record_id in self.used:
                continue
            fields = vary(self.ctx, original, kind)
            if fields is not None:
                self.used.add(original.record_id)
                return original, fields
        return None

    def _add_copy(self, original: Original, fields: dict[str, Any]) -> Record:
        ctx = self.ctx
        row = {**fields, "LeadSource": weighted(ctx.rng, LEAD_SOURCE_WEIGHTS),
               "HasOptedOutOfEmail": False, "DoNotCall": False}  # fmt: skip
        created = ctx.between(original.created + _MIN_GAP, ctx.ago(60))
        ctx.add("Lead", row)
        lifecycle(ctx, row, self.routing, original.company.region, created)
        return row

    def _merge(self, merged: Record, survivor: Record) -> None:
        """Salesforce's merge: the loser goes to the recycle bin, the survivor is touched."""
        ctx = self.ctx
        when = ctx.past_moment(max(merged["LastModifiedDate"], survivor["LastModifiedDate"]))
        user = self.routing.rep(ctx)
        merged["IsDeleted"] = True
        merged["MasterRecordId"] = survivor["Id"]
        stamp(merged, merged["CreatedDate"], when, merged["CreatedById"], user)
        stamp(survivor, survivor["CreatedDate"], when, survivor["CreatedById"], user)


def _live_prospect(lead: SeededLead, latest: datetime) -> bool:
    row = lead.row
    return (
        lead.kind == "prospect"
        and not row.get("IsConverted")
        and not row.get("IsDeleted")
        and row["CreatedDate"] <= latest
    )
