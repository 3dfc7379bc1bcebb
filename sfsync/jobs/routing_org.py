"""The org's side of routing: its users, its queues that accept Leads, the user sfsync acts as.

Read by the sync job (at start, then once per sweep period), `sfsync check`
and `sfsync routing simulate`: three queries in one Composite call.
"""

from __future__ import annotations

from sfsync.connectors.salesforce import SalesforceClient
from sfsync.rules.routing_facts import OrgUser, RoutingOrg

LEAD_QUEUES = "SELECT QueueId FROM QueueSobject WHERE SobjectType = 'Lead'"
QUEUES = "SELECT Id, Name FROM Group WHERE Type = 'Queue'"
USERS = "SELECT Id, Username, Name, IsActive FROM User"


def routing_org(client: SalesforceClient) -> RoutingOrg:
    """The org's users, its queues that accept Leads, and the user sfsync acts as.

    The three queries go in one Composite request (one API call while each
    fits a page; more pages cost one call each).
    """
    user_pages, lead_queue_pages, queue_pages = client.pages_together([USERS, LEAD_QUEUES, QUEUES])
    users = tuple(
        OrgUser(str(u["Id"]), str(u.get("Username") or ""), bool(u.get("IsActive")),
                str(u.get("Name") or ""))
        for page in user_pages for u in page
    )  # fmt: skip
    accepting = {str(q["QueueId"]) for page in lead_queue_pages for q in page}
    queues = {
        str(g["Name"]): str(g["Id"]) for page in queue_pages for g in page if g["Id"] in accepting
    }
    return RoutingOrg(users, queues, client.integration_user_id())
