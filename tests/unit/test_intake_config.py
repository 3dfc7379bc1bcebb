"""intake.yaml: the shipped file parses; bad files name file, line and key; secrets from env."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sfsync.errors import ConfigError
from sfsync.intake.config import INTAKE_FILE, form_secrets, load_intake

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"

GOOD = """\
forms:
  contact:
    source: Web
    fields: {email: Email, last_name: LastName, company: Company}
    required: [LastName]
    honeypot: homepage
    secret_env: INTAKE_SECRET
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / INTAKE_FILE).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_shipped_file_parses() -> None:
    config = load_intake(MAPPINGS)
    contact = config.forms["contact"]
    assert contact.fields["email"] == "Email"
    assert set(contact.required) <= set(contact.fields.values())
    assert contact.honeypot and contact.honeypot not in contact.fields
    assert config.limits.max_body_bytes == 65536
    assert form_secrets(config, MAPPINGS, {}) == {}  # the shipped form needs no secret


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("forms: {}\n", 1, "forms: Dictionary should have at least 1 item"),
        (
            "forms:\n  contact:\n    source: Web\n    fields: {a: Email}\n"
            "    required: [LastName]\n",
            5,
            "forms.contact.required: ['LastName'] are not mapped from any form field",
        ),
        (
            "forms:\n  contact:\n    source: Web\n    fields: {a: Email, b: Email}\n",
            4,
            "forms.contact.fields: several form fields map to ['Email']",
        ),
        (
            "forms:\n  contact:\n    source: Web\n    fields: {a: Email}\n    honeypot: a\n",
            5,
            "forms.contact.honeypot: 'a' is also a mapped field",
        ),
        (
            "forms:\n  Contact Us:\n    source: Web\n    fields: {a: Email}\n",
            2,
            "forms.Contact Us: String should match pattern",
        ),
        (
            "forms:\n  c:\n    source: Web\n    fields: {a: 'Email; DROP'}\n",
            4,
            "forms.c.fields.a",
        ),
        (
            "forms:\n  c:\n    source: Web\n    fields: {a: Email}\nrate_limits:\n"
            "  per_ip: {requests: 0, per_seconds: 60}\n",
            6,
            "rate_limits.per_ip.requests",
        ),
        (
            "forms:\n  c:\n    source: Web\n    fields: {a: Email}\n"
            "    max_lengths: {Email: 500}\n",
            5,
            "forms.c.max_lengths: Email: Salesforce holds 80 characters",
        ),
        (
            "forms:\n  c:\n    source: Web\n    fields: {a: Email}\n    colour: red\n",
            5,
            "forms.c.colour: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_files_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_intake(write(tmp_path, text))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / INTAKE_FILE}:{line}:"), message
    assert expected in message


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"intake\.yaml: file not found"):
        load_intake(tmp_path)


def test_secret_comes_from_the_named_variable(tmp_path: Path) -> None:
    directory = write(tmp_path, GOOD)
    config = load_intake(directory)
    secrets = form_secrets(config, directory, {"INTAKE_SECRET": "s3cret-value"})
    assert secrets["contact"].get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(secrets)


def test_an_unset_secret_stops_start_up_with_file_and_line(tmp_path: Path) -> None:
    directory = write(tmp_path, GOOD)
    with pytest.raises(ConfigError) as caught:
        form_secrets(load_intake(directory), directory, {"INTAKE_SECRET": ""})
    assert str(caught.value) == (
        f"{directory / INTAKE_FILE}:7: forms.contact.secret_env: INTAKE_SECRET is not set or empty"
    )


def test_the_shipped_file_copies_cleanly(tmp_path: Path) -> None:
    shutil.copy(MAPPINGS / INTAKE_FILE, tmp_path / INTAKE_FILE)
    assert load_intake(tmp_path) == load_intake(MAPPINGS)
