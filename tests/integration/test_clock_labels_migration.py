"""Migration 0014 on SQLite and PostgreSQL: clocks written before it get their tickets' report labels, so
the reports that count clocks alone give the same figures after the upgrade."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine, inspect, select, text

from sladesk.store import current_revision, head_revision, make_sessions, upgrade
from sladesk.store.migrate import alembic_config
from sladesk.store.tables import Organisation, SlaClock
from tests.support.report_desk import report_desk

LABELS = ("policy_id", "policy_version", "severity_rank", "tier", "organisation_id", "team_id", "assignee_id")


def _columns(engine: Engine) -> list[str]:
    return [column["name"] for column in inspect(engine).get_columns("sla_clocks")]


def test_clocks_stored_before_0014_carry_their_tickets_labels_after_it(engine: Engine, tmp_path: Path):
    report_desk(make_sessions(engine), tmp_path)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0013")
    try:
        assert current_revision(engine) == "0013"
        assert not set(LABELS) & set(_columns(engine))
    finally:
        applied = upgrade(engine)
    assert applied[0] == "0014"
    assert current_revision(engine) == head_revision()
    with make_sessions(engine)() as session:
        names = {row.id: row.name for row in session.execute(select(Organisation.id, Organisation.name))}
        rows = session.execute(
            select(SlaClock.ticket_id, SlaClock.metric, *(getattr(SlaClock, label) for label in LABELS)).where(
                SlaClock.ticket_id.in_([1, 5, 6])
            )
        ).all()
        opened = session.execute(text("SELECT ticket_id, opened_at FROM sla_clocks WHERE ticket_id = 5")).all()
    by_ticket = {(row[0], row[1]): (names[row[6]], *row[2:6], row[7], row[8]) for row in rows}
    # Sourcegraph v3. Ticket 1: Acme's p1 (enterprise); 5: Globex's p2 (team); 6: Acme's p3; none assigned or in a team
    assert by_ticket == {
        (1, "first_response"): ("Acme", "sourcegraph", 3, 1, "enterprise", None, None),
        (5, "first_response"): ("Globex", "sourcegraph", 3, 2, "team", None, None),
        (6, "first_response"): ("Acme", "sourcegraph", 3, 3, "enterprise", None, None),
    }
    assert [str(at)[:16] for _, at in opened] == ["2026-11-10 09:00"]
