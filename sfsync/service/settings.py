"""Settings of the service side (health check, status server), read from the environment.

They need no Salesforce credentials: a container health check or a status
sidecar only reads the state store, so it must start where the worker's
credentials are not given to it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from sfsync.config import DEFAULT_DATABASE_URL, DEFAULT_INTERVAL_SECONDS
from sfsync.errors import ConfigError

# Loopback only unless the operator says otherwise: the page shows lead ids and org errors.
DEFAULT_STATUS_HOST = "127.0.0.1"
DEFAULT_STATUS_PORT = 9731
# A worker is stale after missing about three cycles; never less than ten minutes,
# so one slow cycle (a large backlog after an outage) does not restart the container.
STALE_AFTER_CYCLES = 3
MIN_MAX_AGE_SECONDS = 600


class ServiceSettings(BaseSettings):
    """SFSYNC_DATABASE_URL, SFSYNC_INTERVAL_SECONDS, SFSYNC_HEALTH_MAX_AGE, SFSYNC_STATUS_*."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    sfsync_database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    sfsync_interval_seconds: Annotated[int, Field(ge=1)] = DEFAULT_INTERVAL_SECONDS
    sfsync_health_max_age: Annotated[int | None, Field(ge=1)] = None
    sfsync_status_host: str = DEFAULT_STATUS_HOST
    # 0 switches the status server off in `sfsync run`.
    sfsync_status_port: Annotated[int, Field(ge=0, le=65_535)] = DEFAULT_STATUS_PORT
    # Host names the server answers to (comma-separated); default: loopback names when
    # bound to loopback, any otherwise. Set it when publishing a port bound to 0.0.0.0.
    sfsync_status_allowed_hosts: str | None = None

    def allowed_hosts(self) -> frozenset[str] | None:
        """SFSYNC_STATUS_ALLOWED_HOSTS as a set of lower-case names, None when unset."""
        if not self.sfsync_status_allowed_hosts:
            return None
        names = (n.strip().lower() for n in self.sfsync_status_allowed_hosts.split(","))
        return frozenset(n for n in names if n)

    def max_age(self) -> timedelta:
        """How old the last successful cycle may be before the worker counts as unhealthy."""
        if self.sfsync_health_max_age is not None:
            return timedelta(seconds=self.sfsync_health_max_age)
        derived = STALE_AFTER_CYCLES * self.sfsync_interval_seconds
        return timedelta(seconds=max(derived, MIN_MAX_AGE_SECONDS))


def load_service_settings() -> ServiceSettings:
    """ServiceSettings from the environment; a bad value is a ConfigError naming the variable."""
    try:
        return ServiceSettings()
    except ValidationError as exc:
        names = ", ".join(".".join(str(p) for p in e["loc"]).upper() for e in exc.errors())
        raise ConfigError(f"invalid configuration: {names}") from None
