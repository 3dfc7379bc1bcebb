"""The only code that talks to the org's REST API: pull pages, describe, write Collections.

Built on simple-salesforce with a session sfsync owns (timeouts, client id,
usage tracking) and a token sfsync renews itself. It returns domain values
(`Lead`, `WriteResult`, `ObjectInfo`), never raw responses, and never decides
anything about a lead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import structlog
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError
from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_random_exponential

from sfsync.config import Settings
from sfsync.connectors.auth import Token, token_provider
from sfsync.connectors.composite import (
    Sub,
    answer_bodies,
    batches,
    describe_sub,
    query_sub,
    request_body,
)
from sfsync.connectors.failures import Action, classify_record
from sfsync.connectors.http import SalesforceSession, UsageMeter
from sfsync.connectors.retry import RetryingCaller, RetryPolicy
from sfsync.connectors.soap import convert_leads
from sfsync.connectors.soap_call import may_have_run
from sfsync.connectors.soap_merge import MergeOutcome, MergeRequest, merge_records
from sfsync.connectors.soap_xml import ConvertResult, LeadConvert
from sfsync.errors import (
    ApiLimitReached,
    OrgUnavailable,
    QueryRestart,
    SessionExpired,
    TransientError,
)
from sfsync.models import ApiUsage, Lead, WriteOutcome, WriteResult

log = structlog.get_logger("sfsync.salesforce")

COLLECTION_MAX = 200
QUERY_BATCH_SIZE = 2000
QUERY_RESTARTS = 3
WRITE_HEADERS = {"Sforce-Auto-Assign": "FALSE"}


@dataclass(frozen=True)
class FieldInfo:
    """What `describe` says about one field."""

    name: str
    type: str
    length: int
    updateable: bool
    nillable: bool
    picklist: tuple[str, ...]
    restricted: bool
    # For a lookup: the object types it may point to and its relationship name (`Account`).
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    # What lead capture needs: the label people put in spreadsheet headers, and whether
    # a create may set the field and must (not nillable, not defaulted by the org).
    label: str = ""
    createable: bool = True
    defaulted_on_create: bool = False


@dataclass(frozen=True)
class ObjectInfo:
    """What `describe` says about one sObject."""

    name: str
    fields: Mapping[str, FieldInfo]


class SalesforceClient:
    """A connection to one org. Build it once per process and pass it in."""

    def __init__(self, settings: Settings, *, meter: UsageMeter | None = None) -> None:
        self.settings = settings
        self.meter = meter or UsageMeter()
        self.session = SalesforceSession(
            timeout=settings.sfsync_http_timeout,
            client_name=settings.sfsync_client_name,
            meter=self.meter,
        )
        self._tokens = token_provider(settings, self.session)
        self._sf: Salesforce | None = None
        self._connecting = threading.Lock()  # the flush's writer threads share this client
        self._user_id: str | None = None
        policy = RetryPolicy(
            attempts=settings.sfsync_retry_attempts,
            max_seconds=settings.sfsync_retry_max_seconds,
            wait_scale=settings.sfsync_retry_wait_scale,
        )
        self.caller = RetryingCaller(policy, self._reauthenticate, self.meter.take_retry_after)

    # -- session ------------------------------------------------------------

    def close(self) -> None:
        """Release the HTTP connections."""
        self.session.close()

    def connect(self) -> None:
        """Obtain a token (with retries) so that credential problems surface at start-up."""
        self.caller.call("oauth.token", self._tokens.token)

    def _client(self) -> Salesforce:
        if self._sf is None:
            with self._connecting:  # one token request, however many threads get here first
                if self._sf is None:
                    self._sf = self._build(self.caller.call("oauth.token", self._tokens.token))
        return self._sf

    def _build(self, token: Token) -> Salesforce:
        self._user_id = self._user_id or token.user_id
        return Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token,
            version=self.settings.sf_api_version,
            session=self.session,
        )

    def _reauthenticate(self) -> None:
        log.info("sfsync.salesforce.session_renewed")
        self._sf = self._build(self._tokens.refresh())

    @property
    def usage(self) -> ApiUsage | None:
        """The org's latest `Sforce-Limit-Info` figures."""
        return self.meter.latest

    def _spend(self) -> Salesforce:
        """The client, after checking that the API budget allows one more call."""
        usage = self.meter.latest
        share = self.settings.sfsync_api_budget_share
        if usage is not None and self.over_budget():
            raise ApiLimitReached(
                f"API budget reached: {usage.used}/{usage.limit} calls used, "
                f"sfsync may use {share:.0%} of the daily allowance (SFSYNC_API_BUDGET_SHARE)"
            )
        return self._client()

    def rest_base(self) -> tuple[str, str]:
        """`(https://host/services/data/vXX.X, access token)` for resources sfsync calls itself.

        Bulk API 2.0 (`connectors.bulk`) uses it on this client's session and
        retry layer; the budget is checked first, and a renewed session shows here.
        """
        sf = self._spend()
        base = f"https://{sf.sf_instance}/services/data/v{self.settings.sf_api_version}"
        return base, str(sf.session_id)

    def refresh_usage(self) -> ApiUsage | None:
        """Ask the org for today's usage (`GET limits`), even past the budget.

        The budget check reads the last `Sforce-Limit-Info` seen; after a pause
        that figure is stale, and only a call can tell whether usage fell.
        """
        body = self.caller.call("limits", lambda: self._client().restful("limits"))
        daily = body.get("DailyApiRequests") if isinstance(body, dict) else None
        with contextlib.suppress(TypeError, ValueError, KeyError):  # a garbled answer: keep ours
            if isinstance(daily, dict):
                used = int(daily["Max"]) - int(daily["Remaining"])
                self.meter.record(ApiUsage(used=used, limit=int(daily["Max"])))
        return self.meter.latest

    def over_budget(self) -> bool:
        """Whether the last known usage is at or above sfsync's share of the allowance."""
        usage = self.meter.latest
        return usage is not None and usage.share >= self.settings.sfsync_api_budget_share

    # -- reads --------------------------------------------------------------

    def integration_user_id(self) -> str:
        """The id of the user sfsync acts as (its writes carry it as LastModifiedById)."""
        if self._user_id is None:
            self._client()
        if self._user_id is None:
            self._user_id = self.caller.call("oauth.userinfo", self._userinfo)
        return self._user_id

    def _userinfo(self) -> str:
        sf = self._spend()
        url = f"https://{sf.sf_instance}/services/oauth2/userinfo"
        response = self.session.get(url, headers={"Authorization": f"Bearer {sf.session_id}"})
        if response.status_code in (401, 403):
            raise SessionExpired(f"userinfo: HTTP {response.status_code}")
        if response.status_code >= 500:
            raise TransientError(f"userinfo: HTTP {response.status_code}")
        body = response.json() if response.status_code == 200 else {}
        user_id = body.get("user_id") if isinstance(body, dict) else None
        if not isinstance(user_id, str):
            raise OrgUnavailable("userinfo did not name the integration user")
        return user_id

    def describe(self, sobject: str) -> ObjectInfo:
        """The object's fields as the org describes them (one call)."""
        body = self.caller.call(
            f"describe.{sobject}", lambda: self._spend().restful(f"sobjects/{sobject}/describe")
        )
        return _object_info(body)

    def pages(
        self,
        soql: str,
        *,
        include_deleted: bool = True,
        on_total: Callable[[int], None] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page of a query's records (queryAll by default, so deletes are seen).

        `on_total` hears the first page's `totalSize` (a progress bar's total).
        """
        headers = {"Sforce-Query-Options": f"batchSize={QUERY_BATCH_SIZE}"}
        page = self.caller.call(
            "query",
            lambda: self._spend().query(soql, include_deleted=include_deleted, headers=headers),
        )
        total = page.get("totalSize") if isinstance(page, dict) else None
        if on_total is not None and isinstance(total, int):
            on_total(total)
        yield from self._follow(page, headers)

    def _follow(self, page: Any, headers: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        """A first page's records, then the next pages' through `nextRecordsUrl`."""
        seen: set[str] = set()
        while True:
            records, next_url = _page_parts(page)
            yield records
            if page.get("done", True) or not next_url:
                return
            if next_url in seen:
                raise QueryRestart(f"the org repeated a query cursor ({next_url})")
            seen.add(next_url)
            page = self._query_more(next_url, headers)

    def pages_together(self, soqls: Sequence[str]) -> list[Iterator[list[dict[str, Any]]]]:
        """The pages of several queryAll queries, their first pages in one Composite call.

        Salesforce counts a Composite request as one call however many
        subrequests it holds (at most 5 queries): a cycle asks whether anything
        changed in several objects for the price of one question. Later pages
        follow each query's `nextRecordsUrl` as usual.
        """
        if not soqls:
            return []
        if len(soqls) == 1:
            return [self.pages(soqls[0], include_deleted=True)]
        headers = {"Sforce-Query-Options": f"batchSize={QUERY_BATCH_SIZE}"}
        subs = [query_sub(soql, headers) for soql in soqls]
        return [self._follow(page, headers) for page in self._composite("composite.query", subs)]

    def read_together(
        self, sobjects: Sequence[str], soqls: Sequence[str]
    ) -> tuple[dict[str, ObjectInfo], list[list[dict[str, Any]]]]:
        """Describes of `sobjects` and all records of small queryAll queries, in one call.

        One Composite request holds up to 25 subrequests, of them 5 queries;
        more take one call per such batch, and later pages one call each. A
        failed describe or query raises the error its direct call would.
        """
        headers = {"Sforce-Query-Options": f"batchSize={QUERY_BATCH_SIZE}"}
        subs = [describe_sub(name) for name in sobjects]
        subs += [query_sub(soql, headers) for soql in soqls]
        bodies = [
            body for batch in batches(subs) for body in self._composite("composite.read", batch)
        ]
        described = {name: _object_info(body) for name, body in zip(sobjects, bodies, strict=False)}
        firsts = bodies[len(sobjects) :]
        found = [
            self._all_records(soql, self._follow(page, headers))
            for soql, page in zip(soqls, firsts, strict=True)
        ]
        return described, found

    def _composite(self, name: str, subs: Sequence[Sub]) -> list[dict[str, Any]]:
        """The bodies of one Composite request's subrequests (a failed one raises)."""
        body = request_body(self.settings.sf_api_version, subs)
        return self.caller.call(
            name,
            lambda: answer_bodies(
                self._spend().restful("composite", method="POST", json=body), len(subs)
            ),
        )

    def _all_records(
        self, soql: str, pages: Iterator[list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Every record of a query's pages; a cursor that dies runs the query again on its own."""
        try:
            return [r for page in pages for r in page]
        except QueryRestart:
            return self.query(soql, include_deleted=True)

    def _query_more(self, next_url: str, headers: dict[str, str]) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            page: dict[str, Any] = self._spend().query_more(
                next_url, identifier_is_url=True, headers=headers
            )
            return page

        return self.caller.call("query_more", fetch)

    def query(self, soql: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """All records of a small query (metadata, re-checks); a dead cursor runs it again."""
        for attempt in range(QUERY_RESTARTS + 1):
            try:
                return [
                    r for page in self.pages(soql, include_deleted=include_deleted) for r in page
                ]
            except QueryRestart:
                if attempt == QUERY_RESTARTS:
                    raise
        raise AssertionError("unreachable")

    def query_together(self, soqls: Sequence[str]) -> list[list[dict[str, Any]]]:
        """All records of several small queryAll queries, their first pages in one Composite call.

        Up to five queries share a call (Salesforce's limit for query
        subrequests). A cursor that dies while later pages are read runs that
        query again on its own, as `query` does.
        """
        return self.read_together((), soqls)[1]

    def lead_pages(self, soql: str) -> Iterator[list[Lead]]:
        """The pull: each page of a queryAll over Lead, as Lead values."""
        return leads_of(self.pages(soql, include_deleted=True))

    # -- writes -------------------------------------------------------------

    def convert_leads(self, converts: Sequence[LeadConvert]) -> list[ConvertResult]:
        """Convert leads with SOAP convertLead; see `connectors.soap` for the retry contract."""
        if not converts:
            return []
        return convert_leads(
            self.session,
            self.caller,
            f"https://{self._spend().sf_instance}",
            self.settings.sf_api_version,
            lambda: str(self._spend().session_id),
            converts,
            client_name=self.settings.sfsync_client_name,
            recheck=lambda soql: self.query(soql, include_deleted=True),
        )

    def merge(self, requests: Sequence[MergeRequest]) -> list[MergeOutcome]:
        """Merge records with SOAP merge(); see `connectors.soap_merge` for the retry contract."""
        if not requests:
            return []
        return merge_records(
            self.session,
            self.caller,
            f"https://{self._spend().sf_instance}",
            self.settings.sf_api_version,
            lambda: str(self._spend().session_id),
            requests,
            client_name=self.settings.sfsync_client_name,
            recheck=lambda soql: self.query(soql, include_deleted=True),
        )

    def create(
        self, sobject: str, records: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[WriteResult | None]:
        """Insert records through sObject Collections, 200 a request; results in input order.

        Each record comes with the caller's key (the lead a Task is for), which
        its result carries, with the new record's Id in `created["id"]`.
        Inserts are not idempotent, so a request is sent again only when the
        org provably did not run it (never connected, 503). When it may have
        run but its answer is lost, its records come back as None: look for
        them in the org before sending them again.
        """
        results: list[WriteResult | None] = []
        for start in range(0, len(records), COLLECTION_MAX):
            results += self._insert_chunk(sobject, records[start : start + COLLECTION_MAX])
        return results

    def _insert_chunk(
        self, sobject: str, chunk: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[WriteResult | None]:
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": sobject}, **values} for _, values in chunk],
        }
        lost = object()

        def send() -> Any:
            sf = self._spend()
            try:
                return sf.restful(
                    "composite/sobjects", method="POST", json=body, headers=WRITE_HEADERS
                )
            except requests.RequestException as exc:
                if may_have_run(exc):
                    return lost
                raise
            except SalesforceError as exc:
                if exc.status >= 500 and exc.status != 503:
                    return lost  # a gateway's or the org's failure after the request arrived
                raise
            except (TypeError, ValueError, KeyError, AttributeError):
                return lost  # a 2xx body we cannot read: the records may exist

        answer = self.caller.call("collections.create", send)
        if answer is lost:
            log.warning("sfsync.salesforce.create_outcome_unknown", records=len(chunk))
            return [None] * len(chunk)
        keys = [key for key, _ in chunk]
        return [
            _with_created_id(r, a)
            for r, a in zip(save_results(keys, answer), _items(answer, len(keys)), strict=True)
        ]

    def update(
        self, sobject: str, patches: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[WriteResult]:
        """Update records through sObject Collections, 200 a request, results in input order.

        Records refused with a transient per-record error (UNABLE_TO_LOCK_ROW)
        are sent again with backoff; what still fails comes back as RETRY.
        """
        results: dict[str, WriteResult] = {}
        retrying = Retrying(
            retry=retry_if_result(bool),
            stop=stop_after_attempt(self.caller.policy.attempts),
            wait=wait_random_exponential(multiplier=0.2 * self.caller.policy.wait_scale, max=5),
            retry_error_callback=lambda _state: [],
        )
        retrying(self._update_round, sobject, list(patches), results)
        return [results[lead_id] for lead_id, _ in patches]

    def _update_round(
        self,
        sobject: str,
        patches: list[tuple[str, Mapping[str, Any]]],
        results: dict[str, WriteResult],
    ) -> list[tuple[str, Mapping[str, Any]]]:
        todo = [
            p for p in patches if p[0] not in results or results[p[0]].outcome is WriteOutcome.RETRY
        ]
        for start in range(0, len(todo), COLLECTION_MAX):
            chunk = todo[start : start + COLLECTION_MAX]
            for result in self._patch_chunk(sobject, chunk):
                results[result.lead_id] = result
        return [p for p in todo if results[p[0]].outcome is WriteOutcome.RETRY]

    def _patch_chunk(
        self, sobject: str, chunk: list[tuple[str, Mapping[str, Any]]]
    ) -> list[WriteResult]:
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": sobject}, "id": i, **f} for i, f in chunk],
        }

        def send() -> Any:
            sf = self._spend()
            try:
                return sf.restful(
                    "composite/sobjects", method="PATCH", json=body, headers=WRITE_HEADERS
                )
            except (TypeError, ValueError, KeyError, AttributeError):
                # A 2xx body we cannot read: each record's outcome is unknown (retried later).
                return None

        answer = self.caller.call("collections.update", send)
        return save_results([i for i, _ in chunk], answer)


def _page_parts(page: Any) -> tuple[list[dict[str, Any]], str | None]:
    """A page's records and next cursor, refusing shapes the org never sends.

    The cursor must be a path under /services/data/: simple-salesforce puts it
    after the instance host, so anything else could send the token elsewhere.
    """
    if not isinstance(page, dict):
        raise OrgUnavailable("the org answered a query with something that is not a page")
    records = page.get("records", [])
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise OrgUnavailable("the org answered a query page without a list of records")
    next_url = page.get("nextRecordsUrl") or None
    if next_url is not None and (
        not isinstance(next_url, str) or not next_url.startswith("/services/data/")
    ):
        raise OrgUnavailable("the org answered a query page with an unusable nextRecordsUrl")
    return [_strip(r) for r in records], next_url


def save_results(ids: Sequence[str], answer: Any) -> list[WriteResult]:
    """Per-record results of a Collections answer, matched to the ids sent, in order."""
    if not isinstance(answer, list) or len(answer) != len(ids):
        log.warning("sfsync.salesforce.unreadable_save_results", expected=len(ids))
        return [_unknown(i) for i in ids]
    return [_save_result(i, item) for i, item in zip(ids, answer, strict=True)]


def _save_result(lead_id: str, item: Any) -> WriteResult:
    if not isinstance(item, dict):
        return _unknown(lead_id)
    if item.get("success") is True:
        return WriteResult(lead_id, WriteOutcome.WRITTEN)
    errors = item.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = str(first.get("statusCode") or "UNKNOWN_ERROR")
    action = classify_record(code, str(first.get("message", ""))).action
    outcome = WriteOutcome.RETRY if action is Action.RETRY else WriteOutcome.REJECTED
    listed = first.get("fields")
    fields = tuple(str(f) for f in listed) if isinstance(listed, list) else ()
    return WriteResult(lead_id, outcome, code, str(first.get("message", "")), fields)


def _items(answer: Any, expected: int) -> list[Any]:
    return answer if isinstance(answer, list) and len(answer) == expected else [None] * expected


def _with_created_id(result: WriteResult, item: Any) -> WriteResult:
    """An insert's result with the new record's Id."""
    if (
        result.outcome is not WriteOutcome.WRITTEN
        or not isinstance(item, dict)
        or not item.get("id")
    ):
        return result
    return dataclasses.replace(result, created={"id": str(item["id"])})


def _unknown(lead_id: str) -> WriteResult:
    return WriteResult(
        lead_id, WriteOutcome.RETRY, "UNREADABLE_RESPONSE", "the org's answer could not be read"
    )


def _strip(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def parse_datetime(value: Any) -> datetime:
    """A Salesforce dateTime (`2024-05-01T12:34:56.000+0000`) as an aware UTC datetime."""
    if not isinstance(value, str):
        raise OrgUnavailable(f"the org sent a dateTime that is not text: {value!r}")
    text = value.replace("Z", "+0000")
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, pattern).astimezone(UTC)
        except ValueError:
            continue
    raise OrgUnavailable(f"the org sent an unreadable dateTime: {value!r}")


def leads_of(pages: Iterator[list[dict[str, Any]]]) -> Iterator[list[Lead]]:
    """Each page of a Lead query's records as Lead values."""
    for page in pages:
        yield [lead_from_record(r) for r in page]


def lead_from_record(record: Mapping[str, Any]) -> Lead:
    """A Lead value from a query record."""
    lead_id = record.get("Id")
    if not isinstance(lead_id, str):
        raise OrgUnavailable("the org sent a Lead record without an Id")
    return Lead(
        id=lead_id,
        system_modstamp=parse_datetime(record.get("SystemModstamp")),
        values=dict(record),
        is_deleted=bool(record.get("IsDeleted")),
        is_converted=bool(record.get("IsConverted")),
        last_modified_by_id=record.get("LastModifiedById"),
    )


def _object_info(body: Any) -> ObjectInfo:
    if not isinstance(body, dict) or not isinstance(body.get("fields"), list):
        raise OrgUnavailable("describe answered without a field list")
    try:
        return _read_describe(body)
    except (AttributeError, KeyError, TypeError, ValueError):
        raise OrgUnavailable("describe answered fields of an unexpected shape") from None


def _read_describe(body: dict[str, Any]) -> ObjectInfo:
    fields = {}
    for f in body["fields"]:
        picklist = tuple(p["value"] for p in f.get("picklistValues") or () if p.get("active", True))
        fields[f["name"]] = FieldInfo(
            name=f["name"],
            type=f.get("type", ""),
            length=int(f.get("length") or 0),
            updateable=bool(f.get("updateable")),
            nillable=bool(f.get("nillable")),
            picklist=picklist,
            restricted=bool(f.get("restrictedPicklist")),
            reference_to=tuple(str(t) for t in f.get("referenceTo") or ()),
            relationship_name=f.get("relationshipName") or None,
            label=str(f.get("label") or ""),
            createable=bool(f.get("createable", True)),
            defaulted_on_create=bool(f.get("defaultedOnCreate")),
        )
    return ObjectInfo(name=str(body.get("name")), fields=fields)


def instance_host(url: str) -> str:
    """host[:port] of an instance URL, as simple-salesforce keeps it."""
    return urlsplit(url).netloc
