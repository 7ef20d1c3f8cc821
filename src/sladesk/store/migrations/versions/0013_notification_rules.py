"""People's own notification rules for pages: an ordered list of channels and delays on each user.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for everyone so far: no rules, so a page reaches them by one email at once, as before.
    op.add_column("users", sa.Column("notification_rules", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("notification_rules")
