"""The OAuth token endpoint (every grant, good and bad) and session expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from sfsync.emulator.connected_app import new_private_key
from sfsync.emulator.org import Org
from sfsync.emulator.server import Emulator
from tests.emulator.server_kit import API, Api, OrgIds, StartEmulator

TOKEN = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def token(emu: Emulator, data: dict[str, str], **kwargs: Any) -> requests.Response:
    with requests.Session() as session:
        return session.post(emu.login_url + TOKEN, data=data, timeout=10, **kwargs)


def client_form(emu: Emulator, **extra: str) -> dict[str, str]:
    creds = emu.credentials
    return {"client_id": creds.client_id, "client_secret": creds.client_secret, **extra}


def load_key(pem: bytes) -> Any:
    # Key validation makes loading an RSA key slow; the key is the emulator's own.
    return serialization.load_pem_private_key(pem, None, unsafe_skip_rsa_key_validation=True)


def assertion(emu: Emulator, key_pem: bytes | None = None, **claims: Any) -> str:
    body = {
        "iss": emu.credentials.client_id,
        "sub": emu.credentials.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
        **claims,
    }
    key = load_key(key_pem or emu.credentials.private_key_file.read_bytes())
    return jwt.encode(body, key, algorithm="RS256")


def assert_oauth_error(response: requests.Response, status: int, error: str, desc: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": error, "error_description": desc}


def api_works(emu: Emulator, access_token: str) -> bool:
    with requests.Session() as session:
        response = session.get(
            emu.instance_url + f"{API}/limits",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=10,
        )
    return response.status_code == 200


# -- success bodies ---------------------------------------------------------------


def test_client_credentials_in_form(emulator: Emulator, ids: OrgIds) -> None:
    response = token(emulator, client_form(emulator, grant_type="client_credentials"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
    }
    assert body["instance_url"] == emulator.instance_url
    assert body["token_type"] == "Bearer"
    assert body["id"] == f"https://login.salesforce.com/id/{emulator.org.org_id}/{ids.integration}"
    assert body["issued_at"].isdigit() and abs(int(body["issued_at"]) / 1000 - time.time()) < 60
    assert api_works(emulator, body["access_token"])


def test_signature_is_hmac_of_id_and_issued_at(emulator: Emulator) -> None:
    body = token(emulator, client_form(emulator, grant_type="client_credentials")).json()
    secret = emulator.credentials.client_secret.encode()
    digest = hmac.new(secret, (body["id"] + body["issued_at"]).encode(), hashlib.sha256).digest()
    assert body["signature"] == base64.b64encode(digest).decode()


def test_client_credentials_with_basic_auth(emulator: Emulator) -> None:
    creds = emulator.credentials
    response = token(
        emulator, {"grant_type": "client_credentials"}, auth=(creds.client_id, creds.client_secret)
    )
    assert response.status_code == 200
    assert "refresh_token" not in response.json()


def test_password_grant_issues_a_refresh_token(emulator: Emulator) -> None:
    creds = emulator.credentials
    form = client_form(
        emulator,
        grant_type="password",
        username=creds.username.upper(),
        password=creds.password + creds.security_token,
    )
    body = token(emulator, form).json()
    assert body["refresh_token"]
    refreshed = token(
        emulator,
        {
            "grant_type": "refresh_token",
            "client_id": creds.client_id,
            "refresh_token": body["refresh_token"],
        },
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != body["access_token"]
    assert api_works(emulator, refreshed.json()["access_token"])


@pytest.mark.parametrize(
    "audience", ["https://login.salesforce.com", "https://test.salesforce.com", "LOGIN_URL"]
)
def test_jwt_bearer_grant(emulator: Emulator, audience: str) -> None:
    aud = emulator.login_url if audience == "LOGIN_URL" else audience
    response = token(emulator, {"grant_type": JWT_GRANT, "assertion": assertion(emulator, aud=aud)})
    assert response.status_code == 200, response.text
    assert "refresh_token" not in response.json()
    assert api_works(emulator, response.json()["access_token"])


# -- refusals ----------------------------------------------------------------------


def test_jwt_signed_with_another_key_is_refused(emulator: Emulator) -> None:
    other = new_private_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    response = token(emulator, {"grant_type": JWT_GRANT, "assertion": assertion(emulator, other)})
    assert_oauth_error(response, 400, "invalid_grant", "invalid assertion")


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({"aud": "https://evil.example.com"}, "invalid_grant", "audience is invalid"),
        ({"exp": int(time.time()) - 600}, "invalid_grant", "expired authorization code"),
        ({"exp": int(time.time()) + 3600}, "invalid_grant", "expired authorization code"),
        ({"iss": "3MVG9unknown"}, "invalid_client_id", "client identifier invalid"),
        ({"sub": "nobody@sfsync.example"}, "invalid_grant", "user hasn't approved this consumer"),
        ({"sub": "former@sfsync.example"}, "invalid_grant", "inactive user"),
    ],
)
def test_jwt_claims_are_checked(
    emulator: Emulator, claims: dict[str, Any], error: str, description: str
) -> None:
    response = token(
        emulator, {"grant_type": JWT_GRANT, "assertion": assertion(emulator, **claims)}
    )
    assert_oauth_error(response, 400, error, description)


def test_malformed_assertion_is_refused(emulator: Emulator) -> None:
    response = token(emulator, {"grant_type": JWT_GRANT, "assertion": "not-a-jwt"})
    assert_oauth_error(response, 400, "invalid_grant", "invalid assertion")


def test_unknown_client_id(emulator: Emulator) -> None:
    form = client_form(emulator, grant_type="client_credentials", client_id="3MVG9nope")
    assert_oauth_error(token(emulator, form), 400, "invalid_client_id", "client identifier invalid")


def test_wrong_secret_in_form_is_400(emulator: Emulator) -> None:
    form = client_form(emulator, grant_type="client_credentials", client_secret="WRONG")
    assert_oauth_error(token(emulator, form), 400, "invalid_client", "invalid client credentials")


def test_wrong_secret_in_basic_auth_is_401(emulator: Emulator) -> None:
    response = token(
        emulator, {"grant_type": "client_credentials"}, auth=(emulator.credentials.client_id, "x")
    )
    assert_oauth_error(response, 401, "invalid_client", "invalid client credentials")
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_password_without_security_token_is_refused(emulator: Emulator) -> None:
    creds = emulator.credentials
    form = client_form(
        emulator, grant_type="password", username=creds.username, password=creds.password
    )
    assert_oauth_error(token(emulator, form), 400, "invalid_grant", "authentication failure")


def test_unknown_refresh_token(emulator: Emulator) -> None:
    form = client_form(emulator, grant_type="refresh_token", refresh_token="5Aep861nope")
    assert_oauth_error(token(emulator, form), 400, "invalid_grant", "expired access/refresh token")


def test_unsupported_grant_type(emulator: Emulator) -> None:
    form = client_form(emulator, grant_type="authorization_code", code="x")
    assert_oauth_error(
        token(emulator, form), 400, "unsupported_grant_type", "grant type not supported"
    )


def test_client_credentials_user_must_be_active(org: Org, emulator: Emulator, ids: OrgIds) -> None:
    org.tables["User"][ids.integration] = {**org.tables["User"][ids.integration], "IsActive": False}
    form = client_form(emulator, grant_type="client_credentials")
    assert_oauth_error(token(emulator, form), 400, "invalid_grant", "inactive user")


# -- sessions ----------------------------------------------------------------------


def test_missing_or_unknown_token_is_401(api: Api) -> None:
    expected = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert api.get("limits", headers={"Authorization": ""}).json() == expected
    response = api.get("limits", headers={"Authorization": "Bearer 00D!nope"})
    assert response.status_code == 401
    assert response.json() == expected


def test_oauth_scheme_is_accepted(api: Api) -> None:
    token_value = api.emu.credentials.access_token
    assert api.get("limits", headers={"Authorization": f"OAuth {token_value}"}).status_code == 200


def test_expire_all_ends_sessions_but_not_refresh_tokens(api: Api) -> None:
    assert api.get("limits").status_code == 200
    api.emu.sessions.expire_all()
    response = api.get("limits")
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_sessions_expire_after_their_ttl(start_emulator: StartEmulator) -> None:
    now = [1000.0]
    api = start_emulator(session_ttl_seconds=60, monotonic=lambda: now[0])
    now[0] += 59
    assert api.get("limits").status_code == 200
    now[0] += 1
    assert api.get("limits").status_code == 401


def test_writes_are_stamped_with_the_session_user(api: Api, ids: OrgIds) -> None:
    rep_session = api.emu.sessions.issue(ids.rep, api.emu.credentials.client_id)
    response = api.patch(
        f"sobjects/Lead/{ids.leads[0]}",
        json={"Title": "CTO"},
        headers={"Authorization": f"Bearer {rep_session.token}"},
    )
    assert response.status_code == 204
    assert api.emu.org.tables["Lead"][ids.leads[0]]["LastModifiedById"] == ids.rep
