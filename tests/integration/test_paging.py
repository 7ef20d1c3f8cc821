"""Paging from the SLA policy, through the worker on both databases: an Alli P1 opened at 03:00 on a Sunday
pages that night's on-call agent at once, escalates when nobody acknowledges, and stops when someone does.

The desk: Prairie Media on Alli (P1 and P2 page on-call) with `paging: {escalation_policy: night}`. The
schedule `primary` has Ann on call every day from 09:00 Chicago to 09:00 the next day, Bo only on weekday
days 09:00-17:00 on a second layer. The escalation policy `night`: the primary schedule's on-call person at
once, then Cy (a person) after 5 minutes, then the team lead Morgan after 10 more minutes while the incident
is not resolved, even acknowledged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sladesk.config import Settings
from sladesk.jobs import Worker
from sladesk.services import tickets as ticket_services
from sladesk.services.clocks import load_events
from sladesk.services.directory import update_user
from sladesk.services.incidents import acknowledge_incident, resolve_incident
from sladesk.sla.events import IncidentEvent, PageEvent
from sladesk.store import reading, transaction
from tests.support.desk import Desk
from tests.support.paging import SUNDAY_3AM, Sent, open_p1, paging_desk
from tests.support.units import committed

open_ticket = committed(ticket_services.open_ticket)
acknowledge = committed(acknowledge_incident)
resolve = committed(resolve_incident)


@pytest.fixture
def paging(desk: Desk) -> Desk:
    return paging_desk(desk)


def _worker(desk: Desk, sent: Sent) -> Worker:
    settings = Settings(smtp_host="smtp.desk.example", mail_domain="desk.example")
    return Worker(desk.sessions, settings, clock=desk.clock, send=sent)


def _pages(desk: Desk, ticket_id: int) -> list[tuple[int, int, tuple[str, ...], datetime]]:
    with reading(desk.sessions) as session:
        events = load_events(session, ticket_id)
    return [(e.round, e.step, e.notified, e.due_at) for e in events if isinstance(e, PageEvent)]


def test_a_sunday_3am_p1_pages_the_on_call_agent_at_once_and_escalates_without_an_acknowledgement(paging: Desk):
    sent = Sent()
    worker = _worker(paging, sent)
    ticket = open_p1(paging)
    paging.clock.set(SUNDAY_3AM + timedelta(milliseconds=500))
    worker.run_once()
    with reading(paging.sessions) as session:
        [started] = [e for e in load_events(session, ticket) if isinstance(e, IncidentEvent)]
    # recorded when the worker fired it, half a second after the opening
    assert (started.action, started.escalation_policy) == ("triggered", "night")
    assert started.at == SUNDAY_3AM + timedelta(milliseconds=500)
    assert started.snapshot is not None and started.snapshot["steps"][0]["targets"] == [{"schedule": "primary"}]
    # Sunday 03:00 is inside Ann's Saturday 09:00 - Sunday 09:00 turn; Bo's layer is weekdays only
    assert started.started_at == SUNDAY_3AM  # the escalation counts from the opening
    assert _pages(paging, ticket) == [(0, 0, ("ann <ann@example.com> by email",), SUNDAY_3AM)]
    [email] = sent.emails_to("ann@example.com")
    assert "Paged ann <ann@example.com> by email (escalation step 1, round 1)." in email["text"]

    paging.clock.set(SUNDAY_3AM + timedelta(minutes=5))  # nobody acknowledged: the next step, Cy
    worker.run_once()
    paging.clock.set(SUNDAY_3AM + timedelta(minutes=15))  # and the lead, 10 minutes later
    worker.run_once()
    worker.run_once()  # nothing is paged twice
    assert _pages(paging, ticket) == [
        (0, 0, ("ann <ann@example.com> by email",), SUNDAY_3AM),
        (0, 1, ("cy <cy@example.com> by email",), SUNDAY_3AM + timedelta(minutes=5)),
        (0, 2, ("morgan <morgan@example.com> by email",), SUNDAY_3AM + timedelta(minutes=15)),
    ]
    assert len(sent.emails_to("cy@example.com")) == 1


def test_an_acknowledgement_stops_the_chain_but_the_lead_hears_while_it_is_unresolved(paging: Desk):
    sent = Sent()
    worker = _worker(paging, sent)
    ticket = open_p1(paging)
    worker.run_once()
    acknowledge(paging.sessions, paging.actors["ann"], ticket, now=SUNDAY_3AM + timedelta(minutes=2))
    paging.clock.set(SUNDAY_3AM + timedelta(minutes=20))
    worker.run_once()
    pages = _pages(paging, ticket)
    assert [(round_, step) for round_, step, _, _ in pages] == [(0, 0), (0, 2)]  # Cy is not paged
    assert sent.emails_to("cy@example.com") == []


def test_a_resolved_incident_pages_nobody_and_cannot_be_resolved_twice(paging: Desk):
    from sladesk.services.errors import ConflictError

    sent = Sent()
    worker = _worker(paging, sent)
    ticket = open_p1(paging)
    worker.run_once()
    resolve(paging.sessions, paging.actors["ann"], ticket, now=SUNDAY_3AM + timedelta(minutes=1))
    paging.clock.set(SUNDAY_3AM + timedelta(hours=1))
    worker.run_once()
    assert [(r, s) for r, s, _, _ in _pages(paging, ticket)] == [(0, 0)]
    with pytest.raises(ConflictError, match="resolved already"):
        resolve(paging.sessions, paging.actors["ann"], ticket, now=SUNDAY_3AM + timedelta(hours=1))


def test_a_p3_pages_nobody(paging: Desk):
    sent = Sent()
    paging.clock.set(SUNDAY_3AM)
    change = open_ticket(
        paging.sessions,
        paging.actors["riley"],
        subject="Slow report",
        description="Slow.",
        severity="P3",
        now=SUNDAY_3AM,
    )
    _worker(paging, sent).run_once()
    with reading(paging.sessions) as session:
        history = load_events(session, change.ticket.id)
    assert [e for e in history if isinstance(e, IncidentEvent | PageEvent)] == []


def test_a_page_goes_out_whatever_the_quiet_hours(paging: Desk):
    sent = Sent()
    with transaction(paging.sessions) as session:
        update_user(session, paging.actors["morgan"], paging.ids["ann"], {"quiet_hours": "22:00-07:00"})
    open_p1(paging)
    _worker(paging, sent).run_once()
    assert len(sent.emails_to("ann@example.com")) == 1  # at 03:00, inside her quiet hours


def test_staff_acknowledge_over_the_api_and_the_history_says_who(paging: Desk):
    ticket = open_p1(paging)
    _worker(paging, Sent()).run_once()
    paging.clock.set(SUNDAY_3AM + timedelta(minutes=1))
    refused = paging.client.post(f"/api/v1/tickets/{ticket}/incident/acknowledge", headers=paging.headers["riley"])
    assert refused.status_code == 403
    done = paging.client.post(f"/api/v1/tickets/{ticket}/incident/acknowledge", headers=paging.headers["ann"])
    assert done.status_code == 200, done.text
    history = paging.client.get(f"/api/v1/tickets/{ticket}/events", headers=paging.headers["ann"]).json()
    assert [(e["type"], e["actor_name"], e["summary"]) for e in history if e["type"] == "incident"][-1] == (
        "incident",
        "ann",
        "On-call incident acknowledged",
    )
