"""Lead capture ledger: one row per captured candidate (spreadsheet row or form submission).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sfsync_capture_ledger",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=True),
        sa.Column("record_id", sa.String(length=18), nullable=True),
        sa.Column("matched_id", sa.String(length=18), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=True),
        sa.Column("lookup", sa.JSON(), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("claimed_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("sfsync_capture_ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sfsync_capture_ledger_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sfsync_capture_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sfsync_capture_ledger_state"))
    op.drop_table("sfsync_capture_ledger")
