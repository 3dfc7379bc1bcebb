"""Token endpoint grants, refusals and renewal, against `responses` (every answer consumed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sfsync.config import Settings, load_settings
from sfsync.connectors.auth import (
    JWT_GRANT,
    JWT_LIFETIME_SECONDS,
    OAuthTokens,
    StaticToken,
    Token,
    jwt_assertion,
    token_provider,
)
from sfsync.errors import AuthError, ConfigError, OrgUnavailable

LOGIN = "https://login.example.com"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"
INSTANCE = "https://org.example.my.salesforce.com"
USER_ID = "005xx000001SwiUAAS"
IDENTITY = f"{LOGIN}/id/00Dxx0000001gPLEAY/{USER_ID}"
CLIENT_SECRET = "cs-SECRET-1234"
PASSWORD = "pw-SECRET-5678"
SECURITY_TOKEN = "st-SECRET-9012"
ACCESS = "00Dxx!ACCESS-TOKEN-SECRET"


def token_body(access: str = ACCESS, **extra: Any) -> dict[str, Any]:
    return {
        "access_token": access,
        "instance_url": INSTANCE,
        "id": IDENTITY,
        "token_type": "Bearer",
        "issued_at": "1714564800000",
        **extra,
    }


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith(("SF_", "SFSYNC_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "server.key"
    path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def client_credentials() -> Settings:
    return load_settings(
        sf_login_url=LOGIN, sf_client_id="3MVG9cid", sf_client_secret=CLIENT_SECRET
    )


def password_settings() -> Settings:
    return load_settings(
        sf_login_url=LOGIN,
        sf_client_id="3MVG9cid",
        sf_client_secret=CLIENT_SECRET,
        sf_username="integration@example.com",
        sf_password=PASSWORD,
        sf_security_token=SECURITY_TOKEN,
    )


def jwt_settings(key_file: Path) -> Settings:
    return load_settings(
        sf_login_url=LOGIN,
        sf_client_id="3MVG9cid",
        sf_username="integration@example.com",
        sf_private_key_file=str(key_file),
    )


def form(call: Any) -> dict[str, str]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {key: values[0] for key, values in parse_qs(text).items()}


def test_client_credentials_grant() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json=token_body())
        token = OAuthTokens(client_credentials(), requests.Session()).token()
        (call,) = mock.calls
    assert form(call) == {
        "grant_type": "client_credentials",
        "client_id": "3MVG9cid",
        "client_secret": CLIENT_SECRET,
    }
    assert call.request.req_kwargs["timeout"] == client_credentials().sfsync_http_timeout
    assert (token.access_token, token.instance_url, token.user_id) == (ACCESS, INSTANCE, USER_ID)


def test_token_is_obtained_once() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json=token_body())
        tokens = OAuthTokens(client_credentials(), requests.Session())
        assert tokens.token() is tokens.token()
        assert len(mock.calls) == 1


def test_password_grant_appends_the_security_token() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json=token_body())
        OAuthTokens(password_settings(), requests.Session()).token()
        (call,) = mock.calls
    assert form(call) == {
        "grant_type": "password",
        "client_id": "3MVG9cid",
        "client_secret": CLIENT_SECRET,
        "username": "integration@example.com",
        "password": PASSWORD + SECURITY_TOKEN,
    }


def test_jwt_grant_assertion_verifies_with_the_public_key(
    key_file: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json=token_body())
        OAuthTokens(jwt_settings(key_file), requests.Session()).token()
        (call,) = mock.calls
    sent = form(call)
    assert sent["grant_type"] == JWT_GRANT
    assert set(sent) == {"grant_type", "assertion"}
    claims = jwt.decode(
        sent["assertion"], rsa_key.public_key(), algorithms=["RS256"], audience=LOGIN
    )
    assert {k: claims[k] for k in ("iss", "sub", "aud")} == {
        "iss": "3MVG9cid",
        "sub": "integration@example.com",
        "aud": LOGIN,
    }
    assert "exp" in claims


def test_jwt_assertion_claims_at_a_fixed_time(key_file: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    assertion = jwt_assertion(jwt_settings(key_file), now=1_714_564_800.7)
    header = jwt.get_unverified_header(assertion)
    claims = jwt.decode(
        assertion,
        rsa_key.public_key(),
        algorithms=["RS256"],
        audience=LOGIN,
        options={"verify_exp": False},
    )
    assert header["alg"] == "RS256"
    assert claims["exp"] == 1_714_564_800 + JWT_LIFETIME_SECONDS


def test_jwt_signed_by_another_key_does_not_verify(key_file: Path) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assertion = jwt_assertion(jwt_settings(key_file))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(assertion, other.public_key(), algorithms=["RS256"], audience=LOGIN)


def pem(key: Any, public: bool = False, password: bytes | None = None) -> str:
    if public:
        return str(
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
    encryption: Any = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return str(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        ).decode()
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        pytest.param(None, "cannot be read", id="missing"),
        pytest.param("encrypted", "not a usable RSA private key", id="encrypted"),
        pytest.param(
            "not a key",
            "not a usable RSA private key",
            id="junk",
        ),
        pytest.param(
            "",
            "not a usable RSA private key",
            id="empty",
        ),
        pytest.param(
            "ec",
            "not a usable RSA private key",
            id="ec-key",
        ),
        pytest.param(
            "public",
            "not a usable RSA private key",
            id="public-key",
        ),
    ],
)
def test_jwt_with_a_bad_key_file_is_a_config_error(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, content: str | None, says: str
) -> None:
    path = tmp_path / "server.key"
    texts = {
        "encrypted": lambda: pem(rsa_key, password=b"pw"),
        "ec": lambda: pem(ec.generate_private_key(ec.SECP256R1())),
        "public": lambda: pem(rsa_key, public=True),
    }
    if content is not None:
        path.write_text(texts[content]() if content in texts else content)
    with pytest.raises(ConfigError, match=says):
        jwt_assertion(jwt_settings(path))


def test_refusal_is_an_auth_error_without_the_secret() -> None:
    refusal = {"error": "invalid_grant", "error_description": "authentication failure"}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json=refusal, status=400)
        with pytest.raises(AuthError) as info:
            OAuthTokens(password_settings(), requests.Session()).token()
    text = str(info.value) + info.value.user_message + repr(info.value)
    assert "invalid_grant" in text and "authentication failure" in text
    for secret in (CLIENT_SECRET, PASSWORD, SECURITY_TOKEN):
        assert secret not in text


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"error": "server_error"}),
        (503, None),
        (400, None),
        (200, None),
    ],
)
def test_unusable_answers_are_org_unavailable(status: int, body: dict[str, str] | None) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        if body is None:
            mock.post(TOKEN_URL, body="<html>maintenance</html>", status=status)
        else:
            mock.post(TOKEN_URL, json=body, status=status)
        with pytest.raises(OrgUnavailable) as info:
            OAuthTokens(client_credentials(), requests.Session()).token()
    assert CLIENT_SECRET not in str(info.value)


def test_unreachable_token_endpoint_is_org_unavailable() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, body=requests.ConnectionError(f"refused {CLIENT_SECRET}"))
        with pytest.raises(OrgUnavailable) as info:
            OAuthTokens(client_credentials(), requests.Session()).token()
    assert "ConnectionError" in str(info.value) and CLIENT_SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("identity", "user_id"),
    [
        (IDENTITY, USER_ID),
        (IDENTITY + "/", USER_ID),
        (None, None),
        ("not-a-url", None),
        (42, None),
    ],
)
def test_user_id_from_identity_url(identity: object, user_id: str | None) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json=token_body(id=identity))
        token = OAuthTokens(client_credentials(), requests.Session()).token()
    assert token.user_id == user_id


def test_instance_url_falls_back_to_settings() -> None:
    settings = load_settings(
        sf_login_url=LOGIN,
        sf_instance_url=INSTANCE,
        sf_client_id="3MVG9cid",
        sf_client_secret=CLIENT_SECRET,
    )
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json={"access_token": ACCESS})
        assert OAuthTokens(settings, requests.Session()).token().instance_url == INSTANCE


def test_static_token_cannot_be_renewed() -> None:
    provider = StaticToken(ACCESS, INSTANCE)
    assert provider.token().access_token == ACCESS
    with pytest.raises(AuthError, match="SF_ACCESS_TOKEN") as info:
        provider.refresh()
    assert ACCESS not in str(info.value)


def test_token_provider_by_mode() -> None:
    static = load_settings(sf_access_token=ACCESS, sf_instance_url=INSTANCE)
    assert isinstance(token_provider(static, requests.Session()), StaticToken)
    assert isinstance(token_provider(client_credentials(), requests.Session()), OAuthTokens)


def test_refresh_uses_the_refresh_token_when_one_was_issued() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json=token_body(refresh_token="rt-SECRET-1"))
        mock.post(TOKEN_URL, json=token_body(access="second"))
        mock.post(TOKEN_URL, json=token_body(access="third"))
        tokens = OAuthTokens(client_credentials(), requests.Session())
        tokens.token()
        assert tokens.refresh().access_token == "second"
        assert tokens.refresh().access_token == "third"
        first, second, third = (form(c) for c in mock.calls)
    assert first["grant_type"] == "client_credentials"
    for renewal in (second, third):
        assert renewal == {
            "grant_type": "refresh_token",
            "refresh_token": "rt-SECRET-1",
            "client_id": "3MVG9cid",
            "client_secret": CLIENT_SECRET,
        }


def test_refresh_without_refresh_token_repeats_the_grant() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json=token_body())
        mock.post(TOKEN_URL, json=token_body(access="renewed"))
        tokens = OAuthTokens(client_credentials(), requests.Session())
        tokens.token()
        assert tokens.refresh().access_token == "renewed"
        assert tokens.token().access_token == "renewed"
        assert [form(c)["grant_type"] for c in mock.calls] == ["client_credentials"] * 2


def test_token_repr_hides_the_tokens() -> None:
    token = Token(
        access_token=ACCESS, instance_url=INSTANCE, user_id=USER_ID, refresh_token="rt-SECRET-1"
    )
    for text in (repr(token), str(token)):
        assert ACCESS not in text and "rt-SECRET-1" not in text
        assert INSTANCE in text
