"""Bad input, part 3: the connector and the real worker facing broken answers from the org.

What the org (or a proxy in front of it) sends back is input too. Each
answer here is broken on purpose: query pages with records missing their Id
or stamp, wrong types, truncated or non-JSON bodies, cursor loops;
Collections answers of the wrong length or shape; SOAP `convertLead` answers
truncated, in the wrong namespace, without results, or carrying DTD bombs.
The contract: only `SfsyncError` subclasses ever escape (the CLI turns them
into an exit code and one line), or the affected records come back as data
(RETRY / REJECTED with a code) and nothing else is harmed.

Part 1 drives a `SalesforceClient` with `responses` (no network) and
hypothesis-generated bodies; part 2 runs the real worker against the emulator
with `responses` letting everything through except the answer under test,
which is served broken, or fetched from the emulator and then garbled.
Shapes the connector once did not survive have their own fixed cases.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from sfsync.config import load_settings
from sfsync.connectors.failures import Action, classify_record
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.connectors.soap_xml import LeadConvert
from sfsync.emulator.seed import SeededOrg, build_org
from sfsync.emulator.server import Emulator
from sfsync.errors import OrgUnavailable, QueryRestart, SfsyncError
from sfsync.models import Lead, WriteOutcome
from sfsync.store import OutboxKind, OutboxState
from tests.integration import conftest as integration
from tests.integration.conftest import Worker
from tests.integration.helpers import open_leads

INSTANCE = "https://org.example.com"
DATA = f"{INSTANCE}/services/data/v62.0"
QUERY = f"{DATA}/queryAll/"
MORE_PATH = "/services/data/v62.0/query/01gFUZZ-2000"
COLLECTIONS = f"{DATA}/composite/sobjects"
SOAP = f"{INSTANCE}/services/Soap/u/62.0"
LEAD_IDS = ["00Q000000000001AAA", "00Q000000000002AAA", "00Q000000000003AAA"]
STAMP = "2024-05-01T12:34:56.000+0000"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MakeWorker = Callable[..., Worker]
# The integration fixtures: the real worker against the emulator, on SQLite and PostgreSQL.
emulator = integration.emulator
make_worker = integration.make_worker


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test passes: no SF_/SFSYNC_ variable of the machine leaks in."""
    for name in list(os.environ):
        if name.startswith(("SF_", "SFSYNC_")):
            monkeypatch.delenv(name)


def client(attempts: int = 2) -> SalesforceClient:
    """A connector for a static session on a fake instance; retries on, sleeps off."""
    settings = load_settings(
        sf_access_token="00D000000000001!fuzzed-session",
        sf_instance_url=INSTANCE,
        sfsync_retry_wait_scale=0.0,
        sfsync_retry_attempts=attempts,
    )
    return SalesforceClient(settings)


def outcome(call: Callable[[], Any]) -> Any:
    """The call's result, or the SfsyncError it raised; anything else fails the test."""
    try:
        result = call()
    except SfsyncError as exc:
        result = exc
    if currently_in_test_context():  # `--hypothesis-show-statistics` shows the mix
        event(type(result).__name__ if isinstance(result, SfsyncError) else "answered")
    return result


# -- strategies -----------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
GOOD_STAMPS = [
    STAMP,
    "2024-05-01T12:34:56Z",
    "2024-05-01T12:34:56.123Z",
    "2024-05-01T12:34:56+0000",
]
BAD_STAMPS = [
    "2024-13-01T00:00:00.000+0000",
    "2024-05-01T12:34:56.000+9999",
    "2024-05-01",
    "yesterday",
    "",
    "2024-05-01T25:00:00Z",
]


