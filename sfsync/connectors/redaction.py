"""Redaction of recordings: no token, secret, password or key ever reaches the file.

Four nets, each catching what the others might miss:

1. the token endpoint's request body is dropped whole (client secret, JWT
   assertion, password, refresh token), and the secrets in its answer are
   replaced — after being learnt, so net 4 also finds them elsewhere;
2. `Authorization` keeps only its scheme ("Bearer REDACTED");
3. in JSON bodies, values under secret keys (`access_token`, `client_secret`,
   `sessionId`, ...) and under fields configured as sensitive are replaced;
   in XML (SOAP) bodies, the same elements are;
4. every known secret value (from the settings, and the tokens learnt in 1)
   is replaced wherever it appears: URL, headers, bodies, in raw, JSON-escaped
   and URL-encoded forms.

A replay needs none of these values: offline, the placeholder is as good a
token as any.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from sfsync.connectors.auth import TOKEN_PATH

if TYPE_CHECKING:
    from sfsync.connectors.recording import Exchange

REDACTED = "REDACTED"
# Keys (JSON) and elements (XML) whose values are secrets wherever they appear.
SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "password",
        "assertion",
        "signature",
        "sessionid",
        "session_id",
        "code",
        "security_token",
    }
)
# Secrets shorter than this are not searched for in free text (they would match at random);
# they are still removed from the fields that carry them (nets 1 to 3).
MIN_SCRUB_LENGTH = 6
TOKEN_KEYS = ("access_token", "refresh_token", "id_token")


class Redactor:
    """Redacts exchanges before they are written; learns the tokens it sees issued."""

    def __init__(self, secrets: Iterable[str | None] = (), fields: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._keys = SECRET_KEYS | {f.lower() for f in fields}
        self._xml = _xml_pattern(self._keys)
        for secret in secrets:
            self.learn(secret)

    def learn(self, secret: str | None) -> None:
        """Treat `secret` (and each of its lines) as a value never to be written."""
        if not secret:
            return
        for part in (secret, *secret.splitlines()):
            if len(part.strip()) >= MIN_SCRUB_LENGTH:
                self._secrets.add(part.strip())

    def exchange(self, exchange: Exchange) -> Exchange:
        """A copy of `exchange` with every secret replaced by REDACTED."""
        is_token = exchange.path.rstrip("/").endswith(TOKEN_PATH)
        if is_token:
            self._learn_tokens(exchange.body)
        request_body = REDACTED if is_token and exchange.request_body else exchange.request_body
        return dataclasses.replace(
            exchange,
            url=self.url(exchange.url),
            body=self.text(exchange.body),
            headers=self._headers(exchange.headers),
            request_headers=self._headers(exchange.request_headers),
            request_body=self.value(request_body),
        )

    def url(self, url: str) -> str:
        """The URL with secret query parameters and known secrets replaced."""
        parts = urlsplit(url)
        pairs = _pairs(parts.query)
        if any(k.lower() in self._keys for k, _ in pairs):
            pairs = [(k, REDACTED if k.lower() in self._keys else v) for k, v in pairs]
            url = urlunsplit(parts._replace(query=urlencode(pairs)))
        return self.scrub(url)

    def text(self, text: str) -> str:
        """A body: JSON redacted key by key (kept indented), anything else element by element."""
        try:
            data = json.loads(text)
        except ValueError:
            return self.scrub(self._xml.sub(rf"\g<open>{REDACTED}\g<close>", text))
        return json.dumps(self.value(data), indent=1, ensure_ascii=False)

    def value(self, data: Any) -> Any:
        """JSON-like data with values under secret or sensitive keys replaced."""
        if isinstance(data, Mapping):
            return {
                k: REDACTED if str(k).lower() in self._keys and v else self.value(v)
                for k, v in data.items()
            }
        if isinstance(data, list):
            return [self.value(item) for item in data]
        if isinstance(data, str):
            return self.text(data) if data.lstrip().startswith("<") else self.scrub(data)
        return data

    def scrub(self, text: str) -> str:
        """`text` with every known secret replaced, longest first."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            for form in _forms(secret):
                text = text.replace(form, REDACTED)
        return text

    def _headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {name: self._header(name, value) for name, value in headers.items()}

    def _header(self, name: str, value: str) -> str:
        if name.lower() in ("authorization", "proxy-authorization"):
            scheme = value.split(" ", 1)[0] if " " in value else ""
            return f"{scheme} {REDACTED}".strip()
        return self.scrub(value)

    def _learn_tokens(self, body: str) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            return
        if isinstance(data, dict):
            for key in TOKEN_KEYS:
                value = data.get(key)
                self.learn(value if isinstance(value, str) else None)


def _pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


def _forms(secret: str) -> tuple[str, ...]:
    """How a secret can appear in a request or answer: as is, JSON-escaped, URL-encoded."""
    return tuple(
        dict.fromkeys((secret, json.dumps(secret)[1:-1], quote_plus(secret), quote(secret, "")))
    )


def _xml_pattern(keys: Iterable[str]) -> re.Pattern[str]:
    """`<ns:key>value</ns:key>` for each key, case-insensitive, any namespace prefix."""
    names = "|".join(sorted(re.escape(k) for k in keys))
    return re.compile(
        rf"(?P<open><(?:[\w.-]+:)?(?:{names})(?:\s[^>]*)?>)[^<]*(?P<close></(?:[\w.-]+:)?(?:{names})\s*>)",
        re.IGNORECASE,
    )
