"""The console's pins, logged time, triage and resolution paths over HTTP on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from sladesk.services import Role, open_ticket
from sladesk.store import reading, transaction
from sladesk.store.tables import TicketEvent, TimeLog
from tests.support.desk import Desk
from tests.support.web import PASSWORD, WebPerson

from .test_web_console import events_of, rows_of, tickets_in, version_of


@pytest.fixture
def console(desk: Desk) -> Desk:
    """Globex (sourcegraph, UTC, support assigns severity) with a p1 (#1) and a p2 (#2) a customer opened;
    Vail (aspenware, resolution paths) with an L3 (#3)."""
    globex = desk.organisation("Globex", "sourcegraph", tier="enterprise")
    vail = desk.organisation("Vail", "aspenware")
    desk.user("gina", Role.CUSTOMER, globex, password=PASSWORD)
    desk.user("val", Role.CUSTOMER, vail, password=PASSWORD)
    desk.user("alice", Role.AGENT, password=PASSWORD)
    now = desk.clock()
    with transaction(desk.sessions) as session:
        open_ticket(
            session, desk.actors["gina"], subject="Search is down", description="All repos", severity=1, now=now
        )
        open_ticket(session, desk.actors["gina"], subject="Docs typo", description="Page X", severity=2, now=now)
        open_ticket(
            session, desk.actors["val"], subject="Lift tickets fail", description="Since 8", severity=3, now=now
        )
    return desk


def agent(desk: Desk) -> WebPerson:
    person = WebPerson(desk.app())
    person.sign_in("alice@example.com")
    return person


def counts(desk: Desk) -> tuple[int, int]:
    with reading(desk.sessions) as session:
        events = session.scalar(select(func.count()).select_from(TicketEvent)) or 0
        logs = session.scalar(select(func.count()).select_from(TimeLog)) or 0
    return events, logs


def test_an_agent_pins_a_ticket_to_the_top_of_the_queue_and_lifts_the_pin(console: Desk):
    alice = agent(console)
    assert tickets_in(alice.get("/queue").text) == ["#1", "#2", "#3"]
    page = alice.get("/tickets/2").text
    assert "Pin to the top of the queue until (UTC)" in page
    # Monday 7 December 14:00 UTC now; the pin is read in the policy's zone (UTC), as the agent has none
    pinned = alice.submit(
        "/tickets/2/pin", {"version": version_of(page, "pin"), "until": "2026-12-07T18:00", "reason": "Renewal call"}
    )
    assert pinned.status_code == 303, pinned.text
    assert "Pinned+to+the+top" in pinned.headers["location"] or "Pinned%20to%20the%20top" in pinned.headers["location"]
    queue = alice.get("/queue").text
    assert tickets_in(queue) == ["#2", "#1", "#3"]
    assert rows_of(queue)[0].startswith(
        "1 · work this first #2 Docs typo Pinned until Mon 7 Dec 2026, 18:00 UTC Awaiting triage New · Number one: "
        "Pinned by alice "
        "until 2026-12-07T18:00:00+00:00: Renewal call. Otherwise: severity p2 (rank 2)"
    )
    ticket = alice.get("/tickets/2").text
    assert "Pinned</span> by alice until Mon 7 Dec 2026, 18:00 UTC: Renewal call" in ticket
    lifted = alice.submit("/tickets/2/unpin", {"version": version_of(ticket, "unpin"), "reason": ""})
    assert lifted.status_code == 303
    assert tickets_in(alice.get("/queue").text) == ["#1", "#2", "#3"]
    assert events_of(console, 2) == ["opened", "pinned", "pinned"]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"until": "", "reason": "x"}, "until: give a date and time such as 2026-12-07T14:00"),
        ({"until": "2026-12-07T13:00", "reason": "x"}, "until: must be in the future"),
        ({"until": "2026-12-07T18:00", "reason": " "}, "reason: say why the ticket deviates from the queue"),
    ],
)
def test_a_refused_pin_says_which_field_and_stores_nothing(console: Desk, fields, problem):
    alice = agent(console)
    page = alice.get("/tickets/2").text
    before = counts(console)
    refused = alice.submit("/tickets/2/pin", {"version": version_of(page, "pin"), **fields})
    assert refused.status_code == 422
    assert f"Not saved: {problem}" in refused.text
    assert counts(console) == before


