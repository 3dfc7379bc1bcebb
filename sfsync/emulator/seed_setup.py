"""The org's set-up: lead statuses, users and queues, made a little before the first lead."""

from __future__ import annotations

from sfsync.emulator.org import Record
from sfsync.emulator.seed_context import DAY, SeedContext, Staff, stamp
from sfsync.emulator.seed_pools import Name

# (MasterLabel, IsDefault, IsConverted), in SortOrder.
LEAD_STATUSES: tuple[tuple[str, bool, bool], ...] = (
    ("Open - Not Contacted", True, False),
    ("Working - Contacted", False, False),
    ("Nurturing", False, False),
    ("Marketing Qualified", False, False),
    ("Closed - Converted", False, True),
    ("Closed - Not Converted", False, False),
)
STATUS_NAMES = tuple(s[0] for s in LEAD_STATUSES)
CONVERTED_STATUS = "Closed - Converted"
DEFAULT_STATUS = "Open - Not Contacted"

# Queue name -> the objects it may own. The last one takes cases only.
QUEUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Lead Intake", ("Lead",)),
    ("Marketing Nurture", ("Lead",)),
    ("EMEA Sales", ("Lead",)),
    ("APAC Sales", ("Lead",)),
    ("Support Tier 1", ("Case",)),
)
CASE_ONLY_QUEUE = "Support Tier 1"

INTEGRATION_USERNAME = "integration@sfsync.example.com"
USER_DOMAIN = "sfsync-demo.example.com"
SETUP_AGE_DAYS = 400

# (time zone, language, name locale, title) of each active sales user.
REPS: tuple[tuple[str, str, str, str], ...] = (
    ("America/Los_Angeles", "en_US", "en_US", "Account Executive"),
    ("America/Los_Angeles", "en_US", "en_US", "Sales Development Representative"),
    ("America/Los_Angeles", "en_US", "en_US", "Sales Manager"),
    ("America/New_York", "en_US", "en_US", "Account Executive"),
    ("America/New_York", "en_US", "en_US", "Sales Development Representative"),
    ("America/New_York", "es", "es_ES", "Account Executive"),
    ("Europe/London", "en_US", "en_GB", "Regional Sales Director"),
    ("Europe/London", "en_US", "en_GB", "Account Executive"),
    ("Europe/Berlin", "de", "de_DE", "Account Executive"),
    ("Europe/Berlin", "de", "de_DE", "Sales Development Representative"),
    ("Europe/Paris", "fr", "fr_FR", "Account Executive"),
    ("Asia/Tokyo", "ja", "ja_JP", "Account Executive"),
    ("Australia/Sydney", "en_US", "en_GB", "Account Executive"),
    ("America/Sao_Paulo", "pt_BR", "pt_BR", "Marketing Operations Manager"),
)  # fmt: skip
INACTIVE: tuple[tuple[str, str, str, str], ...] = (
    ("America/Los_Angeles", "en_US", "en_US", "Account Executive"),
    ("America/New_York", "en_US", "en_US", "Sales Development Representative"),
    ("Europe/London", "en_US", "en_GB", "Account Executive"),
    ("Europe/Berlin", "de", "de_DE", "Sales Manager"),
)  # fmt: skip


def add_statuses(ctx: SeedContext, admin_id: str) -> None:
    """The LeadStatus rows: the default lifecycle plus Nurturing and Marketing Qualified."""
    when = ctx.ago(SETUP_AGE_DAYS * DAY)
    for order, (label, default, converted) in enumerate(LEAD_STATUSES, start=1):
        row = {"ApiName": label, "MasterLabel": label, "SortOrder": order,
               "IsDefault": default, "IsConverted": converted}  # fmt: skip
        ctx.add("LeadStatus", stamp(row, when, when, admin_id, admin_id))


def add_users(ctx: SeedContext) -> Staff:
    """~20 users: an admin, the integration user, sales reps and a few who have left."""
    admin = _user(ctx, ("America/Los_Angeles", "en_US", "en_US", "System Administrator"), "IT")
    admin["CreatedById"] = admin["LastModifiedById"] = admin["Id"]
    integration = _integration_user(ctx, admin["Id"])
    reps = [_user(ctx, profile, "Sales", admin["Id"]) for profile in REPS]
    inactive = [_user(ctx, profile, "Sales", admin["Id"], active=False) for profile in INACTIVE]
    emea = [r["Id"] for r in reps if str(r["TimeZoneSidKey"]).startswith("Europe/")]
    return Staff(
        admin_id=admin["Id"],
        integration_id=integration["Id"],
        rep_ids=[r["Id"] for r in reps],
        inactive_ids=[r["Id"] for r in inactive],
        emea_rep_ids=emea,
    )


def add_queues(ctx: SeedContext, admin_id: str) -> dict[str, str]:
    """The queues (Groups of Type Queue) and the objects each may own (QueueSobject)."""
    when = ctx.ago(SETUP_AGE_DAYS * DAY)
    ids: dict[str, str] = {}
    for name, objects in QUEUES:
        developer = name.replace(" ", "_")
        row = {"Name": name, "DeveloperName": developer, "Type": "Queue",
               "Email": f"{developer.lower()}@{USER_DOMAIN}"}  # fmt: skip
        ids[name] = ctx.add("Group", stamp(row, when, when, admin_id, admin_id))["Id"]
        for sobject in objects:
            ctx.add("QueueSobject", {"QueueId": ids[name], "SobjectType": sobject,
                                     "SystemModstamp": when})  # fmt: skip
    return ids


def _integration_user(ctx: SeedContext, admin_id: str) -> Record:
    when = ctx.ago(SETUP_AGE_DAYS * DAY)
    row = {
        "Username": INTEGRATION_USERNAME, "FirstName": "sfsync", "LastName": "Integration",
        "Name": "sfsync Integration", "Email": INTEGRATION_USERNAME, "Alias": "sfsync",
        "IsActive": True, "TimeZoneSidKey": "America/Los_Angeles", "LanguageLocaleKey": "en_US",
        "Department": "IT", "Title": "Integration User", "UserType": "Standard",
    }  # fmt: skip
    return ctx.add("User", stamp(row, when, when, admin_id, admin_id))


def _user(
    ctx: SeedContext,
    profile: tuple[str, str, str, str],
    department: str,
    admin_id: str = "",
    *,
    active: bool = True,
) -> Record:
    time_zone, language, locale, title = profile
    first, last = _user_name(ctx, locale)
    username = f"{first.ascii}.{last.ascii}@{USER_DOMAIN}"
    created = ctx.ago(SETUP_AGE_DAYS * DAY + ctx.rng.randint(0, 300) * DAY)
    modified = created if active else ctx.ago(ctx.rng.randint(30, 300) * DAY)
    row = {
        "Username": username, "FirstName": first.display, "LastName": last.display,
        "Email": username, "Alias": (first.ascii[:1] + last.ascii)[:8], "IsActive": active,
        "TimeZoneSidKey": time_zone, "LanguageLocaleKey": language,
        "Department": department, "Title": title, "UserType": "Standard",
    }  # fmt: skip
    return ctx.add("User", stamp(row, created, modified, admin_id, admin_id))


def _user_name(ctx: SeedContext, locale: str) -> tuple[Name, Name]:
    """A user name not taken by another user (usernames are unique in Salesforce)."""
    while True:
        first: Name = ctx.rng.choice(ctx.pools.first[locale])
        last: Name = ctx.rng.choice(ctx.pools.last[locale])
        if ctx.people.claim(first.ascii, last.ascii, USER_DOMAIN):
            return first, last
