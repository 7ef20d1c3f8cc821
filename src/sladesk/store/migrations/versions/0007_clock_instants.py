"""Clocks keep only what events fixed; tickets keep their own tier and their next timer instant.

The clock rows lose their state, remaining time, percentage and computation time (all worked out for
the reader's `now` since) and gain the target, how the stop happened, the instant counting goes on from
and the pause start. Clock rows are a cache of the ticket's events: this revision empties them, and
`sladesk db upgrade` (like `serve` and `demo`) recomputes every ticket's clocks from its history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM sla_clocks")
    with op.batch_alter_table("sla_clocks") as batch:
        for column in ("state", "remaining_seconds", "percent_used", "computed_at", "counted_seconds"):
            batch.drop_column(column)
        batch.alter_column("excused", new_column_name="excuse")
        batch.add_column(sa.Column("target_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("goal_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("stop_reason", sa.String(200), nullable=True))
        batch.add_column(sa.Column("stop_cancels", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("counted_microseconds", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("counting_from", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paused_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("earlier_breach_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("earlier_breach_severity", sa.String(64), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("tier", sa.String(64), nullable=True))
        batch.add_column(sa.Column("next_timer_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_tickets_next_timer_at", ["next_timer_at"])
    op.execute(
        "UPDATE tickets SET tier = (SELECT organisations.tier FROM organisations"
        " WHERE organisations.id = tickets.organisation_id)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM sla_clocks")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_next_timer_at")
        batch.drop_column("next_timer_at")
        batch.drop_column("tier")
    with op.batch_alter_table("sla_clocks") as batch:
        for column in ("target_seconds", "goal_seconds", "stop_reason", "stop_cancels", "counted_microseconds"):
            batch.drop_column(column)
        batch.drop_column("counting_from")
        batch.drop_column("paused_since")
        batch.drop_column("earlier_breach_at")
        batch.drop_column("earlier_breach_severity")
        batch.alter_column("excuse", new_column_name="excused")
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="running"))
        batch.add_column(sa.Column("counted_seconds", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("remaining_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("percent_used", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False, server_default="1970-01-01")
        )
