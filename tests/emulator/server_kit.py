"""Helpers for the HTTPS emulator tests: a small org and an API client for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from sfsync.emulator.org import AssignmentRuleEntry, Org, OrgSettings
from sfsync.emulator.server import Emulator

API = "/services/data/v62.0"
LEADS = 450
STATUSES = [
    {"ApiName": "Open - Not Contacted", "MasterLabel": "Open - Not Contacted",
     "SortOrder": 1, "IsDefault": True},
    {"ApiName": "Working - Contacted", "MasterLabel": "Working - Contacted", "SortOrder": 2},
    {"ApiName": "Closed - Converted", "MasterLabel": "Closed - Converted",
     "SortOrder": 3, "IsConverted": True},
    {"ApiName": "Closed - Not Converted", "MasterLabel": "Closed - Not Converted",
     "SortOrder": 4},
]  # fmt: skip


@dataclass
class OrgIds:
    """Ids of the test org's users and queue."""

    integration: str
    rep: str
    former: str
    queue: str
    leads: list[str]


def _user(name: str, active: bool) -> dict[str, Any]:
    return {
        "Username": f"{name}@sfsync.example",
        "LastName": name.title(),
        "Email": f"{name}@sfsync.example",
        "IsActive": active,
    }


def build_test_org() -> tuple[Org, OrgIds]:
    """Users (one inactive), a Lead queue that the assignment rule routes to, LEADS leads."""
    org = Org(settings=OrgSettings())
    users = org.load(
        "User", [_user(n, a) for n, a in [("integration", True), ("rep", True), ("former", False)]]
    )
    queue = org.load("Group", [{"Name": "Inbound", "Type": "Queue"}])[0]
    org.load("QueueSobject", [{"QueueId": queue, "SobjectType": "Lead"}])
    org.load("LeadStatus", STATUSES)
    leads = org.load(
        "Lead",
        [
            {
                "LastName": f"Lead{i:03d}",
                "Company": f"Co {i}",
                "OwnerId": users[1],
                "Status": "Open - Not Contacted",
                "Email": f"lead{i}@example.com",
            }
            for i in range(LEADS)
        ],
        user_id=users[0],
    )
    org.settings.assignment_rule = [AssignmentRuleEntry(owner_id=queue)]
    return org, OrgIds(users[0], users[1], users[2], queue, leads)


def client_credentials_form(emu: Emulator) -> dict[str, str]:
    """A client-credentials token request for the emulator's connected app."""
    creds = emu.credentials
    return {
        "grant_type": "client_credentials",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }


class Api:
    """A requests session against the emulator, authenticated with its pre-issued token."""

    def __init__(self, emu: Emulator, session: requests.Session) -> None:
        self.emu = emu
        self.session = session
        session.headers["Authorization"] = f"Bearer {emu.credentials.access_token}"

    def url(self, path: str) -> str:
        """`path` under the instance; relative paths are under /services/data/v62.0/."""
        return self.emu.instance_url + (path if path.startswith("/") else f"{API}/{path}")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.url(path), **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def query(self, soql: str, **kwargs: Any) -> requests.Response:
        return self.get("query", params={"q": soql}, **kwargs)


StartEmulator = Callable[..., Api]
