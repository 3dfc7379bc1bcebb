"""The call log: one entry per request, what tests need to know, and never a secret."""

from __future__ import annotations

import time

import jwt

from sfsync.emulator.calllog import CallLog, call_client, safe_query
from tests.emulator.server_kit import Api, OrgIds


def test_one_entry_per_request_with_its_outcome(api: Api, ids: OrgIds) -> None:
    api.emu.calls.clear()
    started = time.monotonic()
    api.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
    api.patch(
        "composite/sobjects",
        json={
            "records": [
                {"attributes": {"type": "Lead"}, "id": i, "Title": "x"} for i in ids.leads[:3]
            ]
        },
        headers={
            "Sforce-Call-Options": "client=sfsync-worker-1; defaultNamespace=x",
            "Sforce-Auto-Assign": "FALSE",
        },
    )
    api.get("/services/data/")
    query, collection, versions = api.emu.calls.entries()
    assert (query.method, query.path, query.status, query.records) == (
        "GET",
        "/services/data/v62.0/query",
        200,
        200,
    )
    assert query.query == "q=SELECT+Id+FROM+Lead"
    assert query.header("Sforce-Query-Options") == "batchSize=200"
    assert collection.records == 3 and collection.client == "sfsync-worker-1"
    assert collection.header("sforce-auto-assign") == "FALSE"
    assert collection.header("Content-Type") == "application/json"
    assert query.counted and collection.counted and not versions.counted
    assert started <= query.time <= collection.time <= versions.time <= time.monotonic()


def test_count_filters_by_method_and_path(api: Api, ids: OrgIds) -> None:
    api.emu.calls.clear()
    api.get("limits")
    api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "x"})
    api.patch(f"sobjects/Lead/{ids.leads[1]}", json={"Title": "y"})
    calls = api.emu.calls
    assert len(calls) == 3
    assert calls.count() == 3
    assert calls.count(method="patch") == 2
    assert calls.count(path_contains="/limits") == 1
    assert calls.count(method="GET", path_contains="/sobjects/") == 0
    assert calls[0].path.endswith("/limits")


def test_no_secret_reaches_the_log(api: Api) -> None:
    creds = api.emu.credentials
    client = {"client_id": creds.client_id, "client_secret": creds.client_secret}
    password = creds.password + creds.security_token
    forms = [
        {"grant_type": "client_credentials", **client},
        {"grant_type": "password", "username": creds.username, "password": password, **client},
    ]
    tokens = [api.post("/services/oauth2/token", data=form).json() for form in forms]
    claims = {
        "iss": creds.client_id,
        "sub": creds.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 60,
    }
    signed = jwt.encode(claims, creds.private_key_file.read_bytes(), algorithm="RS256")
    # Some clients put grant parameters in the URL: those are redacted too.
    url_form = {"grant_type": "password", "password": "hunter2", "assertion": signed, **client}
    api.post("/services/oauth2/token", params=url_form)
    api.get("limits", headers={"Cookie": f"sid={creds.access_token}"})
    logged = repr(api.emu.calls.entries())
    issued = [t["access_token"] for t in tokens] + [tokens[1]["refresh_token"]]
    secrets = [creds.client_secret, creds.password, creds.security_token, creds.access_token]
    secrets += [signed, "hunter2", *issued]
    assert [s for s in secrets if s in logged] == []
    assert all("authorization" not in {h.lower() for h in e.headers} for e in api.emu.calls)


def test_helpers() -> None:
    assert call_client("client=abc") == "abc"
    assert call_client("defaultNamespace=ns; client = w-1 ") == "w-1"
    assert call_client("") is None
    assert safe_query("q=SELECT+Id") == "q=SELECT+Id"
    assert safe_query("a=1&client_secret=s&Password=p") == (
        "a=1&client_secret=REDACTED&Password=REDACTED"
    )
    assert len(CallLog()) == 0
