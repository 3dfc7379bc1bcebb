"""The matching mirror: Leads, Contacts and Accounts with their blocking keys, found by index.

Rows are upserted by id (a backfill page, or a pulled page of leads); deleted
and merged records stay with `is_deleted` and `master_record_id` so that the
mirror says what became of them, but they are never candidates. Candidates
are read only through the key indexes: one statement per key kind and chunk
of values, each an index lookup (`query_plan` shows it). A page's keys can be
counted first in the indexes alone (`key_counts`), so that a key too common
to say anything is left out before any of its rows is read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sfsync.store.tables import MirrorRow, utcnow

TABLE: sa.Table = MirrorRow.__table__  # type: ignore[attr-defined]
KEY_COLUMNS = ("email_key", "email_domain", "phone_key", "name_key", "company_key")
# Key kind (rules.matching_config.MatchKey) -> the columns its values are looked up in.
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("email_key",),
    "phone": ("phone_key",),
    "name_company": ("name_key", "company_key"),
    "domain": ("email_domain",),
    "company": ("company_key",),
}
# Domains are shared by everyone at a company; only Accounts are looked up by them.
KIND_SOBJECTS: dict[str, tuple[str, ...]] = {"domain": ("Account",)}
UPSERT_CHUNK = 500
IN_CHUNK = 500
PAIR_CHUNK = 64
_READ = ("id", "sobject", "fields", "owner_id", "account_id", "created_date", *KEY_COLUMNS)


@dataclass(frozen=True)
class MirrorRecord:
    """A mirrored record as candidate retrieval returns it."""

    id: str
    sobject: str
    fields: Mapping[str, Any]
    owner_id: str | None
    account_id: str | None
    created_date: datetime | None
    keys: Mapping[str, str | None]


def upsert(connectable: sa.Engine | sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or replace mirror rows by id (each a dict of MirrorRow's columns); rows written.

    `synced_at` defaults to now. On a Connection the caller's transaction
    holds the writes; on an Engine each call commits.
    """
    now = utcnow()
    values = [{**_defaults(now), **row} for row in rows]
    if isinstance(connectable, sa.Engine):
        with connectable.begin() as conn:
            return _upsert(conn, values)
    return _upsert(connectable, values)


def _defaults(now: datetime) -> dict[str, Any]:
    return {
        "is_deleted": False, "is_converted": False, "master_record_id": None, "owner_id": None,
        "account_id": None, "created_date": None, "system_modstamp": None, "fields": {},
        **dict.fromkeys(KEY_COLUMNS), "synced_at": now,
    }  # fmt: skip


def _upsert(conn: sa.Connection, values: list[dict[str, Any]]) -> int:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for start in range(0, len(values), UPSERT_CHUNK):
        chunk = values[start : start + UPSERT_CHUNK]
        statement = insert(TABLE)
        replaced = {c: statement.excluded[c] for c in chunk[0] if c != "id"}
        conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=replaced), chunk)
    return len(values)


def retire_unseen(engine: sa.Engine, sobject: str, before: datetime) -> int:
    """Mark deleted the records of `sobject` a full backfill did not see (purged from the org)."""
    statement = (
        sa.update(TABLE)
        .where(TABLE.c.sobject == sobject, TABLE.c.synced_at < before, ~TABLE.c.is_deleted)
        .values(is_deleted=True)
    )
    with engine.begin() as conn:
        return int(conn.execute(statement).rowcount)


def candidate_statements(lookups: Iterable[tuple[str, ...]]) -> Iterator[sa.Select[Any]]:
    """One indexed SELECT per key kind and chunk of values, for the lookups of a batch."""
    for kind, chunk in _chunks(lookups):
        yield sa.select(*(TABLE.c[c] for c in _READ)).where(*_filed_under(kind, chunk))


def count_statements(lookups: Iterable[tuple[str, ...]]) -> Iterator[sa.Select[Any]]:
    """Per key kind and chunk of values: each key's index entries, counted in the index alone."""
    for kind, chunk in _chunks(lookups):
        yield _count(kind, chunk)


