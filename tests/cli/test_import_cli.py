"""sladesk import histories: a JSON lines file of tickets with their histories, imported whole or not at all."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from sladesk.services import Role, create_organisation, create_user
from sladesk.store import make_engine, make_sessions, transaction, upgrade
from sladesk.store.tables import OutboxMessage, Ticket, TicketEvent
from tests.support import ROOT

CLOSED: dict[str, Any] = {
    "organisation_id": 1,
    "requester_id": 1,
    "subject": "Campaign stopped delivering",
    "description": "Spend is not going out.",
    "severity": "S2",
    "opened_at": "2026-12-07T09:00:00-07:00",
    "events": [
        {"at": "2026-12-07T10:00:00-07:00", "type": "reply", "by": "agent"},
        {"at": "2026-12-07T10:00:00-07:00", "type": "status", "to": "awaiting_customer"},
        {"at": "2026-12-08T11:00:00-07:00", "type": "reply", "by": "customer"},
        {"at": "2026-12-08T12:00:00-07:00", "type": "status", "to": "resolved"},
        {"at": "2026-12-11T12:00:00-07:00", "type": "status", "to": "closed"},
    ],
}
OPEN = {**CLOSED, "severity": 3, "events": [{"at": "2026-12-07T11:00:00-07:00", "type": "reply", "by": "customer"}]}


@pytest.fixture
def database(tmp_path: Path) -> str:
    """A migrated SQLite desk with a Choozle organisation (1), its customer (user 1) and an agent (user 2)."""
    url = URL.create("sqlite", database=str(tmp_path / "desk.db")).render_as_string()
    engine = make_engine(url)
    upgrade(engine)
    with transaction(make_sessions(engine)) as session:
        organisation = create_organisation(session, None, name="Choozle customer", policy_id="choozle")
        create_user(session, None, email="c@example.com", name="C", role=Role.CUSTOMER, organisation_id=organisation.id)
        create_user(session, None, email="agent@example.com", name="Agent", role=Role.AGENT)
    engine.dispose()
    return url


def stored(url: str) -> list[tuple[int, str, int, int]]:
    """Each ticket's id, status, version and number of events; and no message may be queued."""
    engine = make_engine(url)
    try:
        with make_sessions(engine)() as session:
            assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
            events = select(func.count()).where(TicketEvent.ticket_id == Ticket.id).scalar_subquery()
            return [tuple(row) for row in session.execute(select(Ticket.id, Ticket.status, Ticket.version, events))]
    finally:
        engine.dispose()


def test_the_documented_example_is_the_closed_history_imported_here():
    text = (ROOT / "docs" / "import.md").read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)```", text, flags=re.DOTALL)
    assert example is not None and json.loads(example.group(1)) == CLOSED


def test_a_file_of_histories_is_imported_and_the_tickets_are_named(sladesk, database, tmp_path):
    (tmp_path / "past.jsonl").write_text(f"{json.dumps(CLOSED)}\n\n{json.dumps(OPEN)}\n", encoding="utf-8")
    result = sladesk(
        "import", "histories", "past.jsonl", "--as", "agent@example.com", "--database-url", database, cwd=tmp_path
    )
    assert (result.code, result.stdout, result.stderr) == (
        0,
        "Imported 2 tickets from past.jsonl: tickets 1 to 2.\n",
        "",
    )
    # the customer's reply moved the first ticket back to open, as it would have on the desk
    assert stored(database) == [(1, "closed", 6, 6), (2, "new", 2, 2)]


def test_a_bad_line_is_named_by_file_line_and_field_and_nothing_is_stored(sladesk, database, tmp_path):
    reply_after_close = {
        **CLOSED,
        "events": [*CLOSED["events"], {"at": "2026-12-12T09:00:00-07:00", "type": "status", "to": "open"}],
    }
    (tmp_path / "past.jsonl").write_text(f"{json.dumps(OPEN)}\n\n{json.dumps(reply_after_close)}\n", encoding="utf-8")
    result = sladesk(
        "import", "histories", "past.jsonl", "--as", "agent@example.com", "--database-url", database, cwd=tmp_path
    )
    assert (result.code, result.stdout) == (2, "")
    assert (
        result.stderr == "error: past.jsonl:3: events[5]: status cannot move from 'closed' to 'open' (allowed: none)\n"
    )
    missing = {**OPEN, "events": [{"at": "2026-12-07T11:00:00", "type": "reply", "by": "customer"}]}
    (tmp_path / "past.jsonl").write_text(f"{json.dumps(missing)}\n", encoding="utf-8")
    result = sladesk(
        "import", "histories", "past.jsonl", "--as", "agent@example.com", "--database-url", database, cwd=tmp_path
    )
    assert (result.code, result.stderr) == (
        2,
        "error: past.jsonl:1: events[0].at: '2026-12-07T11:00:00' has no UTC offset (naive timestamps are refused)\n",
    )
    assert stored(database) == []
