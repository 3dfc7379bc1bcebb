"""The Salesforce HTTP session: Sforce-Limit-Info, timeouts, headers, usage, Retry-After."""

from __future__ import annotations

import pytest
import responses

from sfsync.connectors.http import SalesforceSession, UsageMeter, parse_limit_info
from sfsync.models import ApiUsage

URL = "https://org.example.com/services/data/v62.0/limits"


@pytest.mark.parametrize(
    ("header", "usage"),
    [
        ("api-usage=5/15000", ApiUsage(5, 15000)),
        ("api-usage=5/15000; api-bursts=1/750", ApiUsage(5, 15000)),
        ("api-usage=18/5000; per-app-api-usage=17/250(appName=sample-app)", ApiUsage(18, 5000)),
        ("api-usage=0/0", ApiUsage(0, 0)),
        ("api-usage=149999/150000;api-bursts=3/750", ApiUsage(149999, 150000)),
        (None, None),
        ("", None),
        ("garbage", None),
        ("api-usage=abc/def", None),
        ("api-usage=5/", None),
        ("api-usage=/15000", None),
        ("per-app-api-usage", None),
        pytest.param(
            "per-app-api-usage=17/250(appName=sample-app); api-usage=18/5000",
            ApiUsage(18, 5000),
            id="per-app-segment-first",
        ),
    ],
)
def test_parse_limit_info(header: str | None, usage: ApiUsage | None) -> None:
    assert parse_limit_info(header) == usage


def session(meter: UsageMeter, timeout: float = 12.5) -> SalesforceSession:
    return SalesforceSession(timeout=timeout, client_name="worker-7", meter=meter)


def test_session_sends_call_options_and_a_default_timeout() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(URL, json={})
        mock.post(URL, json={})
        with session(UsageMeter()) as http:
            http.get(URL)
            http.post(URL, json={"a": 1}, timeout=3)
        first, second = mock.calls
    assert first.request.headers["Sforce-Call-Options"] == "client=worker-7"
    assert "worker-7" in first.request.headers["User-Agent"]
    assert first.request.req_kwargs["timeout"] == 12.5
    assert second.request.headers["Sforce-Call-Options"] == "client=worker-7"
    assert second.request.req_kwargs["timeout"] == 3


def test_caller_headers_are_kept_next_to_call_options() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.patch(URL, json={})
        with session(UsageMeter()) as http:
            http.patch(URL, json={}, headers={"Sforce-Auto-Assign": "FALSE"})
        (call,) = mock.calls
    assert call.request.headers["Sforce-Auto-Assign"] == "FALSE"
    assert call.request.headers["Sforce-Call-Options"] == "client=worker-7"


def test_usage_meter_counts_calls_and_keeps_the_latest_usage() -> None:
    meter = UsageMeter()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(URL, json={}, headers={"Sforce-Limit-Info": "api-usage=5/100"})
        mock.get(URL, json={}, headers={"Sforce-Limit-Info": "api-usage=7/100; api-bursts=1/750"})
        mock.get(URL, json={})
        mock.get(URL, json={}, status=500, headers={"Sforce-Limit-Info": "nonsense"})
        with session(meter) as http:
            assert meter.calls == 0 and meter.latest is None
            http.get(URL)
            assert (meter.calls, meter.latest) == (1, ApiUsage(5, 100))
            for _ in range(3):
                http.get(URL)
    assert meter.calls == 4
    assert meter.latest == ApiUsage(7, 100)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (429, "7", 7.0),
        (503, "2.5", 2.5),
        (429, "0", 0.0),
        (503, "-3", 0.0),
        (429, None, None),
        (429, "Wed, 21 Oct 2026 07:28:00 GMT", None),
        (503, "soon", None),
        (500, "7", None),
        (502, "7", None),
        (200, "7", None),
        (403, "7", None),
    ],
)
def test_retry_after_only_for_429_and_503(
    status: int, retry_after: str | None, expected: float | None
) -> None:
    meter = UsageMeter()
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(URL, json={}, status=status, headers=headers)
        with session(meter) as http:
            http.get(URL)
    assert meter.take_retry_after() == expected
    assert meter.take_retry_after() is None


def test_retry_after_is_replaced_by_the_next_answer() -> None:
    meter = UsageMeter()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(URL, json={}, status=429, headers={"Retry-After": "9"})
        mock.get(URL, json={}, status=200)
        with session(meter) as http:
            http.get(URL)
            http.get(URL)
    assert meter.take_retry_after() is None