@st.composite
def records(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """A query record, and whether it carries a string Id and a readable SystemModstamp."""
    record: dict[str, Any] = draw(
        st.dictionaries(st.sampled_from(["Company", "IsDeleted", "LastModifiedById"]), json_values)
    )
    good = True
    if draw(st.booleans()):
        record["attributes"] = draw(json_values)
    id_kind = draw(st.sampled_from(["id", "missing", "junk"]))
    if id_kind == "id":
        record["Id"] = draw(st.sampled_from(LEAD_IDS))
    elif id_kind == "junk":
        record["Id"] = draw(json_values.filter(lambda v: not isinstance(v, str)))
    good = good and id_kind == "id"
    stamp_kind = draw(st.sampled_from(["good", "bad", "missing", "junk"]))
    if stamp_kind == "good":
        record["SystemModstamp"] = draw(st.sampled_from(GOOD_STAMPS))
    elif stamp_kind == "bad":
        record["SystemModstamp"] = draw(st.sampled_from(BAD_STAMPS))
    elif stamp_kind == "junk":
        record["SystemModstamp"] = draw(json_values.filter(lambda v: not isinstance(v, str)))
    return record, good and stamp_kind == "good"


@st.composite
def pages(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """A page whose envelope has the documented shape, and whether all its records are good."""
    drawn = draw(st.lists(records(), max_size=4))
    page: dict[str, Any] = {"records": [r for r, _ok in drawn]}
    page.update(draw(st.dictionaries(st.sampled_from(["done", "totalSize"]), json_scalars)))
    if draw(st.booleans()):
        page["nextRecordsUrl"] = draw(st.sampled_from([MORE_PATH, None, ""]))
    return page, all(ok for _r, ok in drawn)


# -- query pages ----------------------------------------------------------------------------------


@FUZZ
@given(first=pages(), body_kind=st.sampled_from(["same", "done"]))
def test_a_query_page_gives_leads_or_a_clear_error(
    first: tuple[dict[str, Any], bool], body_kind: str
) -> None:
    page, good = first
    follows = not page.get("done", True) and bool(page.get("nextRecordsUrl"))
    more = page if body_kind == "same" else {"done": True, "records": []}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, QUERY, json=page)
        mock.add(responses.GET, INSTANCE + MORE_PATH, json=more)

        result = outcome(lambda: list(client().lead_pages("SELECT Id FROM Lead")))

    if not good:
        assert isinstance(result, OrgUnavailable)
        assert "Id" in str(result) or "dateTime" in str(result)
    elif follows and body_kind == "same":
        assert isinstance(result, QueryRestart) and "repeated a query cursor" in str(result)
    else:
        assert not isinstance(result, SfsyncError), result
        leads: list[Lead] = [lead for got in result for lead in got]
        assert [lead.id for lead in leads] == [r["Id"] for r in page["records"]]


@FUZZ
@given(status=st.sampled_from([200, 500, 502, 503]), body=st.binary(max_size=60))
def test_a_body_that_is_not_json_is_retried_then_a_clear_error(status: int, body: bytes) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, QUERY, body=b"<html>" + body, status=status)

        result = outcome(lambda: list(client().lead_pages("SELECT Id FROM Lead")))

        assert isinstance(result, OrgUnavailable) and "gave up after retries" in str(result)
        assert len(mock.calls) == 2  # SFSYNC_RETRY_ATTEMPTS=2: one retry, then stop


@pytest.mark.parametrize("cut", [1, 10, 40, -1])
def test_a_truncated_page_is_retried_then_a_clear_error(cut: int) -> None:
    page = json.dumps({"done": True, "records": [{"Id": LEAD_IDS[0], "SystemModstamp": STAMP}]})
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, QUERY, body=page[:cut])
        mock.add(responses.GET, QUERY, body=page[:cut])

        result = outcome(lambda: list(client().lead_pages("SELECT Id FROM Lead")))

    assert isinstance(result, OrgUnavailable) and "JSONDecodeError" in str(result)


