"""The intake endpoint's logic, apart from the socket: route, check, queue, answer.

A post goes through the cheap checks first, before its body is read: the
route, the client's rate limit, the shared secret, the media type and the
length. Then the body is parsed, a filled honeypot is answered like a
success and dropped, the fields become Lead values, the e-mail address is
checked (valid, not disposable, within its own rate limit), and the
submission is committed to the queue. Only then does the client get its 202.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Protocol

import sqlalchemy as sa
import structlog
from pydantic import SecretStr

from sfsync.errors import StoreUnavailable
from sfsync.intake.config import FormConfig, IntakeConfig
from sfsync.intake.forms import IntakeRefused, Posted, lead_values, media_type, parse_body
from sfsync.intake.forms import honeypot_filled as _honeypot_filled
from sfsync.intake.limiter import RateLimiter
from sfsync.rules.enrich_email import EmailLists, analyse_email
from sfsync.store.intake import IntakeQueue, NewSubmission, new_submission_id

log = structlog.get_logger("sfsync.intake")

PATH_PREFIX = "/intake/"
STORE_RETRY_AFTER = 5
PREFLIGHT_MAX_AGE = 600


class Headers(Protocol):
    """Case-insensitive request headers (http.server's `self.headers` is one)."""

    def get(self, name: str, /) -> str | None: ...


@dataclass(frozen=True)
class Reply:
    """What the endpoint answers: a status, a JSON body (or none), extra headers."""

    status: HTTPStatus
    body: Mapping[str, object] | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Stats:
    """How posts were answered, by outcome, since the process started (thread-safe)."""

    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str) -> None:
        with self._lock:
            self.counts[outcome] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


