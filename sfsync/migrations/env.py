"""Alembic environment: runs on the connection sfsync hands over (see store/engine.py)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import sfsync.store.tables  # noqa: F401 - registers the tables on SQLModel.metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("sfsync migrations run through sfsync.store.engine.migrate")
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    version_table=config.get_main_option("version_table") or "alembic_version",
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
