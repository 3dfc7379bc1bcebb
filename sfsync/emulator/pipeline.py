"""One request, start to finish: authenticate, count, inject faults, route, log.

The order mirrors what a client of Salesforce can observe:

1. the token endpoint and the versions list need no session and are not counted;
2. every other `/services/data` call needs a live session (401 otherwise);
3. a scripted or planned session expiry answers 401 before anything is counted;
4. an unsupported API version answers 404;
5. the call is counted against the daily allowance (403 once it is spent);
6. request-level faults (5xx, dropped connection, concurrency 403, latency);
7. a test's gate may hold the request here, and a `timeout` fault delays it;
8. the resource handler; a gate may hold the answer, a `drop_after` fault
   then loses it, a `truncated` fault cuts its body short.

Every answer under `/services/` except the token endpoint's carries
`Sforce-Limit-Info`, and every request leaves one entry in the call log.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from sfsync.emulator import oauth, rest, soap
from sfsync.emulator.calllog import CallEntry, call_client, safe_headers, safe_query
from sfsync.emulator.context import Call, Services
from sfsync.emulator.faults import fault_response
from sfsync.emulator.limits import LIMIT_INFO_HEADER, limit_exceeded
from sfsync.emulator.sessions import Session
from sfsync.emulator.wire import (
    DROP,
    Outcome,
    Request,
    Response,
    error_response,
    invalid_session,
    json_response,
    not_found,
)

log = logging.getLogger(__name__)

_DATA_RE = re.compile(r"^/services/data(?:/v(?P<version>\d+\.\d+)(?P<rest>/.*)?)?/?$")
_AUTH_SCHEMES = ("bearer", "oauth")
USERINFO_PATH = "/services/oauth2/userinfo"

_Plain = Callable[[Services, Request], Outcome]
_Routed = Callable[[Call], Outcome]


@dataclass
class _Trace:
    """What the call log records beyond the request and the answer."""

    counted: bool = False
    fault: str | None = None


class Pipeline:
    """Turns each `Request` into an `Outcome`; shared by all server threads."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def handle(self, request: Request) -> Outcome:
        """Answer `request` and log it; never raises."""
        trace = _Trace()
        try:
            outcome = self._dispatch(request, trace)
        except Exception:
            log.exception("emulator handler failed: %s %s", request.method, request.path)
            outcome = error_response(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        if isinstance(outcome, Response) and request.path != oauth.TOKEN_PATH:
            outcome.headers[LIMIT_INFO_HEADER] = self.services.usage.header_value()
        self._log(request, outcome, trace)
        self.services.faults.finished()
        return outcome

    def _dispatch(self, request: Request, trace: _Trace) -> Outcome:
        if request.path == oauth.TOKEN_PATH:
            return self._unauthenticated(request, trace, oauth.token_endpoint)
        if request.path == USERINFO_PATH:
            return self._userinfo(request)
        data = _DATA_RE.match(request.path)
        if data is not None and data.group("version") is None:
            return self._unauthenticated(request, trace, _versions)
        if data is not None:
            version, resource = data.group("version"), (data.group("rest") or "").strip("/")
            return self._data(request, trace, version, resource)
        soap_path = soap.SOAP_PATH_RE.match(request.path)
        if soap_path is not None:
            return self._soap(request, trace, soap_path.group("version"))
        return not_found()

    def _unauthenticated(self, request: Request, trace: _Trace, handler: _Plain) -> Outcome:
        fault = self._request_fault(request, trace, counted=False)
        return fault if fault is not None else handler(self.services, request)

    def _data(self, request: Request, trace: _Trace, version: str, resource: str) -> Outcome:
        session = self._session(request)
        if session is None or self._expired_by_fault(request, session, trace):
            return invalid_session()
        if not rest.supported_version(version):
            return not_found()
        call = Call(request, session, version, resource, self.services)
        return self._counted(call, trace, rest.route)

    def _soap(self, request: Request, trace: _Trace, version: str) -> Outcome:
        token = soap.session_id(request.body)
        session = self.services.sessions.lookup(token) if token else None
        if session is None or self._expired_by_fault(request, session, trace):
            return soap.invalid_session()
        if not rest.supported_version(version):
            return soap.fault(
                "sf:UNSUPPORTED_API_VERSION", f"Invalid Api version specified: {version}"
            )
        call = Call(request, session, version, "", self.services)
        return self._counted(call, trace, soap.handle)

    def _counted(self, call: Call, trace: _Trace, handler: _Routed) -> Outcome:
        if not self.services.usage.try_spend():
            return limit_exceeded()
        trace.counted = True
        self.services.sessions.count_call(call.session)
        fault = self._request_fault(call.request, trace, counted=True)
        if fault is not None:
            return fault
        faults = self.services.faults
        if not faults.hold_before(call.request):
            trace.fault = "hold"
            return DROP
        if faults.timeout(call.request, counted=True):
            trace.fault = "timeout"
        response = handler(call)
        faults.hold_after(call.request)
        if faults.drop_after(call.request, counted=True):
            trace.fault = "drop_after"
            return DROP
        return self._spoiled(call.request, response, trace)

    def _spoiled(self, request: Request, outcome: Outcome, trace: _Trace) -> Outcome:
        if not isinstance(outcome, Response):
            return outcome
        answer = self.services.faults.truncate(request, outcome, counted=True)
        if answer is not outcome:
            trace.fault = "truncated"
        return answer

    def _userinfo(self, request: Request) -> Outcome:
        # OpenID Connect userinfo: who the token belongs to (not counted as an API call).
        session = self._session(request)
        if session is None:
            return json_response(403, {"error": "Bad_OAuth_Token"})
        with self.services.org.lock:
            user = self.services.org.tables["User"].get(session.user_id) or {}
        org_id = self.services.org.org_id
        return json_response(
            200,
            {
                "sub": f"https://login.salesforce.com/id/{org_id}/{session.user_id}",
                "user_id": session.user_id,
                "organization_id": org_id,
                "preferred_username": user.get("Username"),
                "name": user.get("Name"),
                "email": user.get("Email"),
                "active": bool(user.get("IsActive")),
            },
        )

    def _session(self, request: Request) -> Session | None:
        scheme, _, token = request.header("Authorization").strip().partition(" ")
        if scheme.lower() not in _AUTH_SCHEMES or not token.strip():
            return None
        return self.services.sessions.lookup(token.strip())

    def _expired_by_fault(self, request: Request, session: Session, trace: _Trace) -> bool:
        if not self.services.faults.expire_session(request, session.calls):
            return False
        self.services.sessions.expire(session.token)
        trace.fault = "expire_session"
        return True

    def _request_fault(self, request: Request, trace: _Trace, *, counted: bool) -> Outcome | None:
        kind = self.services.faults.before_handler(request, counted=counted)
        if kind is None:
            return None
        trace.fault = kind
        return fault_response(kind)

    def _log(self, request: Request, outcome: Outcome, trace: _Trace) -> None:
        self.services.calls.append(
            CallEntry(
                method=request.method,
                path=request.path,
                query=safe_query(request.query_string),
                status=outcome.status if isinstance(outcome, Response) else None,
                headers=safe_headers(dict(request.headers)),
                records=outcome.records if isinstance(outcome, Response) else None,
                client=call_client(request.header("Sforce-Call-Options")),
                counted=trace.counted,
                time=time.monotonic(),
                fault=trace.fault,
            )
        )


def _versions(services: Services, request: Request) -> Response:
    if request.method != "GET":
        return error_response(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed. Allowed are GET")
    return json_response(200, rest.versions_body())