@FUZZ
@given(
    status=st.sampled_from([400, 401, 403, 404, 409, 420, 429, 500, 503]),
    code=st.one_of(
        st.sampled_from(["INVALID_FIELD", "REQUEST_LIMIT_EXCEEDED", "NEW_CODE"]), st.text()
    ),
    message=st.text(max_size=40),
    wrapped=st.booleans(),
)
def test_an_error_answer_of_any_code_is_an_sfsync_error(
    status: int, code: str, message: str, wrapped: bool
) -> None:
    body: Any = {"errorCode": code, "message": message}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, QUERY, json=[body] if wrapped else body, status=status)

        result = outcome(lambda: list(client().lead_pages("SELECT Id FROM Lead")))

    assert isinstance(result, SfsyncError)
    assert "fuzzed-session" not in str(result) and "fuzzed-session" not in result.user_message


BROKEN_PAGES: dict[str, Any] = {
    "a JSON list": [],
    "JSON null": None,
    "records a string": {"done": True, "records": "abc"},
    "records a number": {"done": True, "records": 5},
    "records of numbers": {"done": True, "records": [1, 2]},
    "a list as cursor": {"done": False, "records": [], "nextRecordsUrl": ["x"]},
}


@pytest.mark.parametrize("body", BROKEN_PAGES.values(), ids=BROKEN_PAGES.keys())
def test_a_page_of_the_wrong_shape_is_a_clear_error(body: Any) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, QUERY, body=json.dumps(body), content_type="application/json")

        result = outcome(lambda: list(client().lead_pages("SELECT Id FROM Lead")))

    assert isinstance(result, OrgUnavailable)


@pytest.mark.parametrize("code", [["INVALID_FIELD"], {"a": 1}], ids=["list", "object"])
def test_an_error_code_that_is_not_text_is_a_clear_error(code: Any) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, QUERY, json=[{"errorCode": code, "message": "m"}], status=400)

        result = outcome(lambda: list(client().lead_pages("SELECT Id FROM Lead")))

    assert isinstance(result, SfsyncError)


def test_a_cursor_that_leaves_the_instance_is_refused() -> None:
    first = {"done": False, "records": [], "nextRecordsUrl": ".evil.example/steal"}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, QUERY, json=first)
        mock.add(responses.GET, re.compile(r"https://org\.example\.com\.evil\.example/.*"), json={})

        result = outcome(lambda: list(client().lead_pages("SELECT Id FROM Lead")))
        hosts = {urlsplit(str(c.request.url)).hostname for c in mock.calls}

    assert hosts == {"org.example.com"}
    assert isinstance(result, OrgUnavailable)


# -- Collections answers --------------------------------------------------------------------------

KNOWN_CODES = ["UNABLE_TO_LOCK_ROW", "STRING_TOO_LONG", "ENTITY_IS_DELETED", "SERVER_UNAVAILABLE"]
error_items = st.fixed_dictionaries(
    {},
    optional={
        "statusCode": st.one_of(st.sampled_from(KNOWN_CODES), st.text(max_size=12), st.none()),
        "message": st.one_of(
            st.text(max_size=30), st.just("CANNOT_EXECUTE_FLOW_TRIGGER ... UNABLE_TO_LOCK_ROW")
        ),
        "fields": st.lists(st.text(max_size=8), max_size=2),
    },
)
save_items = st.one_of(
    st.fixed_dictionaries({"success": st.just(True)}, optional={"id": st.text(max_size=18)}),
    st.fixed_dictionaries(
        {"success": st.sampled_from([False, None, "true", 0])},
        optional={
            "errors": st.one_of(
                st.lists(error_items, max_size=2), st.lists(json_scalars, max_size=1)
            )
        },
    ),
    json_scalars,
)
answers = st.one_of(
    st.lists(save_items, min_size=len(LEAD_IDS), max_size=len(LEAD_IDS)),
    st.lists(save_items, max_size=5),
    st.dictionaries(st.text(max_size=6), json_scalars, max_size=2),
    st.text(max_size=10),
)


