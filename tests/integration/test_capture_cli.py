"""`sfsync import` on the command line, against the emulator: messy files in, a clear report out.

The org's Lead gets a custom date field (First Contact) so that dates in
several formats can be seen landing as one date.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.emulator.schema import FieldDef, OrgSchema
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.store import Store
from sfsync.store.capture import CaptureLedger
from tests.integration.helpers import client_credentials

runner = CliRunner()
DATE_FIELD = "First_Contact__c"


@pytest.fixture
def org_with_date(seeded: SeededOrg) -> SeededOrg:
    org = seeded.org
    lead = org.schema.objects["Lead"]
    extra = FieldDef(DATE_FIELD, "date", label="First Contact", custom=True)
    org.schema = OrgSchema(objects={**org.schema.objects, "Lead": lead.with_fields([extra])})
    return seeded


@pytest.fixture
def cli(emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    client_credentials(emulator, monkeypatch)
    return env


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--log-json", "--log-level", "WARNING", *args])
    return result.exit_code, result.output


def results(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def by_name(seeded: SeededOrg, last: str) -> list[dict[str, Any]]:
    with seeded.org.lock:
        return [dict(r) for r in seeded.org.tables["Lead"].values() if r.get("LastName") == last]


MESSY = (
    "Vorname;Nachname;E-Mail;Firma;Telefon;First Contact;Broker Ref;Internal note\r\n"
    "Jürgen;Müller;j.mueller@kaeserei-mueller.example.de;Käserei Müller GmbH;030 1234567;"
    "05.03.2024;B-1;call in May\r\n"
    "Amélie;Dupré;amelie@societe-dupre.example.fr;Société Dupré SARL;+33 1 42 68 53 00;"
    "March 5, 2024;B-2;\r\n"
    ";;;;;;;\r\n"
    "Sven;Ekström;sven@ekstrom-bygg.example.se;Ekström Bygg AB;;2024-03-05;B-3;x\r\n"
    "Sven;EKSTRÖM;SVEN@EKSTROM-BYGG.EXAMPLE.SE;Ekström Bygg AB;+46 8 123 456 78;5 Mar 2024;"
    "B-4;same again\r\n"
    "Zoë;Ødegård;zoe@@fjord;Fjord AS;;45356;B-5;\r\n"
    "Ines;Łukasz;ines@lukasz-metal.example.pl;Łukasz Metal sp. z o.o.;;3/5/2024;B-6;\r\n"
)


def test_a_messy_cp1252_file_is_imported_once_with_a_report(
    org_with_date: SeededOrg, cli: str, tmp_path: Path
) -> None:
    seeded = org_with_date
    path = tmp_path / "broker.csv"
    # Windows-1252 for most lines, one line UTF-8 (Ł is not in cp1252): a glued-together file.
    lines = MESSY.split("\r\n")
    data = b"\r\n".join(
        line.encode("utf-8") if "Ł" in line else line.encode("cp1252") for line in lines
    )
    path.write_bytes(data)

    code, output = invoke("import", str(path), "--source", "trade show")

    assert code == 0, output
    assert "Firma: Company" in output and "First Contact: First_Contact__c" in output
    assert "Columns not imported: Broker Ref, Internal note" in output
    assert "mixed utf-8/cp1252" in output
    assert "holds no leads" in output  # no backfill yet: the warning says what is missing
    (mueller,) = by_name(seeded, "Müller")
    assert mueller["Company"] == "Käserei Müller GmbH" and mueller["LeadSource"] == "Trade Show"
    assert mueller["Lead_Score__c"] is not None
    assert len(by_name(seeded, "Ekström")) == 1 and not by_name(seeded, "EKSTRÖM")
    assert by_name(seeded, "Łukasz")[0]["Company"] == "Łukasz Metal sp. z o.o."
    dates = {str(r[DATE_FIELD])[:10] for n in ("Müller", "Dupré", "Ekström", "Łukasz")
             for r in by_name(seeded, n)}  # fmt: skip
    assert dates == {"2024-03-05"}
    result = results(tmp_path / "broker.csv.result.csv")
    actions = {row["row"]: row["action"] for row in result}
    assert actions == {"2": "created", "3": "created", "5": "created", "6": "duplicate",
                       "7": "rejected", "8": "created"}  # fmt: skip
    rejected = next(r for r in result if r["action"] == "rejected")
    assert "Email: 'zoe@@fjord' is not an e-mail address" in rejected["reasons"]
    duplicate = next(r for r in result if r["action"] == "duplicate")
    created_ekstrom = next(r for r in result if r["row"] == "5")
    assert duplicate["matched_id"] == created_ekstrom["record_id"]

    code, again = invoke("import", str(path), "--source", "trade show")

    assert code == 0, again
    assert len(by_name(seeded, "Müller")) == 1
    result = results(tmp_path / "broker.csv.result.csv")
    assert sorted(row["action"] for row in result) == ["already_done"] * 5 + ["rejected"]


def test_dry_run_writes_nothing_and_a_saved_mapping_reads_dates_day_first(
    org_with_date: SeededOrg, cli: str, tmp_path: Path
) -> None:
    import openpyxl

    seeded = org_with_date
    path = tmp_path / "list.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Full Name", "Company Name", "Mobile", "Zip", "first contact", "Employees"])
    sheet.append(["Hana Novak", "Novak Optics", 420777123456, "01067", datetime(2024, 4, 3), 12])
    sheet.append(["Kowalski, Piotr", "Kowalski Glass", None, "00-950", "03/04/2024", "1,200"])
    sheet.append(["Solo", "Nameless Ltd", None, None, "2024-04-03T09:30", "many"])
    book.save(path)
    mapping = tmp_path / "columns.yaml"

    code, output = invoke("import", str(path), "--dry-run", "--save-mapping", str(mapping))

    assert code == 0, output
    assert "would be created" in output
    assert not by_name(seeded, "Novak")
    store = Store(cli)
    try:
        assert CaptureLedger(store.engine).count() == 0
    finally:
        store.close()
    text = mapping.read_text()
    assert "Full Name: $full_name" in text and "dates: month_first" in text
    mapping.write_text(text.replace("month_first", "day_first"))

    code, output = invoke("import", str(path), "--mapping", str(mapping))

    assert code == 0, output
    (novak,) = by_name(seeded, "Novak")
    (kowalski,) = by_name(seeded, "Kowalski")
    assert novak["FirstName"] == "Hana" and kowalski["FirstName"] == "Piotr"
    assert str(novak[DATE_FIELD])[:10] == str(kowalski[DATE_FIELD])[:10] == "2024-04-03"
    assert novak["NumberOfEmployees"] == 12 and kowalski["NumberOfEmployees"] == 1200
    assert novak["MobilePhone"].replace(" ", "").endswith("420777123456")
    assert not by_name(seeded, "Solo")  # "many" employees: rejected, with the reason
    assert "NumberOfEmployees: 'many' is not a number" in output


def test_a_mapping_naming_a_missing_column_or_field_stops_with_exit_2(
    seeded: SeededOrg, cli: str, tmp_path: Path
) -> None:
    path = tmp_path / "a.csv"
    path.write_text("Name,Company\nAda Lovelace,Engines Ltd\n")
    mapping = tmp_path / "columns.yaml"
    mapping.write_text("columns:\n  Name: $full_name\n  Company: Compnay\n")

    code, output = invoke("import", str(path), "--mapping", str(mapping))

    assert code == 2
    assert "columns.yaml" in output and "Compnay" in output
    assert not by_name(seeded, "Lovelace")
    (tmp_path / "b.csv").write_text("Given,Who\nAda,Lovelace\n")
    code, output = invoke("import", str(tmp_path / "b.csv"))
    assert code == 2 and "no column maps to LastName or Company" in output
