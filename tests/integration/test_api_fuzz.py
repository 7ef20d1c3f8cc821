"""Fuzzing the REST API from its own OpenAPI document: no operation may answer with a server error.

Schemathesis generates requests (valid and invalid) for every operation in `/api/openapi.json` and
sends them to the app in-process (ASGI, no network), authenticated as an admin, on SQLite and on
PostgreSQL (which refuses more: integers past 2**31 - 1, NUL characters in text). What it found
stays as plain regression tests below.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import sessionmaker

from sladesk.api import create_app
from sladesk.services import Role, tickets
from tests.support.desk import Desk
from tests.support.units import committed

open_ticket = committed(tickets.open_ticket)

NOW = datetime.fromisoformat("2026-11-25T15:00:00-05:00")
TOO_BIG = (2**31, 2**63)  # one past the largest integer PostgreSQL, then SQLite, can store


@pytest.fixture
def desk(desk: Desk) -> Desk:
    """A small desk to fuzz: two organisations, customers, an agent and tickets 1 to 3; and an admin."""
    desk.clock.set(NOW)
    acme = desk.organisation("Acme", "alleo")
    initech = desk.organisation("Initech", "sourcegraph", tier="enterprise")
    customers = {org: desk.user(f"customer{org}", Role.CUSTOMER, org) for org in (acme, initech)}
    desk.user("agent", Role.AGENT)
    # generated path parameters are often small integers, so some of them name these tickets
    for organisation, severity in ((acme, "Sev1"), (acme, 3), (initech, "p2")):
        open_ticket(
            desk.sessions,
            desk.actors["agent"],
            subject="Sign-in fails",
            description="Every sign-in answers an error.",
            severity=severity,
            organisation_id=organisation,
            requester_id=customers[organisation],
            now=NOW,
        )
    # an admin may call every operation, so each gets past the role checks into its own logic
    desk.user("admin", Role.ADMIN)
    return desk


@pytest.fixture
def app(desk: Desk) -> FastAPI:
    return desk.app()


# The OpenAPI document does not depend on the database, so it is read once from an app on none;
# each test sends its requests to an app on its own database (`app=` below).
schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(sessionmaker()))


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)
def test_no_operation_answers_a_server_error(case: schemathesis.Case, app: FastAPI, desk: Desk) -> None:
    case.call_and_validate(app=app, headers=desk.headers["admin"], checks=[not_a_server_error])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/tickets/{n}", None),
        ("PATCH", "/api/v1/tickets/{n}", {"status": "open"}),
        ("GET", "/api/v1/tickets/{n}/comments", None),
        ("POST", "/api/v1/tickets/{n}/comments", {"body": "Any news?"}),
        ("GET", "/api/v1/tickets/{n}/events", None),
        ("GET", "/api/v1/tickets/{n}/sla", None),
        ("GET", "/api/v1/tickets?organisation_id={n}", None),
        ("GET", "/api/v1/tickets?severity={n}", None),
        ("POST", "/api/v1/tickets", {"subject": "s", "description": "d", "severity": 1, "organisation_id": "{n}"}),
        ("POST", "/api/v1/tickets", {"subject": "s", "description": "d", "severity": 1, "requester_id": "{n}"}),
        ("POST", "/api/v1/tickets", {"subject": "s", "description": "d", "severity": 1, "follow_up_of": "{n}"}),
    ],
)
def test_numbers_the_database_cannot_hold_are_client_errors(
    desk: Desk, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """Found by the fuzzing: such numbers reached the query and answered 500 (PostgreSQL's integer
    stops at 2**31 - 1, SQLite's at 2**63 - 1)."""
    client = TestClient(desk.app(), raise_server_exceptions=False)
    for too_big in TOO_BIG:
        filled = {k: too_big if v == "{n}" else v for k, v in body.items()} if body is not None else None
        headers = {**desk.headers["admin"], "If-Match": '"1"'}
        answer = client.request(method, path.format(n=too_big), json=filled, headers=headers)
        assert answer.status_code in (404, 422), (too_big, answer.status_code, answer.text)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/api/v1/tickets", {"subject": "a\u0000b", "description": "d", "severity": 1}, 422, "subject"),
        ("POST", "/api/v1/tickets", {"subject": "s", "description": "d", "severity": "Sev\u00001"}, 422, "severity"),
        (
            "POST",
            "/api/v1/tickets",
            {"subject": "s", "description": "d", "severity": 1, "intake": {"k": "\u0000"}},
            422,
            "intake",
        ),
        ("POST", "/api/v1/tickets/1/comments", {"body": "\u0000"}, 422, "body"),
        ("PATCH", "/api/v1/tickets/1", {"status": "op\u0000en"}, 422, "status"),
        ("GET", "/api/v1/tickets?status=new%00", None, 400, None),
        ("GET", "/api/v1/policies/alleo%00", None, 400, None),
    ],
)
def test_nul_characters_are_client_errors_naming_the_field(
    desk: Desk, method: str, path: str, body: Any, status: int, field: str | None
) -> None:
    """Found by the fuzzing on PostgreSQL, which cannot store a NUL: such text reached the database and answered 500."""
    client = TestClient(desk.app(), raise_server_exceptions=False)
    answer = client.request(method, path, json=body, headers={**desk.headers["admin"], "If-Match": '"1"'})
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json().get("field") == field
