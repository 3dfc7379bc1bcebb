"""SFSYNC_IMPORT_BULK_THRESHOLD: from how many new leads capture uses Bulk API 2.0 insert jobs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.config import DEFAULT_IMPORT_BULK_THRESHOLD, load_settings
from sfsync.errors import ConfigError
from tests.unit import test_config_write_concurrency as concurrency

# Autouse: the machine's SF_*/SFSYNC_* variables out, client credentials in.
credentials = concurrency.credentials


def test_default_is_salesforces_own_advice() -> None:
    assert load_settings().sfsync_import_bulk_threshold == DEFAULT_IMPORT_BULK_THRESHOLD == 2_000


@pytest.mark.parametrize(("value", "expected"), [("1", 1), (" 500 ", 500), ("1000000000", 10**9)])
def test_whole_numbers_from_one_are_taken(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int
) -> None:
    monkeypatch.setenv("SFSYNC_IMPORT_BULK_THRESHOLD", value)
    assert load_settings().sfsync_import_bulk_threshold == expected


@pytest.mark.parametrize(
    ("value", "says"),
    [("0", "at least 1"), ("-5", "at least 1"), ("2k", "integer"), ("2.5", "integer"),
     ("", "integer"), ("2,000", "integer")],
)  # fmt: skip
def test_bad_values_are_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.setenv("SFSYNC_IMPORT_BULK_THRESHOLD", value)
    with pytest.raises(ConfigError, match="SFSYNC_IMPORT_BULK_THRESHOLD") as info:
        load_settings()
    assert says in str(info.value)


def test_import_stops_with_exit_2_before_any_call(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SFSYNC_IMPORT_BULK_THRESHOLD", "lots")
    monkeypatch.setenv("SF_LOGIN_URL", "https://127.0.0.1:9")  # nothing listens: no call made
    monkeypatch.setenv("SFSYNC_DATABASE_URL", f"sqlite:///{tmp_path}/state.db")
    path = tmp_path / "leads.csv"
    path.write_text("LastName,Company\nQuell,Acme\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(path)])
    assert result.exit_code == 2
    assert "SFSYNC_IMPORT_BULK_THRESHOLD" in result.output
    assert not (tmp_path / "state.db").exists() and not (tmp_path / "leads.result.csv").exists()
