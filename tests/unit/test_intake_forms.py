"""Reading form posts: media types, bodies, mapping to Lead values, honeypot. Tables of cases."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from sfsync.intake.config import FormConfig, Limits
from sfsync.intake.forms import (
    FORM_TYPE,
    JSON_TYPE,
    IntakeRefused,
    Posted,
    honeypot_filled,
    lead_values,
    media_type,
    parse_body,
)

LIMITS = Limits(max_fields=10, max_field_length=50)
FORM = FormConfig(
    source="Web",
    fields={"email": "Email", "last": "LastName", "company": "Company", "msg": "Description",
            "employees": "NumberOfEmployees"},
    required=("LastName", "Email"),
    constants={"LeadSource": "Web"},
    honeypot="homepage",
    max_lengths={"Description": 200},
)  # fmt: skip
SCRIPT = "<script>alert(document.cookie)</script>"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/x-www-form-urlencoded", FORM_TYPE),
        ("Application/JSON; charset=UTF-8", JSON_TYPE),
        ('application/json; charset="utf8"', JSON_TYPE),
    ],
)
def test_accepted_media_types(header: str, expected: str) -> None:
    assert media_type(header) == expected


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "unsupported_media_type"),
        ("", "unsupported_media_type"),
        ("text/plain", "unsupported_media_type"),
        ("multipart/form-data; boundary=x", "unsupported_media_type"),
        ("application/jsonp", "unsupported_media_type"),
        ("application/json; charset=latin-1", "unsupported_charset"),
        ("application/x-www-form-urlencoded; charset=utf-16", "unsupported_charset"),
    ],
)
def test_refused_media_types(header: str | None, code: str) -> None:
    with pytest.raises(IntakeRefused) as caught:
        media_type(header)
    assert (caught.value.status, caught.value.code) == (HTTPStatus.UNSUPPORTED_MEDIA_TYPE, code)


@pytest.mark.parametrize(
    ("body", "kind", "fields"),
    [
        (b"email=a%40b.com&last=O%27Brien", FORM_TYPE, {"email": "a@b.com", "last": "O'Brien"}),
        (b"last=M%C3%BCller+Stra%C3%9Fe", FORM_TYPE, {"last": "Müller Straße"}),
        ("last=Zoë".encode(), FORM_TYPE, {"last": "Zoë"}),  # raw UTF-8, not percent-encoded
        (b"empty=&flag", FORM_TYPE, {"empty": "", "flag": ""}),
        (b'{"email": "a@b.com", "employees": 40, "ok": true, "x": null}', JSON_TYPE,
         {"email": "a@b.com", "employees": 40, "ok": True, "x": None}),
    ],
)  # fmt: skip
def test_bodies_parse(body: bytes, kind: str, fields: dict[str, object]) -> None:
    assert dict(parse_body(body, kind, LIMITS).fields) == fields


@pytest.mark.parametrize(
    ("body", "kind", "code"),
    [
        (b"\xff\xfelast=x", FORM_TYPE, "not_utf8"),
        (b"last=%FF%FE", FORM_TYPE, "not_utf8"),
        ("last=Zoë".encode("latin-1"), FORM_TYPE, "not_utf8"),
        ("&".join(f"f{i}=v" for i in range(11)).encode(), FORM_TYPE, "too_many_fields"),
        (b"{not json", JSON_TYPE, "bad_json"),
        (b"", JSON_TYPE, "bad_json"),
        (b'["a", "b"]', JSON_TYPE, "bad_json"),
        (b'"just a string"', JSON_TYPE, "bad_json"),
        (b"\xef\xbb\xbf{}", JSON_TYPE, "bad_json"),  # a BOM
        ('{"last": "x"}'.encode("utf-16"), JSON_TYPE, "not_utf8"),
        (b'{"last": "a", "last": "b"}', JSON_TYPE, "repeated_field"),
        (b'{"last": {"$gt": ""}}', JSON_TYPE, "nested_value"),
        (b'{"last": ["a"]}', JSON_TYPE, "nested_value"),
        (b'{"employees": NaN}', JSON_TYPE, "bad_json"),
        (b'{"employees": 1e999}', JSON_TYPE, "bad_number"),
        (b"[" * 100_000, JSON_TYPE, "bad_json"),  # deep nesting: no RecursionError escapes
        (json.dumps({f"f{i}": i for i in range(11)}).encode(), JSON_TYPE, "too_many_fields"),
    ],
)
def test_malformed_bodies_are_400(body: bytes, kind: str, code: str) -> None:
    with pytest.raises(IntakeRefused) as caught:
        parse_body(body, kind, LIMITS)
    assert (caught.value.status, caught.value.code) == (HTTPStatus.BAD_REQUEST, code)


def posted(**fields: object) -> Posted:
    return Posted(fields, form_encoded=True)  # type: ignore[arg-type]


def test_fields_map_to_lead_values_with_constants() -> None:
    values = lead_values(
        posted(email=" a@b.com ", last="Doe", msg=SCRIPT, employees=40, utm_source="ads"),
        FORM,
        LIMITS,
    )
    # Trimmed, script kept as plain text, unmapped fields dropped, constants added.
    assert values == {
        "Email": "a@b.com",
        "LastName": "Doe",
        "Description": SCRIPT,
        "NumberOfEmployees": 40,
        "LeadSource": "Web",
    }


@pytest.mark.parametrize(
    ("fields", "status", "code", "named"),
    [
        ({"email": "a@b.com"}, 422, "missing_fields", ("last",)),
        ({"email": "a@b.com", "last": "   "}, 422, "missing_fields", ("last",)),
        ({}, 422, "missing_fields", ("last", "email")),
        ({"email": "a@b.com", "last": "x" * 51}, 422, "too_long", ("last",)),
        # The form's own max_lengths (Description 200) replaces the global limit.
        ({"email": "a@b.com", "last": "Doe", "msg": "y" * 201}, 422, "too_long", ("msg",)),
        ({"email": "a@b.com", "last": "Do\x00e"}, 400, "control_characters", ("last",)),
        ({"email": "a@b.com", "last": "Do\x1be[2J"}, 400, "control_characters", ("last",)),
        ({"email": "a@b.com", "last": "\ud800"}, 400, "not_utf8", ("last",)),
    ],
)
def test_bad_values_are_refused_by_field_name(
    fields: dict[str, object], status: int, code: str, named: tuple[str, ...]
) -> None:
    with pytest.raises(IntakeRefused) as caught:
        lead_values(posted(**fields), FORM, LIMITS)
    refused = caught.value
    assert (refused.status, refused.code, refused.fields) == (status, code, named)
    for value in fields.values():  # messages name fields, never echo what was sent
        if isinstance(value, str) and value.strip():
            assert value not in refused.message


def test_multi_line_text_is_kept() -> None:
    values = lead_values(
        posted(email="a@b.com", last="Doe", msg="line 1\r\n\tline 2"), FORM, LIMITS
    )
    assert values["Description"] == "line 1\r\n\tline 2"


def test_a_repeated_mapped_field_is_refused_but_unmapped_repeats_are_fine() -> None:
    body = b"email=a%40b.com&last=Doe&interest=a&interest=b"
    parsed = parse_body(body, FORM_TYPE, LIMITS)
    assert lead_values(parsed, FORM, LIMITS)["LastName"] == "Doe"
    twice = parse_body(b"email=a%40b.com&last=Doe&last=Roe", FORM_TYPE, LIMITS)
    with pytest.raises(IntakeRefused) as caught:
        lead_values(twice, FORM, LIMITS)
    assert caught.value.code == "repeated_field"


@pytest.mark.parametrize(
    ("body", "filled"),
    [
        (b"last=Doe", False),
        (b"last=Doe&homepage=", False),
        (b"last=Doe&homepage=+++", False),
        (b"last=Doe&homepage=http%3A%2F%2Fspam.example", True),
        (b"last=Doe&homepage=&homepage=x", True),
    ],
)
def test_honeypot(body: bytes, filled: bool) -> None:
    assert honeypot_filled(parse_body(body, FORM_TYPE, LIMITS), FORM) is filled


def test_honeypot_in_json() -> None:
    parsed = parse_body(b'{"last": "Doe", "homepage": 1}', JSON_TYPE, LIMITS)
    assert honeypot_filled(parsed, FORM)
