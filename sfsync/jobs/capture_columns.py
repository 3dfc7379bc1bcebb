"""Spreadsheet columns to Lead fields: a mapping file, or suggestions from the header names.

A mapping file (`--mapping columns.yaml`):

    columns:            # header as in the file -> Lead API name; ~ ignores the column
      E-mail: Email
      Company Name: Company
      Contact: $full_name   # "Ada Lovelace" -> FirstName Ada, LastName Lovelace
      Internal ref: ~
    dates: day_first    # 03/04/2024 is 3 April (default month_first: 4 March)
    source: Broker list # the default for --source

Without one, each header is compared (case, spaces and punctuation aside)
with the Lead fields' API names and labels from the org's describe, then
with common aliases ("E-mail", "Company Name", "Zip", "Mobile"...). Columns
nothing matches are extra columns: reported, never sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from sfsync.connectors.salesforce import ObjectInfo
from sfsync.errors import ConfigError
from sfsync.jobs.capture_read import Sheet
from sfsync.jobs.capture_types import Candidate
from sfsync.mappings import load_model

FULL_NAME = "$full_name"
ALIASES: dict[str, tuple[str, ...]] = {
    "Email": ("email", "e-mail", "email address", "e-mail address", "mail", "work email"),
    "Company": ("company", "company name", "organization", "organisation", "account",
                "account name", "business", "employer", "firm", "firma"),
    "FirstName": ("first name", "first", "given name", "forename", "vorname", "prenom"),
    "LastName": ("last name", "last", "surname", "family name", "nachname"),
    "Phone": ("phone", "phone number", "telephone", "tel", "work phone", "business phone",
              "office phone", "telefon"),
    "MobilePhone": ("mobile", "mobile phone", "mobile number", "cell", "cell phone", "handy"),
    "Title": ("title", "job title", "position", "role", "job"),
    "Street": ("street", "address", "street address", "address 1", "address line 1"),
    "City": ("city", "town", "ort"),
    "State": ("state", "province", "region", "state/province", "county"),
    "PostalCode": ("zip", "zip code", "zipcode", "postcode", "post code", "postal code", "plz"),
    "Country": ("country", "country code", "land"),
    "Website": ("website", "web", "web site", "url", "homepage", "site", "domain"),
    "Industry": ("industry", "sector", "branche", "vertical"),
    "NumberOfEmployees": ("employees", "number of employees", "no. of employees", "headcount",
                          "company size", "staff"),
    "AnnualRevenue": ("revenue", "annual revenue", "turnover"),
    "LeadSource": ("lead source",),  # not "source": brokers' own labels are rarely its values
    "Description": ("notes", "note", "comments", "comment", "description"),
    "Salutation": ("salutation", "prefix", "anrede"),
    FULL_NAME: ("name", "full name", "contact", "contact name", "person", "lead name"),
}  # fmt: skip


class DateOrder(StrEnum):
    """How to read a date like 03/04/2024."""

    MONTH_FIRST = "month_first"
    DAY_FIRST = "day_first"


class ColumnsFile(BaseModel):
    """columns.yaml, as written by hand or saved from the suggestions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: dict[str, str | None] = Field(default_factory=dict)
    dates: DateOrder = DateOrder.MONTH_FIRST
    source: str | None = None


