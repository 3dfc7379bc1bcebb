"""The redactor alone: each of its nets, on hand-made exchanges."""

from __future__ import annotations

import json

import pytest

from sfsync.connectors.recording import Exchange
from sfsync.connectors.redaction import REDACTED, Redactor

INSTANCE = "https://org.example.com"
SOAP = (
    "<soapenv:Envelope><soapenv:Header><urn:SessionHeader><urn:sessionId>00D!abcdef123456"
    "</urn:sessionId></urn:SessionHeader></soapenv:Header><soapenv:Body/></soapenv:Envelope>"
)


def _exchange(url: str = f"{INSTANCE}/services/data/v62.0/query", **kw: object) -> Exchange:
    values: dict[str, object] = {"method": "GET", "url": url, "status": 200, "body": "{}"}
    values.update(kw)
    return Exchange(**values)  # type: ignore[arg-type]


def test_the_token_answer_is_learnt_then_redacted_everywhere() -> None:
    redactor = Redactor()
    token = _exchange(
        f"{INSTANCE}/services/oauth2/token",
        method="POST",
        body=json.dumps({"access_token": "00D!tok-123456", "instance_url": INSTANCE}),
        request_body="grant_type=client_credentials&client_secret=s3cr3t-value",
    )
    echo = _exchange(body=json.dumps({"note": "token was 00D!tok-123456"}))

    first, later = redactor.exchange(token), redactor.exchange(echo)

    assert first.request_body == REDACTED
    assert json.loads(first.body) == {"access_token": REDACTED, "instance_url": INSTANCE}
    assert json.loads(later.body) == {"note": f"token was {REDACTED}"}


def test_authorization_keeps_only_its_scheme() -> None:
    exchange = _exchange(request_headers={"Authorization": "Bearer 00D!tok", "Sforce-X": "1"})

    headers = Redactor().exchange(exchange).request_headers

    assert headers == {"Authorization": f"Bearer {REDACTED}", "Sforce-X": "1"}


def test_soap_session_ids_are_redacted_in_bodies() -> None:
    exchange = _exchange(method="POST", body=SOAP, request_body=SOAP)

    redacted = Redactor().exchange(exchange)

    assert "abcdef123456" not in redacted.body + str(redacted.request_body)
    assert f"<urn:sessionId>{REDACTED}</urn:sessionId>" in redacted.body


def test_sensitive_fields_and_values_are_redacted() -> None:
    body = json.dumps({"records": [{"Id": "00Q1", "Email": "a@b.c", "Note": "call ext 998877"}]})
    redactor = Redactor(secrets=["998877"], fields=["email"])

    records = json.loads(redactor.exchange(_exchange(body=body)).body)["records"]

    assert records == [{"Id": "00Q1", "Email": REDACTED, "Note": f"call ext {REDACTED}"}]


@pytest.mark.parametrize(
    ("secret", "text"),
    [
        ("pa ss/wo+rd", "x?password=pa+ss%2Fwo%2Brd"),
        ('quo"te-secret', '{"v": "quo\\"te-secret"}'),
        ("plain-secret", "plain-secret"),
    ],
)
def test_known_secrets_are_found_in_every_encoding(secret: str, text: str) -> None:
    assert secret not in Redactor(secrets=[secret]).scrub(text)
    assert REDACTED in Redactor(secrets=[secret]).scrub(text)


def test_secret_query_parameters_and_short_secrets() -> None:
    redactor = Redactor(secrets=["abc"])

    url = redactor.url(f"{INSTANCE}/services/oauth2/token?code=xyz&state=abc")

    assert "code=REDACTED" in url and "state=abc" in url  # too short to search for
