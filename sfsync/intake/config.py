"""The typed model of `mappings/intake.yaml`: forms, field mapping, spam rules, limits.

Parsed once at start-up (`load_intake`); a bad file stops `sfsync intake serve`
with the file, line and key. Secrets are never in the file: a form names the
environment variable that holds its shared secret, and `form_secrets` reads
them, failing at start-up when one is unset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from sfsync.errors import ConfigError
from sfsync.mappings import load_model, read_yaml

INTAKE_FILE = "intake.yaml"
DEFAULT_MAX_BODY_BYTES = 64 * 1024
DEFAULT_MAX_FIELDS = 100
DEFAULT_MAX_FIELD_LENGTH = 1000
DEFAULT_SECRET_HEADER = "X-Sfsync-Intake-Secret"
DEFAULT_BATCH = 50
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_LEASE_SECONDS = 300
DEFAULT_POLL_SECONDS = 30.0
# Salesforce's own lengths of standard Lead text fields: a longer value would be refused anyway.
LEAD_LENGTHS: Mapping[str, int] = {
    "FirstName": 40, "LastName": 80, "Salutation": 40, "MiddleName": 40, "Suffix": 40,
    "Company": 255, "Title": 128, "Email": 80, "Phone": 40, "MobilePhone": 40, "Fax": 40,
    "Website": 255, "Street": 255, "City": 40, "State": 80, "PostalCode": 20,
    "Country": 80, "Industry": 255, "LeadSource": 255, "Description": 32_000,
}  # fmt: skip

FormName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
FormField = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
LeadField = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,79}$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RateLimit(_Frozen):
    """A token bucket: `requests` at once, refilled at `requests` per `per_seconds`."""

    requests: int = Field(ge=1, le=1_000_000)
    per_seconds: float = Field(gt=0, le=86_400 * 7)

    @property
    def rate(self) -> float:
        """Tokens per second."""
        return self.requests / self.per_seconds


class RateLimits(_Frozen):
    """Per client address and per e-mail address (either may be null: no limit)."""

    per_ip: RateLimit | None = RateLimit(requests=20, per_seconds=60)
    per_email: RateLimit | None = RateLimit(requests=3, per_seconds=3600)


class Limits(_Frozen):
    """What one request may carry."""

    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024, le=1_048_576)
    max_fields: int = Field(default=DEFAULT_MAX_FIELDS, ge=1, le=1000)
    # Any value at most this long, unless a form's `max_lengths` says otherwise.
    max_field_length: int = Field(default=DEFAULT_MAX_FIELD_LENGTH, ge=1, le=32_000)


class Processing(_Frozen):
    """How the worker turns queued submissions into leads."""

    # Process right after queueing, in a thread of `sfsync intake serve` (also --immediately).
    immediately: bool = False
    batch: int = Field(default=DEFAULT_BATCH, ge=1, le=200)
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=100)
    # A claim not settled in this time is taken again (its worker is presumed dead).
    lease_seconds: int = Field(default=DEFAULT_LEASE_SECONDS, ge=1, le=86_400)
    # With `immediately`, look for retries that came due this often even without new posts.
    poll_seconds: float = Field(default=DEFAULT_POLL_SECONDS, gt=0, le=3600)


class FormConfig(_Frozen):
    """One form: its fields' Lead names, what it must carry, and its spam rules."""

    source: str = Field(min_length=1, max_length=80)
    # form field name -> Lead API name
    fields: Mapping[FormField, LeadField] = Field(min_length=1)
    # Lead API names that must be present and non-blank.
    required: tuple[LeadField, ...] = ()
    # Lead values every submission of the form gets (e.g. LeadSource: Web).
    constants: Mapping[LeadField, str | int | float | bool] = Field(default_factory=dict)
    # A field people never see (hidden by CSS): a value in it marks a bot.
    honeypot: FormField | None = None
    # Environment variable holding the shared secret; the header must carry it.
    secret_env: EnvName | None = None
    # The Lead field holding the e-mail address (rate limit and disposable check).
    email_field: LeadField = "Email"
    max_lengths: Mapping[LeadField, Annotated[int, Field(ge=1, le=32_000)]] = Field(
        default_factory=dict
    )
    # Plain HTML forms (form-encoded posts) are sent here with a 303 instead of JSON.
    redirect: AnyHttpUrl | None = None

    @field_validator("fields")
    @classmethod
    def _mapped_once(cls, fields: Mapping[str, str]) -> Mapping[str, str]:
        targets = list(fields.values())
        doubled = sorted({t for t in targets if targets.count(t) > 1})
        if doubled:
            raise ValueError(f"several form fields map to {doubled}; map each Lead field once")
        return fields

    @field_validator("required")
    @classmethod
    def _required_mapped(cls, required: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        mapped = set(info.data.get("fields", {}).values())
        missing = [r for r in required if r not in mapped]
        if missing and "fields" in info.data:
            raise ValueError(f"{missing} are not mapped from any form field")
        return required

    @field_validator("constants")
    @classmethod
    def _not_mapped(cls, constants: Mapping[str, Any], info: ValidationInfo) -> Mapping[str, Any]:
        both = sorted(set(info.data.get("fields", {}).values()) & set(constants))
        if both:
            raise ValueError(f"{both} are both mapped and constant; keep one")
        return constants

    @field_validator("honeypot")
    @classmethod
    def _hidden(cls, honeypot: str | None, info: ValidationInfo) -> str | None:
        if honeypot is not None and honeypot in info.data.get("fields", {}):
            raise ValueError(f"{honeypot!r} is also a mapped field")
        return honeypot

    @field_validator("max_lengths")
    @classmethod
    def _within_salesforce(cls, lengths: Mapping[str, int]) -> Mapping[str, int]:
        for name, length in lengths.items():
            if length > LEAD_LENGTHS.get(name, length):
                raise ValueError(f"{name}: Salesforce holds {LEAD_LENGTHS[name]} characters")
        return lengths

    def max_length(self, lead_field: str, default: int) -> int:
        """The longest value accepted for a Lead field."""
        if lead_field in self.max_lengths:
            return self.max_lengths[lead_field]
        return min(default, LEAD_LENGTHS.get(lead_field, default))

    def form_field(self, lead_field: str) -> str:
        """The form's own name for a Lead field (errors speak the form's language)."""
        return next((f for f, t in self.fields.items() if t == lead_field), lead_field)


class IntakeConfig(_Frozen):
    """All of intake.yaml."""

    forms: Mapping[FormName, FormConfig] = Field(min_length=1)
    limits: Limits = Limits()
    rate_limits: RateLimits = RateLimits()
    reject_disposable: bool = True
    secret_header: str = Field(default=DEFAULT_SECRET_HEADER, pattern=r"^[A-Za-z0-9-]{1,64}$")
    # Reverse proxies in front that append X-Forwarded-For; 0 trusts no such header.
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)
    # Web pages (origins) allowed to post JSON from a browser (CORS); none by default.
    cors_origins: tuple[AnyHttpUrl, ...] = ()
    processing: Processing = Processing()

    def origins(self) -> frozenset[str]:
        """The CORS origins as browsers send them (scheme://host[:port], no slash)."""
        return frozenset(str(o).rstrip("/") for o in self.cors_origins)


def intake_for(directory: Path) -> IntakeConfig | None:
    """The mappings' intake settings, or None without intake.yaml (no web forms)."""
    return load_intake(directory) if (directory / INTAKE_FILE).is_file() else None


def load_intake(directory: Path) -> IntakeConfig:
    """`intake.yaml` of a mappings directory; a bad file is a ConfigError with file:line:key."""
    return load_model(directory / INTAKE_FILE, IntakeConfig)


def form_secrets(
    config: IntakeConfig, directory: Path, environ: Mapping[str, str] | None = None
) -> dict[str, SecretStr]:
    """Each secured form's secret, read from the environment variable it names."""
    env = os.environ if environ is None else environ
    found: dict[str, SecretStr] = {}
    for name, form in config.forms.items():
        if form.secret_env is None:
            continue
        value = env.get(form.secret_env, "")
        if not value:
            raise ConfigError(f"{_where(directory, name)}: {form.secret_env} is not set or empty")
        found[name] = SecretStr(value)
    return found


def _where(directory: Path, form: str) -> str:
    path = directory / INTAKE_FILE
    _data, lines = read_yaml(path)
    line = lines.get(("forms", form, "secret_env"), 1)
    return f"{path}:{line}: forms.{form}.secret_env"
