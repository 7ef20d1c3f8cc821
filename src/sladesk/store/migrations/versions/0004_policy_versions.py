"""Stored policy versions: admins' uploads and snapshots of the built-ins that tickets were opened under.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 16:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sladesk.store.tables import UtcDateTime

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Every version of every policy a desk uses, by (policy id, version), never changed once written."""
    op.create_table(
        "policy_versions",
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name="fk_policy_versions_uploaded_by_id_users"),
        sa.PrimaryKeyConstraint("policy_id", "version", name="pk_policy_versions"),
    )


def downgrade() -> None:
    op.drop_table("policy_versions")
