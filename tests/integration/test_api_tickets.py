"""The REST API over HTTP semantics: status codes, ETags, problem documents and who sees what."""

from __future__ import annotations

from datetime import datetime

import pytest

from sladesk.services import Role
from tests.support.clock import FixedClock
from tests.support.desk import Desk


@pytest.fixture
def desk(desk):
    """A customer of Acme, a customer of Globex and an agent, on Wednesday 25 November 2026 at 15:00 in New York."""
    desk.clock.set("2026-11-25T15:00:00-05:00")
    desk.user("customer", Role.CUSTOMER, desk.organisation("Acme", "alleo"))
    desk.user("stranger", Role.CUSTOMER, desk.organisation("Globex", "alleo"))
    desk.user("agent", Role.AGENT)
    return desk


def open_sev1(desk):
    return desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["customer"],
        json={"subject": "Nobody can sign in", "description": "Since 14:50.", "severity": "Sev1"},
    )


def test_customer_opens_agent_answers_and_the_clock_is_met(desk):
    created = open_sev1(desk)
    assert created.status_code == 201
    ticket = created.json()
    assert created.headers["Location"] == f"/api/v1/tickets/{ticket['id']}"
    assert created.headers["ETag"] == '"1"'
    # 4 h from Wed 25 Nov 15:00: 2 h on Wednesday, Thanksgiving and the Friday after skipped, 2 h on Monday
    assert ticket["sla"]["first_response"]["state"] == "running"
    assert datetime.fromisoformat(ticket["sla"]["first_response"]["due"]) == datetime.fromisoformat(
        "2026-11-30T10:00:00-05:00"
    )
    assert ticket["requested_severity"] == 1

    desk.clock.set("2026-11-30T09:00:00-05:00")
    answered = desk.client.post(
        f"/api/v1/tickets/{ticket['id']}/comments", headers=desk.headers["agent"], json={"body": "On it."}
    )
    assert answered.status_code == 201
    after = desk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=desk.headers["customer"]).json()
    assert after["sla"]["first_response"]["state"] == "met"
    assert after["sla"]["first_response"]["counted_seconds"] == 3 * 3600
    assert after["version"] == 2


def test_changes_need_the_version_read(desk):
    ticket_id = open_sev1(desk).json()["id"]
    url = f"/api/v1/tickets/{ticket_id}"
    missing = desk.client.patch(url, headers=desk.headers["agent"], json={"status": "open"})
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"
    changed = desk.client.patch(url, headers={**desk.headers["agent"], "If-Match": '"1"'}, json={"status": "open"})
    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'
    stale = desk.client.patch(url, headers={**desk.headers["agent"], "If-Match": '"1"'}, json={"status": "on_hold"})
    assert stale.status_code == 412
    assert stale.json() == {
        "type": "about:blank",
        "title": "Precondition failed",
        "status": 412,
        "detail": f"ticket {ticket_id} is not at version 1: it is at version 2; read it again",
        "field": "If-Match",
        "current_version": 2,
    }


def test_bad_input_gets_a_problem_document_naming_the_field(desk):
    unknown = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["customer"],
        json={"subject": "x", "description": "y", "severity": 1, "colour": "red"},
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "colour"
    assert unknown.json()["detail"] == "colour: unknown field"
    bad_severity = desk.client.post(
        "/api/v1/tickets", headers=desk.headers["customer"], json={"subject": "x", "description": "y", "severity": 9}
    )
    assert bad_severity.status_code == 422
    assert bad_severity.json()["field"] == "severity"
    ticket_id = open_sev1(desk).json()["id"]
    invalid_move = desk.client.patch(
        f"/api/v1/tickets/{ticket_id}",
        headers={**desk.headers["agent"], "If-Match": '"1"'},
        json={"status": "resolved"},
    )
    assert invalid_move.status_code == 422
    assert invalid_move.json()["field"] == "status"


