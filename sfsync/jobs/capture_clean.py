"""A captured lead's values checked against the org's describe of Lead, before anything is sent.

`clean` turns spreadsheet text into the values the org takes (numbers,
booleans, dates in ISO form, picklist values in their own spelling) and says
what is wrong with a row, all of it at once, as the org would: required
fields, e-mail and phone syntax, picklist values, lengths, numbers, dates,
fields that do not exist or cannot be set on create.

Dates: ISO (2024-03-05, with or without a time), 2024/03/05, 05.03.2024
(dots: day first, always), 3/5/2024 and 03-05-24 (month first unless the
file says `day_first`, or the first number is above 12), 5 March 2024,
March 5, 2024, 05-Mar-2024, and Excel serial day numbers.

Picklists: a value must be one the field lists (matched without regard to
case), restricted or not. Salesforce stores any value in an unrestricted
picklist, but an import that adds values nobody chose spoils every report
built on the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from sfsync.connectors.salesforce import FieldInfo, ObjectInfo

# The fields a Lead cannot be created without, whatever the describe says.
REQUIRED = ("LastName", "Company")
# Close to what Salesforce accepts (the emulator checks the same).
EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$"
)
# Digits, spaces and the usual separators, an optional extension: "+1 (415) 555-0100 x12".
PHONE = re.compile(r"^\+?[0-9 ()./-]+(?:\s*(?:x|ext\.?|#)\s*[0-9]{1,6})?$", re.IGNORECASE)
PHONE_DIGITS = (6, 20)
TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist", "id"})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})
TRUE = frozenset({"true", "yes", "y", "1", "x", "on", "ja", "oui", "si", "sí"})
FALSE = frozenset({"false", "no", "n", "0", "off", "nein", "non", ""})
# Excel counts days from 1899-12-30 (its 1900 leap-year bug included).
EXCEL_EPOCH = date(1899, 12, 30)
EXCEL_SERIALS = (20_000, 80_000)  # 1954..2119: a number in a date column in this range is a day
MONTHS = {
    m: i + 1
    for i, names in enumerate(
        ("jan january", "feb february", "mar march", "apr april", "may", "jun june",
         "jul july", "aug august", "sep sept september", "oct october", "nov november",
         "dec december")
    )
    for m in names.split()
}  # fmt: skip
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})$")
_WORD_DATE = re.compile(r"^(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ ,-]*(\d{4})$")
_WORD_FIRST = re.compile(r"^([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})$")
_THOUSANDS_DOTS = re.compile(r"^-?\d{1,3}(?:\.\d{3})+$")
_TIME = re.compile(r"^(.*?)[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$")


class Invalid(ValueError):
    """A value the field cannot take (the message says why)."""


def validate(
    values: Mapping[str, Any], lead_describe: ObjectInfo, *, day_first: bool = False
) -> list[str]:
    """What is wrong with a lead's values, one reason per problem (empty: it can be created)."""
    return clean(values, lead_describe, day_first=day_first)[1]


def clean(
    values: Mapping[str, Any], lead_describe: ObjectInfo, *, day_first: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """The values as the org takes them (blanks dropped), and the reasons the row is refused."""
    cleaned: dict[str, Any] = {}
    problems: list[str] = []
    for name, raw in values.items():
        info = lead_describe.fields.get(name)
        if info is None:
            problems.append(f"{name}: Lead has no such field")
            continue
        if _blank(raw):
            continue
        if not info.createable:
            problems.append(f"{name}: cannot be set when a lead is created")
            continue
        try:
            cleaned[name] = coerce(info, raw, day_first=day_first)
        except Invalid as exc:
            problems.append(f"{name}: {exc}")
    problems += [f"{name}: required" for name in required(lead_describe) if name not in cleaned]
    return cleaned, problems


def required(lead_describe: ObjectInfo) -> list[str]:
    """LastName, Company, and whatever else the org will not create a lead without."""
    found = [n for n in REQUIRED if n in lead_describe.fields or not lead_describe.fields]
    for info in lead_describe.fields.values():
        must = not info.nillable and info.createable and not info.defaulted_on_create
        # The org makes the creator the owner; booleans default to false.
        if must and info.type not in ("boolean", "reference") and info.name not in found:
            found.append(info.name)
    return found


def coerce(info: FieldInfo, raw: Any, *, day_first: bool = False) -> Any:
    """One value in the form the field takes, or Invalid."""
    kind = info.type
    if kind in NUMBER_TYPES:
        return _number(raw, integer=kind == "int")
    if kind == "boolean":
        return _boolean(raw)
    if kind == "date":
        return parse_date(raw, day_first=day_first).isoformat()
    if kind == "datetime":
        return parse_datetime(raw, day_first=day_first).isoformat()
    text = _text(raw)
    if kind == "email":
        _email(text)
    elif kind == "phone":
        _phone(text)
    elif kind in ("picklist", "multipicklist"):
        text = _picklist(info, text)
    if info.length and kind in TEXT_TYPES | {"multipicklist"} and len(text) > info.length:
        raise Invalid(f"{len(text)} characters, the field holds {info.length}")
    return text


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))  # a phone number or postal code a spreadsheet kept as a number
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    return " ".join(str(raw).split()) if "\n" not in str(raw) else str(raw).strip()


