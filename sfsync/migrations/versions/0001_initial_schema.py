"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 14:14:31.022402
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "sfsync_cursor",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("watermark", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "sfsync_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("lead_id", sa.String(length=18), nullable=False),
        sa.Column("base_stamp", sa.DateTime(), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("rules_version", sa.String(length=32), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sfsync_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sfsync_decision_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sfsync_decision_run_id"), ["run_id"], unique=False)

    op.create_table(
        "sfsync_lead_state",
        sa.Column("lead_id", sa.String(length=18), nullable=False),
        sa.Column("system_modstamp", sa.DateTime(), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("last_written", sa.JSON(), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("is_converted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("lead_id"),
    )
    op.create_table(
        "sfsync_run",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("pulled", sa.Integer(), nullable=False),
        sa.Column("decided", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("retry_later", sa.Integer(), nullable=False),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("api_used", sa.Integer(), nullable=True),
        sa.Column("api_limit", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sfsync_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("lead_id", sa.String(length=18), nullable=False),
        sa.Column("sobject", sa.String(length=40), nullable=False),
        sa.Column("patch", sa.JSON(), nullable=False),
        sa.Column("patch_hash", sa.String(length=64), nullable=False),
        sa.Column("rules_version", sa.String(length=32), nullable=False),
        sa.Column("base_stamp", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=80), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_fields", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["sfsync_decision.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "lead_id", "patch_hash", "rules_version", "base_stamp", name="uq_outbox_idempotency"
        ),
    )
    with op.batch_alter_table("sfsync_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_state_id", ["state", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sfsync_outbox_lead_id"), ["lead_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("sfsync_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sfsync_outbox_lead_id"))
        batch_op.drop_index("ix_outbox_state_id")

    op.drop_table("sfsync_outbox")
    op.drop_table("sfsync_run")
    op.drop_table("sfsync_lead_state")
    with op.batch_alter_table("sfsync_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sfsync_decision_run_id"))
        batch_op.drop_index(batch_op.f("ix_sfsync_decision_lead_id"))

    op.drop_table("sfsync_decision")
    op.drop_table("sfsync_cursor")
