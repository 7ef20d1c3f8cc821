"""Clocks read for `now`: an untouched overdue ticket reads breached everywhere, with no event and no worker.

Alleo's Sev1 first response is 4 working hours on Mon-Fri 08:00-17:00 America/New_York, with a warning
at 75 % of the target. Opened Mon 7 Dec 2026 09:00 EST, it warns at 12:00 and is due at 13:00.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, event, select

from sladesk.services import ConflictError, Role, StaleVersionError, tickets
from sladesk.services.maintenance import upgrade_desk
from sladesk.sla.queue import QueueEntry, order_queue
from sladesk.store import reading, transaction
from sladesk.store.tables import SlaClock, Ticket
from tests.support.clock import FixedClock
from tests.support.desk import Desk
from tests.support.units import committed, update_organisation

merge_duplicate = committed(tickets.merge_duplicate)
OPENED = "2026-12-07T09:00:00-05:00"


@pytest.fixture
def desk(desk):
    """A customer of Acme and an agent, at OPENED."""
    desk.clock.set(OPENED)
    desk.user("customer", Role.CUSTOMER, desk.organisation("Acme", "alleo"))
    desk.user("agent", Role.AGENT)
    return desk


def open_ticket(desk, severity="Sev1", subject="Nobody can sign in"):
    created = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["customer"],
        json={"subject": subject, "description": "x", "severity": severity},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_an_untouched_sev1_reads_breached_on_every_path_once_its_due_instant_passes(desk):
    ticket_id = open_ticket(desk)
    url = f"/api/v1/tickets/{ticket_id}"

    desk.clock.set("2026-12-07T12:00:00-05:00")  # 3 h of 4 counted: the warning instant, not yet due
    running = desk.client.get(url, headers=desk.headers["agent"]).json()["sla"]["first_response"]
    assert (running["state"], running["counted_seconds"], running["remaining_seconds"]) == ("running", 10800, 3600)
    assert (running["percent_used"], running["warning_reached"]) == (75.0, True)
    assert desk.client.get("/api/v1/tickets?breached=true", headers=desk.headers["agent"]).json()["items"] == []

    desk.clock.set("2026-12-07T13:30:00-05:00")  # nothing happened since opening; due at 13:00
    clock_now = desk.client.get(url, headers=desk.headers["agent"]).json()["sla"]["first_response"]
    assert (clock_now["state"], clock_now["counted_seconds"], clock_now["remaining_seconds"]) == ("breached", 16200, 0)
    assert (clock_now["percent_used"], clock_now["warning_reached"]) == (112.5, False)
    customer_view = desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.headers["customer"]).json()
    assert customer_view["sla"]["first_response"]["state"] == "breached"
    listed = desk.client.get("/api/v1/tickets?breached=true", headers=desk.headers["agent"]).json()["items"]
    assert [item["id"] for item in listed] == [ticket_id]
    assert desk.client.get("/api/v1/tickets?breached=false", headers=desk.headers["agent"]).json()["items"] == []
    queue = desk.client.get("/api/v1/queue", headers=desk.headers["agent"]).json()
    assert [(item["ticket_id"], item["sla_state"]) for item in queue] == [(ticket_id, "breached")]
    sla = desk.client.get(f"/api/v1/tickets/{ticket_id}/sla", headers=desk.headers["agent"]).json()
    assert (sla["metrics"]["first_response"]["state"], sla["metrics"]["first_response"]["counted_seconds"]) == (
        "breached",
        16200,
    )


def test_the_queue_shows_a_ticket_answered_in_time_as_met(desk):
    ticket_id = open_ticket(desk)
    desk.clock.set("2026-12-07T10:00:00-05:00")
    answered = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/comments", headers=desk.headers["agent"], json={"body": "On it."}
    )
    assert answered.status_code == 201
    desk.clock.set("2026-12-08T10:00:00-05:00")  # a day later, long past the 13:00 due it met
    queue = desk.client.get("/api/v1/queue", headers=desk.headers["agent"]).json()
    assert [(item["ticket_id"], item["sla_state"]) for item in queue] == [(ticket_id, "met")]


def test_an_internal_note_changes_nothing_a_customer_reads(desk):
    ticket_id = open_ticket(desk)
    desk.clock.set("2026-12-07T11:00:00-05:00")
    before = desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.headers["customer"])
    note = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/comments",
        headers=desk.headers["agent"],
        json={"body": "Looks like SSO.", "public": False},
    )
    assert note.status_code == 201
    after = desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.headers["customer"])
    assert after.json() == before.json()
    assert after.headers["ETag"] == before.headers["ETag"] == '"1"'
    assert after.json()["sla"]["first_response"]["counted_seconds"] == 7200  # 09:00-11:00
    staff = desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.headers["agent"])
    assert staff.headers["ETag"] == '"2"'


def test_an_organisation_moved_to_another_policy_and_tier_leaves_its_old_tickets_working(sessions):
    desk = Desk(sessions, FixedClock("2027-05-31T08:00:00Z"))
    org = desk.organisation("Initech", "sourcegraph", tier="enterprise")
    desk.user("customer", Role.CUSTOMER, org)
    desk.user("agent", Role.AGENT)
    ticket_id = open_ticket(desk, severity="p1")

    update_organisation(sessions, None, org, {"policy_id": "alleo", "tier": None})  # alleo has no tiers
    desk.clock.set("2027-05-31T09:00:00Z")
    old = desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.headers["agent"])
    assert old.status_code == 200
    assert (old.json()["policy_id"], old.json()["tier"]) == ("sourcegraph", "enterprise")
    assert desk.client.get(f"/api/v1/tickets/{ticket_id}/sla", headers=desk.headers["agent"]).status_code == 200
    answered = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/comments", headers=desk.headers["agent"], json={"body": "Here."}
    )
    assert answered.status_code == 201
    after = desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.headers["agent"]).json()
    # sourcegraph p1: first response 24 h calendar time, goal 2 h; answered after 1 h: met, goal met
    assert (after["sla"]["first_response"]["state"], after["sla"]["first_response"]["goal_met"]) == ("met", True)
    moved = desk.client.patch(
        f"/api/v1/tickets/{ticket_id}",
        headers={**desk.headers["agent"], "If-Match": f'"{after["version"]}"'},
        json={"tier": "team", "reason": "downgraded contract"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["tier"] == "team"
    new_id = open_ticket(desk, severity="Sev2", subject="After the move")
    new = desk.client.get(f"/api/v1/tickets/{new_id}", headers=desk.headers["agent"]).json()
    assert (new["policy_id"], new["tier"]) == ("alleo", None)


def test_a_category_change_is_an_event_with_its_reason(sessions):
    desk = Desk(sessions, FixedClock("2026-12-07T09:00:00-06:00"))
    org = desk.organisation("PMG client", "alli")
    desk.user("agent", Role.AGENT)
    desk.user("customer", Role.CUSTOMER, org)
    created = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["customer"],
        json={"subject": "Report is wrong", "description": "x", "severity": "P3", "category": "bug"},
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    changed = desk.client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        headers={**desk.headers["agent"], "If-Match": '"1"'},
        json={"category": "incident", "reason": "every client's reports are down"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["category"] == "incident"
    events = desk.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=desk.headers["agent"]).json()
    assert events[-1]["type"] == "category"
    assert events[0]["summary"] == "Opened by the customer: severity 3, category bug"
    assert events[-1]["summary"] == "Category became incident: every client's reports are down"
    no_reason = desk.client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        headers={**desk.headers["agent"], "If-Match": '"2"'},
        json={"category": "bug"},
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "reason"


def test_two_crossed_merges_give_one_success_and_one_clear_refusal(sessions, desk):
    first, second = open_ticket(desk, subject="A"), open_ticket(desk, subject="B")
    agent = desk.actors["agent"]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def merge(ticket_id: int, into: int) -> None:
        barrier.wait()
        try:
            merge_duplicate(sessions, agent, ticket_id, into, expected_version=1)
            outcomes.append("merged")
        except (ConflictError, StaleVersionError) as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=merge, args=pair) for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) in (["ConflictError", "merged"], ["StaleVersionError", "merged"])


def test_upgrading_a_desk_recomputes_the_clocks_a_migration_emptied(engine, sessions, desk):
    ticket_id = open_ticket(desk)
    desk.clock.set("2026-12-07T13:30:00-05:00")
    before = desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.headers["agent"]).json()
    with transaction(sessions) as session:
        session.execute(delete(SlaClock))
    assert desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.headers["agent"]).json()["sla"] == {}
    upgrade_desk(engine)
    assert desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.headers["agent"]).json() == before


def test_a_page_of_fifty_tickets_costs_as_many_statements_as_a_page_of_one(engine, desk):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith("BEGIN"):  # SQLite's transaction starts are not queries
            statements.append(statement)

    def page_cost(limit: int) -> int:
        # token use recorded, policies cached
        desk.client.get(f"/api/v1/tickets?limit={limit}", headers=desk.headers["agent"])
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            answer = desk.client.get(f"/api/v1/tickets?limit={limit}", headers=desk.headers["agent"])
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(answer.json()["items"]) == limit
        return len(statements)

    for number in range(50):
        open_ticket(desk, severity=1 + number % 4, subject=f"Ticket {number}")
    one, fifty = page_cost(1), page_cost(50)
    assert one == fifty
    assert fifty == 3, statements  # the caller's token, the tickets, all their clocks at once


def test_the_queue_the_database_sorts_is_the_order_the_library_defines(sessions):
    desk = Desk(sessions, FixedClock("2027-05-31T08:00:00Z"))
    orgs = [desk.organisation(f"Org {tier}", "sourcegraph", tier=tier) for tier in ("free", "enterprise", "team")]
    desk.user("agent", Role.AGENT)
    for number in range(18):
        org = orgs[(number // 3) % 3]
        customer = desk.user(f"c{number}", Role.CUSTOMER, org)
        desk.client.post(
            "/api/v1/tickets",
            headers=desk.headers["agent"],
            json={
                "subject": f"Ticket {number}",
                "description": "x",
                "severity": 1 + number % 3,
                "organisation_id": org,
                "requester_id": customer,
            },
        )
        desk.clock.advance(minutes=7 * (number % 4))
    queue = desk.client.get("/api/v1/queue?limit=100", headers=desk.headers["agent"]).json()
    with sessions() as session:
        tickets = {t.id: t for t in session.scalars(select(Ticket))}
    entries = [
        QueueEntry(t.id, t.severity_rank, f"p{t.severity_rank}", t.tier, t.tier_rank, t.next_due_at, t.opened_at)
        for t in tickets.values()
    ]
    assert [item["ticket_id"] for item in queue] == [p.entry.ticket_id for p in order_queue(entries)]
    assert [item["tier"] for item in queue[:3]] == ["enterprise", "enterprise", "team"]
    assert queue[0]["reason"].startswith("Number one: severity p1 (rank 1), tier enterprise (rank 2)")


def test_an_open_reader_never_blocks_a_writer(sessions, desk):
    ticket_id = open_ticket(desk)
    with reading(sessions) as reader:
        assert reader.get(Ticket, ticket_id) is not None  # the reader's snapshot is open
        desk.clock.set("2026-12-07T09:30:00-05:00")
        answered = desk.client.post(
            f"/api/v1/tickets/{ticket_id}/comments", headers=desk.headers["agent"], json={"body": "Hi."}
        )
        assert answered.status_code == 201
