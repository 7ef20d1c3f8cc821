"""POST /api/v1/outbox/{id}/retry: a dead message, or a pending one whose last attempt failed, is due now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sladesk.services import Role
from sladesk.services.outbox import enqueue
from sladesk.store import transaction
from tests.support.desk import Desk


def _message(desk: Desk, key: str, *, status: str, attempts: int, last_error: str | None) -> int:
    with transaction(desk.sessions) as session:
        message = enqueue(
            session, "webhook", {"url": "https://hooks.example/in"}, idempotency_key=key, now=desk.clock()
        )
        message.status, message.attempts, message.last_error = status, attempts, last_error
        message.available_at = desk.clock() + timedelta(minutes=40)
        session.flush()
        return message.id


def test_a_pending_message_whose_last_attempt_failed_is_due_now_with_its_error_cleared(desk: Desk):
    desk.user("boss", Role.ADMIN)
    failing = _message(desk, "hook-1", status="pending", attempts=3, last_error="HTTP 503 from hooks.example")
    desk.clock.advance(timedelta(minutes=5))
    retried = desk.client.post(f"/api/v1/outbox/{failing}/retry", headers=desk.headers["boss"])
    assert retried.status_code == 200
    body = retried.json()
    assert (body["status"], body["attempts"], body["last_error"]) == ("pending", 0, None)
    assert datetime.fromisoformat(body["available_at"]) == datetime(2026, 12, 7, 14, 5, tzinfo=UTC)
    again = desk.client.post(f"/api/v1/outbox/{failing}/retry", headers=desk.headers["boss"])
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"outbox message {failing} is pending and has not failed: only failed messages are retried"
    )


def test_a_dead_message_is_retried_and_a_sent_one_is_refused(desk: Desk):
    desk.user("boss", Role.ADMIN)
    dead = _message(desk, "hook-2", status="dead", attempts=8, last_error="HTTP 400 from hooks.example")
    sent = _message(desk, "hook-3", status="sent", attempts=1, last_error=None)
    body = desk.client.post(f"/api/v1/outbox/{dead}/retry", headers=desk.headers["boss"]).json()
    assert (body["status"], body["attempts"], body["last_error"]) == ("pending", 0, None)
    refused = desk.client.post(f"/api/v1/outbox/{sent}/retry", headers=desk.headers["boss"])
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"outbox message {sent} is sent: only failed messages are retried"
