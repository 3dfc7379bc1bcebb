"""Engagement events: imported feed events and mirrored campaign responses and Tasks.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sfsync_engagement_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=18), nullable=True),
        sa.Column("lead_id", sa.String(length=18), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.Column("stamp", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("former_lead_id", sa.String(length=18), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("sfsync_engagement_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sfsync_engagement_event_lead_id"), ["lead_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sfsync_engagement_event_email"), ["email"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sfsync_engagement_event_pending"), ["pending"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sfsync_engagement_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sfsync_engagement_event_pending"))
        batch_op.drop_index(batch_op.f("ix_sfsync_engagement_event_email"))
        batch_op.drop_index(batch_op.f("ix_sfsync_engagement_event_lead_id"))
    op.drop_table("sfsync_engagement_event")
