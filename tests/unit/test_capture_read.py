"""Reading spreadsheets for import: encodings, BOMs, delimiters, empty rows, .xlsx cells."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from sfsync.errors import ConfigError
from sfsync.jobs.capture_read import decode, read_sheet, sniff_delimiter

TEXT = "Vorname,Nachname,Firma\nJürgen,Müller,Käserei Müller\nAmélie,Dupré,Société Dupré\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
)
def test_each_encoding_reads_as_the_same_text(data: bytes, encoding: str) -> None:
    text, found = decode(data)
    assert text == TEXT
    assert found == encoding


def test_a_file_glued_from_utf8_and_cp1252_exports_reads_line_by_line() -> None:
    data = "Jürgen,Müller\n".encode() + "Amélie,Dupré\n".encode("cp1252") + "Łukasz,Ż\n".encode()
    text, found = decode(data)
    assert text == "Jürgen,Müller\nAmélie,Dupré\nŁukasz,Ż\n"
    assert found == "mixed utf-8/cp1252"


def test_bytes_cp1252_lacks_still_read_as_latin1() -> None:
    text, _ = decode("Ümlaut,x\n".encode("cp1252") + b"a\x81b,y\n")
    assert text.splitlines() == ["Ümlaut,x", "a\x81b,y"]


def test_a_cyrillic_code_page_is_guessed() -> None:
    words = "Фамилия,Компания\n" + "Иванов,Рога и копыта\nПетров,Северная звезда\n" * 20
    text, found = decode(words.encode("cp1251"))
    assert text == words and found == "cp1251"


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ("only\nrow\n", ","),
    ],
)
def test_the_delimiter_is_sniffed(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter


def test_a_csv_sheet_has_numbered_rows_without_empty_ones(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(
        b"\xef\xbb\xbf\r\nFirst;Last;;Notes\r\n"
        b'Ada;Lovelace;x;"multi\r\nline"\r\n;;;\r\nAlan;Turing;;\r\n'
    )
    sheet = read_sheet(path)
    assert sheet.headers == ["First", "Last", "column 3", "Notes"]
    assert sheet.rows == [(3, ["Ada", "Lovelace", "x", "multi\r\nline"]),
                          (5, ["Alan", "Turing", "", ""])]  # fmt: skip
    assert (sheet.encoding, sheet.delimiter) == ("utf-8-sig", ";")
    assert len(sheet.digest) == 64


def test_an_xlsx_sheet_keeps_dates_and_loses_float_noise(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Ignored"
    sheet = book.create_sheet("Leads")
    sheet.append(["Name", "Phone", "Added", "Seen"])
    sheet.append(["Ada", 4155550100, datetime(2024, 3, 5), datetime(2024, 3, 5, 9, 30)])
    sheet.append([None, None, None, None])
    sheet.append(["Alan", 2.5, "05.03.2024", None])
    book.save(path)

    read = read_sheet(path, sheet="Leads")

    assert read.headers == ["Name", "Phone", "Added", "Seen"]
    assert read.rows == [
        (2, ["Ada", 4155550100, date(2024, 3, 5), datetime(2024, 3, 5, 9, 30)]),
        (4, ["Alan", 2.5, "05.03.2024", None]),
    ]
    with pytest.raises(ConfigError, match="no sheet named 'Nope' \\(sheets: Ignored, Leads\\)"):
        read_sheet(path, sheet="Nope")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("leads.json", b"[]", "reads .csv and .xlsx files, not .json"),
        ("empty.csv", b"\n\n", "the file is empty"),
        ("broken.xlsx", b"not a zip", "not a readable .xlsx file"),
        ("nul.csv", b"a,b\n\x00x,y\n", "not a text file"),
    ],
)
def test_unreadable_files_are_a_clear_error(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=message):
        read_sheet(path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        read_sheet(tmp_path / "nowhere.csv")
