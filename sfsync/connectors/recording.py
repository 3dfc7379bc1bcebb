"""Recordings of one cycle's HTTP conversation: the file format, its writer and its reader.

The format is `responses`' recorder YAML (a `responses:` list of
`{response: {method, url, body, status, headers, content_type,
auto_calculate_content_length}}`), so `responses._add_from_file` can load it.
sfsync adds what that recorder leaves out and a replay needs:

- `request_body` and `request_headers` (a short allow-list) on each entry:
  the Collections PATCH bodies are the writes a replay compares against;
- `query`, the URL's query string decoded (the SOQL), for readers only;
- `error` on an entry whose request got no answer (a dropped connection);
- a `sfsync:` header (where and how the run was made) written first, and an
  `outcome:` footer written last.

Entries are appended and flushed one by one, so a run that fails or is
killed still leaves a readable file (without its footer). Everything is
redacted before it is written (see `redaction.py`): a recording can be
committed to a repository.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import requests
import yaml
from requests.adapters import BaseAdapter

from sfsync.connectors.redaction import Redactor
from sfsync.errors import ConfigError

FORMAT_VERSION = 1
COLLECTIONS_PATH = "/composite/sobjects"
# Response headers a replay needs (API usage, backoff, Bulk paging); the rest is noise or secret.
KEPT_RESPONSE_HEADERS = (
    "Sforce-Limit-Info",
    "Retry-After",
    "Sforce-Locator",
    "Sforce-NumberOfRecords",
    "Location",
)
# Request headers worth reading in a recording (Authorization is kept only as "<scheme> REDACTED").
KEPT_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Sforce-Auto-Assign",
    "Sforce-Call-Options",
    "Sforce-Query-Options",
    "SOAPAction",
)
# libyaml's loader when present: recordings run to a few hundred kilobytes.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
HEADER = "# sfsync recording: one cycle's HTTP requests and answers, secrets redacted.\n"
HEADER += "# Format and replay: docs/REPLAY.md\n"


@dataclass(frozen=True)
class Exchange:
    """One request and the org's answer to it, as stored in a recording."""

    method: str
    url: str
    status: int
    body: str
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    request_headers: Mapping[str, str] = field(default_factory=dict)
    request_body: Any = None
    error: str | None = None

    @property
    def path(self) -> str:
        """The URL's path, without host or query."""
        return urlsplit(self.url).path

    @property
    def is_collections_write(self) -> bool:
        """A Collections update: a write that replays capture instead of serving."""
        return is_collections_write(self.method, self.url)


def is_collections_write(method: str, url: str) -> bool:
    """True for `PATCH .../composite/sobjects`, the only way the sync cycle writes."""
    return method.upper() == "PATCH" and urlsplit(url).path.rstrip("/").endswith(COLLECTIONS_PATH)


@dataclass(frozen=True)
class Recording:
    """A recording read back: its header, its exchanges in order, and its footer if any."""

    meta: Mapping[str, Any]
    exchanges: tuple[Exchange, ...]
    outcome: Mapping[str, Any] | None


# -- writing ---------------------------------------------------------------------------


class RecordingWriter:
    """Appends redacted exchanges to a recording file as they happen."""

    def __init__(self, path: Path, meta: Mapping[str, Any], redactor: Redactor) -> None:
        self.path = path
        self.redactor = redactor
        self.count = 0
        self._lock = threading.Lock()
        self._file: IO[str] = path.open("w", encoding="utf-8")
        header = self.redactor.value({"format": FORMAT_VERSION, **meta})
        self._file.write(HEADER + _dump({"sfsync": header}) + "responses:\n")
        self._file.flush()

    def add(self, exchange: Exchange) -> None:
        """Redact one exchange and append it to the file (flushed at once)."""
        entry = _entry(self.redactor.exchange(exchange))
        with self._lock:
            self._file.write(_dump([{"response": entry}]))
            self._file.flush()
            self.count += 1

    def close(self, outcome: Mapping[str, Any]) -> None:
        """Write the footer (the run's outcome) and close the file."""
        with self._lock:
            if self._file.closed:
                return
            self._file.write(_dump({"outcome": self.redactor.value(dict(outcome))}))
            self._file.close()


def _entry(exchange: Exchange) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "method": exchange.method,
        "url": exchange.url,
        **_query(exchange.url),
        "status": exchange.status,
        "content_type": exchange.content_type or "text/plain",
        "headers": dict(exchange.headers),
        "auto_calculate_content_length": False,
        "body": exchange.body,
    }
    if exchange.error:
        entry["error"] = exchange.error
    if exchange.request_headers:
        entry["request_headers"] = dict(exchange.request_headers)
    if exchange.request_body is not None:
        entry["request_body"] = exchange.request_body
    return entry