def test_customers_see_only_their_organisation_and_no_internal_notes(desk):
    ticket_id = open_sev1(desk).json()["id"]
    desk.client.post(
        f"/api/v1/tickets/{ticket_id}/comments",
        headers=desk.headers["agent"],
        json={"body": "internal", "public": False},
    )
    desk.client.post(f"/api/v1/tickets/{ticket_id}/comments", headers=desk.headers["agent"], json={"body": "Hello"})
    assert desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.headers["stranger"]).status_code == 404
    assert desk.client.get(f"/api/v1/tickets/{ticket_id}/comments", headers=desk.headers["stranger"]).status_code == 404
    assert desk.client.get(f"/api/v1/tickets/{ticket_id + 1000}", headers=desk.headers["customer"]).status_code == 404
    assert desk.client.get("/api/v1/tickets", headers=desk.headers["stranger"]).json()["items"] == []
    comments = desk.client.get(f"/api/v1/tickets/{ticket_id}/comments", headers=desk.headers["customer"]).json()
    assert [c["body"] for c in comments] == ["Hello"]
    events = desk.client.get(f"/api/v1/tickets/{ticket_id}/events", headers=desk.headers["customer"]).json()
    assert [e["type"] for e in events] == ["opened", "reply"]
    staff_events = desk.client.get(f"/api/v1/tickets/{ticket_id}/events", headers=desk.headers["agent"]).json()
    assert [e["type"] for e in staff_events] == ["opened", "reply", "reply"]
    note = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/comments", headers=desk.headers["customer"], json={"body": "x", "public": False}
    )
    assert note.status_code == 403


def test_no_token_is_401_and_the_queue_is_for_staff(desk):
    assert desk.client.get("/api/v1/tickets").status_code == 401
    assert desk.client.get("/api/v1/tickets", headers={"Authorization": "Bearer sld_nope"}).status_code == 401
    first = open_sev1(desk).json()["id"]
    desk.clock.set("2026-11-25T15:30:00-05:00")
    second = desk.client.post(
        "/api/v1/tickets", headers=desk.headers["customer"], json={"subject": "Slow", "description": "y", "severity": 2}
    ).json()["id"]
    queue = desk.client.get("/api/v1/queue", headers=desk.headers["agent"])
    assert [item["ticket_id"] for item in queue.json()] == [first, second]
    assert queue.json()[0]["reason"].startswith("Number one: severity Sev1 (rank 1)")
    assert desk.client.get("/api/v1/queue", headers=desk.headers["customer"]).status_code == 403


def test_list_filters_and_cursor_pagination(desk):
    ids = [open_sev1(desk).json()["id"] for _ in range(3)]
    first_page = desk.client.get("/api/v1/tickets?limit=2", headers=desk.headers["agent"]).json()
    assert [t["id"] for t in first_page["items"]] == ids[:2]
    second_page = desk.client.get(
        f"/api/v1/tickets?limit=2&cursor={first_page['next_cursor']}", headers=desk.headers["agent"]
    ).json()
    assert [t["id"] for t in second_page["items"]] == ids[2:]
    assert second_page["next_cursor"] is None
    due_soon = desk.client.get(
        "/api/v1/tickets?due_before=2026-11-30T10:00:01-05:00", headers=desk.headers["agent"]
    ).json()
    assert len(due_soon["items"]) == 3
    none_due = desk.client.get(
        "/api/v1/tickets?due_before=2026-11-30T10:00:00-05:00", headers=desk.headers["agent"]
    ).json()
    assert none_due["items"] == []
    bad_cursor = desk.client.get("/api/v1/tickets?cursor=zzz", headers=desk.headers["agent"])
    assert (bad_cursor.status_code, bad_cursor.json()["field"]) == (422, "cursor")


