"""SOAP `merge` over HTTPS: requests in, results or faults out, records merged once."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from sfsync.emulator.merge import MergeRequest
from sfsync.emulator.org import Org
from sfsync.emulator.soap_envelope import SoapFault
from sfsync.emulator.soap_merge import read_merge_request
from tests.emulator.server_kit import Api, OrgIds

SOAP_PATH = "/services/Soap/u/62.0"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
URN = "urn:partner.soap.sforce.com"
ENS = "urn:sobject.partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
HEADERS = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}


def merge_request(master: str, *victims: str, sobject: str = "Lead", fields: str = "") -> str:
    """A `request`: masterRecord (type, Id, `fields`) and the ids to merge into it."""
    ids = "".join(f"<urn:recordToMergeIds>{v}</urn:recordToMergeIds>" for v in victims)
    return (
        f"<urn:request><urn:masterRecord><ens:type>{sobject}</ens:type><ens:Id>{master}</ens:Id>"
        f"{fields}</urn:masterRecord>{ids}</urn:request>"
    )


def envelope(token: str, *requests: str) -> str:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:urn="{URN}" xmlns:ens="{ENS}" '
        f'xmlns:xsi="{XSI}"><soapenv:Header><urn:SessionHeader><urn:sessionId>{token}'
        "</urn:sessionId></urn:SessionHeader></soapenv:Header>"
        f"<soapenv:Body><urn:merge>{''.join(requests)}</urn:merge></soapenv:Body>"
        "</soapenv:Envelope>"
    )


def post(api: Api, *requests: str) -> Any:
    data = envelope(api.emu.credentials.access_token, *requests)
    return api.post(SOAP_PATH, data=data.encode(), headers=HEADERS)


def results(response: Any) -> list[dict[str, Any]]:
    """Each `result` of a mergeResponse; repeated id elements as lists, nil as None."""
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    found = root.findall(f"./{{{ENV}}}Body/{{{URN}}}mergeResponse/{{{URN}}}result")
    return [_result(r) for r in found]


def _result(element: ET.Element) -> dict[str, Any]:
    values: dict[str, Any] = {"errors": [], "mergedRecordIds": [], "updatedRelatedIds": []}
    for child in element:
        name = child.tag.rpartition("}")[2]
        if name == "errors":
            values["errors"].append({c.tag.rpartition("}")[2]: c.text for c in child})
        elif name in ("mergedRecordIds", "updatedRelatedIds"):
            values[name].append(child.text)
        else:
            values[name] = None if child.get(f"{{{XSI}}}nil") == "true" else child.text
    return values


def fault(response: Any) -> tuple[str | None, str | None]:
    assert response.status_code == 500, response.text
    found = ET.fromstring(response.content).find(f"./{{{ENV}}}Body/{{{ENV}}}Fault")
    assert found is not None
    return found.findtext("faultcode"), found.findtext("faultstring")


def el(name: str, value: str) -> str:
    return f"<ens:{name}>{value}</ens:{name}>"


def snapshot(org: Org) -> dict[str, dict[str, Any]]:
    return {name: dict(table) for name, table in org.tables.items()}


@pytest.fixture
def related(org: Org, ids: OrgIds) -> dict[str, str]:
    """A Task and campaign memberships on leads[1] and leads[2]; the master is leads[0]."""
    master, first, second = ids.leads[:3]
    campaigns = org.load("Campaign", [{"Name": "Webinar"}, {"Name": "Expo"}])
    tasks = org.load(
        "Task",
        [
            {"WhoId": first, "OwnerId": ids.rep, "Subject": "Call"},
            {"WhoId": master, "OwnerId": ids.rep, "Subject": "Own"},
        ],
    )
    members = org.load(
        "CampaignMember",
        [
            {"CampaignId": campaigns[0], "LeadId": second},  # moves to the master
            {"CampaignId": campaigns[1], "LeadId": second},  # the master is a member already
            {"CampaignId": campaigns[1], "LeadId": master},
        ],
    )
    return {"task": tasks[0], "moved": members[0], "twin": members[1], "own": members[2]}


def test_a_merge_keeps_the_master_deletes_the_others_and_moves_their_records(
    api: Api, org: Org, ids: OrgIds, related: dict[str, str]
) -> None:
    master, first, second = ids.leads[:3]
    before = org.tables["Lead"][master]["SystemModstamp"]
    fields = (
        "<ens:fieldsToNull>Phone</ens:fieldsToNull>"
        + el("Title", "VP &amp; Founder")
        + el("NumberOfEmployees", "40")
        + el("HasOptedOutOfEmail", "true")
    )
    response = post(api, merge_request(master, first, second[:15], fields=fields))
    (answer,) = results(response)

    assert answer == {
        "errors": [],
        "id": master,
        "mergedRecordIds": [first, second],
        "success": "true",
        "updatedRelatedIds": [related["task"], related["moved"]],
    }
    kept = org.tables["Lead"][master]
    assert (kept["Title"], kept["Phone"], kept["NumberOfEmployees"]) == ("VP & Founder", None, 40)
    assert kept["HasOptedOutOfEmail"] is True and kept["IsDeleted"] is False
    assert kept["SystemModstamp"] >= before and kept["LastModifiedById"] == ids.integration
    for victim in (first, second):
        gone = org.tables["Lead"][victim]
        assert (gone["IsDeleted"], gone["MasterRecordId"]) == (True, master)
        assert gone["SystemModstamp"] == kept["SystemModstamp"]
    assert org.tables["Task"][related["task"]]["WhoId"] == master
    assert org.tables["Task"][related["task"]]["LastModifiedById"] == ids.integration
    assert org.tables["CampaignMember"][related["moved"]]["LeadId"] == master
    assert org.tables["CampaignMember"][related["twin"]]["IsDeleted"] is True
    assert org.tables["CampaignMember"][related["own"]]["IsDeleted"] is False
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=1/")


def test_query_all_shows_who_absorbed_the_merged_records(api: Api, ids: OrgIds) -> None:
    master, first = ids.leads[:2]
    results(post(api, merge_request(master, first)))
    soql = f"SELECT Id, IsDeleted, MasterRecordId FROM Lead WHERE Id IN ('{master}', '{first}')"
    live = api.query(soql).json()["records"]
    every = api.get("queryAll", params={"q": soql}).json()["records"]
    assert [r["Id"] for r in live] == [master]
    assert {r["Id"]: (r["IsDeleted"], r["MasterRecordId"]) for r in every} == {
        master: (False, None),
        first: (True, master),
    }


def test_merging_the_same_records_again_is_refused_as_deleted(
    api: Api, org: Org, ids: OrgIds
) -> None:
    master, first = ids.leads[:2]
    (once,) = results(post(api, merge_request(master, first)))
    (again,) = results(post(api, merge_request(master, first)))
    assert once["success"] == "true"
    assert (again["success"], again["id"], again["mergedRecordIds"]) == ("false", master, [])
    assert again["errors"] == [{"message": "entity is deleted", "statusCode": "ENTITY_IS_DELETED"}]
    merges = [e for e in org.history if e.operation == "merge" and e.record_id == master]
    assert len(merges) == 1


def test_each_request_of_a_call_stands_alone_in_input_order(
    api: Api, org: Org, ids: OrgIds
) -> None:
    a, b, c, d = ids.leads[:4]
    answers = results(post(api, merge_request(a, b), merge_request(c, c), merge_request(d, c)))
    assert [(x["id"], x["success"]) for x in answers] == [(a, "true"), (c, "false"), (d, "true")]
    assert answers[1]["errors"][0]["statusCode"] == "INVALID_ID_FIELD"
    assert org.tables["Lead"][c]["MasterRecordId"] == d


def _converted(org: Org, lead_id: str) -> None:
    org.tables["Lead"][lead_id] = {**org.tables["Lead"][lead_id], "IsConverted": True}


def _deleted(org: Org, lead_id: str) -> None:
    org.tables["Lead"][lead_id] = {**org.tables["Lead"][lead_id], "IsDeleted": True}


Setup = Callable[[Org, OrgIds], str]
NULL_LAST_NAME = "<ens:fieldsToNull>LastName</ens:fieldsToNull>"
REFUSALS: list[tuple[str, Setup, str]] = [
    ("master deleted",
     lambda o, i: (_deleted(o, i.leads[0]), merge_request(i.leads[0], i.leads[1]))[1],
     "ENTITY_IS_DELETED"),
    ("victim deleted",
     lambda o, i: (_deleted(o, i.leads[1]), merge_request(i.leads[0], i.leads[1]))[1],
     "ENTITY_IS_DELETED"),
    ("master converted",
     lambda o, i: (_converted(o, i.leads[0]), merge_request(i.leads[0], i.leads[1]))[1],
     "CANNOT_UPDATE_CONVERTED_LEAD"),
    ("victim converted",
     lambda o, i: (_converted(o, i.leads[2]), merge_request(i.leads[0], i.leads[1], i.leads[2]))[1],
     "CANNOT_UPDATE_CONVERTED_LEAD"),
    ("itself", lambda o, i: merge_request(i.leads[0], i.leads[0][:15]), "INVALID_ID_FIELD"),
    ("three to merge", lambda o, i: merge_request(*i.leads[:4]), "FIELD_INTEGRITY_EXCEPTION"),
    ("none to merge", lambda o, i: merge_request(i.leads[0]), "FIELD_INTEGRITY_EXCEPTION"),
    ("named twice", lambda o, i: merge_request(i.leads[0], i.leads[1], i.leads[1][:15]),
     "FIELD_INTEGRITY_EXCEPTION"),
    ("another type", lambda o, i: merge_request(i.leads[0], i.rep), "INVALID_ID_FIELD"),
    ("master of another type", lambda o, i: merge_request(i.rep, i.leads[0]), "INVALID_ID_FIELD"),
    ("malformed", lambda o, i: merge_request(i.leads[0], "00Qnot-an-id"), "MALFORMED_ID"),
    ("unknown", lambda o, i: merge_request(i.leads[0], "00Q0A0000000ZZZ"),
     "INVALID_CROSS_REFERENCE_KEY"),
    ("no master id", lambda o, i: merge_request("", i.leads[1]), "INVALID_ID_FIELD"),
    ("read-only field", lambda o, i: merge_request(*i.leads[:2], fields=el("IsConverted", "true")),
     "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ("unknown field", lambda o, i: merge_request(*i.leads[:2], fields=el("Colour", "red")),
     "INVALID_FIELD"),
    ("too long", lambda o, i: merge_request(*i.leads[:2], fields=el("FirstName", "x" * 41)),
     "STRING_TOO_LONG"),
    ("required emptied",
     lambda o, i: merge_request(*i.leads[:2], fields=NULL_LAST_NAME),
     "REQUIRED_FIELD_MISSING"),
    ("bad number", lambda o, i: merge_request(*i.leads[:2], fields=el("NumberOfEmployees", "many")),
     "JSON_PARSER_ERROR"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "setup", "code"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_request_changes_nothing(
    api: Api, org: Org, ids: OrgIds, name: str, setup: Setup, code: str
) -> None:
    request = setup(org, ids)
    before, history = snapshot(org), len(org.history)
    (answer,) = results(post(api, request))
    assert (answer["success"], answer["mergedRecordIds"]) == ("false", [])
    assert [e["statusCode"] for e in answer["errors"]] == [code]
    assert snapshot(org) == before
    assert len(org.history) == history


def test_org_rules_do_not_block_a_merge(api: Api, org: Org, ids: OrgIds) -> None:
    """Duplicates share an email: the blocking duplicate rule would refuse any update [INF]."""
    master, first = ids.leads[:2]
    org.tables["Lead"][first] = {**org.tables["Lead"][first], "Email": "lead0@example.com"}
    org.settings.duplicate_rule_blocks_email = True
    (answer,) = results(post(api, merge_request(master, first, fields=el("Title", "CTO"))))
    assert answer["success"] == "true"
    assert org.tables["Lead"][master]["OwnerId"] == ids.rep  # no assignment rule either


def test_contacts_merge_with_their_tasks_and_campaigns(api: Api, org: Org, ids: OrgIds) -> None:
    master, victim = org.load(
        "Contact",
        [{"LastName": "Ada", "OwnerId": ids.rep}, {"LastName": "Ada", "OwnerId": ids.rep}],
    )
    campaign = org.load("Campaign", [{"Name": "Webinar"}])[0]
    task = org.load("Task", [{"WhoId": victim, "OwnerId": ids.rep}])[0]
    member = org.load("CampaignMember", [{"CampaignId": campaign, "ContactId": victim}])[0]
    (answer,) = results(post(api, merge_request(master, victim, sobject="Contact")))
    assert answer["updatedRelatedIds"] == [task, member]
    assert org.tables["Task"][task]["WhoId"] == master
    assert org.tables["CampaignMember"][member]["ContactId"] == master
    assert org.tables["Contact"][victim]["MasterRecordId"] == master


def test_accounts_merge_with_their_contacts_and_opportunities(
    api: Api, org: Org, ids: OrgIds
) -> None:
    master, victim = org.load(
        "Account", [{"Name": "Acme", "OwnerId": ids.rep}, {"Name": "ACME", "OwnerId": ids.rep}]
    )
    contact = org.load("Contact", [{"LastName": "Ada", "AccountId": victim, "OwnerId": ids.rep}])
    deal = org.load(
        "Opportunity",
        [{"Name": "D", "AccountId": victim, "StageName": "Prospecting", "OwnerId": ids.rep}],
    )
    (answer,) = results(
        post(api, merge_request(master, victim, sobject="Account", fields=el("Website", "a.io")))
    )
    assert answer["updatedRelatedIds"] == [contact[0], deal[0]]
    assert org.tables["Contact"][contact[0]]["AccountId"] == master
    assert org.tables["Opportunity"][deal[0]]["AccountId"] == master
    assert org.tables["Account"][master]["Website"] == "a.io"


def test_a_locked_row_refuses_one_request_only(api: Api, org: Org, ids: OrgIds) -> None:
    api.emu.faults.script("lock_row", path_contains="/Soap/")
    locked, merged = results(
        post(api, merge_request(*ids.leads[:2]), merge_request(*ids.leads[2:4]))
    )
    assert locked["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert (locked["id"], merged["success"]) == (ids.leads[0], "true")
    assert not org.tables["Lead"][ids.leads[1]]["IsDeleted"]


FAULTS: list[tuple[str, Callable[[OrgIds], list[str]], str, str]] = [
    ("too many", lambda i: [merge_request(*i.leads[:2])] * 201, "sf:LIMIT_EXCEEDED", "200"),
    ("none", lambda i: [], "soapenv:Client", "at least one"),
    ("opportunity", lambda i: [merge_request(*i.leads[:2], sobject="Opportunity")],
     "sf:INVALID_TYPE_FOR_OPERATION", "does not support merge"),
    ("unknown type", lambda i: [merge_request(*i.leads[:2], sobject="Widget__c")],
     "sf:INVALID_TYPE", "Widget__c"),
    ("no type", lambda i: [merge_request(*i.leads[:2]).replace("<ens:type>Lead</ens:type>", "")],
     "sf:INVALID_TYPE", "concrete entity type"),
    ("no masterRecord", lambda i: [f"<urn:request><urn:recordToMergeIds>{i.leads[1]}"
                                   "</urn:recordToMergeIds></urn:request>"],
     "sf:INVALID_TYPE", "concrete entity type"),
    ("unknown element", lambda i: [merge_request(*i.leads[:2]).replace(
        "</urn:request>", "<urn:colour>red</urn:colour></urn:request>")],
     "sf:INVALID_FIELD", "colour"),
    ("not a request", lambda i: ["<urn:mergeRequest/>"], "sf:INVALID_FIELD", "mergeRequest"),
    ("related record", lambda i: [merge_request(
        *i.leads[:2], fields="<ens:Owner><ens:Name>x</ens:Name></ens:Owner>")],
     "sf:INVALID_FIELD", "Owner"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "build", "code", "wording"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_malformed_call_is_a_fault_and_merges_nothing(
    api: Api, org: Org, ids: OrgIds, name: str, build: Any, code: str, wording: str
) -> None:
    before = snapshot(org)
    code_seen, message = fault(post(api, *build(ids)))
    assert code_seen == code
    assert wording in (message or "")
    assert snapshot(org) == before


def parsed(*children: str) -> MergeRequest:
    xml = (
        f'<urn:request xmlns:urn="{URN}" xmlns:ens="{ENS}" xmlns:xsi="{XSI}">'
        f"{''.join(children)}</urn:request>"
    )
    return read_merge_request(ET.fromstring(xml))


MASTER = "<urn:masterRecord><ens:type>Lead</ens:type>{}</urn:masterRecord>"
IDS = (
    "<urn:recordToMergeIds> A </urn:recordToMergeIds><urn:recordToMergeIds>B</urn:recordToMergeIds>"
)


@pytest.mark.parametrize(
    ("children", "expected"),
    [
        ((MASTER.format("<ens:Id> M </ens:Id>"), IDS), MergeRequest("Lead", "M", ("A", "B"), {})),
        ((MASTER.format(""),), MergeRequest("Lead", None, (), {})),
        # Field values keep their spaces; nil and fieldsToNull both clear a field.
        ((MASTER.format('<ens:Title> VP </ens:Title><ens:Phone xsi:nil="true"/>'
                        "<ens:fieldsToNull>City</ens:fieldsToNull><ens:Email/>"),),
         MergeRequest("Lead", None, (), {"Title": " VP ", "Phone": None, "City": None,
                                         "Email": ""})),
        # sObject children in the partner namespace or none are read too [INF].
        (("<urn:masterRecord><urn:type>Contact</urn:type><Id>C</Id><LastName>L</LastName>"
          "</urn:masterRecord>",), MergeRequest("Contact", "C", (), {"LastName": "L"})),
        (("<urn:additionalInformationMap/>", MASTER.format("")),
         MergeRequest("Lead", None, (), {})),
    ],
)  # fmt: skip
def test_read_merge_request(children: tuple[str, ...], expected: MergeRequest) -> None:
    assert parsed(*children) == expected


def test_read_merge_request_refuses_a_foreign_element() -> None:
    with pytest.raises(SoapFault, match="namespace 'urn:x'"):
        parsed(MASTER.format(""), '<x:recordToMergeIds xmlns:x="urn:x">A</x:recordToMergeIds>')
