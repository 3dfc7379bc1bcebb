"""Database engines for SQLite and PostgreSQL, and schema migrations through Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite

from sfsync.errors import ConfigError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "sfsync_alembic_version"


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain `postgresql://` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> sa.Engine:
    """An engine for the state database; a bad URL is a configuration error (exit 2)."""
    url = normalise_url(url)
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError("SFSYNC_DATABASE_URL is not a database URL") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError("SFSYNC_DATABASE_URL must be sqlite:/// or postgresql+psycopg://")
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    # TCP keepalives: a database behind a dead network link is noticed in about a minute
    # instead of a query hanging for as long as the kernel keeps the socket.
    keepalive = {
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    return sa.create_engine(
        url, pool_pre_ping=True, connect_args={"connect_timeout": 10, **keepalive}
    )


def _sqlite_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL keeps readers (status) and the writer (worker) out of each other's way;
        # FULL sync makes a committed page survive a crash of the machine too.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def insert_for(conn: sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both SQLite and PostgreSQL do)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def alembic_config() -> Config:
    """Alembic's configuration for sfsync's migrations (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_table", VERSION_TABLE)
    return config


# Held while migrating, so workers starting together do not race to create tables.
MIGRATION_LOCK_KEY = 0x5F_6D69_6772_6174


def migrate(engine: sa.Engine) -> None:
    """Bring the schema up to the newest migration (one process at a time on PostgreSQL)."""
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