def test_sla_endpoint_gives_the_replay_json_and_the_explanation(desk):
    ticket_id = open_sev1(desk).json()["id"]
    sla = desk.client.get(f"/api/v1/tickets/{ticket_id}/sla", headers=desk.headers["customer"]).json()
    assert sla["metrics"]["first_response"]["due"] == "2026-11-30T10:00:00-05:00"
    assert "Thu 26 Nov 2026  skipped: holiday: Thanksgiving Day." in sla["explanation"]


def test_openapi_document_is_served(desk):
    document = desk.client.get("/api/openapi.json").json()
    assert "/api/v1/tickets/{ticket_id}" in document["paths"]


def test_a_retry_with_the_same_idempotency_key_opens_one_ticket(desk):
    body = {"subject": "Nobody can sign in", "description": "Since 14:50.", "severity": 1}
    headers = {**desk.headers["customer"], "Idempotency-Key": "retry-me-1"}
    first = desk.client.post("/api/v1/tickets", headers=headers, json=body)
    again = desk.client.post("/api/v1/tickets", headers=headers, json=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert len(desk.client.get("/api/v1/tickets", headers=desk.headers["agent"]).json()["items"]) == 1
    reused = desk.client.post("/api/v1/tickets", headers=headers, json={**body, "severity": 2})
    assert (reused.status_code, reused.json()["field"]) == (422, "Idempotency-Key")


def test_a_failed_request_does_not_use_up_its_idempotency_key(desk):
    headers = {**desk.headers["customer"], "Idempotency-Key": "k2"}
    failed = desk.client.post(
        "/api/v1/tickets", headers=headers, json={"subject": "x", "description": "y", "severity": 9}
    )
    assert failed.status_code == 422
    fixed = desk.client.post(
        "/api/v1/tickets", headers=headers, json={"subject": "x", "description": "y", "severity": 9}
    )
    assert fixed.status_code == 422  # the same body fails the same way, and is not replayed from memory
    assert fixed.json()["field"] == "severity"


def test_queue_orders_by_tier_within_a_severity_and_leaves_out_closed_tickets(sessions):
    desk = Desk(sessions, FixedClock("2026-12-01T10:00:00+00:00"))
    desk.user("free", Role.CUSTOMER, desk.organisation("Free co", "sourcegraph", tier="free"))
    desk.user("pre_sales", Role.CUSTOMER, desk.organisation("Prospect", "sourcegraph", tier="pre_sales"))
    desk.user("agent", Role.AGENT)

    def open_p2(who: str) -> int:
        body = {"subject": f"{who} question", "description": "d", "severity": "p2"}
        ticket_id: int = desk.client.post("/api/v1/tickets", headers=desk.headers[who], json=body).json()["id"]
        return ticket_id

    earlier_free = open_p2("free")
    desk.clock.set("2026-12-01T11:00:00+00:00")
    later_pre_sales = open_p2("pre_sales")
    closed = open_p2("pre_sales")
    assert (
        desk.client.patch(
            f"/api/v1/tickets/{closed}", headers={**desk.headers["agent"], "If-Match": '"1"'}, json={"status": "closed"}
        ).status_code
        == 200
    )
    queue = desk.client.get("/api/v1/queue", headers=desk.headers["agent"]).json()
    # same severity: pre-sales is served before free, though opened an hour later; closed is not queued
    assert [item["ticket_id"] for item in queue] == [later_pre_sales, earlier_free]
    assert queue[0]["reason"].endswith("because its tier pre_sales outranks free.")


def test_merging_a_duplicate_closes_it_and_both_histories_say_so(desk):
    original = open_sev1(desk).json()["id"]
    duplicate = open_sev1(desk).json()["id"]
    merged = desk.client.post(
        f"/api/v1/tickets/{duplicate}/merge",
        headers={**desk.headers["agent"], "If-Match": '"1"'},
        json={"into": original},
    )
    assert merged.status_code == 200
    # closed before anyone answered: its first response is cancelled, neither met nor breached
    assert (merged.json()["status"], merged.json()["sla"]["first_response"]["state"]) == ("closed", "cancelled")
    duplicate_events = desk.client.get(f"/api/v1/tickets/{duplicate}/events", headers=desk.headers["agent"]).json()
    assert duplicate_events[-1]["data"] == {"to": "closed", "merged_into": original}
    original_events = desk.client.get(f"/api/v1/tickets/{original}/events", headers=desk.headers["agent"]).json()
    assert original_events[-1]["type"] == "merged"
    assert original_events[-1]["data"] == {"from": duplicate}
    again = desk.client.post(
        f"/api/v1/tickets/{duplicate}/merge",
        headers={**desk.headers["agent"], "If-Match": '"2"'},
        json={"into": original},
    )
    assert again.status_code == 409
    by_customer = desk.client.post(
        f"/api/v1/tickets/{original}/merge",
        headers={**desk.headers["customer"], "If-Match": '"2"'},
        json={"into": duplicate},
    )
    assert by_customer.status_code == 403


def _ticket_count(desk):
    return len(desk.client.get("/api/v1/tickets", headers=desk.headers["agent"]).json()["items"])


def test_an_oversized_body_is_refused_before_it_is_read(desk):
    body = '{"subject": "Big", "severity": 1, "description": "' + "x" * (1024 * 1024) + '"}'
    declared = desk.client.post(
        "/api/v1/tickets", headers={**desk.headers["customer"], "Content-Type": "application/json"}, content=body
    )
    assert declared.status_code == 413
    assert declared.headers["Content-Type"] == "application/problem+json"
    assert declared.json()["detail"] == (
        f"the request body is {len(body)} bytes; the limit for this kind of request is 1048576 bytes"
    )

    def chunks():
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024].encode()

    streamed = desk.client.post(
        "/api/v1/tickets", headers={**desk.headers["customer"], "Content-Type": "application/json"}, content=chunks()
    )
    assert streamed.status_code == 413
    assert (
        streamed.json()["detail"]
        == "the request body is more than 1048576 bytes; the limit for this kind of request is 1048576 bytes"
    )
    assert _ticket_count(desk) == 0


