"""`POST /services/oauth2/token`: the OAuth 2.0 grants a Salesforce connected app accepts.

Answers and errors follow Salesforce: a success body without `expires_in`,
a `signature` over `id + issued_at`, and `{"error", "error_description"}`
failures (`invalid_client_id`, `invalid_client`, `invalid_grant`,
`unsupported_grant_type`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from sfsync.emulator import jwt_bearer
from sfsync.emulator.connected_app import OAuthError
from sfsync.emulator.context import Services
from sfsync.emulator.org import Record
from sfsync.emulator.wire import JSON_TYPE, Request, Response

TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ID_HOST = "https://login.salesforce.com"


@dataclass(frozen=True)
class Grant:
    """Whom a successful grant authenticates, and whether it earns a refresh token."""

    user_id: str
    scope: str
    refresh_token: str | None = None


def token_endpoint(services: Services, request: Request) -> Response:
    """Run the grant named by `grant_type` and answer like Salesforce's token endpoint."""
    if request.method != "POST":
        return _oauth_json(
            400, {"error": "invalid_request", "error_description": "must use HTTP POST"}
        )
    form = _form(request)
    grant = GRANTS.get(form.get("grant_type", ""))
    try:
        if grant is None:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return _success(services, grant(services, request, form))
    except OAuthError as exc:
        return _oauth_json(exc.status, {"error": exc.error, "error_description": exc.description})


def _form(request: Request) -> dict[str, str]:
    # Salesforce also reads grant parameters from the URL; the body wins.
    pairs = parse_qsl(request.query_string) + parse_qsl(request.body.decode("utf-8", "replace"))
    return dict(pairs)


def _oauth_json(status: int, payload: dict[str, Any]) -> Response:
    response = Response(status, json.dumps(payload).encode(), JSON_TYPE)
    response.headers["Cache-Control"] = "no-cache,must-revalidate,max-age=0,no-store,private"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Salesforce"'
    return response


def _success(services: Services, grant: Grant) -> Response:
    session = services.sessions.issue(grant.user_id, services.app.client_id)
    issued_at = str(int(time.time() * 1000))
    identity = f"{ID_HOST}/id/{services.org.org_id}/{grant.user_id}"
    digest = hmac.new(
        services.app.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
    ).digest()
    body: dict[str, Any] = {"access_token": session.token}
    if grant.refresh_token is not None:
        body["refresh_token"] = grant.refresh_token
    body.update(
        signature=base64.b64encode(digest).decode(),
        scope=grant.scope,
        instance_url=services.instance_url,
        id=identity,
        token_type="Bearer",
        issued_at=issued_at,
    )
    return _oauth_json(200, body)


# -- client authentication -------------------------------------------------------


def _basic_auth(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.header("Authorization").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "invalid client credentials", 401) from exc
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


def _check_client_id(services: Services, client_id: str) -> None:
    if not hmac.compare_digest(client_id.encode(), services.app.client_id.encode()):
        raise OAuthError("invalid_client_id", "client identifier invalid")


def _authenticate_client(services: Services, request: Request, form: dict[str, str]) -> None:
    """Consumer key and secret, from HTTP Basic or the form (secret required)."""
    basic = _basic_auth(request)
    client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
    _check_client_id(services, client_id)
    if not services.app.secret_matches(secret):
        raise OAuthError("invalid_client", "invalid client credentials", 401 if basic else 400)


# -- users -------------------------------------------------------------------------


def find_user(services: Services, username: str) -> Record | None:
    """The User whose Username is `username` (case-insensitive, as Salesforce logins are)."""
    wanted = username.strip().lower()
    with services.org.lock:
        users = list(services.org.tables.get("User", {}).values())
    return next((u for u in users if str(u.get("Username") or "").lower() == wanted), None)


def _active_user(services: Services, username: str, error: OAuthError) -> str:
    user = find_user(services, username)
    if user is None:
        raise error
    if not user.get("IsActive"):
        raise OAuthError("invalid_grant", "inactive user")
    return str(user["Id"])


# -- grants --------------------------------------------------------------------------


def _client_credentials(services: Services, request: Request, form: dict[str, str]) -> Grant:
    _authenticate_client(services, request, form)
    failure = OAuthError("invalid_grant", "no client credentials user enabled")
    return Grant(_active_user(services, services.app.run_as_username, failure), "api")


def _password(services: Services, request: Request, form: dict[str, str]) -> Grant:
    _authenticate_client(services, request, form)
    username = form.get("username", "")
    failure = OAuthError("invalid_grant", "authentication failure")
    if not services.app.password_matches(username, form.get("password", "")):
        raise failure
    user_id = _active_user(services, username, failure)
    refresh = services.sessions.issue_refresh_token(user_id, services.app.client_id)
    return Grant(user_id, "api refresh_token", refresh)


def _refresh(services: Services, request: Request, form: dict[str, str]) -> Grant:
    basic = _basic_auth(request)
    client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
    _check_client_id(services, client_id)
    if secret and not services.app.secret_matches(secret):
        raise OAuthError("invalid_client", "invalid client credentials", 401 if basic else 400)
    token = form.get("refresh_token", "")
    granted = services.sessions.refresh_grant(token)
    if granted is None:
        raise OAuthError("invalid_grant", "expired access/refresh token")
    user = services.org.get("User", granted.user_id)
    if user is None or not user.get("IsActive"):
        raise OAuthError("invalid_grant", "inactive user")
    return Grant(granted.user_id, "api refresh_token", token)


def _jwt(services: Services, request: Request, form: dict[str, str]) -> Grant:
    claims = jwt_bearer.verify(form.get("assertion", ""), services)
    failure = OAuthError("invalid_grant", "user hasn't approved this consumer")
    return Grant(_active_user(services, claims.subject, failure), "api")


GrantHandler = Callable[[Services, Request, dict[str, str]], Grant]
GRANTS: dict[str, GrantHandler] = {
    "client_credentials": _client_credentials,
    "password": _password,
    "refresh_token": _refresh,
    JWT_GRANT: _jwt,
}