def _count(kind: str, chunk: Sequence[tuple[str, ...]]) -> sa.Select[Any]:
    # Deleted and converted records are counted too: reading those flags means reading the
    # rows, which for a common company is the cost this count is there to avoid.
    keys = [TABLE.c[c] for c in KIND_COLUMNS[kind]]
    conditions = [c.in_(sorted({v[i] for v in chunk})) for i, c in enumerate(keys)]
    sobjects = KIND_SOBJECTS.get(kind)
    if sobjects:
        conditions.append(TABLE.c.sobject.in_(sobjects))
    return sa.select(*keys, sa.func.count()).where(*conditions).group_by(*keys)


def _live_count(lookup: tuple[str, ...], limit: int) -> sa.Select[Any]:
    """How many live records `lookup` finds, counting no further than `limit`."""
    kind, *values = lookup
    found = sa.select(TABLE.c.id).where(*_filed_under(kind, [tuple(values)])).limit(limit)
    return sa.select(sa.func.count()).select_from(found.subquery())


def _chunks(lookups: Iterable[tuple[str, ...]]) -> Iterator[tuple[str, list[tuple[str, ...]]]]:
    values: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for kind, *parts in lookups:
        if kind in KIND_COLUMNS and all(parts[:1]):
            values[kind].add(tuple(parts))
    for kind in sorted(values):
        # Two columns are searched for every pair of their IN lists: small chunks of pairs
        # sorted by company keep that product small (a lead's two name orders share one).
        if len(KIND_COLUMNS[kind]) == 1:
            size, ordered = IN_CHUNK, sorted(values[kind])
        else:
            size, ordered = PAIR_CHUNK, sorted(values[kind], key=lambda v: v[::-1])
        for start in range(0, len(ordered), size):
            yield kind, ordered[start : start + size]


def _filed_under(kind: str, chunk: Sequence[tuple[str, ...]]) -> list[sa.ColumnElement[bool]]:
    # One IN per column, not a row-value IN: SQLite scans for `(a, b) IN (...)` but searches
    # a two-column index for `a IN (...) AND b IN (...)`. The few extra rows this lets
    # through are dropped by the caller's exact in-memory lookup.
    conditions: list[sa.ColumnElement[bool]] = [
        TABLE.c[column].in_(sorted({v[i] for v in chunk}))
        for i, column in enumerate(KIND_COLUMNS[kind])
    ]
    conditions += [TABLE.c.is_deleted.is_(False), TABLE.c.is_converted.is_(False)]
    sobjects = KIND_SOBJECTS.get(kind)
    return [*conditions, TABLE.c.sobject.in_(sobjects)] if sobjects else conditions


def candidates(engine: sa.Engine, lookups: Iterable[tuple[str, ...]]) -> list[MirrorRecord]:
    """Every live record filed under any of `lookups` ((kind, value[, value]) tuples), by id."""
    return [_record(row) for row in candidate_rows(engine, lookups)]


def candidate_rows(engine: sa.Engine, lookups: Iterable[tuple[str, ...]]) -> list[sa.Row[Any]]:
    """`candidates` as database rows (MirrorRecord's fields, keys as columns), for a caller
    that makes its own record of each and would rather not make two."""
    found: dict[str, sa.Row[Any]] = {}
    with engine.connect() as conn:
        for statement in candidate_statements(lookups):
            for row in conn.execute(statement).all():
                found.setdefault(row.id, row)
    return [found[i] for i in sorted(found)]


