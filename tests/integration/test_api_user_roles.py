"""PATCH /api/v1/users/{id} with `role`: agent and admin trade places, customer changes name the organisation."""

from __future__ import annotations

from typing import Any

import pytest

from sladesk.services import Role
from tests.support.desk import Desk


@pytest.fixture
def staff(desk: Desk) -> Desk:
    acme = desk.organisation("Acme", "alleo")
    desk.user("customer", Role.CUSTOMER, acme)
    desk.user("agent", Role.AGENT)
    desk.user("admin", Role.ADMIN)
    return desk


def _patch(desk: Desk, who: str, user: str, body: dict[str, Any]) -> Any:
    return desk.client.patch(f"/api/v1/users/{desk.ids[user]}", headers=desk.headers[who], json=body)


def test_an_agent_becomes_an_admin_and_then_manages_the_directory(staff: Desk):
    made = _patch(staff, "admin", "agent", {"role": "admin"})
    assert made.status_code == 200
    assert (made.json()["role"], made.json()["organisation_id"]) == ("admin", None)
    renamed = _patch(staff, "agent", "customer", {"name": "Carol"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Carol"


def test_a_change_to_or_from_customer_names_the_organisation(staff: Desk):
    acme = staff.ids["Acme"]
    unnamed = _patch(staff, "admin", "agent", {"role": "customer"})
    assert (unnamed.status_code, unnamed.json()["field"]) == (422, "organisation_id")
    assert unnamed.json()["detail"] == "organisation_id: a customer belongs to an organisation: name it"
    missing = _patch(staff, "admin", "agent", {"role": "customer", "organisation_id": 999})
    assert (missing.status_code, missing.json()["detail"]) == (422, "organisation_id: no organisation 999")
    became = _patch(staff, "admin", "agent", {"role": "customer", "organisation_id": acme})
    assert (became.json()["role"], became.json()["organisation_id"]) == ("customer", acme)
    kept = _patch(staff, "admin", "customer", {"role": "agent"})
    assert (kept.status_code, kept.json()["field"]) == (422, "organisation_id")
    assert kept.json()["detail"] == "organisation_id: staff belong to no organisation: set it to none"
    left = _patch(staff, "admin", "customer", {"role": "agent", "organisation_id": None})
    assert (left.json()["role"], left.json()["organisation_id"]) == ("agent", None)
    assert _patch(staff, "admin", "customer", {"role": None}).status_code == 422
    assert _patch(staff, "admin", "customer", {"role": "owner"}).status_code == 422


def test_only_admins_change_roles_and_the_last_admin_stays_one(staff: Desk):
    refused = _patch(staff, "agent", "agent", {"role": "admin"})
    assert refused.status_code == 403
    last = _patch(staff, "admin", "admin", {"role": "agent"})
    assert last.status_code == 409
    assert last.json()["detail"] == "the last active admin stays an admin: make another user admin first"
    assert _patch(staff, "admin", "agent", {"role": "admin"}).status_code == 200
    stepped = _patch(staff, "admin", "admin", {"role": "agent"})
    assert stepped.status_code == 200 and stepped.json()["role"] == "agent"
    assert _patch(staff, "admin", "customer", {"name": "x"}).status_code == 403  # no longer an admin