@dataclass(frozen=True)
class ColumnMap:
    """Header -> Lead field (None: ignored), and how dates read."""

    columns: Mapping[str, str | None]
    day_first: bool = False
    source: str | None = None

    def extra(self) -> list[str]:
        """Columns that go nowhere."""
        return [h for h, target in self.columns.items() if target is None]

    def to_yaml(self) -> str:
        """The mapping as a columns.yaml the user can save, edit and pass back."""
        data: dict[str, Any] = {"columns": dict(self.columns)}
        data["dates"] = (DateOrder.DAY_FIRST if self.day_first else DateOrder.MONTH_FIRST).value
        if self.source:
            data["source"] = self.source
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def fold(text: str) -> str:
    """A header or name compared without case, spaces or punctuation."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def load_columns(path: Path, headers: Sequence[str], describe: ObjectInfo) -> ColumnMap:
    """A mapping file, checked against the file's headers and the org's Lead fields."""
    loaded = load_model(path, ColumnsFile)
    present = {fold(h): h for h in headers}
    unknown = [h for h in loaded.columns if fold(h) not in present]
    if unknown:
        raise ConfigError(f"{path}: columns: {unknown[0]!r} is not a column of the file")
    for header, target in loaded.columns.items():
        if target is not None and target != FULL_NAME and target not in describe.fields:
            raise ConfigError(f"{path}: columns: {header}: Lead has no field {target!r}")
    by_fold = {fold(h): t for h, t in loaded.columns.items()}
    columns = {h: by_fold.get(fold(h)) for h in headers}
    day_first = loaded.dates is DateOrder.DAY_FIRST
    return ColumnMap(columns, day_first, loaded.source)


def suggest(headers: Sequence[str], describe: ObjectInfo) -> ColumnMap:
    """A field for each header that names one (each field taken once, the first column wins)."""
    index = _index(describe)
    taken: set[str] = set()
    columns: dict[str, str | None] = {}
    for header in headers:
        target = index.get(fold(header))
        if target is not None and target not in taken:
            taken.add(target)
            columns[header] = target
        else:
            columns[header] = None
    if FULL_NAME in taken and {"FirstName", "LastName"} <= taken:
        columns = {h: (None if t == FULL_NAME else t) for h, t in columns.items()}
    return ColumnMap(columns)


def _index(describe: ObjectInfo) -> dict[str, str]:
    """Folded name -> field: aliases first, then labels, then API names (later wins)."""
    index: dict[str, str] = {}
    for target, aliases in ALIASES.items():
        if target == FULL_NAME or target in describe.fields or not describe.fields:
            index.update({fold(a): target for a in aliases})
    for info in describe.fields.values():
        if not info.createable:
            continue
        if info.label:
            index[fold(info.label)] = info.name
        index[fold(info.name.removesuffix("__c"))] = info.name
        index[fold(info.name)] = info.name
    return index


def check_required(columns: ColumnMap) -> None:
    """Every lead needs LastName and Company: a file without the columns is refused at once."""
    targets = set(columns.columns.values())
    missing = [
        name
        for name in ("LastName", "Company")
        if name not in targets and not (name == "LastName" and FULL_NAME in targets)
    ]
    if missing:
        raise ConfigError(
            f"no column maps to {' or '.join(missing)}: name it in a --mapping file "
            "(see the suggested mapping above)"
        )


def candidates(sheet: Sheet, columns: ColumnMap, source: str) -> list[Candidate]:
    """One candidate per row, keyed by source, the file's hash and the row number."""
    found = []
    for number, cells in sheet.rows:
        values = row_values(sheet.headers, cells, columns)
        found.append(Candidate(f"{source}:{sheet.digest}:{number}", values, source))
    return found


def row_values(headers: Sequence[str], cells: Sequence[Any], columns: ColumnMap) -> dict[str, Any]:
    """A row's values under Lead field names (a full name split into first and last)."""
    values: dict[str, Any] = {}
    full = None
    for header, cell in zip(headers, cells, strict=False):
        target = columns.columns.get(header)
        value = cell.strip() if isinstance(cell, str) else cell
        if target is None or value in (None, ""):
            continue
        if target == FULL_NAME:
            full = str(value)
        else:
            values.setdefault(target, value)
    if full is not None:
        first, last = split_name(full)
        values.setdefault("LastName", last)
        if first:
            values.setdefault("FirstName", first)
    return values


def split_name(full: str) -> tuple[str, str]:
    """("Ada", "Lovelace") from "Ada Lovelace" or "Lovelace, Ada"; a single word is a last name."""
    text = " ".join(full.split())
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip(), last.strip()
    first, _, last = text.rpartition(" ")
    return first, last
