"""Matching mirror: Leads, Contacts and Accounts with their blocking keys indexed.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Candidate retrieval looks records up by these, never by scanning (see store/mirror.py).
INDEXES = (
    ("ix_mirror_email_key", ["email_key"]),
    ("ix_mirror_phone_key", ["phone_key"]),
    ("ix_mirror_name_company", ["name_key", "company_key"]),
    ("ix_mirror_domain", ["sobject", "email_domain"]),
    ("ix_mirror_company", ["company_key", "sobject"]),
    ("ix_mirror_master", ["master_record_id"]),
)


def upgrade() -> None:
    op.create_table(
        "sfsync_mirror",
        sa.Column("id", sa.String(length=18), nullable=False),
        sa.Column("sobject", sa.String(length=16), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("is_converted", sa.Boolean(), nullable=False),
        sa.Column("master_record_id", sa.String(length=18), nullable=True),
        sa.Column("owner_id", sa.String(length=18), nullable=True),
        sa.Column("account_id", sa.String(length=18), nullable=True),
        sa.Column("created_date", sa.DateTime(), nullable=True),
        sa.Column("system_modstamp", sa.DateTime(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("email_key", sa.String(length=160), nullable=True),
        sa.Column("email_domain", sa.String(length=255), nullable=True),
        sa.Column("phone_key", sa.String(length=24), nullable=True),
        sa.Column("name_key", sa.String(length=64), nullable=True),
        sa.Column("company_key", sa.String(length=64), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for name, columns in INDEXES:
        op.create_index(name, "sfsync_mirror", columns, unique=False)


def downgrade() -> None:
    for name, _columns in INDEXES:
        op.drop_index(name, table_name="sfsync_mirror")
    op.drop_table("sfsync_mirror")
