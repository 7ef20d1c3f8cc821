"""Logged time over the API on both databases: customer work on tickets, internal work on none, and listings."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from sladesk.services import Role
from sladesk.store import reading
from sladesk.store.tables import TicketEvent, TimeLog
from tests.support.desk import Desk


@pytest.fixture
def desk(desk: Desk) -> Desk:
    """Globex (sourcegraph) with one P2 ticket (#1); agents ann and bo."""
    desk.user("gina", Role.CUSTOMER, desk.organisation("Globex", "sourcegraph", tier="enterprise"))
    desk.user("ann", Role.AGENT)
    desk.user("bo", Role.AGENT)
    opened = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["gina"],
        json={"subject": "Search is slow", "description": "Since Monday", "severity": 2},
    )
    assert opened.status_code == 201, opened.text
    return desk


def log(desk: Desk, who: str, **body):
    return desk.client.post("/api/v1/time-logs", headers=desk.headers[who], json=body)


def counts(desk: Desk) -> tuple[int, int]:
    with reading(desk.sessions) as session:
        logs = session.scalar(select(func.count()).select_from(TimeLog)) or 0
        events = session.scalar(select(func.count()).select_from(TicketEvent)) or 0
    return logs, events


def test_time_on_a_ticket_is_logged_and_recorded_in_its_history(desk: Desk):
    answer = log(desk, "ann", minutes=45, work="customer", ticket_id=1, note="Reproduced on staging")
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "id": 1,
        "user_id": desk.ids["ann"],
        "user_name": "ann",
        "ticket_id": 1,
        "work": "customer",
        "minutes": 45,
        "note": "Reproduced on staging",
        "worked_on": "2026-12-07",
        "logged_at": "2026-12-07T14:00:00Z",
    }
    events = desk.client.get("/api/v1/tickets/1/events", headers=desk.headers["bo"]).json()
    assert [(e["type"], e["actor_name"], e["summary"]) for e in events[1:]] == [
        ("time_logged", "ann", "Logged 45 min of work: Reproduced on staging")
    ]
    # the customer sees neither the event nor a version that moved
    customer = desk.client.get("/api/v1/tickets/1", headers=desk.headers["gina"]).json()
    assert customer["version"] == 1
    assert [e["type"] for e in desk.client.get("/api/v1/tickets/1/events", headers=desk.headers["gina"]).json()] == [
        "opened"
    ]


def test_internal_work_has_no_ticket_and_listings_filter_by_agent_day_ticket_and_kind(desk: Desk):
    assert log(desk, "ann", minutes=30, work="internal", note="Runbook", worked_on="2026-12-04").status_code == 201
    assert log(desk, "ann", minutes=90, work="customer", ticket_id=1).status_code == 201
    assert log(desk, "bo", minutes=60, work="internal", worked_on="2026-12-07").status_code == 201

    def listed(query: str) -> list[tuple[str, str, int]]:
        answer = desk.client.get(f"/api/v1/time-logs{query}", headers=desk.headers["bo"])
        assert answer.status_code == 200, answer.text
        return [(item["user_name"], item["work"], item["minutes"]) for item in answer.json()["items"]]

    assert listed("") == [("ann", "internal", 30), ("ann", "customer", 90), ("bo", "internal", 60)]
    assert listed(f"?user_id={desk.ids['ann']}") == [("ann", "internal", 30), ("ann", "customer", 90)]
    assert listed("?since=2026-12-05&until=2026-12-07") == [("ann", "customer", 90), ("bo", "internal", 60)]
    assert listed("?ticket_id=1") == [("ann", "customer", 90)]
    assert listed("?work=internal") == [("ann", "internal", 30), ("bo", "internal", 60)]
    first = desk.client.get("/api/v1/time-logs?limit=2", headers=desk.headers["ann"]).json()
    assert [item["id"] for item in first["items"]] == [1, 2]
    rest = desk.client.get(f"/api/v1/time-logs?limit=2&cursor={first['next_cursor']}", headers=desk.headers["ann"])
    assert ([item["id"] for item in rest.json()["items"]], rest.json()["next_cursor"]) == ([3], None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"minutes": 0, "work": "internal"}, "minutes"),
        ({"minutes": 1441, "work": "internal"}, "minutes"),
        ({"minutes": 30, "work": "meetings"}, "work"),
        ({"minutes": 30, "work": "customer"}, "ticket_id"),
        ({"minutes": 30, "work": "internal", "ticket_id": 1}, "ticket_id"),
        ({"minutes": 30, "work": "customer", "ticket_id": 99}, "ticket"),
        ({"minutes": 30, "work": "internal", "worked_on": "2026-12-09"}, "worked_on"),
        ({"minutes": 30, "work": "internal", "note": "x" * 2001}, "note"),
    ],
)
def test_a_refused_log_names_its_field_and_stores_nothing(desk: Desk, body, field):
    before = counts(desk)
    answer = log(desk, "ann", **body)
    assert answer.status_code in (404, 422), answer.text
    assert field in answer.text
    assert counts(desk) == before


def test_customers_neither_log_nor_read_time(desk: Desk):
    assert log(desk, "gina", minutes=30, work="customer", ticket_id=1).status_code == 403
    assert desk.client.get("/api/v1/time-logs", headers=desk.headers["gina"]).status_code == 403
    assert (
        desk.client.get("/api/v1/time-logs?since=2026-12-08&until=2026-12-01", headers=desk.headers["ann"])
        .json()["detail"]
        .startswith("since: must not be after")
    )
