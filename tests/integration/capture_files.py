"""Broker spreadsheets for capture tests, built with the truth about every row.

Rows are new people (unique names, e-mails and phones, so nothing matches
by accident), copies of earlier rows (duplicates within the file), copies
of the org's open leads and contacts (duplicates against the org), and
broken rows (no last name, bad e-mail, unknown industry, company too long).
`Truth` says which is which, so a test can hold the import's summary to it.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfsync.emulator.org import Org

HEADERS = ["First Name", "Last Name", "E-mail", "Company Name", "Phone", "Title", "Country",
           "Zip", "Industry", "Broker Ref", "Date Added"]  # fmt: skip
# fmt: off
FIRST = ("Ada", "Björn", "Chloé", "Dmitri", "Elif", "Farah", "Gustav", "Hana", "Ines", "Jonas",
         "Kenji", "Lena", "Marta", "Nils", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tomás",
         "Uma", "Viktor", "Wanda", "Xavier", "Yara", "Zoltan", "Amélie", "Bruno", "Cora", "Dario")
SURNAME_A = ("Alder", "Birk", "Cedar", "Dorn", "Esche", "Falk", "Graf", "Hain", "Iber", "Jost",
             "Kamp", "Linde", "Moor", "Nagel", "Ost", "Pfeil", "Quast", "Rhein", "Stein", "Thal",
             "Ulm", "Vogt", "Wald", "Zorn", "Brand", "Krug", "Lamm", "Mohr", "Sand", "Weiß")
SURNAME_B = ("berg", "mann", "feld", "hoff", "stedt", "haus", "bach", "dorf", "kamp", "wald",
             "ström", "lund", "vik", "holm", "gaard", "sen", "gren", "rup", "by", "torp")
COMPANY_A = ("Nord", "Süd", "Ost", "West", "Alpen", "Rhein", "Delta", "Orbit", "Polar", "Helio",
             "Vertex", "Quant", "Lumen", "Terra")
COMPANY_B = ("wind", "werk", "data", "logic", "systems", "labs", "trade", "works", "bau",
             "energie")
COMPANY_M = ("Blue", "Red", "Green", "Gold", "Silver", "Iron", "Oak", "Pine", "Rose", "Fox",
             "Bear", "Wolf", "Hawk", "Swan", "Lynx", "Elk", "Star", "Moon", "Sun", "Rain", "Snow",
             "Frost", "Storm", "Wave", "Rock", "Stone", "Glass", "Steel", "Copper", "Amber")
COMPANY_C = ("GmbH", "AG", "Ltd", "Inc.", "SARL", "BV")
# fmt: on
COUNTRIES = ("Germany", "DE", "Austria", "France", "United Kingdom", "US", "Netherlands")
INDUSTRIES = ("Technology", "banking", "Retail", "", "Manufacturing", "healthcare")
DATES = ("2024-03-05", "05.03.2024", "3/5/2024", "5 March 2024", "March 5, 2024")


@dataclass
class Truth:
    """What each row is."""

    rows: int = 0
    new: list[int] = field(default_factory=list)  # row numbers that must become leads
    in_file: dict[int, int] = field(default_factory=dict)  # duplicate row -> the row it copies
    in_org: dict[int, str] = field(default_factory=dict)  # row -> the org record it copies
    broken: list[int] = field(default_factory=list)


def org_people(org: Org, limit: int) -> list[dict[str, Any]]:
    """Open leads and contacts with an e-mail, unique by e-mail (what a broker list repeats)."""
    found: dict[str, dict[str, Any]] = {}
    with org.lock:
        leads = [r for r in org.tables["Lead"].values()
                 if not r["IsDeleted"] and not r["IsConverted"] and r.get("Email")]  # fmt: skip
        contacts = [r for r in org.tables["Contact"].values()
                    if not r["IsDeleted"] and r.get("Email")]  # fmt: skip
        accounts = {i: r.get("Name") for i, r in org.tables["Account"].items()}
        for record in [*contacts[: limit // 5], *leads]:
            email = str(record["Email"]).casefold()
            company = record.get("Company") or accounts.get(record.get("AccountId"))
            if email not in found and company and record.get("LastName"):
                found[email] = {**record, "Company": company}
    return sorted(found.values(), key=lambda r: str(r["Id"]))[:limit]


def person(i: int, rng: random.Random, names: list[tuple[str, str]]) -> list[Any]:
    first, last = names[i]
    # About 4,000 companies: a few people each, as in a purchased list.
    name = f"{rng.choice(COMPANY_M)} {rng.choice(COMPANY_A)}{rng.choice(COMPANY_B)}"
    company = f"{name} {rng.choice(COMPANY_C)}"
    email = f"{first[0]}.{last}.{i}@{''.join(name.split())}.example.com".casefold()
    email = email.encode("ascii", "ignore").decode()
    phone = f"+49 30 {rng.randrange(10_000_000, 99_999_999)}"
    return [first, last, email, company, phone, rng.choice(("CTO", "Buyer", "", "Head of IT")),
            rng.choice(COUNTRIES), f"{10115 + i % 800:05d}", rng.choice(INDUSTRIES),
            f"BR-{i:06d}", rng.choice(DATES)]  # fmt: skip


def unique_names(count: int, rng: random.Random) -> list[tuple[str, str]]:
    surnames = [a + b for a in SURNAME_A for b in SURNAME_B]
    pairs = [(f, s) for s in surnames for f in FIRST]
    rng.shuffle(pairs)
    # One row per surname at most: rows of different people never look alike.
    seen: set[str] = set()
    picked = []
    for first, last in pairs:
        if last not in seen:
            seen.add(last)
            picked.append((first, last))
    doubles = [f"{s}-{t}" for s in surnames for t in surnames[:40] if s != t]
    extra = [(FIRST[k % len(FIRST)], name) for k, name in enumerate(doubles)]
    rng.shuffle(extra)
    return (picked + extra)[:count]


def broker_file(
    path: Path, org: Org, *, rows: int, in_file: int, in_org: int, broken: int, seed: int = 5
) -> Truth:
    """A `;`-separated UTF-8 file with a BOM, `rows` rows long, planted as asked."""
    rng = random.Random(seed)
    people = org_people(org, in_org)
    assert len(people) == in_org, f"the org has only {len(people)} people with an e-mail"
    fresh = rows - in_file - in_org - broken
    names = unique_names(fresh + broken, rng)
    body: list[list[Any]] = [person(i, rng, names) for i in range(fresh)]
    truth = Truth(rows=rows, new=list(range(2, fresh + 2)))
    kinds = ["file"] * in_file + ["org"] * in_org + ["broken"] * broken
    rng.shuffle(kinds)
    people_left = list(people)
    spare = iter(range(fresh, fresh + broken))
    for n, kind in enumerate(kinds):
        number = len(body) + 2
        if kind == "file":
            source = rng.randrange(fresh)  # fresh rows come first: the copy is the later one
            copy = list(body[source])
            copy[0], copy[2], copy[4], copy[5] = copy[0].upper(), copy[2].upper(), "", "VP Sales"
            truth.in_file[number] = source + 2
            body.append(copy)
        elif kind == "org":
            record = people_left.pop()
            truth.in_org[number] = str(record["Id"])
            first = record.get("FirstName") or ""
            filler = ["", "Procurement lead", "", "", "", "BR-ORG", ""]
            body.append([first, record["LastName"], record["Email"], record["Company"], *filler])
        else:
            row = person(next(spare), rng, names)
            row[[1, 2, 8, 3][n % 4]] = ["", "not-an-email@", "Spaceflight", "X" * 300][n % 4]
            truth.broken.append(number)
            body.append(row)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADERS)
        writer.writerows(body)
    return truth
