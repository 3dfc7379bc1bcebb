"""Routing in the cycle: how sfsync last routed each lead, and whose open-lead load it holds.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sfsync_lead_state") as batch:
        batch.add_column(sa.Column("routing", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("load_owner", sa.String(length=18), nullable=True))
        batch.add_column(sa.Column("reroute_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_sfsync_lead_state_reroute_at", ["reroute_at"])


def downgrade() -> None:
    with op.batch_alter_table("sfsync_lead_state") as batch:
        batch.drop_index("ix_sfsync_lead_state_reroute_at")
        batch.drop_column("reroute_at")
        batch.drop_column("load_owner")
        batch.drop_column("routing")