def key_counts(
    engine: sa.Engine,
    lookups: Iterable[tuple[str, ...]],
    above: int,
    discount: Mapping[tuple[str, ...], int] | None = None,
) -> dict[tuple[str, ...], int]:
    """How many live records each of `lookups` finds, exact up to `above` + 1 (absent: none).

    Lets the caller leave out a key too common to be worth reading (a company
    name a large part of the mirror shares) without reading its rows: the
    index gives an upper bound, and only keys above `above` there are counted
    again among live records, stopping at `above` + 1 (+ the lookup's
    `discount`, records the caller will not count).
    """
    wanted, discount = set(lookups), discount or {}
    counts: dict[tuple[str, ...], int] = {}
    with engine.connect() as conn:
        for kind, chunk in _chunks(wanted):
            for *values, count in conn.execute(_count(kind, chunk)):
                lookup = (kind, *values)
                if lookup in wanted:  # a name_company chunk also counts pairs nobody asked for
                    counts[lookup] = int(count)
        for lookup in sorted(k for k, n in counts.items() if n > above + discount.get(k, 0)):
            limit = above + discount.get(lookup, 0) + 1
            counts[lookup] = int(conn.execute(_live_count(lookup, limit)).scalar_one())
    return counts


def live_by_id(engine: sa.Engine, ids: Iterable[str]) -> list[MirrorRecord]:
    """The live records among `ids` (an incoming page's own older copies), by primary key."""
    ordered = sorted(set(ids))
    found: list[MirrorRecord] = []
    with engine.connect() as conn:
        for start in range(0, len(ordered), IN_CHUNK):
            statement = sa.select(*(TABLE.c[c] for c in _READ)).where(
                TABLE.c.id.in_(ordered[start : start + IN_CHUNK]),
                TABLE.c.is_deleted.is_(False),
                TABLE.c.is_converted.is_(False),
            )
            found += [_record(row) for row in conn.execute(statement)]
    return found


def _record(row: sa.Row[Any]) -> MirrorRecord:
    return MirrorRecord(
        id=row.id,
        sobject=row.sobject,
        fields=row.fields or {},
        owner_id=row.owner_id,
        account_id=row.account_id,
        created_date=row.created_date,
        keys={c: getattr(row, c) for c in KEY_COLUMNS},
    )


def record(engine: sa.Engine, record_id: str) -> MirrorRecord | None:
    """One mirrored record by id (deleted ones too), or None."""
    statement = sa.select(*(TABLE.c[c] for c in _READ)).where(TABLE.c.id == record_id)
    with engine.connect() as conn:
        row = conn.execute(statement).first()
    return _record(row) if row is not None else None


def counts(engine: sa.Engine) -> dict[str, dict[str, int]]:
    """sobject -> {"live": n, "deleted": n}: what the mirror holds."""
    statement = sa.select(TABLE.c.sobject, TABLE.c.is_deleted, sa.func.count()).group_by(
        TABLE.c.sobject, TABLE.c.is_deleted
    )
    result: dict[str, dict[str, int]] = defaultdict(lambda: {"live": 0, "deleted": 0})
    with engine.connect() as conn:
        for sobject, deleted, count in conn.execute(statement):
            result[sobject]["deleted" if deleted else "live"] += int(count)
    return dict(result)


def query_plan(engine: sa.Engine, statement: sa.Select[Any]) -> str:
    """The database's plan for `statement` (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL)."""
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.execute(sa.text(prefix + str(compiled))).all()
    return "\n".join(" ".join(str(v) for v in row) for row in rows)


def live_records(
    engine: sa.Engine, sobject: str, chunk: int = 2000
) -> Iterator[list[MirrorRecord]]:
    """Every live record of `sobject` in id order, `chunk` at a time (for reports, not matching)."""
    last = ""
    while True:
        statement = (
            sa.select(*(TABLE.c[c] for c in _READ))
            .where(TABLE.c.sobject == sobject, TABLE.c.id > last)
            .where(TABLE.c.is_deleted.is_(False), TABLE.c.is_converted.is_(False))
            .order_by(TABLE.c.id)
            .limit(chunk)
        )
        with engine.connect() as conn:
            rows = [_record(row) for row in conn.execute(statement)]
        if not rows:
            return
        yield rows
        last = rows[-1].id