def expected_write(item: Any) -> tuple[WriteOutcome, str | None]:
    """What one Collections item must become (the failure table decides retry or dead letter)."""
    if not isinstance(item, dict):
        return WriteOutcome.RETRY, "UNREADABLE_RESPONSE"
    if item.get("success") is True:
        return WriteOutcome.WRITTEN, None
    errors = item.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    code = str(first.get("statusCode") or "UNKNOWN_ERROR")
    action = classify_record(code, str(first.get("message", ""))).action
    return (WriteOutcome.RETRY if action is Action.RETRY else WriteOutcome.REJECTED), code


@FUZZ
@given(answer=answers)
def test_a_collections_answer_becomes_one_clear_result_per_record(answer: Any) -> None:
    patches = [(lead_id, {"Rating": "Hot"}) for lead_id in LEAD_IDS]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.add(responses.PATCH, COLLECTIONS, json=answer)

        # One round: a second would resend only the records to retry, which this one
        # mocked answer (for all three) cannot stand for.
        result = outcome(lambda: client(attempts=1).update("Lead", patches))

    assert not isinstance(result, SfsyncError), result
    assert [r.lead_id for r in result] == LEAD_IDS
    if not isinstance(answer, list) or len(answer) != len(LEAD_IDS):
        unreadable: tuple[WriteOutcome, str | None] = (WriteOutcome.RETRY, "UNREADABLE_RESPONSE")
        wanted = [unreadable] * len(LEAD_IDS)
    else:
        wanted = [expected_write(item) for item in answer]
    assert [(r.outcome, r.error_code) for r in result] == wanted


BROKEN_ANSWERS: dict[str, Any] = {
    "a number": 5,
    "true": True,
    "errors a number": [{"success": False, "errors": 5}] * 3,
    "errors an object": [{"success": False, "errors": {"statusCode": "X"}}] * 3,
    "fields a number": [{"success": False, "errors": [{"statusCode": "X", "fields": 5}]}] * 3,
}


@pytest.mark.parametrize("answer", BROKEN_ANSWERS.values(), ids=BROKEN_ANSWERS.keys())
def test_a_collections_answer_of_the_wrong_shape_is_retried(answer: Any) -> None:
    patches = [(lead_id, {"Rating": "Hot"}) for lead_id in LEAD_IDS]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.PATCH, COLLECTIONS, json=answer)

        result = outcome(lambda: client().update("Lead", patches))

    assert not isinstance(result, SfsyncError)
    assert {r.outcome for r in result} <= {WriteOutcome.RETRY, WriteOutcome.REJECTED}


@pytest.mark.parametrize(
    "fields",
    [
        [5],
        [{}],
        [{"name": "Rating", "picklistValues": [{"active": True}]}],
        [{"name": "X", "length": "long"}],
    ],
    ids=["number", "no-name", "picklist-without-value", "length-text"],
)
def test_a_describe_of_the_wrong_shape_is_a_clear_error(fields: list[Any]) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(
            responses.GET, f"{DATA}/sobjects/Lead/describe", json={"name": "Lead", "fields": fields}
        )

        result = outcome(lambda: client().describe("Lead"))

    assert isinstance(result, OrgUnavailable)


# -- SOAP convertLead answers ---------------------------------------------------------------------

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
URN = "urn:partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def soap_result(lead_id: str) -> str:
    return (
        "<result><accountId>001000000000001AAA</accountId><contactId>003000000000001AAA</contactId>"
        f'<leadId>{lead_id}</leadId><opportunityId xsi:nil="true"/><success>true</success></result>'
    )


def soap_answer(results: Sequence[str], namespace: str = URN) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns="{namespace}" xmlns:xsi="{XSI}">'
        f"<soapenv:Body><convertLeadResponse>{''.join(results)}</convertLeadResponse>"
        "</soapenv:Body></soapenv:Envelope>"
    )


GOOD_SOAP = soap_answer([soap_result(i) for i in LEAD_IDS])
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY l0 "lol">'
    + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)
