"""What customers see of a ticket's version and last change, apart from internal activity.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sladesk.store.tables import UtcDateTime

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Start every existing ticket's public version and change time at its own (from here on they part)."""
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("public_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("public_updated_at", UtcDateTime(), nullable=True))
    op.execute("UPDATE tickets SET public_version = version, public_updated_at = updated_at")
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("public_version", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("public_updated_at", existing_type=UtcDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("public_updated_at")
        batch.drop_column("public_version")
