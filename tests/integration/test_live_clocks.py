"""Clocks read for `now`: an untouched overdue ticket reads breached everywhere, with no event and no worker.

Alleo's Sev1 first response is 4 working hours on Mon-Fri 08:00-17:00 America/New_York, with a warning
at 75 % of the target. Opened Mon 7 Dec 2026 09:00 EST, it warns at 12:00 and is due at 13:00.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, select

from sladesk.api import create_app
from sladesk.services import ConflictError, Role, StaleVersionError, tickets
from sladesk.services.directory import actor_of
from sladesk.services.maintenance import upgrade_desk
from sladesk.sla.queue import QueueEntry, order_queue
from sladesk.store import reading, transaction
from sladesk.store.tables import SlaClock, Ticket
from tests.support.units import committed, create_organisation, create_user, issue_token, update_organisation

merge_duplicate = committed(tickets.merge_duplicate)
OPENED = "2026-12-07T09:00:00-05:00"


class Clock:
    def __init__(self, start: str) -> None:
        self.now = datetime.fromisoformat(start)

    def __call__(self) -> datetime:
        return self.now

    def set(self, text: str) -> None:
        self.now = datetime.fromisoformat(text)


@pytest.fixture
def desk(sessions):
    org = create_organisation(sessions, None, name="Acme", policy_id="alleo")
    tokens, ids = {}, {}
    for key, role, organisation in (("customer", Role.CUSTOMER, org.id), ("agent", Role.AGENT, None)):
        user = create_user(
            sessions, None, email=f"{key}@example.com", name=key, role=role, organisation_id=organisation
        )
        tokens[key] = {"Authorization": f"Bearer {issue_token(sessions, user.id, 'tests')}"}
        ids[key] = user.id
    clock = Clock(OPENED)
    return TestClient(create_app(sessions, clock)), tokens, clock, org, ids


def open_ticket(client, tokens, severity="Sev1", subject="Nobody can sign in"):
    created = client.post(
        "/api/v1/tickets",
        headers=tokens["customer"],
        json={"subject": subject, "description": "x", "severity": severity},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_an_untouched_sev1_reads_breached_on_every_path_once_its_due_instant_passes(desk):
    client, tokens, clock, _, _ = desk
    ticket_id = open_ticket(client, tokens)

    clock.set("2026-12-07T12:00:00-05:00")  # 3 h of 4 counted: the warning instant, not yet due
    running = client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens["agent"]).json()["sla"]["first_response"]
    assert (running["state"], running["counted_seconds"], running["remaining_seconds"]) == ("running", 10800, 3600)
    assert (running["percent_used"], running["warning_reached"]) == (75.0, True)
    assert client.get("/api/v1/tickets?breached=true", headers=tokens["agent"]).json()["items"] == []

    clock.set("2026-12-07T13:30:00-05:00")  # nothing happened since opening; due at 13:00
    clock_now = client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens["agent"]).json()["sla"]["first_response"]
    assert (clock_now["state"], clock_now["counted_seconds"], clock_now["remaining_seconds"]) == ("breached", 16200, 0)
    assert (clock_now["percent_used"], clock_now["warning_reached"]) == (112.5, False)
    customer_view = client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens["customer"]).json()
    assert customer_view["sla"]["first_response"]["state"] == "breached"
    listed = client.get("/api/v1/tickets?breached=true", headers=tokens["agent"]).json()["items"]
    assert [item["id"] for item in listed] == [ticket_id]
    assert client.get("/api/v1/tickets?breached=false", headers=tokens["agent"]).json()["items"] == []
    queue = client.get("/api/v1/queue", headers=tokens["agent"]).json()
    assert [(item["ticket_id"], item["sla_state"]) for item in queue] == [(ticket_id, "breached")]
    sla = client.get(f"/api/v1/tickets/{ticket_id}/sla", headers=tokens["agent"]).json()
    assert (sla["metrics"]["first_response"]["state"], sla["metrics"]["first_response"]["counted_seconds"]) == (
        "breached",
        16200,
    )


def test_an_internal_note_changes_nothing_a_customer_reads(desk):
    client, tokens, clock, _, _ = desk
    ticket_id = open_ticket(client, tokens)
    clock.set("2026-12-07T11:00:00-05:00")
    before = client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens["customer"])
    note = client.post(
        f"/api/v1/tickets/{ticket_id}/comments",
        headers=tokens["agent"],
        json={"body": "Looks like SSO.", "public": False},
    )
    assert note.status_code == 201
    after = client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens["customer"])
    assert after.json() == before.json()
    assert after.headers["ETag"] == before.headers["ETag"] == '"1"'
    assert after.json()["sla"]["first_response"]["counted_seconds"] == 7200  # 09:00-11:00
    staff = client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens["agent"])
    assert staff.headers["ETag"] == '"2"'


def test_an_organisation_moved_to_another_policy_and_tier_leaves_its_old_tickets_working(sessions):
    org = create_organisation(sessions, None, name="Initech", policy_id="sourcegraph", tier="enterprise")
    customer = create_user(sessions, None, email="c@example.com", name="C", role=Role.CUSTOMER, organisation_id=org.id)
    agent = create_user(sessions, None, email="a@example.com", name="A", role=Role.AGENT)
    headers = {
        "customer": {"Authorization": f"Bearer {issue_token(sessions, customer.id, 'tests')}"},
        "agent": {"Authorization": f"Bearer {issue_token(sessions, agent.id, 'tests')}"},
    }
    clock = Clock("2027-05-31T08:00:00Z")
    client = TestClient(create_app(sessions, clock))
    ticket_id = open_ticket(client, headers, severity="p1")

    update_organisation(sessions, None, org.id, {"policy_id": "alleo", "tier": None})  # alleo has no tiers
    clock.set("2027-05-31T09:00:00Z")
    old = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers["agent"])
    assert old.status_code == 200
    assert (old.json()["policy_id"], old.json()["tier"]) == ("sourcegraph", "enterprise")
    assert client.get(f"/api/v1/tickets/{ticket_id}/sla", headers=headers["agent"]).status_code == 200
    answered = client.post(f"/api/v1/tickets/{ticket_id}/comments", headers=headers["agent"], json={"body": "Here."})
    assert answered.status_code == 201
    after = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers["agent"]).json()
    # sourcegraph p1: first response 24 h calendar time, goal 2 h; answered after 1 h: met, goal met
    assert (after["sla"]["first_response"]["state"], after["sla"]["first_response"]["goal_met"]) == ("met", True)
    moved = client.patch(
        f"/api/v1/tickets/{ticket_id}",
        headers={**headers["agent"], "If-Match": f'"{after["version"]}"'},
        json={"tier": "team", "reason": "downgraded contract"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["tier"] == "team"
    new_id = open_ticket(client, headers, severity="Sev2", subject="After the move")
    new = client.get(f"/api/v1/tickets/{new_id}", headers=headers["agent"]).json()
    assert (new["policy_id"], new["tier"]) == ("alleo", None)


def test_a_category_change_is_an_event_with_its_reason(sessions):
    org = create_organisation(sessions, None, name="PMG client", policy_id="alli")
    agent = create_user(sessions, None, email="a@example.com", name="A", role=Role.AGENT)
    customer = create_user(sessions, None, email="c@example.com", name="C", role=Role.CUSTOMER, organisation_id=org.id)
    headers = {
        "agent": {"Authorization": f"Bearer {issue_token(sessions, agent.id, 'tests')}"},
        "customer": {"Authorization": f"Bearer {issue_token(sessions, customer.id, 'tests')}"},
    }
    client = TestClient(create_app(sessions, Clock("2026-12-07T09:00:00-06:00")))
    created = client.post(
        "/api/v1/tickets",
        headers=headers["customer"],
        json={"subject": "Report is wrong", "description": "x", "severity": "P3", "category": "bug"},
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    changed = client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        headers={**headers["agent"], "If-Match": '"1"'},
        json={"category": "incident", "reason": "every client's reports are down"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["category"] == "incident"
    events = client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=headers["agent"]).json()
    assert events[-1]["type"] == "category"
    assert events[-1]["summary"] == "Category became incident: every client's reports are down"
    no_reason = client.patch(
        f"/api/v1/tickets/{ticket['id']}", headers={**headers["agent"], "If-Match": '"2"'}, json={"category": "bug"}
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "reason"


def test_two_crossed_merges_give_one_success_and_one_clear_refusal(sessions, desk):
    client, tokens, _, _, ids = desk
    first, second = open_ticket(client, tokens, subject="A"), open_ticket(client, tokens, subject="B")
    with sessions() as session:
        agent = actor_of(session, ids["agent"])
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
    client, tokens, clock, _, _ = desk
    ticket_id = open_ticket(client, tokens)
    clock.set("2026-12-07T13:30:00-05:00")
    before = client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens["agent"]).json()
    with transaction(sessions) as session:
        session.execute(delete(SlaClock))
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens["agent"]).json()["sla"] == {}
    upgrade_desk(engine)
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens["agent"]).json() == before


def test_a_page_of_fifty_tickets_costs_as_many_statements_as_a_page_of_one(engine, desk):
    client, tokens, _, _, _ = desk
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith("BEGIN"):  # SQLite's transaction starts are not queries
            statements.append(statement)

    def page_cost(limit: int) -> int:
        client.get(f"/api/v1/tickets?limit={limit}", headers=tokens["agent"])  # token use recorded, policies cached
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            answer = client.get(f"/api/v1/tickets?limit={limit}", headers=tokens["agent"])
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(answer.json()["items"]) == limit
        return len(statements)

    for number in range(50):
        open_ticket(client, tokens, severity=1 + number % 4, subject=f"Ticket {number}")
    one, fifty = page_cost(1), page_cost(50)
    assert one == fifty
    assert fifty == 3, statements  # the caller's token, the tickets, all their clocks at once


def test_the_queue_the_database_sorts_is_the_order_the_library_defines(sessions):
    orgs = [
        create_organisation(sessions, None, name=f"Org {tier}", policy_id="sourcegraph", tier=tier)
        for tier in ("free", "enterprise", "team")
    ]
    agent = create_user(sessions, None, email="a@example.com", name="A", role=Role.AGENT)
    headers = {"Authorization": f"Bearer {issue_token(sessions, agent.id, 'tests')}"}
    clock = Clock("2027-05-31T08:00:00Z")
    client = TestClient(create_app(sessions, clock))
    for number in range(18):
        org = orgs[(number // 3) % 3]
        customer = create_user(
            sessions, None, email=f"c{number}@example.com", name="C", role=Role.CUSTOMER, organisation_id=org.id
        )
        client.post(
            "/api/v1/tickets",
            headers=headers,
            json={
                "subject": f"Ticket {number}",
                "description": "x",
                "severity": 1 + number % 3,
                "organisation_id": org.id,
                "requester_id": customer.id,
            },
        )
        clock.now += timedelta(minutes=7 * (number % 4))
    queue = client.get("/api/v1/queue?limit=100", headers=headers).json()
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
    client, tokens, clock, _, _ = desk
    ticket_id = open_ticket(client, tokens)
    with reading(sessions) as reader:
        assert reader.get(Ticket, ticket_id) is not None  # the reader's snapshot is open
        clock.set("2026-12-07T09:30:00-05:00")
        answered = client.post(f"/api/v1/tickets/{ticket_id}/comments", headers=tokens["agent"], json={"body": "Hi."})
        assert answered.status_code == 201