SOAP_VARIANTS: dict[str, Callable[[str], bytes]] = {
    "as is": lambda text: text.encode(),
    "wrong namespace": lambda text: text.replace(URN, "urn:enterprise.soap.sforce.com").encode(),
    "no results": lambda text: soap_answer([]).encode(),
    "a result short": lambda text: soap_answer([soap_result(i) for i in LEAD_IDS[:-1]]).encode(),
    "results rotated": lambda text: soap_answer(
        [soap_result(i) for i in LEAD_IDS[1:] + LEAD_IDS[:1]]
    ).encode(),
    "entity bomb": lambda text: (
        text.replace("<soapenv:Envelope", LAUGHS + "<soapenv:Envelope", 1)
        .replace("<success>true", "<success>&l9;true", 1)
        .encode()
    ),
    "entity bomb in UTF-16": lambda text: (
        LAUGHS + text.split("?>", 1)[1].replace("<success>true", "<success>&l9;true", 1)
    ).encode("utf-16"),
    "external entity": lambda text: (
        ('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + text.split("?>", 1)[1])
        .replace("<success>true", "<success>&e;true", 1)
        .encode()
    ),
    "html page": lambda text: b"<html><body>502 Bad Gateway</body></html>",
    "empty": lambda text: b"",
}


def converts() -> list[LeadConvert]:
    return [LeadConvert(lead_id=i, converted_status="Closed - Converted") for i in LEAD_IDS]


def run_convert(body: bytes, status: int = 200) -> tuple[Any, list[str]]:
    """convert_leads against one answer; the SOQL of the re-reads it made before trusting it.

    The re-read finds the leads not converted (the org never ran this call): safe to resend.
    """
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, SOAP, body=body, status=status, content_type="text/xml")
        mock.add(responses.GET, QUERY, json={"done": True, "totalSize": 0, "records": []})
        result = outcome(lambda: client().convert_leads(converts()))
        rechecked = [
            parse_qs(urlsplit(str(c.request.url)).query)["q"][0]
            for c in mock.calls
            if c.request.method == "GET"
        ]
    return result, rechecked


@pytest.mark.parametrize("variant", SOAP_VARIANTS, ids=SOAP_VARIANTS.keys())
def test_a_garbled_convert_answer_is_rechecked_never_trusted(variant: str) -> None:
    result, rechecked = run_convert(SOAP_VARIANTS[variant](GOOD_SOAP))

    assert [r.lead_id for r in result] == LEAD_IDS
    if variant == "as is":
        assert {r.outcome for r in result} == {WriteOutcome.WRITTEN} and not rechecked
    else:
        assert {(r.outcome, r.error_code) for r in result} == {(WriteOutcome.RETRY, "NOT_APPLIED")}
        assert len(rechecked) == 1 and all(i in rechecked[0] for i in LEAD_IDS)


soap_edits = st.one_of(
    st.tuples(st.just("truncate"), st.integers(min_value=0)),
    st.tuples(st.just("delete"), st.integers(min_value=0)),
    st.tuples(
        st.just("insert"),
        st.integers(min_value=0),
        st.sampled_from(
            ["<", ">", "&", "</result>", "<result>", '"', "\x00", "]]>", "<!--", "&l9;"]
        ),
    ),
)


@FUZZ
@given(edits=st.lists(soap_edits, min_size=1, max_size=3), status=st.sampled_from([200, 500]))
def test_a_fuzzed_convert_answer_never_escapes_as_anything_but_data(
    edits: list[tuple[Any, ...]], status: int
) -> None:
    # After the XML declaration: an unknown encoding named there has its own case below.
    head, _, text = GOOD_SOAP.partition("?>")
    for op in edits:
        pos = int(op[1]) % (len(text) + 1)
        if op[0] == "truncate":
            text = text[:pos]
        elif op[0] == "delete":
            text = text[:pos] + text[pos + 1 :]
        else:
            text = text[:pos] + str(op[2]) + text[pos:]
    text = head + "?>" + text

    result, rechecked = run_convert(text.encode(), status)

    assert not isinstance(result, SfsyncError), result
    assert [r.lead_id for r in result] == LEAD_IDS
    trusted = [r for r in result if r.outcome is WriteOutcome.WRITTEN]
    assert not trusted or status == 200
    assert bool(rechecked) == any(r.error_code == "NOT_APPLIED" for r in result)


