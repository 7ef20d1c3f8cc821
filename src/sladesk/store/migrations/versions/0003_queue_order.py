"""Columns and an index for reading the work queue in order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 15:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Keep each ticket's tier rank and whether it is open, and index the queue's sort order."""
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("tier_rank", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("is_open", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_index(
        "ix_tickets_queue_order",
        "tickets",
        ["is_open", "severity_rank", "tier_rank", "next_due_at", "opened_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_queue_order", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("is_open")
        batch.drop_column("tier_rank")
