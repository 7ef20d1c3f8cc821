"""Staff pins over the API on both databases: a pinned ticket leads the queue until its pin runs out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from sladesk.services import Role, update_user
from sladesk.store import reading, transaction
from sladesk.store.tables import TicketEvent
from tests.support.desk import Desk


@pytest.fixture
def desk(desk: Desk) -> Desk:
    """Acme (alleo) with a Sev1 (#1), a Sev3 (#2) and a Sev4 (#3), opened Monday 7 December 09:00 New York."""
    desk.user("carol", Role.CUSTOMER, desk.organisation("Acme", "alleo"))
    with transaction(desk.sessions) as session:  # only Acme's support contacts open tickets under alleo
        update_user(session, None, desk.ids["carol"], {"support_contact": True})
    desk.user("ann", Role.AGENT)
    desk.user("bo", Role.AGENT)
    for subject, severity in (("Nobody can sign in", "Sev1"), ("Export is slow", "Sev3"), ("Typo", "Sev4")):
        opened = desk.client.post(
            "/api/v1/tickets",
            headers=desk.headers["carol"],
            json={"subject": subject, "description": "Please look.", "severity": severity},
        )
        assert opened.status_code == 201, opened.text
    return desk


def queue(desk: Desk) -> list[int]:
    answer = desk.client.get("/api/v1/queue", headers=desk.headers["ann"])
    assert answer.status_code == 200, answer.text
    return [item["ticket_id"] for item in answer.json()]


def pin(desk: Desk, ticket_id: int, until: str, reason: str = "Their launch is at 11:00", who: str = "ann"):
    return desk.client.post(
        f"/api/v1/tickets/{ticket_id}/pin", headers=desk.headers[who], json={"until": until, "reason": reason}
    )


def event_count(desk: Desk) -> int:
    with reading(desk.sessions) as session:
        return session.scalar(select(func.count()).select_from(TicketEvent)) or 0


def test_a_pinned_ticket_leads_the_queue_with_its_reason_until_the_pin_runs_out(desk: Desk):
    assert queue(desk) == [1, 2, 3]
    pinned = pin(desk, 3, "2026-12-07T11:00:00-05:00")
    assert pinned.status_code == 200, pinned.text
    ticket = pinned.json()
    assert ticket["pinned_until"] == "2026-12-07T16:00:00Z"
    assert ticket["pin_reason"] == "Their launch is at 11:00"
    assert ticket["version"] == 2
    items = desk.client.get("/api/v1/queue", headers=desk.headers["bo"]).json()
    assert [item["ticket_id"] for item in items] == [3, 1, 2]
    first = items[0]
    assert (first["pinned_until"], first["pin_reason"], first["pinned_by"]) == (
        "2026-12-07T16:00:00Z",
        "Their launch is at 11:00",
        "ann",
    )
    # Sev4: five 9-hour business days from Monday 09:00 New York are due the next Monday at 09:00 (14:00 UTC)
    assert first["reason"] == (
        "Number one: Pinned by ann until 2026-12-07T16:00:00+00:00: Their launch is at 11:00. Otherwise: severity "
        "Sev4 (rank 4), due 2026-12-14T14:00:00+00:00, opened 2026-12-07T14:00:00+00:00. Ahead of #1 because it "
        "is pinned and #1 is not."
    )
    assert items[1]["pinned_until"] is None
    # a shorter page still says why its last ticket is ahead of the next one
    one = desk.client.get("/api/v1/queue?limit=1", headers=desk.headers["bo"]).json()
    assert [(item["ticket_id"], item["reason"]) for item in one] == [(3, first["reason"])]

    desk.clock.set("2026-12-07T10:59:59-05:00")
    assert queue(desk) == [3, 1, 2]
    desk.clock.set("2026-12-07T11:00:00-05:00")  # the pin runs out: no event, the order is read for now
    assert queue(desk) == [1, 2, 3]
    read = desk.client.get("/api/v1/tickets/3", headers=desk.headers["ann"]).json()
    assert (read["pinned_until"], read["pin_reason"]) == (None, None)


def test_the_earliest_pin_goes_first_and_the_customer_sees_no_pin(desk: Desk):
    assert pin(desk, 2, "2026-12-08T09:00:00-05:00", "Renewal call").status_code == 200
    desk.clock.advance(minutes=5)
    assert pin(desk, 3, "2026-12-08T09:00:00-05:00", "CEO asked", who="bo").status_code == 200
    assert queue(desk) == [2, 3, 1]
    seen = desk.client.get("/api/v1/tickets/2", headers=desk.headers["carol"]).json()
    assert (seen["pinned_until"], seen["pin_reason"], seen["team"], seen["version"]) == (None, None, None, 1)
    events = desk.client.get("/api/v1/tickets/2/events", headers=desk.headers["carol"]).json()
    assert [event["type"] for event in events] == ["opened"]


def test_lifting_a_pin_puts_the_ticket_back_and_both_are_in_its_history(desk: Desk):
    pin(desk, 3, "2026-12-07T15:00:00-05:00")
    lifted = desk.client.delete("/api/v1/tickets/3/pin?reason=Launch+moved", headers=desk.headers["bo"])
    assert lifted.status_code == 200, lifted.text
    assert (lifted.json()["pinned_until"], lifted.json()["version"]) == (None, 3)
    assert queue(desk) == [1, 2, 3]
    events = desk.client.get("/api/v1/tickets/3/events", headers=desk.headers["ann"]).json()
    assert [(event["type"], event["actor_name"], event["summary"]) for event in events[1:]] == [
        ("pinned", "ann", "Pinned to the top of the queue until 2026-12-07T20:00:00+00:00: Their launch is at 11:00"),
        ("pinned", "bo", "Pin lifted: Launch moved"),
    ]
    again = desk.client.delete("/api/v1/tickets/3/pin", headers=desk.headers["bo"])
    assert again.status_code == 409
    assert again.json()["detail"] == "the ticket is not pinned"


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"until": "2026-12-07T08:00:00-05:00", "reason": "x"}, "until", "must be in the future"),
        ({"until": "2027-01-07T09:00:01-05:00", "reason": "x"}, "until", "a pin lasts at most 30 days"),
        ({"until": "2026-12-08T08:00:00", "reason": "x"}, "until", "give a UTC offset"),
        ({"until": "0001-01-01T00:00:00+14:00", "reason": "x"}, "until", "outside the years 1 to 9999"),
        ({"until": "2026-12-08T08:00:00Z", "reason": "   "}, "reason", "say why the ticket deviates"),
        ({"until": "2026-12-08T08:00:00Z"}, "reason", "Field required"),
    ],
)
def test_a_pin_needs_a_reason_and_an_expiry_in_the_next_30_days_and_a_refused_one_stores_nothing(
    desk: Desk, body, field, detail
):
    before = event_count(desk)
    answer = desk.client.post("/api/v1/tickets/3/pin", headers=desk.headers["ann"], json=body)
    assert answer.status_code == 422, answer.text
    assert field in answer.text and detail in answer.text
    assert event_count(desk) == before
    assert queue(desk) == [1, 2, 3]


def test_customers_may_not_pin_and_finished_tickets_cannot_be_pinned(desk: Desk):
    refused = pin(desk, 1, "2026-12-08T09:00:00-05:00", who="carol")
    assert refused.status_code == 403
    closed = desk.client.patch(
        "/api/v1/tickets/2", headers={**desk.headers["ann"], "If-Match": '"1"'}, json={"status": "closed"}
    )
    assert closed.status_code == 200, closed.text
    finished = pin(desk, 2, "2026-12-08T09:00:00-05:00")
    assert finished.status_code == 409
    assert finished.json()["detail"] == "the ticket is finished: only open tickets are in the queue"