def test_a_soap_refusal_with_an_odd_error_code_is_a_clear_error() -> None:
    body = json.dumps([{"errorCode": ["REQUEST_LIMIT_EXCEEDED"], "message": "m"}]).encode()

    result, _rechecked = run_convert(body, status=503)

    assert isinstance(result, SfsyncError)


@pytest.mark.parametrize("status", [200, 500])
@pytest.mark.parametrize("encoding", ["TF-8", "rot13", "mbcs"])
def test_an_answer_in_an_unknown_encoding_is_unreadable_not_a_crash(
    encoding: str, status: int
) -> None:
    body = GOOD_SOAP.replace('encoding="UTF-8"', f'encoding="{encoding}"', 1).encode()

    result, _rechecked = run_convert(body, status)

    assert not isinstance(result, SfsyncError)
    assert {r.error_code for r in result} == {"NOT_APPLIED"}


# -- part 2: the real worker, one answer broken ---------------------------------------------------


@pytest.fixture
def seeded() -> SeededOrg:
    """A small seeded org (some leads convert under the shipped rules)."""
    return build_org(leads=30, seed=7)


@pytest.fixture
def intercept(emulator: Emulator) -> Iterator[responses.RequestsMock]:
    """`responses` in front of the emulator: registered answers are served, the rest go through."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.add_passthru(emulator.instance_url)
        yield mock


def forward(
    emulator: Emulator, request: requests.PreparedRequest
) -> tuple[int, dict[str, str], bytes]:
    """Send the request to the emulator outside of requests (so `responses` lets it be)."""
    body = request.body.encode() if isinstance(request.body, str) else request.body
    headers = {k: v for k, v in request.headers.items() if k.lower() != "accept-encoding"}
    sent = urllib.request.Request(
        str(request.url), data=body, headers=headers, method=request.method
    )
    context = ssl.create_default_context(cafile=str(emulator.ca_file))
    try:
        with urllib.request.urlopen(sent, context=context, timeout=30) as answer:
            return answer.status, {"Content-Type": answer.headers["Content-Type"]}, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, {"Content-Type": refused.headers["Content-Type"]}, refused.read()


def converted_once(emulator: Emulator, lead_ids: Sequence[str]) -> None:
    """Each lead converted, and exactly one Contact created per lead (nothing doubled)."""
    org = emulator.org
    contacts = {str(lead(org, i)["ConvertedContactId"]) for i in lead_ids}
    created = [
        e.record_id
        for e in org.writes_by(emulator.run_as_user_id, "Contact")
        if e.operation == "create"
    ]
    assert all(lead(org, i)["IsConverted"] for i in lead_ids)
    assert len(contacts) == len(lead_ids) and sorted(created) == sorted(contacts)


def lead(org: Any, lead_id: str) -> dict[str, Any]:
    record = org.get("Lead", lead_id)
    assert record is not None
    return dict(record)


def convertible(seeded: SeededOrg, count: int = 3) -> list[str]:
    """Leads the shipped conversion rule converts (Executive title + Inbound source, MQL)."""
    owner = seeded.human_user_ids[0]
    values = {"Title": "CEO", "LeadSource": "Web", "Status": "Marketing Qualified"}
    made = [
        seeded.org.create(
            "Lead", {"LastName": f"Lead {n}", "Company": f"Co {n}", **values}, user_id=owner
        )
        for n in range(count)
    ]
    assert all(m.success and m.id for m in made)
    return sorted(str(m.id) for m in made)


def pending_converts(worker: Worker) -> list[str]:
    return sorted(
        r.lead_id for r in worker.store.outbox(OutboxState.PENDING) if r.kind == OutboxKind.CONVERT
    )


@pytest.mark.parametrize("variant", ["truncated", "wrong namespace", "entity bomb", "html page"])
def test_the_org_converted_but_its_answer_was_garbled_nothing_is_converted_twice(
    emulator: Emulator,
    seeded: SeededOrg,
    make_worker: MakeWorker,
    intercept: responses.RequestsMock,
    variant: str,
) -> None:
    def garble(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = forward(emulator, request)
        text = body.decode()
        broken = {
            "truncated": text[: len(text) // 2],
            "wrong namespace": text.replace(URN, "urn:enterprise.soap.sforce.com"),
            "entity bomb": LAUGHS + text.split("?>", 1)[-1].replace("<success>", "<success>&l9;"),
            "html page": "<html><body>Bad Gateway</body></html>",
        }[variant]
        return status, headers, broken.encode()

    intercept.add_callback(responses.POST, re.compile(r".*/services/Soap/u/.*"), callback=garble)
    wanted = convertible(seeded)
    worker = make_worker()

    report = worker.job.run_once()

    assert report.status == "ok" and report.rejected == 0
    converted = sorted(
        r.lead_id for r in worker.store.outbox(OutboxState.DONE) if r.kind == OutboxKind.CONVERT
    )
    assert set(wanted) <= set(converted)
    converted_once(emulator, converted)
    assert pending_converts(worker) == []


@pytest.mark.parametrize("variant", ["truncated", "no results", "DTD"])
def test_a_convert_answer_lost_before_the_org_ran_it_is_sent_again_next_cycle(
    emulator: Emulator,
    seeded: SeededOrg,
    make_worker: MakeWorker,
    intercept: responses.RequestsMock,
    variant: str,
) -> None:
    body = {
        "truncated": GOOD_SOAP[:100],
        "no results": soap_answer([]),
        "DTD": LAUGHS + "<x>&l9;</x>",
    }[variant]
    intercept.add(responses.POST, re.compile(r".*/services/Soap/u/.*"), body=body)
    wanted = convertible(seeded)
    worker = make_worker()

    first = worker.job.run_once()

    waiting = pending_converts(worker)
    assert first.status == "ok" and first.retry_later == len(waiting)
    assert set(wanted) <= set(waiting)
    codes = {
        r.error_code for w in waiting for r in worker.store.outbox_for(w) if r.kind == "convert"
    }
    assert codes == {"NOT_APPLIED"}  # re-read: the org has not converted them; safe to resend
    assert not any(lead(emulator.org, w)["IsConverted"] for w in waiting)
    intercept.stop()
    second = worker.job.run_once()
    assert second.status == "ok" and second.written >= len(waiting)
    converted_once(emulator, waiting)


COLLECTION_VARIANTS: dict[str, Callable[[list[Any]], Any]] = {
    "one short": lambda items: items[:-1],
    "not a list": lambda items: {"results": items},
    "items not objects": lambda items: ["ok"] * len(items),
    "unknown statusCode": lambda items: (
        [{"success": False, "errors": [{"statusCode": "BRAND_NEW_CODE", "message": "new"}]}]
        * len(items)
    ),
    "errors missing": lambda items: [{"success": False}] * len(items),
}


@pytest.mark.parametrize("variant", COLLECTION_VARIANTS, ids=COLLECTION_VARIANTS.keys())
def test_a_garbled_collections_answer_retries_or_dead_letters_then_settles(
    emulator: Emulator,
    seeded: SeededOrg,
    make_worker: MakeWorker,
    intercept: responses.RequestsMock,
    variant: str,
) -> None:
    def garble(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        body = json.loads(request.body or b"{}")
        items = [{"id": r["id"], "success": True, "errors": []} for r in body["records"]]
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps(COLLECTION_VARIANTS[variant](items)).encode(),
        )

    intercept.add_callback(responses.PATCH, re.compile(r".*/composite/sobjects$"), callback=garble)
    worker = make_worker()

    first = worker.job.run_once()

    # Only conversions (SOAP, not garbled) can land: the leads the rules qualify as MQLs.
    converted = [r for r in worker.store.outbox(OutboxState.DONE) if r.kind == "convert"]
    assert first.status == "ok" and first.written == len(converted)
    dead_codes = {"unknown statusCode": "BRAND_NEW_CODE", "errors missing": "UNKNOWN_ERROR"}
    if variant in dead_codes:  # refused with a code the table does not know: dead letter
        dead = worker.store.outbox(OutboxState.DEAD)
        assert {r.error_code for r in dead} == {dead_codes[variant]}
        assert first.rejected == len(dead) > 0 and first.retry_later == 0
    else:  # unreadable: kept for the next cycle
        waiting = worker.store.outbox(OutboxState.PENDING)
        # Conversions wait, untried, for their lead's update (MQLs convert in the same cycle).
        pending = [r for r in waiting if r.kind == "update"]
        assert {r.error_code for r in waiting if r.kind == "convert"} <= {None}
        assert {r.error_code for r in pending} == {"UNREADABLE_RESPONSE"}
        assert pending and first.retry_later > 0 and first.rejected == 0  # counted once
    intercept.stop()
    worker.store.retry_dead()  # `sfsync dead-letters retry --all`
    second = worker.job.run_once()
    assert second.status == "ok" and worker.store.outbox(OutboxState.DEAD) == []
    assert all(r["Lead_Score__c"] is not None for r in open_leads(seeded.org).values())


def test_a_record_left_for_later_is_sent_and_counted_once_a_cycle(
    emulator: Emulator, make_worker: MakeWorker, intercept: responses.RequestsMock
) -> None:
    unreadable = (200, {"Content-Type": "application/json"}, b'{"not": "a list"}')
    intercept.add_callback(
        responses.PATCH, re.compile(r".*/composite/sobjects$"), callback=lambda _r: unreadable
    )
    worker = make_worker(sfsync_retry_attempts=1)

    first = worker.job.run_once()

    # Conversions wait, untried, for their lead's update: only updates were left for later.
    pending = [r for r in worker.store.outbox(OutboxState.PENDING) if r.kind == "update"]
    sent = [c for c in intercept.calls if c.request.method == "PATCH"]
    assert first.retry_later == len(pending) and len(sent) == 1


@pytest.mark.parametrize(
    "damage",
    [{"Id": None}, {"SystemModstamp": "not a time"}, {"SystemModstamp": None}],
    ids=["no Id", "bad stamp", "no stamp"],
)
def test_a_broken_record_in_a_page_fails_the_run_cleanly_and_the_next_one_catches_up(
    emulator: Emulator,
    seeded: SeededOrg,
    make_worker: MakeWorker,
    intercept: responses.RequestsMock,
    damage: dict[str, Any],
) -> None:
    def garble(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        # The pull's first page rides in a Composite request with engagement's queries.
        status, headers, body = forward(emulator, request)
        answer = json.loads(body)
        for item in answer.get("compositeResponse", []):
            records = item["body"].get("records") if isinstance(item["body"], dict) else None
            if records and records[-1]["attributes"]["type"] == "Lead":
                records[-1].update(damage)
        return status, headers, json.dumps(answer).encode()

    intercept.add_callback(responses.POST, re.compile(r".*/composite$"), callback=garble)
    worker = make_worker()

    with pytest.raises(OrgUnavailable, match=r"Id|dateTime"):
        worker.job.run_once()
    intercept.stop()
    assert [r.status for r in worker.store.recent_runs()] == ["failed"]
    assert worker.store.watermark("lead") is None and worker.store.outbox_counts() == {}
    report = worker.job.run_once()

    assert report.status == "ok"
    assert all(r["Lead_Score__c"] is not None for r in open_leads(seeded.org).values())
