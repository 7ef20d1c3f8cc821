"""Hostile input over the API: every malformed request is a quick 4xx naming the field, and nothing half-stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sladesk.services import Role

JSON = {"Content-Type": "application/json"}
TICKET = {"subject": "Nobody can sign in", "description": "Since 14:50.", "severity": "Sev1"}


@pytest.fixture
def desk(desk):
    """A customer of Acme, an agent and an admin."""
    desk.clock.set("2026-11-25T15:00:00-05:00")
    desk.user("customer", Role.CUSTOMER, desk.organisation("Acme", "alleo"))
    desk.user("agent", Role.AGENT)
    desk.user("admin", Role.ADMIN)
    return desk


def send(desk, method: str, url: str, key: str, body: Any, headers: dict[str, str] | None = None):
    """The body as JSON text with every non-ASCII character escaped, so that lone surrogates go as `\\ud800`."""
    content = body if isinstance(body, str) else json.dumps(body, ensure_ascii=True)
    return desk.client.request(method, url, headers={**desk.headers[key], **JSON, **(headers or {})}, content=content)


def refused(answer, field: str | None, status: int = 422) -> None:
    """A problem document naming `field` (None: a field with no name to give, such as an unknown one)."""
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json().get("field") == field


def open_ticket(desk) -> int:
    created = desk.client.post("/api/v1/tickets", headers=desk.headers["customer"], json=TICKET)
    assert created.status_code == 201, created.text
    ticket_id: int = created.json()["id"]
    return ticket_id


SURROGATE = "a\ud800b"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**TICKET, "intake": {"steps_to_reproduce": SURROGATE}}, "intake"),
        ({**TICKET, "intake": {SURROGATE: "firefox"}}, "intake"),
        ({**TICKET, "intake": {"steps": [{"note": SURROGATE}]}}, "intake"),
        ({**TICKET, "category": SURROGATE}, "category"),
        ({**TICKET, "subject": SURROGATE}, "subject"),
        ({**TICKET, SURROGATE: 1}, None),
    ],
    ids=["intake-value", "intake-key", "intake-nested", "category", "subject", "unknown-field"],
)
def test_a_lone_surrogate_in_a_ticket_is_refused_and_nothing_is_stored(desk, body, field):
    refused(send(desk, "POST", "/api/v1/tickets", "customer", body), field)
    listed = desk.client.get("/api/v1/tickets", headers=desk.headers["agent"])
    assert listed.status_code == 200
    assert listed.json()["items"] == []


def test_a_lone_surrogate_is_refused_in_every_body(desk):
    ticket_id = open_ticket(desk)
    url = f"/api/v1/tickets/{ticket_id}"
    refused(send(desk, "POST", f"{url}/comments", "agent", {"body": SURROGATE}), "body")
    change = {"category": SURROGATE, "reason": "triage"}
    refused(send(desk, "PATCH", url, "agent", change, {"If-Match": '"1"'}), "category")
    organisation = {"name": SURROGATE, "policy_id": "alleo"}
    refused(send(desk, "POST", "/api/v1/organisations", "admin", organisation), "name")
    user = {"email": "new@example.com", "name": SURROGATE, "role": "agent"}
    refused(send(desk, "POST", "/api/v1/users", "admin", user), "name")
    assert desk.client.get(f"{url}/comments", headers=desk.headers["agent"]).json() == []


@pytest.mark.parametrize("character", ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069"])
def test_bidi_controls_are_refused_in_names(desk, character):
    organisation = {"name": f"Acme{character}corp", "policy_id": "alleo"}
    refused(send(desk, "POST", "/api/v1/organisations", "admin", organisation), "name")
    user = {"email": "new@example.com", "name": f"Eve{character}lyn", "role": "agent"}
    refused(send(desk, "POST", "/api/v1/users", "admin", user), "name")
    user_id = desk.ids["agent"]
    refused(send(desk, "PATCH", f"/api/v1/users/{user_id}", "admin", {"name": f"x{character}y"}), "name")
    ticket_id = open_ticket(desk)
    attached = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=desk.headers["customer"],
        files={"file": (f"invoice{character}fdp.exe", b"hello", "text/plain")},
    )
    refused(attached, "file")


def test_a_boolean_is_not_a_severity(desk):
    refused(send(desk, "POST", "/api/v1/tickets", "customer", {**TICKET, "severity": True}), "severity")
    ticket_id = open_ticket(desk)
    change = {"severity": True, "severity_reason": "worse"}
    refused(send(desk, "PATCH", f"/api/v1/tickets/{ticket_id}", "agent", change, {"If-Match": '"1"'}), "severity")
