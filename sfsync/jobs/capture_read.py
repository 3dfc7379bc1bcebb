"""Spreadsheets as a header and rows: CSV in whatever encoding and delimiter, or an .xlsx sheet.

CSV encoding, in order:
1. a byte-order mark names it (UTF-8, UTF-16);
2. the whole file is valid UTF-8: UTF-8;
3. some lines are valid UTF-8 with non-ASCII text and others are not: a file
   glued together from exports of different tools. Each line is read as
   UTF-8, and a line that is not UTF-8 as Windows-1252 ("mixed");
4. otherwise Windows-1252 (Excel's "CSV" on Western Windows), whose every
   byte but five is a character (Latin-1 for those five), unless read so
   the text is runs of accented letters ("Ôàìèëèÿ") and `charset-normalizer`
   finds a code page in which those letters are mostly non-Latin (Cyrillic,
   Greek, Arabic...). Its other guesses are not trusted: on short text it
   takes cp1252's umlauts for Baltic or Arabic letters.

The delimiter is the one among `,` `;` tab and `|` that the header line
holds most often (Excel in much of Europe writes `;`), csv.Sniffer breaking
ties. Empty rows are skipped; row numbers are those a spreadsheet program
shows (the header is row 1, blank lines count).
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sfsync.errors import ConfigError

DELIMITERS = ",;\t|"
SNIFF_BYTES = 64 * 1024
BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
Rows = list[tuple[int, list[Any]]]


@dataclass(frozen=True)
class Sheet:
    """A spreadsheet read: its header, its non-empty rows by row number, how it was read."""

    path: Path
    digest: str  # sha256 of the file's bytes: part of every row's idempotency key
    headers: list[str]
    rows: Rows
    encoding: str | None = None
    delimiter: str | None = None


def read_sheet(path: Path, *, sheet: str | None = None) -> Sheet:
    """The file's header and rows; ConfigError for a file that cannot be read as a table."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    suffix = path.suffix.casefold()
    if suffix not in SUFFIXES:
        raise ConfigError(f"{path}: import reads .csv and .xlsx files, not {suffix or 'this'}")
    digest = hashlib.sha256(data).hexdigest()
    if suffix in (".xlsx", ".xlsm"):
        headers, rows = _xlsx(path, data, sheet)
        return Sheet(path, digest, headers, rows)
    text, encoding = decode(data)
    if "\x00" in text:
        raise ConfigError(f"{path}: not a text file (an .xls saved under a .csv name?)")
    delimiter = sniff_delimiter(text)
    headers, rows = _table(path, csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return Sheet(path, digest, headers, rows, encoding, delimiter)


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with (see the module docstring)."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return data.decode(encoding), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    lines = data.splitlines(keepends=True)
    if any(_utf8_non_ascii(line) for line in lines):
        return "".join(_line(line) for line in lines), "mixed utf-8/cp1252"
    western = "".join(_line(line) for line in lines)
    guessed = _guess(data) if _in_runs(western) else None
    if guessed is not None and _non_latin(guessed[0]):
        return guessed
    return western, "cp1252"


def _in_runs(text: str) -> bool:
    """Whether most non-ASCII characters stand next to another: "Ôàìèëèÿ", not "Müller".

    Western languages put an accent here and there inside ASCII words; a
    Cyrillic or Greek file read as Windows-1252 is runs of accented letters.
    """
    marks = [not c.isascii() and not c.isspace() for c in text]
    total = sum(marks)
    paired = sum(
        1
        for i, mark in enumerate(marks)
        if mark and ((i > 0 and marks[i - 1]) or (i + 1 < len(marks) and marks[i + 1]))
    )
    return total > 0 and paired > total / 2


def _non_latin(text: str) -> bool:
    """Whether most of the non-ASCII letters are of another script than Latin."""
    letters = [c for c in text if not c.isascii() and c.isalpha()]
    others = sum(not unicodedata.name(c, "LATIN").startswith("LATIN") for c in letters)
    return bool(letters) and others > len(letters) / 2


def _utf8_non_ascii(line: bytes) -> bool:
    if line.isascii():
        return False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(_cp1252(bytes([b])) for b in line)


def _cp1252(byte: bytes) -> str:
    try:
        return byte.decode("cp1252")
    except UnicodeDecodeError:
        return byte.decode("latin-1")  # 0x81 0x8D 0x8F 0x90 0x9D: not cp1252 characters


def _guess(data: bytes) -> tuple[str, str] | None:
    """charset-normalizer's best guess, if it is installed and sure enough."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a dependency of requests, so normally present
        return None
    best = from_bytes(data).best()
    if best is None or best.encoding in ("ascii", "utf_8"):
        return None
    return str(best), best.encoding.replace("_", "-")


def sniff_delimiter(text: str) -> str:
    """The delimiter the header line holds most often; csv.Sniffer on a tie; else a comma."""
    lines = [line for line in text[:SNIFF_BYTES].splitlines() if line.strip()]
    header = lines[0] if lines else ""
    counts = sorted(((header.count(d), d) for d in DELIMITERS), reverse=True)
    (top, best), (second, _) = counts[0], counts[1]
    if top and top > second:
        return best
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return best if top else ","


def _table(path: Path, rows: Iterator[list[Any]]) -> tuple[list[str], Rows]:
    """Header (the first non-empty row) and numbered non-empty rows."""
    headers: list[str] | None = None
    body: Rows = []
    try:
        for number, row in enumerate(rows, start=1):
            if not any(_filled(cell) for cell in row):
                continue
            if headers is None:
                headers = [_header(cell, i) for i, cell in enumerate(row)]
            else:
                body.append((number, list(row)))
    except csv.Error as exc:
        raise ConfigError(f"{path}: not a readable CSV file ({exc})") from None
    if headers is None:
        raise ConfigError(f"{path}: the file is empty (no header row)")
    return headers, body


def _filled(cell: Any) -> bool:
    return cell is not None and str(cell).strip() != ""


def _header(cell: Any, index: int) -> str:
    text = " ".join(str(cell or "").split())
    return text or f"column {index + 1}"


def _xlsx(
    path: Path, data: bytes, sheet: str | None
) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency of sfsync
        raise ConfigError("reading .xlsx files needs openpyxl: pip install openpyxl") from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise ConfigError(f"{path}: not a readable .xlsx file ({type(exc).__name__})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            names = ", ".join(book.sheetnames)
            raise ConfigError(f"{path}: no sheet named {sheet!r} (sheets: {names})")
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        rows = ([_cell(c) for c in row] for row in worksheet.iter_rows(values_only=True))
        return _table(path, rows)
    finally:
        book.close()


def _cell(value: Any) -> Any:
    """A cell as capture takes it: dates stay dates, whole numbers lose their `.0`."""
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date()
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
