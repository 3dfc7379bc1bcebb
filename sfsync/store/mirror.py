"""The matching mirror: Leads, Contacts and Accounts with their blocking keys, found by index.

Rows are upserted by id (a backfill page, or a pulled page of leads); deleted
and merged records stay with `is_deleted` and `master_record_id` so that the
mirror says what became of them, but they are never candidates. Candidates
are read only through the key indexes: one statement per key kind and chunk
of values, each an index lookup (`query_plan` shows it).
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
    values: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for kind, *parts in lookups:
        if kind in KIND_COLUMNS and all(parts[:1]):
            values[kind].add(tuple(parts))
    for kind in sorted(values):
        ordered = sorted(values[kind])
        for start in range(0, len(ordered), IN_CHUNK):
            yield _statement(kind, ordered[start : start + IN_CHUNK])


def _statement(kind: str, chunk: Sequence[tuple[str, ...]]) -> sa.Select[Any]:
    # One IN per column, not a row-value IN: SQLite scans for `(a, b) IN (...)` but searches
    # a two-column index for `a IN (...) AND b IN (...)`. The few extra rows this lets
    # through are dropped by the caller's exact in-memory lookup.
    conditions = [
        TABLE.c[column].in_(sorted({v[i] for v in chunk}))
        for i, column in enumerate(KIND_COLUMNS[kind])
    ]
    statement = sa.select(*(TABLE.c[c] for c in _READ)).where(
        *conditions, TABLE.c.is_deleted.is_(False), TABLE.c.is_converted.is_(False)
    )
    sobjects = KIND_SOBJECTS.get(kind)
    return statement.where(TABLE.c.sobject.in_(sobjects)) if sobjects else statement


def candidates(engine: sa.Engine, lookups: Iterable[tuple[str, ...]]) -> list[MirrorRecord]:
    """Every live record filed under any of `lookups` ((kind, value[, value]) tuples), by id."""
    found: dict[str, MirrorRecord] = {}
    with engine.connect() as conn:
        for statement in candidate_statements(lookups):
            for row in conn.execute(statement):
                if row.id not in found:
                    found[row.id] = _record(row)
    return [found[i] for i in sorted(found)]


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
