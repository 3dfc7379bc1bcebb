"""The playback transport alone: writes captured and answered, conversions included."""

from __future__ import annotations

import pytest
import requests

from sfsync.connectors.playback import NotInRecording, Playback, recorded_writes
from sfsync.connectors.recording import Exchange, Recording
from sfsync.connectors.soap_xml import LeadConvert, convert_envelope, parse_convert_response
from sfsync.models import WriteOutcome

INSTANCE = "https://org.example.com"
SOAP_URL = f"{INSTANCE}/services/Soap/u/62.0"
LEADS = ["00Q0A0000000022UAA", "00Q0A000000000BUAQ"]


def _envelope() -> bytes:
    converts = [LeadConvert(lead_id=i, converted_status="Closed - Converted") for i in LEADS]
    return convert_envelope("REDACTED", converts, "sfsync")


def _recording(*exchanges: Exchange) -> Recording:
    return Recording(meta={"format": 1}, exchanges=exchanges, outcome=None)


def test_conversions_are_captured_and_answered_with_success() -> None:
    with Playback(_recording()) as playback:
        answer = requests.post(SOAP_URL, data=_envelope(), timeout=5)

    results = parse_convert_response(answer.content, LEADS)
    assert [r.outcome for r in results] == [WriteOutcome.WRITTEN] * 2
    assert all(r.account_id and r.account_id.startswith("001") for r in results)
    assert playback.writes[LEADS[0]]["convertLead"]["convertedStatus"] == "Closed - Converted"


def test_recorded_conversions_count_as_writes_then() -> None:
    recorded = Exchange("POST", SOAP_URL, 200, "<ok/>", request_body=_envelope().decode("utf-8"))

    writes = recorded_writes(_recording(recorded))

    assert set(writes) == set(LEADS)
    assert writes[LEADS[1]]["convertLead"]["doNotCreateOpportunity"] == "false"


def test_collections_writes_are_answered_per_record() -> None:
    body = {"allOrNone": False, "records": [{"id": i, "Rating": "Hot"} for i in LEADS]}
    url = f"{INSTANCE}/services/data/v62.0/composite/sobjects"

    with Playback(_recording()) as playback:
        answer = requests.patch(url, json=body, timeout=5).json()

    assert [a["success"] for a in answer] == [True, True]
    assert playback.writes == {i: {"Rating": "Hot"} for i in LEADS}


def test_reads_repeat_their_last_recorded_answer_and_misses_are_named() -> None:
    url = f"{INSTANCE}/services/data/v62.0/limits"
    first = Exchange("GET", url, 503, '{"error": "busy"}', content_type="application/json")
    second = Exchange("GET", url, 200, '{"ok": true}', content_type="application/json")

    with Playback(_recording(first, second)):
        statuses = [requests.get(url, timeout=5).status_code for _ in range(3)]
        with pytest.raises(NotInRecording, match=r"GET /services/data/v62\.0/sobjects is not in"):
            requests.get(f"{INSTANCE}/services/data/v62.0/sobjects", timeout=5)

    assert statuses == [503, 200, 200]
