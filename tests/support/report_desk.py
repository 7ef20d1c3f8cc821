"""A small Sourcegraph desk for the report surfaces, its figures for November 2026 worked out by hand.

Sourcegraph's policy counts first response in calendar time (UTC): due 24 hours after opening, goal 2 hours.
Two organisations: Acme (enterprise) and Globex (team). Each ticket below is opened by an agent and lives its
life through the services, so the stored clocks are the ones the desk itself keeps.

    ticket  organisation  severity  history                                          November's outcome
    1       Acme          p1        opened Nov 2 09:00, reply 10:00 (1 h)            met, goal met
    2       Acme          p1        opened Nov 3 09:00, reply Nov 4 12:00 (27 h)     breached Nov 4 09:00
    3       Globex        p2        opened Nov 4 09:00, reply 12:00 (3 h)            met, goal missed
    4       Globex        p2        opened Nov 5 09:00, closed 10:00, no reply       cancelled
    5       Globex        p2        opened Nov 10 09:00, outside incident 09:30,     excused, breached Nov 11 09:00
                                    reply Nov 12 09:00 (48 h)
    6       Acme          p3        opened Nov 6 09:00 (internal work)               no target
    7       Acme          p2        opened Nov 30 20:00, no reply                    running at the period's end

The desk's clock stands at Wed 2 Dec 2026 09:00 UTC when it is built.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from sladesk.services import Role
from sladesk.services.tickets import change_status, open_ticket, reply, set_outside_incident
from tests.support.desk import Desk
from tests.support.units import committed
from tests.support.web import PASSWORD

NOVEMBER_START = "2026-11-01T00:00:00Z"
NOVEMBER_END = "2026-12-01T00:00:00Z"
NOW = "2026-12-02T09:00:00Z"
OUTSIDE_INCIDENT = "Upstream code host outage"

opened = committed(open_ticket)
answered = committed(reply)
moved = committed(change_status)
excused = committed(set_outside_incident)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def report_desk(sessions: sessionmaker[Session], tmp_path: Path) -> Desk:
    """The desk of this module's table: `agent` and `admin` (staff) and `customer` of Acme, who sign in with
    the tests' password, and `buyer` of Globex."""
    desk = Desk(sessions, attachments=tmp_path / "attachments")
    desk.clock.set("2026-11-01T00:00:00Z")
    acme = desk.organisation("Acme", "sourcegraph", tier="enterprise")
    globex = desk.organisation("Globex", "sourcegraph", tier="team")
    desk.user("agent", Role.AGENT, password=PASSWORD)
    desk.user("admin", Role.ADMIN, password=PASSWORD)
    desk.user("customer", Role.CUSTOMER, acme, password=PASSWORD)
    desk.user("buyer", Role.CUSTOMER, globex)
    agent = desk.actors["agent"]

    def ticket(organisation: int, severity: str, subject: str, opened_at: str) -> int:
        change = opened(
            sessions,
            agent,
            subject=subject,
            description=f"{subject}.",
            severity=severity,
            organisation_id=organisation,
            requester_id=desk.ids["customer" if organisation == acme else "buyer"],
            now=at(opened_at),
        )
        return change.ticket.id

    first = ticket(acme, "p1", "Search is down", "2026-11-02T09:00:00Z")
    answered(sessions, agent, first, "Looking now.", now=at("2026-11-02T10:00:00Z"))
    second = ticket(acme, "p1", "Indexing stalled", "2026-11-03T09:00:00Z")
    answered(sessions, agent, second, "Restarted the indexer.", now=at("2026-11-04T12:00:00Z"))
    third = ticket(globex, "p2", "Wrong search results", "2026-11-04T09:00:00Z")
    answered(sessions, agent, third, "Reproduced.", now=at("2026-11-04T12:00:00Z"))
    fourth = ticket(globex, "p2", "A question answered elsewhere", "2026-11-05T09:00:00Z")
    moved(sessions, agent, fourth, "closed", now=at("2026-11-05T10:00:00Z"))
    fifth = ticket(globex, "p2", "Repositories not syncing", "2026-11-10T09:00:00Z")
    excused(sessions, agent, fifth, OUTSIDE_INCIDENT, now=at("2026-11-10T09:30:00Z"))
    answered(sessions, agent, fifth, "The code host is back.", now=at("2026-11-12T09:00:00Z"))
    ticket(acme, "p3", "Improve the troubleshooting guide", "2026-11-06T09:00:00Z")
    ticket(acme, "p2", "Slow code intelligence", "2026-11-30T20:00:00Z")
    desk.clock.set(NOW)
    return desk
