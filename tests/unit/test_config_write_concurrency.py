"""SFSYNC_WRITE_CONCURRENCY: Collections requests in flight, 1 to 10, refused clearly otherwise."""

from __future__ import annotations

import os

import pytest

from sfsync.config import DEFAULT_WRITE_CONCURRENCY, load_settings
from sfsync.errors import ConfigError

CLIENT_CREDENTIALS = {"SF_CLIENT_ID": "3MVG9cid", "SF_CLIENT_SECRET": "cs-SECRET"}


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith(("SF_", "SFSYNC_")):
            monkeypatch.delenv(name)
    for name, value in CLIENT_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


def test_default_is_a_few_writes_in_flight() -> None:
    assert load_settings().sfsync_write_concurrency == DEFAULT_WRITE_CONCURRENCY == 4


@pytest.mark.parametrize(
    ("value", "expected"), [("1", 1), ("10", 10), (" 7 ", 7), ("+4", 4), ("4\u00a0", 4)]
)
def test_values_within_bounds_are_taken(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int
) -> None:
    monkeypatch.setenv("SFSYNC_WRITE_CONCURRENCY", value)
    assert load_settings().sfsync_write_concurrency == expected


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "between 1 and 10"),
        ("-1", "between 1 and 10"),
        ("11", "between 1 and 10"),
        ("1000", "between 1 and 10"),
        ("2.5", "integer"),
        ("four", "integer"),
        ("", "integer"),
        ("\uff14", "integer"),  # a fullwidth 4
        ("4\ufe0f\u20e3", "integer"),  # the keycap emoji
        ("0x4", "integer"),
    ],
)
def test_bad_values_are_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.setenv("SFSYNC_WRITE_CONCURRENCY", value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "SFSYNC_WRITE_CONCURRENCY" in str(info.value)
    assert says in str(info.value)
    assert "cs-SECRET" not in str(info.value)


def test_an_override_is_checked_like_the_environment() -> None:
    with pytest.raises(ConfigError, match="SFSYNC_WRITE_CONCURRENCY"):
        load_settings(sfsync_write_concurrency=0)
