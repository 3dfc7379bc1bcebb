"""Outbox kind, before-image, result and claimer; the lease table.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sfsync_outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="update")
        )
        batch_op.add_column(
            sa.Column("before", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(sa.Column("result", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.BigInteger(), nullable=True))
        # An update and a conversion may come from one decision: the kind joins the key.
        batch_op.drop_constraint("uq_outbox_idempotency", type_="unique")
        batch_op.create_unique_constraint(
            "uq_outbox_idempotency",
            ["lead_id", "kind", "patch_hash", "rules_version", "base_stamp"],
        )
    op.create_table(
        "sfsync_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("sfsync_lease")
    with op.batch_alter_table("sfsync_outbox", schema=None) as batch_op:
        batch_op.drop_constraint("uq_outbox_idempotency", type_="unique")
        batch_op.create_unique_constraint(
            "uq_outbox_idempotency", ["lead_id", "patch_hash", "rules_version", "base_stamp"]
        )
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("result")
        batch_op.drop_column("before")
        batch_op.drop_column("kind")
