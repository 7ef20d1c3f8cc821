"""Timers, a delivering outbox, subscriptions, inbound mail, token expiry and users' quiet hours.

The outbox of 0001 was never written to; it is recreated with an idempotency key, a delivery status and
the event that caused each message. Clock rows are emptied, so that `sladesk db upgrade` (like `serve` and
`demo`) recomputes every ticket's clocks and plans its timers from its history.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("DELETE FROM sla_clocks")
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", _INSTANT, nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=True))
        batch.add_column(sa.Column("quiet_hours", sa.String(32), nullable=True))

    op.create_table(
        "timers",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("metric", sa.String(64), nullable=True),
        sa.Column("due_at", _INSTANT, nullable=False),
        sa.Column("ticket_version", sa.Integer(), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("fired_at", _INSTANT, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_timers_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
    )
    op.create_index(op.f("ix_timers_ticket_id"), "timers", ["ticket_id"])
    op.create_index(
        "ix_timers_due",
        "timers",
        ["due_at"],
        postgresql_where=sa.text("fired_at IS NULL"),
        sqlite_where=sa.text("fired_at IS NULL"),
    )

    op.drop_index("ix_outbox_available_at", table_name="outbox")
    op.drop_index("ix_outbox_ticket_id", table_name="outbox")
    op.drop_table("outbox")
    op.create_table(
        "outbox",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("event_id", _BIG_ID, nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("available_at", _INSTANT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", _INSTANT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_outbox_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["event_id"], ["ticket_events.id"], name=op.f("fk_outbox_event_id_ticket_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(op.f("ix_outbox_ticket_id"), "outbox", ["ticket_id"])
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["available_at"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )

    op.create_table(
        "inbound_messages",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("message_id", sa.String(998), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("sender", sa.String(320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_inbound_messages_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
    )
    op.create_index(op.f("ix_inbound_messages_message_id"), "inbound_messages", ["message_id"])
    op.create_index(op.f("ix_inbound_messages_sender"), "inbound_messages", ["sender"])
    op.create_index(op.f("ix_inbound_messages_received_at"), "inbound_messages", ["received_at"])


def downgrade() -> None:
    op.drop_table("inbound_messages")
    op.drop_table("subscriptions")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_index(op.f("ix_outbox_ticket_id"), table_name="outbox")
    op.drop_table("outbox")
    op.create_table(
        "outbox",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("available_at", _INSTANT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", _INSTANT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_outbox_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_available_at"), "outbox", ["available_at"])
    op.create_index(op.f("ix_outbox_ticket_id"), "outbox", ["ticket_id"])
    op.drop_index("ix_timers_due", table_name="timers")
    op.drop_index(op.f("ix_timers_ticket_id"), table_name="timers")
    op.drop_table("timers")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("quiet_hours")
        batch.drop_column("timezone")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
