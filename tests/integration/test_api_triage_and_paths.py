"""Triage confirmation and resolution paths over the API on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from sladesk.services import Role
from sladesk.store import reading
from sladesk.store.tables import TicketEvent
from tests.support.desk import Desk


@pytest.fixture
def desk(desk: Desk) -> Desk:
    """Globex (sourcegraph: support assigns severity, provisional p2) and Vail (aspenware: release and hotfix paths)."""
    desk.user("gina", Role.CUSTOMER, desk.organisation("Globex", "sourcegraph", tier="enterprise"))
    desk.user("val", Role.CUSTOMER, desk.organisation("Vail", "aspenware"))
    desk.user("ann", Role.AGENT)
    for who, severity in (("gina", 3), ("val", 3)):
        opened = desk.client.post(
            "/api/v1/tickets",
            headers=desk.headers[who],
            json={"subject": "It breaks", "description": "Please look", "severity": severity},
        )
        assert opened.status_code == 201, opened.text
    return desk


def event_count(desk: Desk) -> int:
    with reading(desk.sessions) as session:
        return session.scalar(select(func.count()).select_from(TicketEvent)) or 0


def test_support_confirms_the_severity_of_a_ticket_awaiting_triage(desk: Desk):
    ticket = desk.client.get("/api/v1/tickets/1", headers=desk.headers["ann"]).json()
    # the customer asked for p3; in triage the clocks run on the more severe of p3 and the provisional p2
    assert (ticket["awaiting_triage"], ticket["severity"], ticket["requested_severity"]) == (True, 2, 3)
    confirmed = desk.client.post(
        "/api/v1/tickets/1/triage", headers=desk.headers["ann"], json={"severity": "p3", "reason": "Internal ask"}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["awaiting_triage"], confirmed.json()["severity"]) == (False, 3)
    assert confirmed.headers["ETag"] == '"2"'
    again = desk.client.post("/api/v1/tickets/1/triage", headers=desk.headers["ann"], json={"severity": 1})
    assert again.status_code == 409
    assert "not awaiting triage" in again.json()["detail"]
    assert desk.client.get("/api/v1/tickets/2", headers=desk.headers["ann"]).json()["awaiting_triage"] is False


@pytest.mark.parametrize(
    ("who", "body", "status", "text"),
    [
        ("gina", {"severity": 1}, 403, "severity is confirmed by support"),
        ("ann", {"severity": "P9"}, 422, "severity"),
        ("ann", {"severity": True}, 422, "severity"),
        ("ann", {"severity": 1, "reason": "x" * 2001}, 422, "reason"),
    ],
)
def test_a_refused_confirmation_stores_nothing(desk: Desk, who, body, status, text):
    before = event_count(desk)
    answer = desk.client.post("/api/v1/tickets/1/triage", headers=desk.headers[who], json=body)
    assert answer.status_code == status, answer.text
    assert text in answer.text
    assert event_count(desk) == before


def test_staff_mark_and_clear_the_resolution_path_with_a_reason(desk: Desk):
    url = "/api/v1/tickets/2"
    marked = desk.client.patch(
        url, headers={**desk.headers["ann"], "If-Match": '"1"'}, json={"path": "release", "reason": "Fix ships in 5.2"}
    )
    assert marked.status_code == 200, marked.text
    assert (marked.json()["path"], marked.json()["version"]) == ("release", 2)
    events = desk.client.get(f"{url}/events", headers=desk.headers["ann"]).json()
    assert events[-1]["summary"] == "Resolution path became release: Fix ships in 5.2"
    cleared = desk.client.patch(
        url, headers={**desk.headers["ann"], "If-Match": '"2"'}, json={"path": None, "reason": "Hotfix after all"}
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["path"] is None


@pytest.mark.parametrize(
    ("ticket_id", "body", "status", "text"),
    [
        (2, {"path": "release"}, 422, "reason: say why the resolution path changes"),
        (2, {"path": "someday", "reason": "x"}, 422, "path: 'someday' is not one of release, hotfix"),
        (1, {"path": "release", "reason": "x"}, 422, "none: this policy defines no resolution paths"),
        (2, {"path": "release", "reason": "x", "status": "open"}, 422, "send exactly one of"),
    ],
)
def test_a_refused_path_names_its_field_and_stores_nothing(desk: Desk, ticket_id, body, status, text):
    before = event_count(desk)
    answer = desk.client.patch(
        f"/api/v1/tickets/{ticket_id}", headers={**desk.headers["ann"], "If-Match": '"1"'}, json=body
    )
    assert answer.status_code == status, answer.text
    assert text in answer.json()["detail"]
    assert event_count(desk) == before
