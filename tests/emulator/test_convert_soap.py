"""SOAP `convertLead` over HTTPS: envelopes in, results or faults out, the org changed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from sfsync.emulator.convert import LeadConvert
from sfsync.emulator.org import Org
from sfsync.emulator.soap_convert import read_lead_convert
from tests.emulator.server_kit import Api, OrgIds

SOAP_PATH = "/services/Soap/u/62.0"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
URN = "urn:partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
CONVERTED = "Closed - Converted"
HEADERS = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}


def lead_convert(lead_id: str, *extra: str, status: str = CONVERTED) -> str:
    """A leadConverts in schema order; `extra` elements are placed after leadId."""
    return (
        f"<urn:leadConverts><urn:convertedStatus>{status}</urn:convertedStatus>"
        f"<urn:leadId>{lead_id}</urn:leadId>{''.join(extra)}</urn:leadConverts>"
    )


def envelope(token: str, *converts: str) -> str:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:urn="{URN}" xmlns:xsi="{XSI}">'
        f"<soapenv:Header><urn:SessionHeader><urn:sessionId>{token}</urn:sessionId>"
        "</urn:SessionHeader><urn:CallOptions><urn:client>tests</urn:client></urn:CallOptions>"
        f"</soapenv:Header><soapenv:Body><urn:convertLead>{''.join(converts)}"
        "</urn:convertLead></soapenv:Body></soapenv:Envelope>"
    )


def post(api: Api, *converts: str, body: str | None = None) -> Any:
    data = envelope(api.emu.credentials.access_token, *converts) if body is None else body
    return api.post(SOAP_PATH, data=data.encode(), headers=HEADERS)


def results(response: Any) -> list[dict[str, Any]]:
    """Each `result` of a convertLeadResponse as a dict; nil elements are None."""
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    found = root.findall(f"./{{{ENV}}}Body/{{{URN}}}convertLeadResponse/{{{URN}}}result")
    return [_result(r) for r in found]


def _result(element: ET.Element) -> dict[str, Any]:
    values: dict[str, Any] = {"errors": []}
    for child in element:
        name = child.tag.rpartition("}")[2]
        if name == "errors":
            values["errors"].append({c.tag.rpartition("}")[2]: c.text for c in child})
        else:
            nil = child.get(f"{{{XSI}}}nil") == "true"
            values[name] = None if nil else child.text
    return values


def fault(response: Any) -> tuple[str | None, str | None]:
    assert response.status_code == 500, response.text
    root = ET.fromstring(response.content)
    found = root.find(f"./{{{ENV}}}Body/{{{ENV}}}Fault")
    assert found is not None
    return found.findtext("faultcode"), found.findtext("faultstring")


def converted(org: Org, lead_id: str) -> bool:
    return bool(org.tables["Lead"][lead_id]["IsConverted"])


def test_a_mixed_batch_answers_each_lead_in_input_order(api: Api, org: Org, ids: OrgIds) -> None:
    first, refused, last = ids.leads[:3]
    response = post(
        api,
        lead_convert(first),
        lead_convert(refused, status="Working - Contacted"),
        lead_convert(last[:15]),
    )
    answers = results(response)
    assert [(a["leadId"], a["success"]) for a in answers] == [
        (first, "true"),
        (refused, "false"),
        (last, "true"),
    ]
    assert answers[1]["errors"] == [
        {"fields": "convertedStatus", "message": "invalid convertedStatus: Working - Contacted",
         "statusCode": "INVALID_STATUS"}
    ]  # fmt: skip
    assert (answers[1]["accountId"], answers[1]["contactId"]) == (None, None)
    assert [converted(org, i) for i in (first, refused, last)] == [True, False, True]
    lead = org.tables["Lead"][first]
    assert (answers[0]["accountId"], answers[0]["opportunityId"]) == (
        lead["ConvertedAccountId"],
        lead["ConvertedOpportunityId"],
    )
    assert lead["LastModifiedById"] == ids.integration
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=1/")
    assert "<current>1</current>" in response.text


@pytest.mark.parametrize(
    ("extra", "opportunity"),
    [
        ((), True),
        (("<urn:doNotCreateOpportunity>true</urn:doNotCreateOpportunity>",), True),
        (("<urn:opportunityName>Deal</urn:opportunityName>",), True),
        (("<urn:overwriteLeadSource>true</urn:overwriteLeadSource>",), True),
        (("<urn:sendNotificationEmail>1</urn:sendNotificationEmail>",), True),
    ],
    ids=["plain", "doNotCreate-after-leadId", "name", "overwrite", "notify"],
)
def test_elements_after_lead_id(
    api: Api, org: Org, ids: OrgIds, extra: tuple[str, ...], opportunity: bool
) -> None:
    # doNotCreateOpportunity comes before leadId in the schema: sent after it, it is skipped.
    (answer,) = results(post(api, lead_convert(ids.leads[0], *extra)))
    assert answer["success"] == "true"
    assert (answer["opportunityId"] is not None) == opportunity


def test_do_not_create_opportunity_in_sequence(api: Api, org: Org, ids: OrgIds) -> None:
    body = (
        "<urn:leadConverts><urn:convertedStatus>Closed - Converted</urn:convertedStatus>"
        "<urn:doNotCreateOpportunity>true</urn:doNotCreateOpportunity>"
        f'<urn:leadId>{ids.leads[0]}</urn:leadId><urn:ownerId xsi:nil="true"/>'
        "</urn:leadConverts>"
    )
    (answer,) = results(post(api, body))
    assert (answer["success"], answer["opportunityId"]) == ("true", None)


def test_values_are_unescaped_and_messages_escaped(api: Api, org: Org, ids: OrgIds) -> None:
    name = "<urn:opportunityName>R&amp;D &lt;2025&gt;</urn:opportunityName>"
    answers = results(
        post(
            api,
            lead_convert(ids.leads[0], name),
            lead_convert(ids.leads[1], status="A&amp;B &lt;x&gt;"),
        )
    )
    opportunity = org.tables["Opportunity"][answers[0]["opportunityId"]]
    assert opportunity["Name"] == "R&D <2025>"
    assert answers[1]["errors"][0]["message"] == "invalid convertedStatus: A&B <x>"


def test_a_queue_owned_lead_needs_an_owner(api: Api, org: Org, ids: OrgIds) -> None:
    lead_id = ids.leads[0]
    org.tables["Lead"][lead_id] = {**org.tables["Lead"][lead_id], "OwnerId": ids.queue}
    owner = f"<urn:ownerId>{ids.rep}</urn:ownerId>"
    refused, accepted = results(post(api, lead_convert(lead_id), lead_convert(lead_id, owner)))
    assert refused["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert accepted["success"] == "true"
    assert org.tables["Account"][accepted["accountId"]]["OwnerId"] == ids.rep


def test_a_converted_lead_is_refused_by_rest_and_by_a_second_convert(
    api: Api, org: Org, ids: OrgIds
) -> None:
    lead_id = ids.leads[0]
    results(post(api, lead_convert(lead_id)))
    patched = api.patch(f"sobjects/Lead/{lead_id}", json={"Title": "VP"})
    assert patched.status_code == 400
    assert patched.json()[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    (again,) = results(post(api, lead_convert(lead_id)))
    assert again["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


FLAG = "overwriteLeadSource"
FAULTS = [
    ("too many", lambda i: [lead_convert(i)] * 101, "sf:LIMIT_EXCEEDED", "max"),
    ("none", lambda i: [], "soapenv:Client", "at least one"),
    ("unknown element", lambda i: [lead_convert(i, "<urn:colour>red</urn:colour>")],
     "sf:INVALID_FIELD", "colour"),
    ("foreign namespace", lambda i: [lead_convert(i, '<x:ownerId xmlns:x="urn:x">1</x:ownerId>')],
     "sf:INVALID_FIELD", "ownerId"),
    ("not leadConverts", lambda i: ["<urn:leads/>"], "sf:INVALID_FIELD", "leads"),
    ("bad boolean", lambda i: [lead_convert(i, f"<urn:{FLAG}>yes</urn:{FLAG}>")],
     "soapenv:Client", "xsd:boolean"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "converts", "code", "wording"), FAULTS, ids=[f[0] for f in FAULTS]
)
def test_a_malformed_call_is_a_fault_and_converts_nothing(
    api: Api, org: Org, ids: OrgIds, name: str, converts: Any, code: str, wording: str
) -> None:
    code_seen, message = fault(post(api, *converts(ids.leads[0])))
    assert code_seen == code
    assert wording in (message or "")
    assert not any(lead["IsConverted"] for lead in org.tables["Lead"].values())


@pytest.mark.parametrize(
    "body",
    ["<soapenv:Envelope", '<!DOCTYPE x [<!ENTITY a "aa">]><x>&a;</x>'],
    ids=["truncated", "dtd"],
)
def test_an_unreadable_envelope_has_no_session(api: Api, body: str) -> None:
    response = api.post(SOAP_PATH, data=body.encode(), headers=HEADERS)
    assert fault(response)[0] == "sf:INVALID_SESSION_ID"


def test_an_envelope_without_an_operation_is_a_client_fault(api: Api) -> None:
    body = envelope(api.emu.credentials.access_token).replace(
        "<urn:convertLead></urn:convertLead>", ""
    )
    assert fault(post(api, body=body)) == (
        "soapenv:Client",
        "The SOAP request has no Body operation",
    )


def test_an_operation_the_emulator_lacks_is_a_fault(api: Api) -> None:
    body = envelope(api.emu.credentials.access_token).replace("convertLead", "undelete")
    code, message = fault(post(api, body=body))
    assert code == "soapenv:Client"
    assert "undelete" in (message or "")


def parsed(*children: str) -> LeadConvert:
    namespaces = f'xmlns:urn="{URN}" xmlns:xsi="{XSI}"'
    xml = f"<urn:leadConverts {namespaces}>{''.join(children)}</urn:leadConverts>"
    return read_lead_convert(ET.fromstring(xml))


def el(name: str, value: str) -> str:
    return f"<urn:{name}>{value}</urn:{name}>"


@pytest.mark.parametrize(
    ("children", "expected"),
    [
        ((el("convertedStatus", "S"), el("leadId", "L")), LeadConvert("L", "S")),
        # Out of sequence: skipped, as Salesforce's parser skips it.
        ((el("leadId", "L"), el("convertedStatus", "S")), LeadConvert("L", None)),
        ((el("leadId", "L"), el("doNotCreateOpportunity", "true")), LeadConvert("L", None)),
        ((el("ownerId", "O"), el("accountId", "A")), LeadConvert(None, None, owner_id="O")),
        # A repeated element is out of sequence too: the first one counts.
        ((el("leadId", "L1"), el("leadId", "L2")), LeadConvert("L1", None)),
        ((el("accountId", "A"), el("contactId", "C"), el("leadId", "L"), el("ownerId", "O")),
         LeadConvert("L", None, account_id="A", contact_id="C", owner_id="O")),
        (('<urn:accountId xsi:nil="true"/>', el("leadId", "  L  ")), LeadConvert("L", None)),
        ((el("doNotCreateOpportunity", "1"), el("overwriteLeadSource", "FALSE")),
         LeadConvert(None, None, do_not_create_opportunity=True)),
        ((el("bypassAccountDedupeCheck", "true"), el("sendNotificationEmail", "true")),
         LeadConvert(None, None, bypass_account_dedupe_check=True, send_notification_email=True)),
        (("<urn:contactRecord><urn:LastName>X</urn:LastName></urn:contactRecord>",),
         LeadConvert(None, None, unsupported=("contactRecord",))),
    ],
)  # fmt: skip
def test_read_lead_convert(children: tuple[str, ...], expected: LeadConvert) -> None:
    assert parsed(*children) == expected