class IntakeApp:
    """The endpoint over one parsed intake.yaml and one queue."""

    def __init__(
        self,
        config: IntakeConfig,
        queue: IntakeQueue,
        email_lists: EmailLists,
        secrets: Mapping[str, SecretStr] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.config, self.queue, self.email_lists = config, queue, email_lists
        self.secrets = dict(secrets or {})
        limits = config.rate_limits
        self.per_ip = RateLimiter(limits.per_ip, clock) if limits.per_ip else None
        self.per_email = RateLimiter(limits.per_email, clock) if limits.per_email else None
        self.on_queued = on_queued
        self.stats = Stats()
        self.origins = config.origins()

    # -- the request's way through ---------------------------------------------------

    def post(self, path: str, headers: Headers, peer: str, read: Callable[[int], bytes]) -> Reply:
        """Answer a POST; `read(n)` reads the body, and is only called once it is wanted."""
        try:
            name, form = self._form(path)
            ip = self.client_ip(peer, headers)
            kind, length = self._admit(name, form, headers, ip)
            reply = self._submit(name, form, parse_body(read(length), kind, self.config.limits), ip)
        except IntakeRefused as refused:
            self.stats.add(refused.code)
            # A flood is counted (GET /healthz), not logged line by line.
            emit = log.debug if refused.status == HTTPStatus.TOO_MANY_REQUESTS else log.info
            emit("sfsync.intake.refused", code=refused.code, status=int(refused.status))
            reply = _refusal(refused)
        return self._with_cors(reply, headers)

    def preflight(self, path: str, headers: Headers) -> Reply:
        """A browser's CORS preflight: allowed for the configured origins only."""
        origin = headers.get("Origin")
        if not path.startswith(PATH_PREFIX) or origin not in self.origins:
            return Reply(HTTPStatus.FORBIDDEN, {"error": "origin_not_allowed"})
        allow = (
            ("Access-Control-Allow-Methods", "POST"),
            ("Access-Control-Allow-Headers", f"Content-Type, {self.config.secret_header}"),
            ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE)),
        )
        return self._with_cors(Reply(HTTPStatus.NO_CONTENT, None, allow), headers)

    def client_ip(self, peer: str, headers: Headers) -> str:
        """The sender: the peer, or the address the trusted proxies appended for it."""
        hops = self.config.trusted_proxy_hops
        forwarded = headers.get("X-Forwarded-For")
        if hops == 0 or not forwarded:
            return peer
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        return chain[-hops] if len(chain) >= hops else peer

    def _form(self, path: str) -> tuple[str, FormConfig]:
        name = path.split("?", 1)[0].removeprefix(PATH_PREFIX)
        form = self.config.forms.get(name) if path.startswith(PATH_PREFIX) else None
        if form is None:
            raise IntakeRefused(HTTPStatus.NOT_FOUND, "unknown_form", "no such form")
        return name, form

    def _admit(self, name: str, form: FormConfig, headers: Headers, ip: str) -> tuple[str, int]:
        """The checks that need no body: rate, secret, type, length."""
        if self.per_ip is not None and (wait := self.per_ip.take(ip)) is not None:
            raise _too_many("rate_limited", "too many posts from this address", wait)
        self._check_secret(name, form, headers)
        kind = media_type(headers.get("Content-Type"))
        return kind, self._length(headers)

    def _check_secret(self, name: str, form: FormConfig, headers: Headers) -> None:
        expected = self.secrets.get(name)
        if form.secret_env is None or expected is None:
            return
        given = (headers.get(self.config.secret_header) or "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected.get_secret_value().encode("utf-8")):
            raise IntakeRefused(HTTPStatus.FORBIDDEN, "bad_secret", "missing or wrong secret")

    def _length(self, headers: Headers) -> int:
        if headers.get("Transfer-Encoding"):
            raise IntakeRefused(
                HTTPStatus.LENGTH_REQUIRED, "length_required", "send a Content-Length body"
            )
        raw = headers.get("Content-Length")
        if raw is None:
            raise IntakeRefused(HTTPStatus.LENGTH_REQUIRED, "length_required", "no Content-Length")
        if not raw.strip().isdigit():
            raise IntakeRefused(HTTPStatus.BAD_REQUEST, "bad_length", "bad Content-Length")
        length, cap = int(raw), self.config.limits.max_body_bytes
        if length > cap:
            raise IntakeRefused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large", f"body over {cap} bytes"
            )
        return length

    def _submit(self, name: str, form: FormConfig, posted: Posted, ip: str) -> Reply:
        if _honeypot_filled(posted, form):
            # Answered like a success, so the bot learns nothing; never stored.
            self.stats.add("honeypot")
            log.info("sfsync.intake.honeypot", form=name)
            return self._accepted(form, posted, new_submission_id())
        values = lead_values(posted, form, self.config.limits)
        self._check_email(form, values.get(form.email_field))
        submission = NewSubmission(name, form.source, values, ip)
        try:
            submission_id = self.queue.enqueue(submission)
        except (StoreUnavailable, sa.exc.SQLAlchemyError) as exc:
            self.stats.add("unavailable")
            log.warning("sfsync.intake.store_unavailable", error=type(exc).__name__)
            raise IntakeRefused(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "unavailable",
                "the submission was not stored; try again",
                retry_after=STORE_RETRY_AFTER,
            ) from None
        self.stats.add("accepted")
        log.info("sfsync.intake.queued", form=name, submission_id=submission_id)
        if self.on_queued is not None:
            self.on_queued()
        return self._accepted(form, posted, submission_id)

    def _check_email(self, form: FormConfig, value: object) -> None:
        if value is None:
            return
        facts = analyse_email(value, self.email_lists)
        field_name = form.form_field(form.email_field)
        if facts.address is None:
            raise IntakeRefused(
                HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_email", "not an e-mail address",
                fields=(field_name,),
            )  # fmt: skip
        if facts.disposable and self.config.reject_disposable:
            raise IntakeRefused(
                HTTPStatus.UNPROCESSABLE_ENTITY, "disposable_email",
                "disposable e-mail addresses are not accepted", fields=(field_name,),
            )  # fmt: skip
        if self.per_email is not None and (wait := self.per_email.take(facts.address)) is not None:
            raise _too_many("rate_limited_email", "too many posts for this e-mail address", wait)

    def _accepted(self, form: FormConfig, posted: Posted, submission_id: str) -> Reply:
        if form.redirect is not None and posted.form_encoded:
            return Reply(HTTPStatus.SEE_OTHER, None, (("Location", str(form.redirect)),))
        return Reply(HTTPStatus.ACCEPTED, {"id": submission_id, "status": "queued"})

    def _with_cors(self, reply: Reply, headers: Headers) -> Reply:
        origin = headers.get("Origin")
        if origin is None or origin not in self.origins:
            return reply
        cors = (("Access-Control-Allow-Origin", origin), ("Vary", "Origin"))
        return Reply(reply.status, reply.body, reply.headers + cors)


def _too_many(code: str, message: str, wait: int) -> IntakeRefused:
    return IntakeRefused(HTTPStatus.TOO_MANY_REQUESTS, code, message, retry_after=wait)


def _refusal(refused: IntakeRefused) -> Reply:
    body: dict[str, object] = {"error": refused.code, "message": refused.message}
    if refused.fields:
        body["fields"] = list(refused.fields)
    headers = (("Retry-After", str(refused.retry_after)),) if refused.retry_after else ()
    return Reply(refused.status, body, headers)
