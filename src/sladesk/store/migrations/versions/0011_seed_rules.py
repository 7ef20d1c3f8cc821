"""What the policies' own rules need stored: triage, resolution paths, teams, pins, support contacts, time logs.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("slug", name=op.f("uq_teams_slug")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_team_members_team_id_teams")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_team_members_user_id_users")),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    op.create_table(
        "time_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("work", sa.String(16), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("worked_on", sa.Date(), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_time_logs_user_id_users")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_time_logs_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_logs")),
    )
    op.create_index(op.f("ix_time_logs_worked_on"), "time_logs", ["worked_on"])
    op.create_index(op.f("ix_time_logs_ticket_id"), "time_logs", ["ticket_id"])
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("awaiting_triage", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("path", sa.String(64), nullable=True))
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("pinned_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("pin_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("pinned_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_tickets_team_id_teams"), "teams", ["team_id"], ["id"])
        batch.create_foreign_key(op.f("fk_tickets_pinned_by_id_users"), "users", ["pinned_by_id"], ["id"])
        batch.create_index(op.f("ix_tickets_team_id"), ["team_id"])
        batch.create_index(op.f("ix_tickets_pinned_until"), ["pinned_until"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("support_contact", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("support_contact")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index(op.f("ix_tickets_pinned_until"))
        batch.drop_index(op.f("ix_tickets_team_id"))
        batch.drop_constraint(op.f("fk_tickets_pinned_by_id_users"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_tickets_team_id_teams"), type_="foreignkey")
        for column in ("pinned_by_id", "pin_reason", "pinned_until", "pinned_at", "team_id", "path", "awaiting_triage"):
            batch.drop_column(column)
    op.drop_table("time_logs")
    op.drop_table("team_members")
    op.drop_table("teams")
