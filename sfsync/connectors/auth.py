"""Obtaining and renewing the access token: the one place that knows about credentials.

simple-salesforce only logs in against `*.salesforce.com` and drops caller
headers when it re-logs in by itself, so sfsync asks the token endpoint
(`SF_LOGIN_URL`/services/oauth2/token) itself and hands the token to the
library. The connector calls `refresh()` once when the org answers
INVALID_SESSION_ID; nothing else re-authenticates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jwt
import requests

from sfsync.config import AuthMode, Settings
from sfsync.errors import AuthError, ConfigError, OrgUnavailable

TOKEN_PATH = "/services/oauth2/token"
JWT_LIFETIME_SECONDS = 180
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Token:
    """An access token and where to use it. Its repr never shows the token."""

    access_token: str = field(repr=False)
    instance_url: str
    user_id: str | None = None
    refresh_token: str | None = field(default=None, repr=False)


class TokenProvider(Protocol):
    """Gives the current token and renews it on demand."""

    def token(self) -> Token:
        """The current token, obtained on first use."""
        ...

    def refresh(self) -> Token:
        """A new token; raises AuthError when none can be had."""
        ...


class StaticToken:
    """SF_ACCESS_TOKEN: a session id handed in from outside; it cannot be renewed."""

    def __init__(self, access_token: str, instance_url: str) -> None:
        self._token = Token(access_token=access_token, instance_url=instance_url)

    def token(self) -> Token:
        return self._token

    def refresh(self) -> Token:
        raise AuthError(
            "the org says the session expired (INVALID_SESSION_ID) and SF_ACCESS_TOKEN "
            "cannot be renewed: use client credentials or JWT bearer for a long-running worker"
        )


class OAuthTokens:
    """Client credentials, JWT bearer or username-password against the token endpoint."""

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session
        self._current: Token | None = None

    def token(self) -> Token:
        if self._current is None:
            self._current = self._request(self._grant())
        return self._current

    def refresh(self) -> Token:
        previous = self._current
        if previous is not None and previous.refresh_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": previous.refresh_token,
                "client_id": self._settings.sf_client_id or "",
                **_secret_field(self._settings),
            }
            self._current = self._request(form, keep_refresh=previous.refresh_token)
        else:
            self._current = self._request(self._grant())
        return self._current

    def _grant(self) -> dict[str, str]:
        mode = self._settings.auth_mode()
        s = self._settings
        if mode is AuthMode.CLIENT_CREDENTIALS:
            return {
                "grant_type": "client_credentials",
                "client_id": s.sf_client_id or "",
                **_secret_field(s),
            }
        if mode is AuthMode.JWT_BEARER:
            return {"grant_type": JWT_GRANT, "assertion": jwt_assertion(s)}
        password = (s.sf_password.get_secret_value() if s.sf_password else "") + (
            s.sf_security_token.get_secret_value() if s.sf_security_token else ""
        )
        return {
            "grant_type": "password",
            "client_id": s.sf_client_id or "",
            "username": s.sf_username or "",
            "password": password,
            **_secret_field(s),
        }

    def _request(self, form: dict[str, str], keep_refresh: str | None = None) -> Token:
        url = self._settings.sf_login_url + TOKEN_PATH
        try:
            response = self._session.post(
                url, data=form, timeout=self._settings.sfsync_http_timeout
            )
        except requests.RequestException as exc:
            raise OrgUnavailable(
                f"token endpoint {url} unreachable: {type(exc).__name__}"
            ) from None
        body = _json(response)
        if response.status_code != 200 or "access_token" not in body:
            raise _refusal(url, response.status_code, body)
        return Token(
            access_token=str(body["access_token"]),
            instance_url=str(body.get("instance_url") or self._settings.sf_instance_url or ""),
            user_id=_user_from_identity(body.get("id")),
            refresh_token=body.get("refresh_token") or keep_refresh,
        )


def _secret_field(s: Settings) -> dict[str, str]:
    return {"client_secret": s.sf_client_secret.get_secret_value()} if s.sf_client_secret else {}


def jwt_assertion(settings: Settings, now: float | None = None) -> str:
    """The signed JWT bearer assertion (RS256): iss client id, sub username, aud login URL."""
    if not settings.sf_client_id or not settings.sf_username:
        raise ConfigError("JWT bearer needs SF_CLIENT_ID and SF_USERNAME")
    key = _read_key(settings.sf_private_key_file)
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": settings.sf_client_id,
        "sub": settings.sf_username,
        "aud": settings.sf_login_url,
        "exp": issued + JWT_LIFETIME_SECONDS,
    }
    try:
        return jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError, AttributeError, jwt.PyJWTError) as exc:
        raise ConfigError(
            f"SF_PRIVATE_KEY_FILE is not a usable RSA private key ({type(exc).__name__})"
        ) from None


def _read_key(path: Path | None) -> str:
    if path is None:
        raise ConfigError("JWT bearer needs SF_PRIVATE_KEY_FILE")
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(f"SF_PRIVATE_KEY_FILE {path} cannot be read: {exc.strerror}") from None


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refusal(url: str, status: int, body: dict[str, Any]) -> Exception:
    if status >= 500 or not body:
        return OrgUnavailable(f"token endpoint {url} answered HTTP {status}")
    error = str(body.get("error", "unknown_error"))
    description = str(body.get("error_description", ""))
    return AuthError(f"token request refused by {url}: {error}: {description}")


def _user_from_identity(identity: Any) -> str | None:
    # The identity URL ends with /<org id>/<user id>.
    if not isinstance(identity, str) or "/" not in identity:
        return None
    return identity.rstrip("/").rsplit("/", 1)[-1] or None


def token_provider(settings: Settings, session: requests.Session) -> TokenProvider:
    """The provider for the configured auth mode."""
    if settings.auth_mode() is AuthMode.ACCESS_TOKEN:
        assert settings.sf_access_token is not None and settings.sf_instance_url is not None
        return StaticToken(settings.sf_access_token.get_secret_value(), settings.sf_instance_url)
    return OAuthTokens(settings, session)
