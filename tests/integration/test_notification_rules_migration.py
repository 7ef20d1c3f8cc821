"""Migration 0013 on SQLite and PostgreSQL: people already on a desk get no notification rules (one email at
once, as before), and the column comes and goes with upgrade and downgrade."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, inspect, select, text

from sladesk.store import current_revision, head_revision, make_sessions, upgrade
from sladesk.store.migrate import alembic_config
from sladesk.store.tables import User


def _columns(engine: Engine) -> list[str]:
    return [column["name"] for column in inspect(engine).get_columns("users")]


def test_people_on_a_desk_before_0013_have_no_rules_after_it(engine: Engine):
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0012")
    try:
        assert current_revision(engine) == "0012"
        assert "notification_rules" not in _columns(engine)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (email, name, role, active, support_contact, created_at)"
                    " VALUES ('ann@example.com', 'Ann', 'agent', :yes, :no, :at)"
                ),
                {"yes": True, "no": False, "at": datetime(2026, 11, 29, 9, 0, tzinfo=UTC)},
            )
    finally:
        applied = upgrade(engine)
    assert applied[0] == "0013"
    assert current_revision(engine) == head_revision()
    assert "notification_rules" in _columns(engine)
    with make_sessions(engine)() as session:
        [ann] = session.scalars(select(User)).all()
    assert (ann.email, ann.notification_rules) == ("ann@example.com", None)
