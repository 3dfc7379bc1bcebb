"""The org's side of routing: its users, its queues that accept Leads, the user sfsync acts as.

Read by the sync job (at start with the rest of the org's facts, then once
per sweep period), `sfsync check` and `sfsync routing simulate`: three
queries in one Composite call.
"""

from __future__ import annotations

from typing import Any

from sfsync.connectors.salesforce import SalesforceClient
from sfsync.rules.routing_facts import OrgUser, RoutingOrg

LEAD_QUEUES = "SELECT QueueId FROM QueueSobject WHERE SobjectType = 'Lead'"
QUEUES = "SELECT Id, Name, DeveloperName FROM Group WHERE Type = 'Queue'"
USERS = "SELECT Id, Username, Name, IsActive FROM User"

Rows = list[dict[str, Any]]


def routing_org(client: SalesforceClient) -> RoutingOrg:
    """The org's users, its queues that accept Leads, and the user sfsync acts as.

    The three queries go in one Composite request (one API call while each
    fits a page; more pages cost one call each).
    """
    user_rows, lead_queues, groups = client.query_together([USERS, LEAD_QUEUES, QUEUES])
    return routing_org_from(user_rows, lead_queues, groups, client.integration_user_id())


def routing_org_from(
    user_rows: Rows, lead_queues: Rows, groups: Rows, integration_user_id: str | None
) -> RoutingOrg:
    """The routing org the answers to USERS, LEAD_QUEUES and QUEUES describe."""
    users = tuple(
        OrgUser(str(u["Id"]), str(u.get("Username") or ""), bool(u.get("IsActive")),
                str(u.get("Name") or ""))
        for u in user_rows
    )  # fmt: skip
    accepting = {str(q["QueueId"]) for q in lead_queues}
    queues = {str(g["Name"]): str(g["Id"]) for g in groups if g["Id"] in accepting}
    return RoutingOrg(users, queues, integration_user_id)
