"""The REST API over HTTP semantics: status codes, ETags, problem documents and who sees what."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from sladesk.api import create_app
from sladesk.services import Role
from tests.support.units import create_organisation, create_user, issue_token


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
    other = create_organisation(sessions, None, name="Globex", policy_id="alleo")
    tokens = {}
    for key, role, organisation in (
        ("customer", Role.CUSTOMER, org.id),
        ("stranger", Role.CUSTOMER, other.id),
        ("agent", Role.AGENT, None),
    ):
        user = create_user(
            sessions, None, email=f"{key}@example.com", name=key, role=role, organisation_id=organisation
        )
        tokens[key] = {"Authorization": f"Bearer {issue_token(sessions, user.id, 'tests')}"}
    clock = Clock("2026-11-25T15:00:00-05:00")
    client = TestClient(create_app(sessions, clock))
    return client, tokens, clock


def open_sev1(client, tokens):
    return client.post(
        "/api/v1/tickets",
        headers=tokens["customer"],
        json={"subject": "Nobody can sign in", "description": "Since 14:50.", "severity": "Sev1"},
    )


def test_customer_opens_agent_answers_and_the_clock_is_met(desk):
    client, tokens, clock = desk
    created = open_sev1(client, tokens)
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

    clock.set("2026-11-30T09:00:00-05:00")
    answered = client.post(f"/api/v1/tickets/{ticket['id']}/comments", headers=tokens["agent"], json={"body": "On it."})
    assert answered.status_code == 201
    after = client.get(f"/api/v1/tickets/{ticket['id']}", headers=tokens["customer"]).json()
    assert after["sla"]["first_response"]["state"] == "met"
    assert after["sla"]["first_response"]["counted_seconds"] == 3 * 3600
    assert after["version"] == 2


def test_changes_need_the_version_read(desk):
    client, tokens, _ = desk
    ticket_id = open_sev1(client, tokens).json()["id"]
    url = f"/api/v1/tickets/{ticket_id}"
    missing = client.patch(url, headers=tokens["agent"], json={"status": "open"})
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"
    changed = client.patch(url, headers={**tokens["agent"], "If-Match": '"1"'}, json={"status": "open"})
    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'
    stale = client.patch(url, headers={**tokens["agent"], "If-Match": '"1"'}, json={"status": "on_hold"})
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
    client, tokens, _ = desk
    unknown = client.post(
        "/api/v1/tickets",
        headers=tokens["customer"],
        json={"subject": "x", "description": "y", "severity": 1, "colour": "red"},
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "colour"
    assert unknown.json()["detail"] == "colour: unknown field"
    bad_severity = client.post(
        "/api/v1/tickets", headers=tokens["customer"], json={"subject": "x", "description": "y", "severity": 9}
    )
    assert bad_severity.status_code == 422
    assert bad_severity.json()["field"] == "severity"
    ticket_id = open_sev1(client, tokens).json()["id"]
    invalid_move = client.patch(
        f"/api/v1/tickets/{ticket_id}", headers={**tokens["agent"], "If-Match": '"1"'}, json={"status": "resolved"}
    )
    assert invalid_move.status_code == 422
    assert invalid_move.json()["field"] == "status"


def test_customers_see_only_their_organisation_and_no_internal_notes(desk):
    client, tokens, _ = desk
    ticket_id = open_sev1(client, tokens).json()["id"]
    client.post(
        f"/api/v1/tickets/{ticket_id}/comments", headers=tokens["agent"], json={"body": "internal", "public": False}
    )
    client.post(f"/api/v1/tickets/{ticket_id}/comments", headers=tokens["agent"], json={"body": "Hello"})
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=tokens["stranger"]).status_code == 404
    assert client.get(f"/api/v1/tickets/{ticket_id}/comments", headers=tokens["stranger"]).status_code == 404
    assert client.get(f"/api/v1/tickets/{ticket_id + 1000}", headers=tokens["customer"]).status_code == 404
    assert client.get("/api/v1/tickets", headers=tokens["stranger"]).json()["items"] == []
    comments = client.get(f"/api/v1/tickets/{ticket_id}/comments", headers=tokens["customer"]).json()
    assert [c["body"] for c in comments] == ["Hello"]
    events = client.get(f"/api/v1/tickets/{ticket_id}/events", headers=tokens["customer"]).json()
    assert [e["type"] for e in events] == ["opened", "reply"]
    staff_events = client.get(f"/api/v1/tickets/{ticket_id}/events", headers=tokens["agent"]).json()
    assert [e["type"] for e in staff_events] == ["opened", "reply", "reply"]
    note = client.post(
        f"/api/v1/tickets/{ticket_id}/comments", headers=tokens["customer"], json={"body": "x", "public": False}
    )
    assert note.status_code == 403


def test_no_token_is_401_and_the_queue_is_for_staff(desk):
    client, tokens, clock = desk
    assert client.get("/api/v1/tickets").status_code == 401
    assert client.get("/api/v1/tickets", headers={"Authorization": "Bearer sld_nope"}).status_code == 401
    first = open_sev1(client, tokens).json()["id"]
    clock.set("2026-11-25T15:30:00-05:00")
    second = client.post(
        "/api/v1/tickets", headers=tokens["customer"], json={"subject": "Slow", "description": "y", "severity": 2}
    ).json()["id"]
    queue = client.get("/api/v1/queue", headers=tokens["agent"])
    assert [item["ticket_id"] for item in queue.json()] == [first, second]
    assert queue.json()[0]["reason"].startswith("Number one: severity Sev1 (rank 1)")
    assert client.get("/api/v1/queue", headers=tokens["customer"]).status_code == 403


def test_list_filters_and_cursor_pagination(desk):
    client, tokens, _ = desk
    ids = [open_sev1(client, tokens).json()["id"] for _ in range(3)]
    first_page = client.get("/api/v1/tickets?limit=2", headers=tokens["agent"]).json()
    assert [t["id"] for t in first_page["items"]] == ids[:2]
    second_page = client.get(
        f"/api/v1/tickets?limit=2&cursor={first_page['next_cursor']}", headers=tokens["agent"]
    ).json()
    assert [t["id"] for t in second_page["items"]] == ids[2:]
    assert second_page["next_cursor"] is None
    due_soon = client.get("/api/v1/tickets?due_before=2026-11-30T10:00:01-05:00", headers=tokens["agent"]).json()
    assert len(due_soon["items"]) == 3
    none_due = client.get("/api/v1/tickets?due_before=2026-11-30T10:00:00-05:00", headers=tokens["agent"]).json()
    assert none_due["items"] == []
    bad_cursor = client.get("/api/v1/tickets?cursor=zzz", headers=tokens["agent"])
    assert (bad_cursor.status_code, bad_cursor.json()["field"]) == (422, "cursor")


def test_sla_endpoint_gives_the_replay_json_and_the_explanation(desk):
    client, tokens, _ = desk
    ticket_id = open_sev1(client, tokens).json()["id"]
    sla = client.get(f"/api/v1/tickets/{ticket_id}/sla", headers=tokens["customer"]).json()
    assert sla["metrics"]["first_response"]["due"] == "2026-11-30T10:00:00-05:00"
    assert "Thu 26 Nov 2026  skipped: holiday: Thanksgiving Day." in sla["explanation"]


def test_openapi_document_is_served(desk):
    client, _, _ = desk
    document = client.get("/api/openapi.json").json()
    assert "/api/v1/tickets/{ticket_id}" in document["paths"]


def test_a_retry_with_the_same_idempotency_key_opens_one_ticket(desk):
    client, tokens, _ = desk
    body = {"subject": "Nobody can sign in", "description": "Since 14:50.", "severity": 1}
    headers = {**tokens["customer"], "Idempotency-Key": "retry-me-1"}
    first = client.post("/api/v1/tickets", headers=headers, json=body)
    again = client.post("/api/v1/tickets", headers=headers, json=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert len(client.get("/api/v1/tickets", headers=tokens["agent"]).json()["items"]) == 1
    reused = client.post("/api/v1/tickets", headers=headers, json={**body, "severity": 2})
    assert (reused.status_code, reused.json()["field"]) == (422, "Idempotency-Key")


def test_a_failed_request_does_not_use_up_its_idempotency_key(desk):
    client, tokens, _ = desk
    headers = {**tokens["customer"], "Idempotency-Key": "k2"}
    failed = client.post("/api/v1/tickets", headers=headers, json={"subject": "x", "description": "y", "severity": 9})
    assert failed.status_code == 422
    fixed = client.post("/api/v1/tickets", headers=headers, json={"subject": "x", "description": "y", "severity": 9})
    assert fixed.status_code == 422  # the same body fails the same way, and is not replayed from memory
    assert fixed.json()["field"] == "severity"


def test_queue_orders_by_tier_within_a_severity_and_leaves_out_closed_tickets(sessions):
    free = create_organisation(sessions, None, name="Free co", policy_id="sourcegraph", tier="free")
    pre_sales = create_organisation(sessions, None, name="Prospect", policy_id="sourcegraph", tier="pre_sales")
    tokens = {}
    for key, organisation in (("free", free.id), ("pre_sales", pre_sales.id)):
        user = create_user(
            sessions, None, email=f"{key}@example.com", name=key, role=Role.CUSTOMER, organisation_id=organisation
        )
        tokens[key] = {"Authorization": f"Bearer {issue_token(sessions, user.id, 'tests')}"}
    agent = create_user(sessions, None, email="agent@example.com", name="agent", role=Role.AGENT)
    tokens["agent"] = {"Authorization": f"Bearer {issue_token(sessions, agent.id, 'tests')}"}
    clock = Clock("2026-12-01T10:00:00+00:00")
    client = TestClient(create_app(sessions, clock))

    def open_p2(who: str) -> int:
        body = {"subject": f"{who} question", "description": "d", "severity": "p2"}
        ticket_id: int = client.post("/api/v1/tickets", headers=tokens[who], json=body).json()["id"]
        return ticket_id

    earlier_free = open_p2("free")
    clock.set("2026-12-01T11:00:00+00:00")
    later_pre_sales = open_p2("pre_sales")
    closed = open_p2("pre_sales")
    assert (
        client.patch(
            f"/api/v1/tickets/{closed}", headers={**tokens["agent"], "If-Match": '"1"'}, json={"status": "closed"}
        ).status_code
        == 200
    )
    queue = client.get("/api/v1/queue", headers=tokens["agent"]).json()
    # same severity: pre-sales is served before free, though opened an hour later; closed is not queued
    assert [item["ticket_id"] for item in queue] == [later_pre_sales, earlier_free]
    assert queue[0]["reason"].endswith("because its tier pre_sales outranks free.")


def test_merging_a_duplicate_closes_it_and_both_histories_say_so(desk):
    client, tokens, _ = desk
    original = open_sev1(client, tokens).json()["id"]
    duplicate = open_sev1(client, tokens).json()["id"]
    merged = client.post(
        f"/api/v1/tickets/{duplicate}/merge", headers={**tokens["agent"], "If-Match": '"1"'}, json={"into": original}
    )
    assert merged.status_code == 200
    # closed before anyone answered: its first response is cancelled, neither met nor breached
    assert (merged.json()["status"], merged.json()["sla"]["first_response"]["state"]) == ("closed", "cancelled")
    duplicate_events = client.get(f"/api/v1/tickets/{duplicate}/events", headers=tokens["agent"]).json()
    assert duplicate_events[-1]["data"] == {"to": "closed", "merged_into": original}
    original_events = client.get(f"/api/v1/tickets/{original}/events", headers=tokens["agent"]).json()
    assert original_events[-1]["type"] == "merged"
    assert original_events[-1]["data"] == {"from": duplicate}
    again = client.post(
        f"/api/v1/tickets/{duplicate}/merge", headers={**tokens["agent"], "If-Match": '"2"'}, json={"into": original}
    )
    assert again.status_code == 409
    by_customer = client.post(
        f"/api/v1/tickets/{original}/merge", headers={**tokens["customer"], "If-Match": '"2"'}, json={"into": duplicate}
    )
    assert by_customer.status_code == 403


def _ticket_count(client, tokens):
    return len(client.get("/api/v1/tickets", headers=tokens["agent"]).json()["items"])


def test_an_oversized_body_is_refused_before_it_is_read(desk):
    client, tokens, _ = desk
    body = '{"subject": "Big", "severity": 1, "description": "' + "x" * (1024 * 1024) + '"}'
    declared = client.post(
        "/api/v1/tickets", headers={**tokens["customer"], "Content-Type": "application/json"}, content=body
    )
    assert declared.status_code == 413
    assert declared.headers["Content-Type"] == "application/problem+json"
    assert declared.json()["detail"] == (
        f"the request body is {len(body)} bytes; the limit for this kind of request is 1048576 bytes"
    )

    def chunks():
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024].encode()

    streamed = client.post(
        "/api/v1/tickets", headers={**tokens["customer"], "Content-Type": "application/json"}, content=chunks()
    )
    assert streamed.status_code == 413
    assert (
        streamed.json()["detail"]
        == "the request body is more than 1048576 bytes; the limit for this kind of request is 1048576 bytes"
    )
    assert _ticket_count(client, tokens) == 0


def test_an_upload_may_carry_one_full_sized_attachment_and_no_more(desk):
    client, tokens, _ = desk
    ticket_id = open_sev1(client, tokens).json()["id"]
    url = f"/api/v1/tickets/{ticket_id}/attachments"
    too_big = client.post(
        url, headers=tokens["customer"], files={"file": ("dump.txt", b"a" * (11 * 1024 * 1024), "text/plain")}
    )
    assert too_big.status_code == 413
    assert client.get(url, headers=tokens["agent"]).json() == []
    fits = client.post(
        url, headers=tokens["customer"], files={"file": ("log.txt", b"a" * (2 * 1024 * 1024), "text/plain")}
    )
    assert fits.status_code == 201


def test_a_new_ticket_reads_the_same_in_the_answer_to_its_creation_and_afterwards(desk):
    client, tokens, _ = desk
    created = open_sev1(client, tokens)
    again = client.get(created.headers["Location"], headers=tokens["customer"])
    assert again.json() == created.json()
    assert again.headers["ETag"] == created.headers["ETag"]
    assert created.json()["sla"]["first_response"]["due"] == "2026-11-30T15:00:00Z"


def test_a_tokens_last_use_is_recorded_to_within_five_minutes(desk):
    client, tokens, clock = desk
    me = client.get("/api/v1/users/me", headers=tokens["customer"]).json()
    url = f"/api/v1/users/{me['id']}/tokens"

    def last_used() -> datetime:
        (token,) = client.get(url, headers=tokens["customer"]).json()
        return datetime.fromisoformat(token["last_used_at"])

    assert last_used() == datetime.fromisoformat("2026-11-25T15:00:00-05:00")
    clock.set("2026-11-25T15:04:59-05:00")
    assert last_used() == datetime.fromisoformat("2026-11-25T15:00:00-05:00")
    clock.set("2026-11-25T15:05:00-05:00")
    assert last_used() == datetime.fromisoformat("2026-11-25T15:05:00-05:00")