def _email(text: str) -> None:
    if not EMAIL.match(text):
        raise Invalid(f"{text!r} is not an e-mail address")


def _phone(text: str) -> None:
    digits = sum(c.isdigit() for c in text)
    low, high = PHONE_DIGITS
    if not PHONE.match(text) or not low <= digits <= high:
        raise Invalid(f"{text!r} is not a phone number")


def _picklist(info: FieldInfo, text: str) -> str:
    if not info.picklist:
        return text
    wanted = [v.strip() for v in text.split(";")] if info.type == "multipicklist" else [text]
    by_fold = {v.casefold(): v for v in info.picklist}
    found = [by_fold.get(v.casefold()) for v in wanted]
    missing = [v for v, f in zip(wanted, found, strict=True) if f is None]
    if missing:
        shown = ", ".join(info.picklist[:8]) + (", ..." if len(info.picklist) > 8 else "")
        raise Invalid(f"{missing[0]!r} is not one of its values ({shown})")
    return ";".join(f for f in found if f is not None)


def _number(raw: Any, *, integer: bool) -> int | float:
    if isinstance(raw, bool):
        raise Invalid(f"{raw!r} is not a number")
    if isinstance(raw, int | float):
        value = Decimal(str(raw))
    else:
        text = re.sub(r"[\s$€£¥%]", "", str(raw)).replace("'", "")
        # "1,200.50" and "1.200,50": the last separator is the decimal point.
        if "," in text and "." in text:
            comma_last = text.rfind(",") > text.rfind(".")
            text = text.replace(".", "").replace(",", ".") if comma_last else text.replace(",", "")
        elif text.count(",") == 1 and len(text.split(",")[1]) != 3:
            text = text.replace(",", ".")
        elif _THOUSANDS_DOTS.match(text) and (integer or text.count(".") > 1):
            text = text.replace(".", "")  # 1.200 employees, 1.250.000 revenue
        else:
            text = text.replace(",", "")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise Invalid(f"{raw!r} is not a number") from None
    if integer:
        if value != value.to_integral_value():
            raise Invalid(f"{raw!r} is not a whole number")
        return int(value)
    return float(value)


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().casefold()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise Invalid(f"{raw!r} is not yes or no")


def parse_date(raw: Any, *, day_first: bool = False) -> date:
    """A date from the forms spreadsheets hold; `day_first` reads 03/04/2024 as 3 April."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return _serial(raw)
    text = str(raw).strip()
    if text.replace(".", "", 1).isdigit():
        return _serial(float(text))
    text = _TIME.sub(r"\1", text) if _TIME.match(text) else text
    found = _numeric(text, day_first) or _words(text)
    if found is None:
        raise Invalid(f"{raw!r} is not a date")
    return found


def parse_datetime(raw: Any, *, day_first: bool = False) -> datetime:
    """A date and time (UTC unless it names an offset); a bare date is midnight UTC."""
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    text = str(raw).strip()
    with_time = _TIME.match(text)
    day = parse_date(with_time[1] if with_time else raw, day_first=day_first)
    if with_time is None:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    hour, minute, second, offset = with_time[2], with_time[3], with_time[4], with_time[5]
    try:
        zone: tzinfo = UTC
        if offset and offset != "Z":
            zone = datetime.strptime(offset.replace(":", ""), "%z").tzinfo or UTC
        return datetime(
            day.year, day.month, day.day, int(hour), int(minute), int(second or 0), tzinfo=zone
        )
    except ValueError:
        raise Invalid(f"{raw!r} is not a date and time") from None


def _serial(number: float) -> date:
    low, high = EXCEL_SERIALS
    if not low <= number <= high:
        raise Invalid(f"{number:g} is not a date")
    return EXCEL_EPOCH + timedelta(days=int(number))


def _numeric(text: str, day_first: bool) -> date | None:
    match = _NUMERIC_DATE.match(text)
    if match is None:
        return None
    a, b, c = (int(g) for g in match.groups())
    if len(match[1]) == 4:  # 2024-05-01, 2024/05/01
        return _date(a, b, c, text)
    year = c + 2000 if len(match[3]) == 2 else c
    if len(match[3]) not in (2, 4):
        raise Invalid(f"{text!r} is not a date")
    # 05.03.2024 is written where the day comes first (Germany, Scandinavia, Eastern Europe).
    day_first = day_first or "." in text
    # Unambiguous when one of them cannot be a month; otherwise the file's order decides.
    if a > 12 or (day_first and b <= 12):
        return _date(year, b, a, text)
    return _date(year, a, b, text)


def _words(text: str) -> date | None:
    match = _WORD_DATE.match(text)
    if match is not None:
        day, month, year = match[1], match[2], match[3]
    elif (match := _WORD_FIRST.match(text)) is not None:
        month, day, year = match[1], match[2], match[3]
    else:
        return None
    number = MONTHS.get(month.casefold())
    if number is None:
        raise Invalid(f"{text!r} is not a date")
    return _date(int(year), number, int(day), text)


def _date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise Invalid(f"{text!r} is not a date") from None
