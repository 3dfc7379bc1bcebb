"""Settings from the environment: auth mode detection, validation, and secrets kept out of text."""

from __future__ import annotations

import os

import pytest

from sfsync.config import (
    DEFAULT_DATABASE_URL,
    AuthMode,
    Settings,
    database_url,
    load_settings,
)
from sfsync.errors import ConfigError

TOKEN = "00Dtok!SECRET-access-token"
CLIENT_SECRET = "cs-SECRET-client-secret"
PASSWORD = "pw-SECRET-password"
SECURITY_TOKEN = "st-SECRET-security-token"
DB_PASSWORD = "db-SECRET-password"
SECRETS = (TOKEN, CLIENT_SECRET, PASSWORD, SECURITY_TOKEN, DB_PASSWORD)

INSTANCE = {"SF_INSTANCE_URL": "https://org.example.my.salesforce.com"}
ACCESS_TOKEN = {"SF_ACCESS_TOKEN": TOKEN, **INSTANCE}
CLIENT_CREDENTIALS = {"SF_CLIENT_ID": "3MVG9cid", "SF_CLIENT_SECRET": CLIENT_SECRET}
JWT = {
    "SF_CLIENT_ID": "3MVG9cid",
    "SF_USERNAME": "integration@example.com",
    "SF_PRIVATE_KEY_FILE": "/keys/server.key",
}
PASSWORD_GRANT = {
    "SF_USERNAME": "integration@example.com",
    "SF_PASSWORD": PASSWORD,
    "SF_SECURITY_TOKEN": SECURITY_TOKEN,
    **CLIENT_CREDENTIALS,
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SF_* or SFSYNC_* variable of the machine leaks in (names are case-insensitive)."""
    for name in list(os.environ):
        if name.upper().startswith(("SF_", "SFSYNC_")):
            monkeypatch.delenv(name)


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def config_error(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> ConfigError:
    set_env(monkeypatch, env)
    with pytest.raises(ConfigError) as info:
        load_settings()
    return info.value


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        (ACCESS_TOKEN, AuthMode.ACCESS_TOKEN),
        (CLIENT_CREDENTIALS, AuthMode.CLIENT_CREDENTIALS),
        (JWT, AuthMode.JWT_BEARER),
        (PASSWORD_GRANT, AuthMode.PASSWORD),
        ({k.lower(): v for k, v in CLIENT_CREDENTIALS.items()}, AuthMode.CLIENT_CREDENTIALS),
    ],
    ids=["access-token", "client-credentials", "jwt", "password", "lowercase-names"],
)
def test_auth_mode_detected(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], mode: AuthMode
) -> None:
    set_env(monkeypatch, env)
    assert load_settings().auth_mode() is mode


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**CLIENT_CREDENTIALS, "SFSYNC_OVERLAP_SECONDS": "5"})
    settings = load_settings(sfsync_overlap_seconds=90)
    assert settings.sfsync_overlap_seconds == 90


def test_no_credentials_names_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    text = str(config_error(monkeypatch, {}))
    for name in (
        "SF_ACCESS_TOKEN",
        "SF_CLIENT_ID",
        "SF_CLIENT_SECRET",
        "SF_USERNAME",
        "SF_PRIVATE_KEY_FILE",
        "SF_PASSWORD",
        "SF_SECURITY_TOKEN",
    ):
        assert name in text


@pytest.mark.parametrize(
    "env",
    [
        {**ACCESS_TOKEN, **CLIENT_CREDENTIALS},
        {**ACCESS_TOKEN, **JWT},
        {**ACCESS_TOKEN, **PASSWORD_GRANT},
    ],
    ids=["token+client-credentials", "token+jwt", "token+password"],
)
def test_contradictory_credentials_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    assert "contradictory credentials" in str(config_error(monkeypatch, env))


@pytest.mark.parametrize(
    "env",
    [
        {"SF_PASSWORD": PASSWORD},
        {"SF_SECURITY_TOKEN": SECURITY_TOKEN},
        {"SF_PRIVATE_KEY_FILE": "/keys/server.key"},
        {"SF_PRIVATE_KEY_FILE": "/keys/server.key", "SF_USERNAME": "u@example.com"},
    ],
    ids=["password-only", "security-token-only", "key-only", "key+username-no-client-id"],
)
def test_incomplete_credentials_refused_at_start_up(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    config_error(monkeypatch, env)


def test_access_token_needs_instance_url(monkeypatch: pytest.MonkeyPatch) -> None:
    error = config_error(monkeypatch, {"SF_ACCESS_TOKEN": TOKEN})
    assert "need SF_INSTANCE_URL" in str(error)


@pytest.mark.parametrize("variable", ["SF_INSTANCE_URL", "SF_LOGIN_URL"])
@pytest.mark.parametrize("url", ["http://org.example.com", "org.example.com", "ftp://x"])
def test_non_https_urls_refused(monkeypatch: pytest.MonkeyPatch, variable: str, url: str) -> None:
    error = config_error(monkeypatch, {**ACCESS_TOKEN, variable: url})
    assert variable in str(error) and "https://" in str(error)


def test_urls_lose_their_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**ACCESS_TOKEN, "SF_LOGIN_URL": "https://login.example.com/"})
    settings = load_settings(sf_instance_url="https://org.example.com/")
    assert settings.sf_login_url == "https://login.example.com"
    assert settings.sf_instance_url == "https://org.example.com"


@pytest.mark.parametrize(
    ("given", "normalised"),
    [("62.0", "62.0"), ("v61.0", "61.0"), ("60", "60.0"), ("062.0", "62.0"), ("59.1", "59.1")],
)
def test_api_version_normalised(
    monkeypatch: pytest.MonkeyPatch, given: str, normalised: str
) -> None:
    set_env(monkeypatch, {**ACCESS_TOKEN, "SF_API_VERSION": given})
    assert load_settings().sf_api_version == normalised


@pytest.mark.parametrize("version", ["abc", "62.x", "", "v", "62.0.1", "-1.0", "62.0 "])
def test_bad_api_version_refused(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    error = config_error(monkeypatch, {**ACCESS_TOKEN, "SF_API_VERSION": version})
    assert "SF_API_VERSION" in str(error)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SFSYNC_API_BUDGET_SHARE", "0"),
        ("SFSYNC_API_BUDGET_SHARE", "1.5"),
        ("SFSYNC_API_BUDGET_SHARE", "-0.1"),
        ("SFSYNC_API_BUDGET_SHARE", "half"),
        ("SFSYNC_OVERLAP_SECONDS", "-1"),
        ("SFSYNC_OVERLAP_SECONDS", "86401"),
        ("SFSYNC_OVERLAP_SECONDS", "1.5"),
        ("SFSYNC_HTTP_TIMEOUT", "0"),
        ("SFSYNC_RETRY_ATTEMPTS", "0"),
        ("SFSYNC_INTERVAL_SECONDS", "0"),
    ],
)
def test_out_of_range_numbers_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    assert variable in str(config_error(monkeypatch, {**ACCESS_TOKEN, variable: value}))


@pytest.mark.parametrize(
    ("variable", "value", "field", "parsed"),
    [
        ("SFSYNC_API_BUDGET_SHARE", "1", "sfsync_api_budget_share", 1.0),
        ("SFSYNC_API_BUDGET_SHARE", "0.25", "sfsync_api_budget_share", 0.25),
        ("SFSYNC_OVERLAP_SECONDS", "0", "sfsync_overlap_seconds", 0),
        ("SFSYNC_OVERLAP_SECONDS", "86400", "sfsync_overlap_seconds", 86_400),
    ],
)
def test_boundary_numbers_accepted(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str, parsed: float
) -> None:
    set_env(monkeypatch, {**ACCESS_TOKEN, variable: value})
    assert getattr(load_settings(), field) == parsed


@pytest.mark.parametrize(
    "env",
    [
        {**ACCESS_TOKEN, **CLIENT_CREDENTIALS},
        {**PASSWORD_GRANT, **ACCESS_TOKEN},
        {"SF_ACCESS_TOKEN": TOKEN, "SF_PASSWORD": PASSWORD},
        {**PASSWORD_GRANT, "SFSYNC_OVERLAP_SECONDS": "soon"},
        {
            **ACCESS_TOKEN,
            "SFSYNC_DATABASE_URL": f"postgresql://u:{DB_PASSWORD}@h/db",
            "SF_API_VERSION": "bad",
        },
    ],
)
def test_secrets_never_in_error_text(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    error = config_error(monkeypatch, env)
    for secret in SECRETS:
        assert secret not in str(error)
        assert secret not in error.user_message
        assert secret not in repr(error)


@pytest.mark.parametrize("env", [ACCESS_TOKEN, PASSWORD_GRANT])
def test_secrets_never_in_settings_repr(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    set_env(monkeypatch, {**env, "SFSYNC_DATABASE_URL": f"postgresql://u:{DB_PASSWORD}@h/db"})
    settings = load_settings()
    assert isinstance(settings, Settings)
    for text in (repr(settings), str(settings)):
        for secret in SECRETS:
            assert secret not in text


def test_database_url_default_without_credentials() -> None:
    assert database_url() == DEFAULT_DATABASE_URL


def test_database_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql+psycopg://sfsync:{DB_PASSWORD}@db.internal/sfsync"
    monkeypatch.setenv("SFSYNC_DATABASE_URL", url)
    assert database_url() == url
    set_env(monkeypatch, ACCESS_TOKEN)
    assert load_settings().sfsync_database_url.get_secret_value() == url
