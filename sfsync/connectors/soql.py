"""SOQL text built by pure functions: every literal escaped, every WHERE under its limits.

Lead data ends up in queries (ids, emails), so nothing is ever pasted in
unescaped. An `Id IN (...)` list is chunked so each WHERE clause stays under
Salesforce's 4,000-character literal budget (about 190 quoted 18-char ids).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

MAX_WHERE_CHARS = 4000
ID_SEPARATOR = ", "
# Fields every pull reads whatever the mappings say: identity, change stamp, state.
SYSTEM_FIELDS = (
    "Id",
    "SystemModstamp",
    "IsDeleted",
    "IsConverted",
    "MasterRecordId",
    "LastModifiedById",
)

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def quote(value: str) -> str:
    """A SOQL string literal for `value`, with quotes, backslashes and controls escaped."""
    if "\x00" in value:
        raise ValueError("a SOQL literal cannot contain a NUL character")
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"


def datetime_literal(value: datetime) -> str:
    """A SOQL dateTime literal in UTC, whole seconds (Salesforce's stamp precision)."""
    if value.tzinfo is None:
        raise ValueError("datetime literals must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# The ones every object has (Contact and Account have no IsConverted).
COMMON_SYSTEM_FIELDS = ("Id", "SystemModstamp", "IsDeleted", "LastModifiedById")


def select_fields(fields: Iterable[str], system: Sequence[str] = SYSTEM_FIELDS) -> list[str]:
    """System fields first, then the rest in order, without repeats (case-insensitive)."""
    seen: set[str] = set()
    out: list[str] = []
    for name in (*system, *fields):
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def incremental_query(
    sobject: str,
    fields: Iterable[str],
    since: datetime | None,
    overlap: timedelta,
    exclude_modified_by: str | None = None,
) -> str:
    """The pull: rows changed at or after `since - overlap`, oldest first, ties broken by Id.

    `exclude_modified_by` leaves out rows whose last change was made by the
    integration user (the echo of sfsync's own writes).
    """
    where = []
    if since is not None:
        where.append(f"SystemModstamp >= {datetime_literal(since - overlap)}")
    if exclude_modified_by:
        where.append(f"LastModifiedById != {quote(exclude_modified_by)}")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    columns = ", ".join(select_fields(fields))
    return f"SELECT {columns} FROM {sobject}{clause} ORDER BY SystemModstamp, Id"


def like_literal(value: str, *, prefix: bool = False, contains: bool = False) -> str:
    """A quoted LIKE pattern matching `value` literally (its own `%` and `_` escaped)."""
    body = quote(value)[1:-1].replace("%", "\\%").replace("_", "\\_")
    before = "%" if contains else ""
    after = "%" if (prefix or contains) else ""
    return f"'{before}{body}{after}'"


def id_chunks(ids: Sequence[str], budget: int = MAX_WHERE_CHARS) -> Iterator[list[str]]:
    """Split ids so that each `Id IN (...)` clause fits `budget` characters."""
    chunk: list[str] = []
    used = len("Id IN ()")
    for record_id in ids:
        cost = len(quote(record_id)) + len(ID_SEPARATOR)
        if chunk and used + cost > budget:
            yield chunk
            chunk, used = [], len("Id IN ()")
        chunk.append(record_id)
        used += cost
    if chunk:
        yield chunk


def by_ids_query(sobject: str, fields: Iterable[str], ids: Sequence[str]) -> str:
    """SELECT the given fields of the records with these ids (one chunk: see id_chunks)."""
    system = SYSTEM_FIELDS if sobject == "Lead" else COMMON_SYSTEM_FIELDS
    columns = ", ".join(select_fields(fields, system))
    listed = ID_SEPARATOR.join(quote(i) for i in ids)
    return f"SELECT {columns} FROM {sobject} WHERE Id IN ({listed})"


# -- engagement: campaign responses and completed Tasks --------------------------

ENGAGEMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "CampaignMember": ("Id", "LeadId", "HasResponded", "FirstRespondedDate", "CreatedDate",
                       "Campaign.Type", "SystemModstamp", "IsDeleted"),
    "Task": ("Id", "WhoId", "IsClosed", "TaskSubtype", "Type", "ActivityDate", "CreatedDate",
             "SystemModstamp", "IsDeleted"),
}  # fmt: skip
# Rows that count on a first load; later reads take every change (a response withdrawn,
# a Task reopened or moved to a contact) so that the mirror follows.
_ENGAGEMENT_ROWS = {
    "CampaignMember": "LeadId != null AND HasResponded = true",
    "Task": "WhoId != null AND IsClosed = true",
}
# Members of campaigns who are contacts, not leads, never matter.
_ENGAGEMENT_CHANGES = {"CampaignMember": "LeadId != null", "Task": ""}


def engagement_query(sobject: str, since: datetime | None, overlap: timedelta, days: float) -> str:
    """Engagement rows changed since `since` (minus the overlap), oldest first.

    Without a watermark yet, the first load reads only the rows that count
    (responses, closed Tasks) changed in the last `days` days: older ones are
    past the behaviour rules' maximum age and worth nothing. The relative date
    literal keeps the query text free of the worker's clock, so a recorded
    cycle replays.
    """
    if since is None:
        where = [f"SystemModstamp >= LAST_N_DAYS:{math.ceil(days)}", _ENGAGEMENT_ROWS[sobject]]
    else:
        where = [f"SystemModstamp >= {datetime_literal(since - overlap)}"]
        where += [_ENGAGEMENT_CHANGES[sobject]] if _ENGAGEMENT_CHANGES[sobject] else []
    columns = ", ".join(ENGAGEMENT_FIELDS[sobject])
    return (
        f"SELECT {columns} FROM {sobject} WHERE {' AND '.join(where)} ORDER BY SystemModstamp, Id"
    )


def leads_by_email_query(emails: Sequence[str]) -> str:
    """The ids and e-mails of leads with these addresses (one chunk: see id_chunks)."""
    listed = ID_SEPARATOR.join(quote(e) for e in emails)
    return f"SELECT Id, Email FROM Lead WHERE Email IN ({listed})"
