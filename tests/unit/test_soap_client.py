"""The SOAP convertLead client: the exact envelope, answers, faults, retries, unknown outcomes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
import requests
import responses
import urllib3.exceptions
from structlog.testing import capture_logs

from sfsync.connectors.http import SalesforceSession, UsageMeter
from sfsync.connectors.retry import RetryingCaller, RetryPolicy
from sfsync.connectors.soap import (
    NOT_APPLIED,
    NOT_SENT,
    OUTCOME_UNKNOWN,
    UNREADABLE_RESPONSE,
    ConvertResult,
    LeadConvert,
    convert_envelope,
    convert_leads,
    parse_convert_response,
    raise_for_fault,
    recheck_query,
)
from sfsync.errors import (
    ApiLimitReached,
    AuthError,
    OrgUnavailable,
    SessionExpired,
    SfsyncError,
    TransientError,
)
from sfsync.models import WriteOutcome

INSTANCE = "https://org.example.com"
URL = f"{INSTANCE}/services/Soap/u/62.0"
TOKEN = "00D000000000001!AQ4AQ.first-token_xyz"
RENEWED = "00D000000000001!AQ4AQ.renewed-token"
LEAD_A, LEAD_B = "00Q0A0000000001AAA", "00Q0A0000000002AAA"
ACCOUNT, CONTACT, OPPORTUNITY = "0010A0000000001AAA", "0030A0000000001AAA", "0060A0000000001AAA"
ENV, URN = "http://schemas.xmlsoap.org/soap/envelope/", "urn:partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

# -- the request ---------------------------------------------------------------------------

GOLDEN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header>'
    "<urn:SessionHeader><urn:sessionId>00D!a&lt;b&amp;c</urn:sessionId></urn:SessionHeader>"
    "<urn:CallOptions><urn:client>sfsync &amp; co</urn:client></urn:CallOptions>"
    "</soapenv:Header><soapenv:Body><urn:convertLead>"
    "<urn:leadConverts><urn:accountId>001A</urn:accountId><urn:contactId>003C</urn:contactId>"
    "<urn:convertedStatus>Closed &lt;Won&gt; &amp; Done</urn:convertedStatus>"
    "<urn:doNotCreateOpportunity>true</urn:doNotCreateOpportunity>"
    "<urn:leadId>00QA</urn:leadId><urn:opportunityName>R&amp;D &lt;big&gt;</urn:opportunityName>"
    "<urn:overwriteLeadSource>true</urn:overwriteLeadSource><urn:ownerId>005O</urn:ownerId>"
    "<urn:sendNotificationEmail>true</urn:sendNotificationEmail></urn:leadConverts>"
    "<urn:leadConverts><urn:convertedStatus>Closed - Converted</urn:convertedStatus>"
    "<urn:doNotCreateOpportunity>false</urn:doNotCreateOpportunity>"
    "<urn:leadId>00QB</urn:leadId><urn:overwriteLeadSource>false</urn:overwriteLeadSource>"
    "<urn:sendNotificationEmail>false</urn:sendNotificationEmail></urn:leadConverts>"
    "</urn:convertLead></soapenv:Body></soapenv:Envelope>"
)
FULL = LeadConvert(
    lead_id="00QA",
    converted_status="Closed <Won> & Done",
    account_id="001A",
    contact_id="003C",
    owner_id="005O",
    do_not_create_opportunity=True,
    opportunity_name="R&D <big>",
    overwrite_lead_source=True,
    send_notification_email=True,
)
MINIMAL = LeadConvert(lead_id="00QB", converted_status="Closed - Converted")


def test_the_envelope_is_exactly_salesforces() -> None:
    envelope = convert_envelope("00D!a<b&c", [FULL, MINIMAL], "sfsync & co")
    assert envelope.decode() == GOLDEN


def test_the_elements_of_each_lead_convert_are_in_schema_order() -> None:
    root = ET.fromstring(convert_envelope(TOKEN, [FULL], "sfsync"))
    (item,) = root.iter(f"{{{URN}}}leadConverts")
    names = [child.tag.rpartition("}")[2] for child in item]
    assert names == sorted(names) and len(names) == 9
    assert item.findtext(f"{{{URN}}}opportunityName") == "R&D <big>"


def test_characters_xml_cannot_carry_are_dropped() -> None:
    convert = LeadConvert(LEAD_A, "Closed", opportunity_name="a\x00b\x1fc\ufffed")
    root = ET.fromstring(convert_envelope(TOKEN, [convert], "sfsync"))
    assert root.findtext(f".//{{{URN}}}opportunityName") == "abcd"


# -- the answer ----------------------------------------------------------------------------


def ok(lead_id: str, opportunity: str | None = OPPORTUNITY) -> str:
    opp = (
        f"<opportunityId>{opportunity}</opportunityId>"
        if opportunity
        else ('<opportunityId xsi:nil="true"/>')
    )
    return (
        f"<result><accountId>{ACCOUNT}</accountId><contactId>{CONTACT}</contactId>"
        f"<leadId>{lead_id}</leadId>{opp}<success>true</success></result>"
    )


def failed(lead_id: str | None, code: str, message: str, *fields: str) -> str:
    listed = "".join(f"<fields>{f}</fields>" for f in fields)
    lead = f"<leadId>{lead_id}</leadId>" if lead_id else '<leadId xsi:nil="true"/>'
    return (
        '<result><accountId xsi:nil="true"/><contactId xsi:nil="true"/>'
        f"<errors>{listed}<message>{message}</message><statusCode>{code}</statusCode></errors>"
        f'{lead}<opportunityId xsi:nil="true"/><success>false</success></result>'
    )


def answer(*results: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns="{URN}" xmlns:xsi="{XSI}">'
        "<soapenv:Header><LimitInfoHeader><limitInfo><current>7</current><limit>15000</limit>"
        "<type>API REQUESTS</type></limitInfo></LimitInfoHeader></soapenv:Header>"
        f"<soapenv:Body><convertLeadResponse>{''.join(results)}</convertLeadResponse>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def soap_fault(code: str, message: str, detail_code: str | None = None) -> bytes:
    detail = (
        f"<detail><sf:UnexpectedErrorFault><sf:exceptionCode>{detail_code}</sf:exceptionCode>"
        "</sf:UnexpectedErrorFault></detail>"
        if detail_code
        else ""
    )
    return (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:sf="urn:fault.partner.soap.sforce.com">'
        f"<soapenv:Body><soapenv:Fault><faultcode>{code}</faultcode>"
        f"<faultstring>{message}</faultstring>{detail}</soapenv:Fault></soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()


WRITTEN = ConvertResult(LEAD_A, WriteOutcome.WRITTEN, ACCOUNT, CONTACT, OPPORTUNITY)


def unreadable(*lead_ids: str) -> list[tuple[str, WriteOutcome, str | None]]:
    return [(i, WriteOutcome.RETRY, UNREADABLE_RESPONSE) for i in lead_ids]


def brief(results: Sequence[ConvertResult]) -> list[tuple[str, WriteOutcome, str | None]]:
    return [(r.lead_id, r.outcome, r.error_code) for r in results]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (answer(ok(LEAD_A)), [(LEAD_A, WriteOutcome.WRITTEN, None)]),
        (answer(ok(LEAD_A[:15])), [(LEAD_A, WriteOutcome.WRITTEN, None)]),
        (answer(failed(LEAD_A, "UNABLE_TO_LOCK_ROW", "busy")),
         [(LEAD_A, WriteOutcome.RETRY, "UNABLE_TO_LOCK_ROW")]),
        (answer(failed(LEAD_A, "INVALID_STATUS", "invalid convertedStatus: X")),
         [(LEAD_A, WriteOutcome.REJECTED, "INVALID_STATUS")]),
        (answer(failed(None, "CANNOT_UPDATE_CONVERTED_LEAD", "converted")),
         [(LEAD_A, WriteOutcome.RETRY, "CANNOT_UPDATE_CONVERTED_LEAD")]),
        (answer(ok(LEAD_B)), unreadable(LEAD_A)),
        (answer(), unreadable(LEAD_A)),
        (answer(ok(LEAD_A), ok(LEAD_A)), unreadable(LEAD_A)),
        (b"<html>502 Bad Gateway</html>", unreadable(LEAD_A)),
        (b"\x00\xff garbage", unreadable(LEAD_A)),
        (b'<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', unreadable(LEAD_A)),
        (soap_fault("sf:UNKNOWN_EXCEPTION", "boom"), unreadable(LEAD_A)),
    ],
)  # fmt: skip
def test_parse_convert_response(
    body: bytes, expected: list[tuple[str, WriteOutcome, str | None]]
) -> None:
    assert brief(parse_convert_response(body, [LEAD_A])) == expected


def test_a_parsed_answer_carries_ids_nils_messages_and_fields() -> None:
    body = answer(
        ok(LEAD_A),
        ok(LEAD_B, opportunity=None),
        failed(LEAD_A, "REQUIRED_FIELD_MISSING", "a &lt;b&gt;", "ownerId", "OwnerId"),
    )
    first, second, third = parse_convert_response(body, [LEAD_A, LEAD_B, LEAD_A])
    assert first == WRITTEN
    assert (second.account_id, second.opportunity_id) == (ACCOUNT, None)
    assert (third.outcome, third.message, third.fields) == (
        WriteOutcome.REJECTED,
        "a <b>",
        ("ownerId", "OwnerId"),
    )
    assert third.account_id is None


# -- faults -------------------------------------------------------------------------------

JSON = "application/json"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, soap_fault("sf:INVALID_SESSION_ID", "INVALID_SESSION_ID: Illegal"), SessionExpired),
        (500, soap_fault("sf:SERVER_UNAVAILABLE", "busy"), TransientError),
        (500, soap_fault("sf:LIMIT_EXCEEDED", "Too many leadConverts"), OrgUnavailable),
        (500, soap_fault("sf:REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
         ApiLimitReached),
        (500, soap_fault("sf:REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
         TransientError),
        (500, soap_fault("sf:INSUFFICIENT_ACCESS", "no Convert Leads"), AuthError),
        (500, soap_fault("soapenv:Client", "Unable to parse"), OrgUnavailable),
        (500, soap_fault("soapenv:Server", "x", detail_code="INVALID_SESSION_ID"), SessionExpired),
        (503, b'[{"errorCode":"SERVER_UNAVAILABLE","message":"later"}]', TransientError),
        (403, b'[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"ConcurrentPerOrgLongTxn"}]',
         TransientError),
        (403, b'[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"TotalRequests Limit"}]',
         ApiLimitReached),
        (401, b"", SessionExpired),
        (429, b"slow down", TransientError),
        (500, b"<html>Internal Server Error</html>", None),
        (502, b"<html>Bad Gateway</html>", None),
        (504, b"", None),
        (200, answer(ok(LEAD_A)), None),
    ],
)  # fmt: skip
def test_raise_for_fault(status: int, body: bytes, error: type[SfsyncError] | None) -> None:
    if error is None:
        raise_for_fault(status, body)
        return
    with pytest.raises(SfsyncError) as raised:
        raise_for_fault(status, body)
    assert type(raised.value) is error


def test_a_fault_that_echoes_the_session_id_does_not_leak_it() -> None:
    body = soap_fault("sf:INVALID_FIELD", f"bad header {TOKEN} &lt;here&gt;")
    with pytest.raises(OrgUnavailable) as raised:
        raise_for_fault(500, body)
    assert TOKEN not in str(raised.value) and "[session id]" in str(raised.value)


# -- the call -----------------------------------------------------------------------------


class Tokens:
    """The token source: renewing it swaps TOKEN for RENEWED; may refuse after N calls."""

    def __init__(self, refuse_after: int | None = None) -> None:
        self.current = TOKEN
        self.renewals = 0
        self.calls = 0
        self.refuse_after = refuse_after

    def get(self) -> str:
        self.calls += 1
        if self.refuse_after is not None and self.calls > self.refuse_after:
            raise ApiLimitReached("API budget reached")
        return self.current

    def renew(self) -> None:
        self.renewals += 1
        self.current = RENEWED


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def run(
    converts: Sequence[LeadConvert], tokens: Tokens | None = None, recheck: Any = None
) -> list[ConvertResult]:
    tokens = tokens or Tokens()
    caller = RetryingCaller(RetryPolicy(attempts=3, wait_scale=0.0), tokens.renew)
    with SalesforceSession(timeout=5, client_name="worker-7", meter=UsageMeter()) as session:
        return convert_leads(
            session, caller, INSTANCE, "62.0", tokens.get, converts,
            client_name="worker-7", recheck=recheck,
        )  # fmt: skip


def leads(*lead_ids: str) -> list[LeadConvert]:
    return [LeadConvert(i, "Closed - Converted") for i in lead_ids]


def sent_ids(call: Any) -> list[str]:
    return re.findall(r"<urn:leadId>(\w+)</urn:leadId>", call.request.body.decode())


def test_one_call_with_the_session_headers_and_call_options(mock: responses.RequestsMock) -> None:
    mock.post(URL, body=answer(ok(LEAD_A)), content_type="text/xml")
    assert run(leads(LEAD_A)) == [WRITTEN]
    request = mock.calls[0].request
    assert request.headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert request.headers["SOAPAction"] == '""'
    assert request.headers["Sforce-Call-Options"] == "client=worker-7"
    assert f"<urn:sessionId>{TOKEN}</urn:sessionId>" in request.body.decode()
    assert "<urn:client>worker-7</urn:client>" in request.body.decode()


def test_more_than_a_hundred_leads_go_in_calls_of_a_hundred(mock: responses.RequestsMock) -> None:
    ids = [f"00Q0A{n:010d}" for n in range(150)]
    mock.post(URL, body=answer(*(ok(i) for i in ids[:100])))
    mock.post(URL, body=answer(*(ok(i) for i in ids[100:])))
    results = run(leads(*ids))
    assert [r.lead_id for r in results] == ids
    assert [len(sent_ids(c)) for c in mock.calls] == [100, 50]


def test_no_leads_no_call() -> None:
    assert run([]) == []


def test_an_expired_session_is_renewed_once(mock: responses.RequestsMock) -> None:
    tokens = Tokens()
    mock.post(URL, body=soap_fault("sf:INVALID_SESSION_ID", "Invalid Session ID"), status=500)
    mock.post(URL, body=answer(ok(LEAD_A)))
    assert run(leads(LEAD_A), tokens) == [WRITTEN]
    assert tokens.renewals == 1
    assert RENEWED in mock.calls[1].request.body.decode()


def test_a_session_still_invalid_after_renewal_is_an_auth_error(
    mock: responses.RequestsMock,
) -> None:
    for _ in range(2):
        mock.post(URL, body=soap_fault("sf:INVALID_SESSION_ID", "Invalid Session ID"), status=500)
    with pytest.raises(AuthError) as raised:
        run(leads(LEAD_A))
    assert TOKEN not in str(raised.value) and RENEWED not in str(raised.value)


REFUSED = requests.ConnectionError(
    urllib3.exceptions.MaxRetryError(
        None,  # type: ignore[arg-type]
        URL,
        urllib3.exceptions.NewConnectionError(None, "Connection refused"),  # type: ignore[arg-type]
    )
)


@pytest.mark.parametrize(
    "first",
    [
        {"body": soap_fault("sf:SERVER_UNAVAILABLE", "busy"), "status": 500},
        {"json": [{"errorCode": "SERVER_UNAVAILABLE", "message": "later"}], "status": 503},
        {"body": REFUSED},
        {"body": requests.ConnectTimeout("connect timed out")},
    ],
    ids=["fault", "503", "refused", "connect-timeout"],
)
def test_a_call_that_provably_did_not_run_is_retried(
    mock: responses.RequestsMock, first: dict[str, Any]
) -> None:
    mock.post(URL, **first)
    mock.post(URL, body=answer(ok(LEAD_A)))
    assert run(leads(LEAD_A)) == [WRITTEN]


LOST = [
    {"body": requests.ConnectionError("Connection aborted: RemoteDisconnected")},
    {"body": requests.ReadTimeout("read timed out")},
    {"body": "<html>Bad Gateway</html>", "status": 502},
    {"body": "<html>Internal Server Error</html>", "status": 500},
]
LOST_IDS = ["dropped", "read-timeout", "502-page", "500-page"]


@pytest.mark.parametrize("lost", LOST, ids=LOST_IDS)
def test_a_lost_answer_is_never_resent(mock: responses.RequestsMock, lost: dict[str, Any]) -> None:
    mock.post(URL, **lost)
    with capture_logs() as logs:
        results = run(leads(LEAD_A, LEAD_B))
    assert brief(results) == [(i, WriteOutcome.RETRY, OUTCOME_UNKNOWN) for i in (LEAD_A, LEAD_B)]
    assert all(r.needs_check for r in results)
    assert [e["event"] for e in logs] == ["sfsync.salesforce.convert_outcome_unknown"]


class Recheck:
    """The lead re-read: answers with the given rows and remembers the queries."""

    def __init__(self, rows: Sequence[Mapping[str, Any]] = (), fail: bool = False) -> None:
        self.rows = rows
        self.fail = fail
        self.queries: list[str] = []

    def __call__(self, soql: str) -> Sequence[Mapping[str, Any]]:
        self.queries.append(soql)
        if self.fail:
            raise OrgUnavailable("query failed")
        return self.rows


def test_a_recheck_settles_lost_answers(mock: responses.RequestsMock) -> None:
    mock.post(URL, body=requests.ConnectionError("Connection aborted"))
    converted = {"Id": LEAD_A, "IsConverted": True, "ConvertedAccountId": ACCOUNT,
                 "ConvertedContactId": CONTACT, "ConvertedOpportunityId": OPPORTUNITY}  # fmt: skip
    recheck = Recheck([converted, {"Id": LEAD_B, "IsConverted": False}])
    results = run(leads(LEAD_A, LEAD_B), recheck=recheck)
    assert results[0] == WRITTEN
    assert brief(results[1:]) == [(LEAD_B, WriteOutcome.RETRY, NOT_APPLIED)]
    assert recheck.queries == [recheck_query([LEAD_A, LEAD_B])]
    assert "IsConverted" in recheck.queries[0] and f"'{LEAD_B}'" in recheck.queries[0]


def test_a_lead_refused_as_already_converted_is_rechecked_and_settled(
    mock: responses.RequestsMock,
) -> None:
    """An earlier call that timed out here but ran in the org shows up as this refusal."""
    mock.post(URL, body=answer(failed(None, "CANNOT_UPDATE_CONVERTED_LEAD", "converted")))
    converted = {"Id": LEAD_A, "IsConverted": True, "ConvertedAccountId": ACCOUNT,
                 "ConvertedContactId": CONTACT, "ConvertedOpportunityId": OPPORTUNITY}  # fmt: skip
    recheck = Recheck([converted])
    assert run(leads(LEAD_A), recheck=recheck) == [WRITTEN]
    assert recheck.queries == [recheck_query([LEAD_A])]


def test_a_failed_recheck_keeps_the_lost_answers_marked(mock: responses.RequestsMock) -> None:
    mock.post(URL, body=requests.ReadTimeout("read timed out"))
    results = run(leads(LEAD_A), recheck=Recheck(fail=True))
    assert brief(results) == [(LEAD_A, WriteOutcome.RETRY, OUTCOME_UNKNOWN)]


def test_a_readable_answer_needs_no_recheck(mock: responses.RequestsMock) -> None:
    mock.post(URL, body=answer(ok(LEAD_A)))
    recheck = Recheck()
    assert run(leads(LEAD_A), recheck=recheck) == [WRITTEN]
    assert recheck.queries == []


def test_a_later_call_stopped_by_the_budget_keeps_earlier_results(
    mock: responses.RequestsMock,
) -> None:
    ids = [f"00Q0A{n:010d}" for n in range(101)]
    mock.post(URL, body=answer(*(ok(i) for i in ids[:100])))
    results = run(leads(*ids), Tokens(refuse_after=1))
    assert {r.outcome for r in results[:100]} == {WriteOutcome.WRITTEN}
    assert brief(results[100:]) == [(ids[100], WriteOutcome.RETRY, NOT_SENT)]


def test_a_first_call_that_cannot_be_made_raises() -> None:
    with pytest.raises(ApiLimitReached):
        run(leads(LEAD_A), Tokens(refuse_after=0))


def test_a_refusal_of_the_whole_call_raises(mock: responses.RequestsMock) -> None:
    mock.post(URL, body=soap_fault("sf:LIMIT_EXCEEDED", "Too many leadConverts"), status=500)
    with pytest.raises(OrgUnavailable, match="LIMIT_EXCEEDED"):
        run(leads(LEAD_A))


def test_nothing_logged_carries_the_session_id(mock: responses.RequestsMock) -> None:
    mock.post(URL, body=soap_fault("sf:SERVER_UNAVAILABLE", f"busy {TOKEN}"), status=500)
    mock.post(URL, body=b"<garbage")
    with capture_logs() as logs:
        results = run(leads(LEAD_A))
    assert brief(results) == unreadable(LEAD_A)
    assert logs and not any(TOKEN in repr(entry) for entry in logs)