def test_time_logged_on_a_ticket_and_internal_work_add_up_on_my_time_page(console: Desk):
    alice = agent(console)
    page = alice.get("/tickets/1").text
    assert '<dd id="time-logged">None yet</dd>' in page
    logged = alice.submit("/tickets/1/time", {"version": version_of(page, "time"), "minutes": "90", "note": "Bisect"})
    assert logged.status_code == 303
    page = alice.get("/tickets/1").text
    assert '<dd id="time-logged">1 h 30 min</dd>' in page
    assert "alice: Logged 90 min of work: Bisect" in page
    week = alice.get("/console/time").text
    assert "Week of Monday 2026-12-07 to Sunday 2026-12-13" in week
    internal = alice.submit("/console/time", {"minutes": "30", "worked_on": "2026-12-07", "note": "Runbook"})
    assert internal.status_code == 303
    assert internal.headers["location"].startswith("/console/time?week=2026-12-07")
    week = alice.get("/console/time").text
    assert (
        '<tr id="total-customer"><th scope="row">Customer work (tickets)</th><td>90 min</td><td>75%</td></tr>' in week
    )
    assert '<tr id="total-internal"><th scope="row">Internal work</th><td>30 min</td><td>25%</td></tr>' in week
    assert '<tr id="total-all"><th scope="row">All</th><td>120 min</td>' in week
    before = counts(console)
    refused = alice.submit("/console/time", {"minutes": "0", "worked_on": "2026-12-07"})
    assert refused.status_code == 422
    assert "minutes: must be a whole number of minutes from 1 to 1440" in refused.text
    assert counts(console) == before
    assert "No time logged this week." in alice.get("/console/time?week=2026-11-30").text


def test_a_ticket_awaiting_triage_is_marked_and_leaves_triage_when_support_confirms_its_severity(console: Desk):
    alice = agent(console)
    queue = alice.get("/queue").text
    assert [("Awaiting triage" in row) for row in rows_of(queue)] == [True, True, False]
    page = alice.get("/tickets/2").text
    assert '<span class="tag-triage" id="awaiting-triage">Awaiting triage</span>' in page
    confirmed = alice.submit(
        "/tickets/2/triage", {"version": version_of(page, "triage"), "severity": "1", "reason": "Blocks a release"}
    )
    assert confirmed.status_code == 303, confirmed.text
    page = alice.get("/tickets/2").text
    assert "Awaiting triage" not in page
    assert "/tickets/2/triage" not in page
    assert "alice: Severity confirmed as 1: Blocks a release" in page
    assert [("Awaiting triage" in row) for row in rows_of(alice.get("/queue").text)] == [True, False, False]


def test_the_resolution_path_form_lists_the_policy_paths_and_records_the_change(console: Desk):
    alice = agent(console)
    assert "/tickets/1/path" not in alice.get("/tickets/1").text  # sourcegraph defines no paths
    page = alice.get("/tickets/3").text
    assert '<option value="release">Needs a new version</option>' in page
    missing = alice.submit("/tickets/3/path", {"version": version_of(page, "path"), "path": "release", "reason": ""})
    assert missing.status_code == 422
    assert "Not saved: reason: say why the resolution path changes" in missing.text
    changed = alice.submit(
        "/tickets/3/path", {"version": version_of(page, "path"), "path": "release", "reason": "Fix ships in 5.2"}
    )
    assert changed.status_code == 303, changed.text
    page = alice.get("/tickets/3").text
    assert '<dd id="ticket-path">Needs a new version</dd>' in page
    assert events_of(console, 3) == ["opened", "path"]
