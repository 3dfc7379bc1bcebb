"""Checking a JWT bearer assertion the way Salesforce does.

RS256 only, signed by the key of the certificate uploaded to the connected
app; `iss` is the consumer key, `sub` a username, `aud` the login URL (or
login/test.salesforce.com), and `exp` in the future but at most about five
minutes ahead (clients use now + 3 min).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from sfsync.emulator.connected_app import OAuthError
from sfsync.emulator.context import Services

MAX_LIFETIME_SECONDS = 300
# Tolerated clock difference between client and org.
SKEW_SECONDS = 30
STANDARD_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


@dataclass(frozen=True)
class Claims:
    """The verified claims a grant needs."""

    issuer: str
    subject: str


def audiences(services: Services) -> list[str]:
    """Accepted `aud` values: the standard login hosts and the emulator's own URLs."""
    own = {services.login_url, services.instance_url}
    own |= {url.replace("127.0.0.1", "localhost") for url in own}
    return [*STANDARD_AUDIENCES, *sorted(own)]


def verify(assertion: str, services: Services) -> Claims:
    """The claims of a valid assertion; raises `OAuthError` with Salesforce's wording."""
    unverified = _unverified(assertion)
    if unverified.get("iss") != services.app.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    claims = _decode(assertion, services)
    _check_lifetime(claims)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise OAuthError("invalid_grant", "invalid assertion")
    return Claims(issuer=str(claims["iss"]), subject=subject)


def _unverified(assertion: str) -> dict[str, Any]:
    try:
        if jwt.get_unverified_header(assertion).get("alg") != "RS256":
            raise OAuthError("invalid_grant", "invalid assertion")
        claims: dict[str, Any] = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    return claims


def _decode(assertion: str, services: Services) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            services.app.public_key_pem(),
            algorithms=["RS256"],
            audience=audiences(services),
            leeway=SKEW_SECONDS,
            options={"require": ["exp", "iss", "sub", "aud"]},
        )
    except jwt.InvalidAudienceError as exc:
        raise OAuthError("invalid_grant", "audience is invalid") from exc
    except jwt.ExpiredSignatureError as exc:
        raise OAuthError("invalid_grant", "expired authorization code") from exc
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    return claims


def _check_lifetime(claims: dict[str, Any]) -> None:
    # pyjwt checks that exp has not passed; Salesforce also refuses long-lived assertions.
    if float(claims["exp"]) > time.time() + MAX_LIFETIME_SECONDS + SKEW_SECONDS:
        raise OAuthError("invalid_grant", "expired authorization code")
