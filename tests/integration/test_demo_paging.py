"""On the demo desk, an Alli P1 opened at 03:00 on a Sunday pages that night's on-call agent, escalates to the lead
when nobody acknowledges, stops when the agent acknowledges, and the agent can subscribe to their shifts.

Worked out by hand from the demo's on-call set-up, seeded at Sunday 29 November 2026 03:00 Chicago (09:00Z):
the schedule `primary` starts its weekly rotation on the Monday of the week 30 days before, 26 October 09:00
CDT, with Avery then Blake. Weeks from 26 Oct, 2 Nov, 9 Nov, 16 Nov and 23 Nov 09:00 go to Avery, Blake,
Avery, Blake, Avery: Avery is on call from Monday 23 November 09:00 CST to Monday 30 November 09:00 CST. The
escalation policy `default` pages the primary schedule's on-call person at once, the lead (Morgan) after 5
minutes without an acknowledgement, and runs once more 10 minutes after that (round 1 from 03:15).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from icalendar import Calendar
from sqlalchemy import select

from sladesk.config import Settings
from sladesk.jobs import Worker
from sladesk.services.clocks import load_events
from sladesk.sla.events import IncidentEvent, PageEvent
from sladesk.store import reading
from sladesk.store.tables import User
from tests.support.desk import Desk
from tests.support.units import seed_demo

SUNDAY_3AM = datetime.fromisoformat("2026-11-29T03:00:00-06:00")


class Sent:
    """Every message the worker hands to the channels at the edge, in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, payload: dict[str, Any], key: str, settings: Settings) -> None:
        self.messages.append((kind, payload))

    def subjects_to(self, address: str, ticket: int) -> list[str]:
        return [
            payload["subject"]
            for kind, payload in self.messages
            if kind == "email" and address in payload["to"] and payload["subject"].startswith(f"[#{ticket}]")
        ]


def _at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-29T{clock}-06:00")


def test_an_alli_p1_at_3am_on_sunday_pages_the_nights_on_call_agent_on_the_demo_desk(desk: Desk):
    desk.clock.set(SUNDAY_3AM)
    logins = {login.email: login for login in seed_demo(desk.sessions, SUNDAY_3AM).logins}
    headers = {email: {"Authorization": f"Bearer {login.token}"} for email, login in logins.items()}
    riley, avery = headers["riley@prairiemedia.example"], headers["avery@sladesk.example"]

    opened = desk.client.post(
        "/api/v1/tickets",
        json={"subject": "Every campaign is paused", "description": "All campaigns stopped at 02:55.", "severity": 1},
        headers=riley,
    )
    assert opened.status_code == 201, opened.text
    ticket = opened.json()["id"]

    sent = Sent()
    worker = Worker(desk.sessions, Settings(smtp_host="smtp.desk.example"), clock=desk.clock, send=sent)
    desk.clock.set(_at("03:00:00.5"))
    worker.run_once()
    assert sent.subjects_to("avery@sladesk.example", ticket) == [f"[#{ticket}] Every campaign is paused"]
    assert sent.subjects_to("blake@sladesk.example", ticket) == []

    desk.clock.set(_at("03:05:00.5"))  # no acknowledgement: the lead is paged
    worker.run_once()
    assert len(sent.subjects_to("morgan@sladesk.example", ticket)) == 1

    desk.clock.set(_at("03:06"))
    acknowledged = desk.client.post(f"/api/v1/tickets/{ticket}/incident/acknowledge", headers=avery)
    assert acknowledged.status_code == 200, acknowledged.text
    desk.clock.set(_at("03:30"))  # round 1 would have paged Avery at 03:15 and Morgan at 03:20
    worker.run_once()
    assert len(sent.subjects_to("avery@sladesk.example", ticket)) == 1
    assert len(sent.subjects_to("morgan@sladesk.example", ticket)) == 1

    with reading(desk.sessions) as session:
        history = load_events(session, ticket)
    incident = [(e.action, e.escalation_policy) for e in history if isinstance(e, IncidentEvent)]
    pages = [(e.round, e.step, e.due_at, e.notified) for e in history if isinstance(e, PageEvent)]
    assert incident == [("triggered", "default"), ("acknowledged", None)]
    assert pages == [
        (0, 0, SUNDAY_3AM, ("Avery Quinn <avery@sladesk.example> by email",)),
        (0, 1, _at("03:05"), ("Morgan Ellis <morgan@sladesk.example> by email",)),
    ]
    with reading(desk.sessions) as session:
        avery_id = session.scalar(select(User.id).where(User.email == "avery@sladesk.example"))
    feed = desk.client.post("/api/v1/oncall/feeds", json={"user_id": avery_id}, headers=avery)
    assert feed.status_code == 201, feed.text
    path = feed.json()["url"].removeprefix("http://testserver")
    calendar = Calendar.from_ical(desk.client.get(path).content)
    shifts = [(event.decoded("DTSTART"), event.decoded("DTEND")) for event in calendar.walk("VEVENT")]
    tonight = (datetime.fromisoformat("2026-11-23T09:00:00-06:00"), datetime.fromisoformat("2026-11-30T09:00:00-06:00"))
    assert tonight in shifts