class RecordingAdapter(BaseAdapter):
    """A transport that hands each request and answer to a writer, sending through `inner`.

    Mounted on the client's session, it sees every call (token endpoint,
    REST, SOAP) with its request body, which `responses`' recorder drops.
    It wraps the adapter it replaces, so the session's transport settings stay.
    """

    def __init__(self, writer: RecordingWriter, inner: BaseAdapter) -> None:
        super().__init__()
        self.writer = writer
        self.inner = inner

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        try:
            response = self.inner.send(request, *args, **kwargs)
        except requests.RequestException as exc:
            self.writer.add(exchange_of(request, None, error=type(exc).__name__))
            raise
        self.writer.add(exchange_of(request, response))
        return response

    def close(self) -> None:
        self.inner.close()


def attach(session: requests.Session, writer: RecordingWriter) -> None:
    """Record every https/http call `session` makes from now on."""
    for prefix in ("https://", "http://"):
        session.mount(prefix, RecordingAdapter(writer, session.get_adapter(prefix)))


def exchange_of(
    request: requests.PreparedRequest, response: requests.Response | None, error: str | None = None
) -> Exchange:
    """An unredacted Exchange from what requests sent and received."""
    kept_request = {k: v for k, v in request.headers.items() if _kept(k, KEPT_REQUEST_HEADERS)}
    common: dict[str, Any] = {
        "method": str(request.method),
        "url": str(request.url),
        "request_headers": kept_request,
        "request_body": _request_body(request.body),
    }
    if response is None:
        return Exchange(status=599, body="", error=error or "ConnectionError", **common)
    kept = {k: v for k, v in response.headers.items() if _kept(k, KEPT_RESPONSE_HEADERS)}
    return Exchange(
        status=response.status_code,
        body=readable_body(response.text),
        content_type=response.headers.get("Content-Type"),
        headers=kept,
        **common,
    )


def _kept(name: str, allowed: tuple[str, ...]) -> bool:
    return name.lower() in {a.lower() for a in allowed}


def _query(url: str) -> dict[str, Any]:
    """The URL's query decoded, for readers only (replays match on `url`)."""
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return {"query": dict(pairs)} if pairs else {}


def _request_body(body: Any) -> Any:
    """A request body as data when it is JSON (easy to read and diff), else as text."""
    if body is None or body in (b"", ""):
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        return json.loads(text)
    except ValueError:
        return text


def readable_body(text: str) -> str:
    """JSON re-indented one item a line, so the YAML shows it as a block; other text as is."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    return json.dumps(data, indent=1, ensure_ascii=False)


# -- reading ---------------------------------------------------------------------------


def load_recording(path: Path) -> Recording:
    """Read a recording; ConfigError (exit 2) when the file is missing or not one."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as exc:
        raise ConfigError(f"recording {path}: cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"recording {path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sfsync"), dict):
        raise ConfigError(f"recording {path}: no 'sfsync:' header; not an sfsync recording")
    meta = data["sfsync"]
    if meta.get("format") != FORMAT_VERSION:
        raise ConfigError(f"recording {path}: format {meta.get('format')!r} is not supported")
    entries = data.get("responses") or []
    exchanges = tuple(_exchange(path, i, item) for i, item in enumerate(entries))
    outcome = data.get("outcome")
    return Recording(meta, exchanges, outcome if isinstance(outcome, dict) else None)


def _exchange(path: Path, index: int, item: Any) -> Exchange:
    entry = item.get("response") if isinstance(item, dict) else None
    try:
        assert isinstance(entry, dict)
        return Exchange(
            method=str(entry["method"]),
            url=str(entry["url"]),
            status=int(entry["status"]),
            body=str(entry.get("body") or ""),
            content_type=entry.get("content_type"),
            headers=dict(entry.get("headers") or {}),
            request_headers=dict(entry.get("request_headers") or {}),
            request_body=entry.get("request_body"),
            error=entry.get("error"),
        )
    except (AssertionError, KeyError, TypeError, ValueError):
        raise ConfigError(f"recording {path}: responses[{index}] is not a valid entry") from None


# -- YAML --------------------------------------------------------------------------------


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (indented JSON bodies) as `|` blocks: a recording reads like a log."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
