"""Each clock row carries its ticket's report labels, so reports count clocks without joining tickets.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 03:10:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LABELS = (
    "opened_at",
    "policy_id",
    "policy_version",
    "severity_rank",
    "tier",
    "organisation_id",
    "team_id",
    "assignee_id",
)
_REQUIRED = ("opened_at", "policy_id", "policy_version", "severity_rank", "organisation_id")


def upgrade() -> None:
    with op.batch_alter_table("sla_clocks") as batch:
        batch.add_column(sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("policy_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("policy_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("severity_rank", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tier", sa.String(64), nullable=True))
        batch.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
    # the labels as the ticket holds them now: each clock row was written with its ticket's last change
    columns = ", ".join(_LABELS)
    op.execute(
        f"UPDATE sla_clocks SET ({columns}) = (SELECT {columns} FROM tickets WHERE tickets.id = sla_clocks.ticket_id)"
    )
    with op.batch_alter_table("sla_clocks") as batch:
        for column in _REQUIRED:
            batch.alter_column(column, existing_type=_type(column), nullable=False)
    op.create_index(
        "ix_sla_clocks_excused",
        "sla_clocks",
        ["opened_at"],
        postgresql_where=sa.text("excuse IS NOT NULL"),
        sqlite_where=sa.text("excuse IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_sla_clocks_excused", table_name="sla_clocks")
    with op.batch_alter_table("sla_clocks") as batch:
        for column in _LABELS:
            batch.drop_column(column)


def _type(column: str) -> Any:
    if column == "opened_at":
        return sa.DateTime(timezone=True)
    if column == "policy_id":
        return sa.String(200)
    return sa.Integer()
