"""Settings from the environment, validated once at start-up.

Secrets are `SecretStr`: their repr and str are masked, so a settings object
can be logged or shown in an exception without leaking them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from apscheduler.triggers.cron import CronTrigger
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sfsync.errors import ConfigError
from sfsync.schedule import crontab_days

DEFAULT_API_VERSION = "62.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_DATABASE_URL = "sqlite:///sfsync.db"
DEFAULT_MAPPINGS = Path("mappings")
# Seconds re-read behind the watermark: long transactions commit with earlier stamps.
DEFAULT_OVERLAP_SECONDS = 60
DEFAULT_API_BUDGET_SHARE = 0.5
DEFAULT_HTTP_TIMEOUT_SECONDS = 30.0
DEFAULT_CLIENT_NAME = "sfsync"
DEFAULT_INTERVAL_SECONDS = 300
# How often the pull also re-reads leads last modified by the integration user.
DEFAULT_SWEEP_HOURS = 24.0
# Collections requests the flush keeps in flight at once: Salesforce allows concurrent
# requests but punishes lock contention, so a few, bounded (1 sends one at a time).
DEFAULT_WRITE_CONCURRENCY = 4
MAX_WRITE_CONCURRENCY = 10
# `sfsync backfill` reads an object through Bulk API 2.0 above this many records (else REST):
# a job costs a few calls of overhead, then a call per 10,000 records instead of per 2,000.
DEFAULT_BULK_THRESHOLD = 10_000
# Capture (import, intake) creates this many new leads or more through Bulk API 2.0 insert
# jobs, fewer through Collections: measured in docs/CAPTURE.md ("Figures"), and Salesforce's
# own advice (Bulk above 2,000 records).
DEFAULT_IMPORT_BULK_THRESHOLD = 2_000


class AuthMode(StrEnum):
    """How sfsync obtains its access token."""

    ACCESS_TOKEN = "access_token"
    CLIENT_CREDENTIALS = "client_credentials"
    JWT_BEARER = "jwt_bearer"
    PASSWORD = "password"


class Settings(BaseSettings):
    """Everything sfsync reads from the environment (see README, "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    sf_instance_url: str | None = None
    sf_api_version: str = DEFAULT_API_VERSION
    sf_login_url: str = DEFAULT_LOGIN_URL
    sf_access_token: SecretStr | None = None
    sf_client_id: str | None = None
    sf_client_secret: SecretStr | None = None
    sf_username: str | None = None
    sf_private_key_file: Path | None = None
    sf_password: SecretStr | None = None
    sf_security_token: SecretStr | None = None

    sfsync_database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    sfsync_mappings: Path = DEFAULT_MAPPINGS
    sfsync_overlap_seconds: Annotated[int, Field(ge=0, le=86_400)] = DEFAULT_OVERLAP_SECONDS
    sfsync_api_budget_share: Annotated[float, Field(gt=0, le=1)] = DEFAULT_API_BUDGET_SHARE
    sfsync_http_timeout: Annotated[float, Field(gt=0, le=600)] = DEFAULT_HTTP_TIMEOUT_SECONDS
    sfsync_client_name: str = DEFAULT_CLIENT_NAME
    sfsync_interval_seconds: Annotated[int, Field(ge=1)] = DEFAULT_INTERVAL_SECONDS
    # A crontab expression (UTC) for the daemon instead of the interval, e.g. "*/5 8-18 * * 1-5".
    sfsync_schedule: str | None = None
    sfsync_sweep_hours: Annotated[float, Field(gt=0)] = DEFAULT_SWEEP_HOURS
    sfsync_retry_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    sfsync_retry_max_seconds: Annotated[float, Field(gt=0)] = 120.0
    # Tests switch the backoff sleeps off (stamina's set_testing idea).
    sfsync_retry_wait_scale: Annotated[float, Field(ge=0)] = 1.0
    sfsync_write_concurrency: int = DEFAULT_WRITE_CONCURRENCY
    sfsync_bulk_threshold: Annotated[int, Field(ge=0)] = DEFAULT_BULK_THRESHOLD
    sfsync_import_bulk_threshold: int = DEFAULT_IMPORT_BULK_THRESHOLD

    @field_validator("sf_api_version")
    @classmethod
    def _version_shape(cls, value: str) -> str:
        text = value.removeprefix("v")
        major, _, minor = text.partition(".")
        if not major.isdigit() or (minor and not minor.isdigit()):
            raise ValueError(f"SF_API_VERSION must look like 62.0, got {value!r}")
        return f"{int(major)}.{minor or '0'}"

    @field_validator("sf_instance_url", "sf_login_url")
    @classmethod
    def _https_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be an https:// URL (TLS verification is always on)")
        return value.rstrip("/") if value else value

    @field_validator("sfsync_schedule")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value:
            try:
                CronTrigger.from_crontab(crontab_days(value), timezone="UTC")
            except ValueError as exc:
                raise ValueError(f"not a crontab expression ({exc})") from None
        return value or None

    @field_validator("sfsync_write_concurrency")
    @classmethod
    def _concurrency_bounded(cls, value: int) -> int:
        if not 1 <= value <= MAX_WRITE_CONCURRENCY:
            raise ValueError(
                f"must be between 1 and {MAX_WRITE_CONCURRENCY} Collections requests in flight "
                f"(1 sends one at a time), got {value}"
            )
        return value

    @field_validator("sfsync_import_bulk_threshold")
    @classmethod
    def _threshold_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(
                "must be the number of new leads (at least 1) from which capture creates them "
                f"through Bulk API 2.0 jobs; a very large value keeps Collections, got {value}"
            )
        return value

    @model_validator(mode="after")
    def _one_auth_mode(self) -> Settings:
        self.auth_mode()
        return self

    def auth_mode(self) -> AuthMode:
        """The one authentication mode the set variables describe."""
        modes = _auth_modes_present(self)
        if not modes:
            raise ValueError(
                "no Salesforce credentials: set SF_ACCESS_TOKEN, or SF_CLIENT_ID + "
                "SF_CLIENT_SECRET, or SF_CLIENT_ID + SF_USERNAME + SF_PRIVATE_KEY_FILE, or "
                "SF_USERNAME + SF_PASSWORD + SF_SECURITY_TOKEN"
            )
        if len(modes) > 1:
            names = ", ".join(m.value for m in modes)
            raise ValueError(f"contradictory credentials: several auth modes are set ({names})")
        mode = modes[0]
        missing = [name for name in REQUIRED_VARIABLES[mode] if not getattr(self, name.lower())]
        if missing:
            raise ValueError(f"{mode.value} credentials also need {', '.join(missing)}")
        return mode


# What each auth mode needs; password is the OAuth grant, so it needs the app too.
REQUIRED_VARIABLES: dict[AuthMode, tuple[str, ...]] = {
    AuthMode.ACCESS_TOKEN: ("SF_ACCESS_TOKEN", "SF_INSTANCE_URL"),
    AuthMode.CLIENT_CREDENTIALS: ("SF_CLIENT_ID", "SF_CLIENT_SECRET"),
    AuthMode.JWT_BEARER: ("SF_CLIENT_ID", "SF_USERNAME", "SF_PRIVATE_KEY_FILE"),
    AuthMode.PASSWORD: (
        "SF_CLIENT_ID",
        "SF_CLIENT_SECRET",
        "SF_USERNAME",
        "SF_PASSWORD",
        "SF_SECURITY_TOKEN",
    ),
}


def _auth_modes_present(s: Settings) -> list[AuthMode]:
    present = []
    if s.sf_access_token:
        present.append(AuthMode.ACCESS_TOKEN)
    if s.sf_password or s.sf_security_token:
        present.append(AuthMode.PASSWORD)
    elif s.sf_private_key_file:
        present.append(AuthMode.JWT_BEARER)
    elif s.sf_client_id and s.sf_client_secret:
        present.append(AuthMode.CLIENT_CREDENTIALS)
    return present


class StoreSettings(BaseSettings):
    """The state database alone: commands that only read the store need no org credentials."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    sfsync_database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)


def database_url() -> str:
    """SFSYNC_DATABASE_URL, or the embedded SQLite default."""
    return StoreSettings().sfsync_database_url.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; a bad value raises ConfigError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]).upper() or "environment"
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}: {message}")
    return "invalid configuration: " + "; ".join(lines)
