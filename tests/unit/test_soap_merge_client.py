"""The SOAP merge client: the exact envelope, answers, input checks, unknown outcomes settled."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
import responses
from structlog.testing import capture_logs

from sfsync.connectors.http import SalesforceSession, UsageMeter
from sfsync.connectors.retry import RetryingCaller, RetryPolicy
from sfsync.connectors.soap_merge import (
    MergeOutcome,
    MergeRequest,
    merge_records,
    recheck_query,
    resolve_unknown,
)
from sfsync.connectors.soap_merge_xml import (
    NOT_APPLIED,
    NOT_SENT,
    OUTCOME_UNKNOWN,
    UNREADABLE_RESPONSE,
    merge_envelope,
    parse_merge_response,
)
from sfsync.errors import ApiLimitReached, OrgUnavailable
from sfsync.models import WriteOutcome

INSTANCE = "https://org.example.com"
URL = f"{INSTANCE}/services/Soap/u/62.0"
TOKEN = "00D000000000001!AQ4AQ.first-token_xyz"
MASTER, DUP_A, DUP_B = "00Q0A0000000001UAA", "00Q0A0000000002UAA", "00Q0A0000000003UAA"
TASK = "00T0A0000000001UAA"
CONTACT_1, CONTACT_2 = "0030A0000000001QAA", "0030A0000000002QAA"
ENV, URN = "http://schemas.xmlsoap.org/soap/envelope/", "urn:partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PAIR = MergeRequest(MASTER, (DUP_A,))

# -- the request ---------------------------------------------------------------------------

GOLDEN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:urn="urn:partner.soap.sforce.com" xmlns:ens="urn:sobject.partner.soap.sforce.com">'
    "<soapenv:Header>"
    "<urn:SessionHeader><urn:sessionId>00D!a&lt;b</urn:sessionId></urn:SessionHeader>"
    "<urn:CallOptions><urn:client>sfsync &amp; co</urn:client></urn:CallOptions>"
    "</soapenv:Header><soapenv:Body><urn:merge>"
    "<urn:request><urn:masterRecord><ens:type>Lead</ens:type>"
    "<ens:fieldsToNull>Phone</ens:fieldsToNull><ens:Id>00Q0A0000000001UAA</ens:Id>"
    "<ens:Title>R&amp;D &lt;lead&gt;</ens:Title>"
    "<ens:HasOptedOutOfEmail>true</ens:HasOptedOutOfEmail>"
    "<ens:NumberOfEmployees>40</ens:NumberOfEmployees><ens:AnnualRevenue>1.5</ens:AnnualRevenue>"
    "<ens:ConvertedDate>2025-03-01</ens:ConvertedDate>"
    "<ens:EmailBouncedDate>2025-03-01T10:00:00+00:00</ens:EmailBouncedDate>"
    "</urn:masterRecord><urn:recordToMergeIds>00Q0A0000000002UAA</urn:recordToMergeIds>"
    "<urn:recordToMergeIds>00Q0A0000000003UAA</urn:recordToMergeIds></urn:request>"
    "<urn:request><urn:masterRecord><ens:type>Contact</ens:type>"
    "<ens:Id>0030A0000000001QAA</ens:Id></urn:masterRecord>"
    "<urn:recordToMergeIds>0030A0000000002QAA</urn:recordToMergeIds></urn:request>"
    "</urn:merge></soapenv:Body></soapenv:Envelope>"
)
FULL = MergeRequest(
    MASTER,
    (DUP_A, DUP_B),
    fields={
        "Phone": None,
        "Title": "R&D <lead>",
        "HasOptedOutOfEmail": True,
        "NumberOfEmployees": 40,
        "AnnualRevenue": 1.5,
        "ConvertedDate": date(2025, 3, 1),
        "EmailBouncedDate": datetime(2025, 3, 1, 10, tzinfo=UTC),
    },
)


def test_the_envelope_is_exactly_the_partner_apis() -> None:
    contacts = MergeRequest(CONTACT_1, (CONTACT_2,), sobject="Contact")
    assert merge_envelope("00D!a<b", [FULL, contacts], "sfsync & co").decode() == GOLDEN


def test_characters_xml_cannot_carry_are_dropped() -> None:
    request = MergeRequest(MASTER, (DUP_A,), fields={"Title": "VP\x00\x1f of\x0bSales"})
    assert "<ens:Title>VP ofSales</ens:Title>" in merge_envelope("t", [request], "c").decode()


@pytest.mark.parametrize(
    ("kwargs", "wording"),
    [
        ({"merge_ids": ()}, "1 to 2 records"),
        ({"merge_ids": (DUP_A, DUP_B, "00Q0A0000000004UAA")}, "1 to 2 records"),
        ({"merge_ids": (MASTER[:15],)}, "distinct"),
        ({"merge_ids": (DUP_A, DUP_A[:15])}, "distinct"),
        ({"merge_ids": ("00Q<x/>",)}, "not a Salesforce id"),
        ({"master_id": "nope"}, "not a Salesforce id"),
        ({"sobject": "Opportunity"}, "Opportunity"),
        ({"fields": {"Title></ens:Title><ens:OwnerId": "005"}}, "not a field"),
        ({"fields": {"Id": DUP_A}}, "not a field"),
        ({"fields": {"fieldsToNull": "Title"}}, "not a field"),
        ({"fields": {"AnnualRevenue": float("nan")}}, "finite"),
        ({"fields": {"EmailBouncedDate": datetime(2025, 3, 1)}}, "timezone-aware"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(kwargs: dict[str, Any], wording: str) -> None:
    values: dict[str, Any] = {"master_id": MASTER, "merge_ids": (DUP_A,), **kwargs}
    with pytest.raises(ValueError, match=wording):
        MergeRequest(**values)


def test_a_request_is_a_frozen_hashable_value() -> None:
    fields = {"Title": "VP"}
    request = MergeRequest(MASTER, [DUP_A], fields=fields)  # type: ignore[arg-type]
    fields["Title"] = "changed"
    assert request.merge_ids == (DUP_A,) and request.fields == {"Title": "VP"}
    assert hash(request) == hash(MergeRequest(MASTER, (DUP_A,), fields={"Title": "VP"}))


# -- the answer ----------------------------------------------------------------------------


def answer(*results: str) -> bytes:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns="{URN}" xmlns:xsi="{XSI}"><soapenv:Body>'
        f"<mergeResponse>{''.join(results)}</mergeResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()


def ok(master: str, *merged: str, related: tuple[str, ...] = ()) -> str:
    return (
        f"<result><id>{master}</id>"
        + "".join(f"<mergedRecordIds>{i}</mergedRecordIds>" for i in merged)
        + "<success>true</success>"
        + "".join(f"<updatedRelatedIds>{i}</updatedRelatedIds>" for i in related)
        + "</result>"
    )


def failed(master: str | None, code: str, message: str = "no", fields: str = "") -> str:
    id_element = f"<id>{master}</id>" if master else '<id xsi:nil="true"/>'
    return (
        f"<result><errors>{fields}<message>{message}</message><statusCode>{code}</statusCode>"
        f"</errors>{id_element}<success>false</success></result>"
    )


def brief(outcomes: Sequence[MergeOutcome]) -> list[tuple[WriteOutcome, str | None]]:
    return [(o.outcome, o.error_code) for o in outcomes]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (answer(ok(MASTER, DUP_A)), [(WriteOutcome.WRITTEN, None)]),
        (answer(ok(MASTER[:15], DUP_A)), [(WriteOutcome.WRITTEN, None)]),
        (answer(failed(None, "FIELD_INTEGRITY_EXCEPTION")),
         [(WriteOutcome.REJECTED, "FIELD_INTEGRITY_EXCEPTION")]),
        (answer(failed(MASTER, "CANNOT_UPDATE_CONVERTED_LEAD")),
         [(WriteOutcome.REJECTED, "CANNOT_UPDATE_CONVERTED_LEAD")]),
        # Our own earlier merge shows itself this way: re-read before judging.
        (answer(failed(MASTER, "ENTITY_IS_DELETED")), [(WriteOutcome.RETRY, "ENTITY_IS_DELETED")]),
        (answer(failed(MASTER, "UNABLE_TO_LOCK_ROW")),
         [(WriteOutcome.RETRY, "UNABLE_TO_LOCK_ROW")]),
        (answer(ok(DUP_B, DUP_A)), [(WriteOutcome.RETRY, UNREADABLE_RESPONSE)]),
        (answer('<result><success>true</success></result>'),
         [(WriteOutcome.RETRY, UNREADABLE_RESPONSE)]),
        (answer(), [(WriteOutcome.RETRY, UNREADABLE_RESPONSE)]),
        (answer(ok(MASTER, DUP_A))[:60], [(WriteOutcome.RETRY, UNREADABLE_RESPONSE)]),
        (b'<!DOCTYPE x [<!ENTITY a "a">]><x>&a;</x>', [(WriteOutcome.RETRY, UNREADABLE_RESPONSE)]),
    ],
    ids=["merged", "id15", "refused-nil-id", "converted", "deleted", "locked", "other-master",
         "no-id", "no-result", "truncated", "dtd"],
)  # fmt: skip
def test_parse_merge_response(body: bytes, expected: list[tuple[WriteOutcome, str | None]]) -> None:
    assert brief(parse_merge_response(body, [PAIR])) == expected


def test_a_parsed_answer_carries_ids_messages_and_fields() -> None:
    body = answer(
        ok(MASTER, DUP_A, DUP_B, related=(TASK,)),
        failed(MASTER, "STRING_TOO_LONG", "Title: too long", "<fields>Title</fields>"),
    )
    both = MergeRequest(MASTER, (DUP_A, DUP_B))
    merged, refused = parse_merge_response(body, [both, PAIR])
    assert (merged.merged_ids, merged.updated_related_ids, merged.master_id) == (
        (DUP_A, DUP_B),
        (TASK,),
        MASTER,
    )
    assert (refused.message, refused.fields, refused.needs_check) == (
        "Title: too long",
        ("Title",),
        False,
    )


# -- settling unknown outcomes -------------------------------------------------------------


def unknown(request: MergeRequest = PAIR, code: str = OUTCOME_UNKNOWN) -> MergeOutcome:
    return MergeOutcome(request, WriteOutcome.RETRY, error_code=code)


def row(record_id: str, deleted: bool, master: str | None) -> dict[str, Any]:
    return {"Id": record_id, "IsDeleted": deleted, "MasterRecordId": master}


BOTH = MergeRequest(MASTER, (DUP_A, DUP_B))


@pytest.mark.parametrize(
    ("outcome", "rows", "expected"),
    [
        (unknown(), [row(DUP_A, True, MASTER)], (WriteOutcome.WRITTEN, None)),
        (unknown(), [row(DUP_A, True, MASTER[:15])], (WriteOutcome.WRITTEN, None)),
        (unknown(), [row(DUP_A, False, None)], (WriteOutcome.RETRY, NOT_APPLIED)),
        (unknown(), [], (WriteOutcome.RETRY, NOT_APPLIED)),
        (unknown(BOTH), [row(DUP_A, True, MASTER), row(DUP_B, False, None)],
         (WriteOutcome.RETRY, NOT_APPLIED)),
        (unknown(BOTH), [row(DUP_A, True, MASTER), row(DUP_B, True, MASTER)],
         (WriteOutcome.WRITTEN, None)),
        (unknown(code="ENTITY_IS_DELETED"), [row(DUP_A, True, MASTER)],
         (WriteOutcome.WRITTEN, None)),
        # Deleted, or merged into another record: not ours, and not worth sending again.
        (unknown(code="ENTITY_IS_DELETED"), [row(DUP_A, True, None)],
         (WriteOutcome.REJECTED, "ENTITY_IS_DELETED")),
        (unknown(code="ENTITY_IS_DELETED"), [row(DUP_A, True, DUP_B)],
         (WriteOutcome.REJECTED, "ENTITY_IS_DELETED")),
        (unknown(code="ENTITY_IS_DELETED"), [row(DUP_A, False, None)],
         (WriteOutcome.REJECTED, "ENTITY_IS_DELETED")),
        (MergeOutcome(PAIR, WriteOutcome.REJECTED, error_code="MALFORMED_ID"),
         [row(DUP_A, True, MASTER)], (WriteOutcome.REJECTED, "MALFORMED_ID")),
    ],
)  # fmt: skip
def test_resolve_unknown(
    outcome: MergeOutcome, rows: list[dict[str, Any]], expected: tuple[WriteOutcome, str | None]
) -> None:
    (settled,) = resolve_unknown([outcome], rows)
    assert (settled.outcome, settled.error_code) == expected
    if settled.outcome is WriteOutcome.WRITTEN:
        assert settled.merged_ids == tuple(r["Id"] for r in rows)


def test_the_recheck_query_reads_deletion_and_master() -> None:
    soql = recheck_query("Contact", [CONTACT_1, CONTACT_2])
    assert soql.startswith("SELECT Id, SystemModstamp, IsDeleted, LastModifiedById, MasterRecordId")
    assert soql.endswith(f"FROM Contact WHERE Id IN ('{CONTACT_1}', '{CONTACT_2}')")


# -- the call -----------------------------------------------------------------------------


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


class Recheck:
    """The re-read: answers with the given rows and remembers the queries."""

    def __init__(self, rows: Sequence[Mapping[str, Any]] = (), fail: bool = False) -> None:
        self.rows, self.fail = rows, fail
        self.queries: list[str] = []

    def __call__(self, soql: str) -> Sequence[Mapping[str, Any]]:
        self.queries.append(soql)
        if self.fail:
            raise OrgUnavailable("query failed")
        return self.rows


def run(
    merges: Sequence[MergeRequest], recheck: Any = None, budget: int | None = None
) -> list[MergeOutcome]:
    calls = 0

    def token() -> str:
        nonlocal calls
        calls += 1
        if budget is not None and calls > budget:
            raise ApiLimitReached("API budget reached")
        return TOKEN

    caller = RetryingCaller(RetryPolicy(attempts=3, wait_scale=0.0), lambda: None)
    with SalesforceSession(timeout=5, client_name="worker-7", meter=UsageMeter()) as session:
        return merge_records(
            session, caller, INSTANCE, "62.0", token, merges,
            client_name="worker-7", recheck=recheck,
        )  # fmt: skip


LOST = [
    {"body": requests.ConnectionError("Connection aborted: RemoteDisconnected")},
    {"body": requests.ReadTimeout("read timed out")},
    {"body": "<html>Bad Gateway</html>", "status": 502},
]


@pytest.mark.parametrize("lost", LOST, ids=["dropped", "read-timeout", "502-page"])
def test_a_lost_answer_is_never_resent(mock: responses.RequestsMock, lost: dict[str, Any]) -> None:
    mock.post(URL, **lost)
    with capture_logs() as logs:
        outcomes = run([PAIR, BOTH])
    assert brief(outcomes) == [(WriteOutcome.RETRY, OUTCOME_UNKNOWN)] * 2
    assert [e["event"] for e in logs] == ["sfsync.salesforce.merge_outcome_unknown"]


def test_a_recheck_reads_each_object_once_and_settles(mock: responses.RequestsMock) -> None:
    mock.post(URL, body=requests.ReadTimeout("read timed out"))
    contacts = MergeRequest(CONTACT_1, (CONTACT_2,), sobject="Contact")
    recheck = Recheck([row(DUP_A, True, MASTER), row(CONTACT_2, False, None)])
    outcomes = run([PAIR, contacts, MergeRequest(DUP_B, (DUP_A,))], recheck=recheck)
    assert brief(outcomes) == [
        (WriteOutcome.WRITTEN, None),
        (WriteOutcome.RETRY, NOT_APPLIED),
        (WriteOutcome.RETRY, NOT_APPLIED),  # DUP_A went into MASTER, not into DUP_B
    ]
    assert recheck.queries == [
        recheck_query("Lead", [DUP_A]),
        recheck_query("Contact", [CONTACT_2]),
    ]


def test_a_failed_recheck_keeps_the_outcomes_marked(mock: responses.RequestsMock) -> None:
    mock.post(URL, body=requests.ConnectionError("Connection aborted"))
    outcomes = run([PAIR], recheck=Recheck(fail=True))
    assert brief(outcomes) == [(WriteOutcome.RETRY, OUTCOME_UNKNOWN)]
    assert outcomes[0].needs_check


def test_more_than_two_hundred_go_in_calls_of_two_hundred(mock: responses.RequestsMock) -> None:
    merges = [MergeRequest(f"00Q0B{n:010d}", (f"00Q0C{n:010d}",)) for n in range(201)]
    mock.post(URL, body=answer(*(ok(m.master_id) for m in merges[:200])))
    mock.post(URL, body=answer(ok(merges[200].master_id)))
    outcomes = run(merges)
    assert {o.outcome for o in outcomes} == {WriteOutcome.WRITTEN}
    sent = [len(re.findall("<urn:request>", c.request.body.decode())) for c in mock.calls]
    assert sent == [200, 1]


def test_a_later_call_stopped_by_the_budget_keeps_earlier_outcomes(
    mock: responses.RequestsMock,
) -> None:
    merges = [MergeRequest(f"00Q0B{n:010d}", (f"00Q0C{n:010d}",)) for n in range(201)]
    mock.post(URL, body=answer(*(ok(m.master_id) for m in merges[:200])))
    outcomes = run(merges, budget=1)
    assert brief(outcomes[199:]) == [(WriteOutcome.WRITTEN, None), (WriteOutcome.RETRY, NOT_SENT)]


def test_a_refusal_of_the_whole_call_raises_naming_merge(mock: responses.RequestsMock) -> None:
    fault = (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}"><soapenv:Body><soapenv:Fault>'
        "<faultcode>sf:INVALID_TYPE_FOR_OPERATION</faultcode>"
        "<faultstring>entity type does not support merge</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    mock.post(URL, body=fault, status=500)
    with pytest.raises(OrgUnavailable, match=r"^merge fault INVALID_TYPE_FOR_OPERATION"):
        run([PAIR])
