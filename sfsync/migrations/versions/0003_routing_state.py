"""Routing state: per-team pick counters, per-member round-robin credits, open-lead loads.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per team: the row workers lock (FOR UPDATE) so routing into a team is serial.
    op.create_table(
        "sfsync_routing_team",
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("picks", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team"),
    )
    # Smooth weighted round-robin credit and the number of leads given, per team member.
    op.create_table(
        "sfsync_routing_member",
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=80), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("assigned", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team", "member"),
    )
    # Open leads per owner, whatever team gave them (caps and least-loaded read it).
    op.create_table(
        "sfsync_routing_load",
        sa.Column("owner_id", sa.String(length=80), nullable=False),
        sa.Column("open_leads", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id"),
    )


def downgrade() -> None:
    op.drop_table("sfsync_routing_load")
    op.drop_table("sfsync_routing_member")
    op.drop_table("sfsync_routing_team")