def test_an_upload_may_carry_one_full_sized_attachment_and_no_more(desk):
    ticket_id = open_sev1(desk).json()["id"]
    url = f"/api/v1/tickets/{ticket_id}/attachments"
    too_big = desk.client.post(
        url, headers=desk.headers["customer"], files={"file": ("dump.txt", b"a" * (11 * 1024 * 1024), "text/plain")}
    )
    assert too_big.status_code == 413
    assert desk.client.get(url, headers=desk.headers["agent"]).json() == []
    fits = desk.client.post(
        url, headers=desk.headers["customer"], files={"file": ("log.txt", b"a" * (2 * 1024 * 1024), "text/plain")}
    )
    assert fits.status_code == 201


def test_a_new_ticket_reads_the_same_in_the_answer_to_its_creation_and_afterwards(desk):
    created = open_sev1(desk)
    again = desk.client.get(created.headers["Location"], headers=desk.headers["customer"])
    assert again.json() == created.json()
    assert again.headers["ETag"] == created.headers["ETag"]
    assert created.json()["sla"]["first_response"]["due"] == "2026-11-30T15:00:00Z"


def test_a_tokens_last_use_is_recorded_to_within_five_minutes(desk):
    me = desk.client.get("/api/v1/users/me", headers=desk.headers["customer"]).json()
    url = f"/api/v1/users/{me['id']}/tokens"

    def last_used() -> datetime:
        (token,) = desk.client.get(url, headers=desk.headers["customer"]).json()
        return datetime.fromisoformat(token["last_used_at"])

    assert last_used() == datetime.fromisoformat("2026-11-25T15:00:00-05:00")
    desk.clock.set("2026-11-25T15:04:59-05:00")
    assert last_used() == datetime.fromisoformat("2026-11-25T15:00:00-05:00")
    desk.clock.set("2026-11-25T15:05:00-05:00")
    assert last_used() == datetime.fromisoformat("2026-11-25T15:05:00-05:00")
