"""API tokens of deactivated users and how many a customer may hold; Content-Type and intake limits."""

from __future__ import annotations

import json

import pytest

from sladesk.services import Role
from sladesk.services.accounts import MAX_CUSTOMER_TOKENS
from tests.support.desk import Desk
from tests.support.units import bootstrap_admin, issue_token, list_tokens, update_user


@pytest.fixture
def org(desk: Desk) -> int:
    org = desk.organisation("Acme", "choozle")
    desk.user("customer", Role.CUSTOMER, org)
    desk.user("agent", Role.AGENT)
    desk.user("admin", Role.ADMIN)
    return org


def test_deactivating_a_user_revokes_its_tokens_and_reactivating_does_not_revive_them(desk, org):
    customer = desk.ids["customer"]
    desk.client.post(f"/api/v1/users/{customer}/tokens", headers=desk.headers["customer"], json={"name": "two"})
    off = desk.client.patch(f"/api/v1/users/{customer}", headers=desk.headers["admin"], json={"active": False})
    assert off.status_code == 200
    assert list_tokens(desk.sessions, desk.actors["admin"], customer) == []
    on = desk.client.patch(f"/api/v1/users/{customer}", headers=desk.headers["admin"], json={"active": True})
    assert on.status_code == 200 and on.json()["active"] is True
    assert desk.client.get("/api/v1/users/me", headers=desk.headers["customer"]).status_code == 401
    fresh = issue_token(desk.sessions, customer, "after", desk.clock())
    assert desk.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_renaming_an_active_user_keeps_its_tokens(desk, org):
    renamed = desk.client.patch(
        f"/api/v1/users/{desk.ids['customer']}", headers=desk.headers["admin"], json={"name": "C", "active": True}
    )
    assert renamed.status_code == 200
    assert desk.client.get("/api/v1/users/me", headers=desk.headers["customer"]).status_code == 200


def test_the_operator_brings_back_a_deactivated_admin_with_a_new_token(desk, org):
    update_user(desk.sessions, None, desk.ids["admin"], {"active": False})
    user, created = bootstrap_admin(desk.sessions, email="admin@example.com", name="ignored")
    assert (user.id, user.active, created) == (desk.ids["admin"], True, False)
    assert desk.client.get("/api/v1/users/me", headers=desk.headers["admin"]).status_code == 401
    fresh = issue_token(desk.sessions, user.id, "cli", desk.clock())
    assert desk.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_a_customer_holds_a_limited_number_of_tokens_and_staff_more(desk, org):
    customer = desk.ids["customer"]
    path = f"/api/v1/users/{customer}/tokens"
    for n in range(MAX_CUSTOMER_TOKENS - 1):  # the desk issued one already
        assert desk.client.post(path, headers=desk.headers["customer"], json={"name": f"t{n}"}).status_code == 201
    refused = desk.client.post(path, headers=desk.headers["customer"], json={"name": "one more"})
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert f"{MAX_CUSTOMER_TOKENS} API tokens" in refused.json()["detail"]
    by_admin = desk.client.post(path, headers=desk.headers["admin"], json={"name": "one more"})
    assert by_admin.status_code == 409
    last = list_tokens(desk.sessions, desk.actors["admin"], customer)[-1].id
    assert desk.client.delete(f"{path}/{last}", headers=desk.headers["customer"]).status_code == 204
    assert desk.client.post(path, headers=desk.headers["customer"], json={"name": "again"}).status_code == 201
    agent = desk.ids["agent"]
    for n in range(MAX_CUSTOMER_TOKENS + 1):
        issued = desk.client.post(
            f"/api/v1/users/{agent}/tokens", headers=desk.headers["agent"], json={"name": f"t{n}"}
        )
        assert issued.status_code == 201


def _ticket(org: int, description: str, intake: dict[str, str] | None = None) -> dict[str, object]:
    return {"subject": "Down", "description": description, "severity": "S2", "intake": intake or {}}


def test_two_content_types_are_refused_so_the_upload_cap_never_covers_a_json_body(desk, org):
    body = json.dumps(_ticket(org, "x" * (5 * 1024 * 1024))).encode()
    two = [
        ("authorization", desk.headers["customer"]["Authorization"]),
        ("content-type", "application/json"),
        ("content-type", "multipart/form-data; boundary=x"),
    ]
    refused = desk.client.post("/api/v1/tickets", headers=two, content=body)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "Content-Type" in refused.json()["detail"]
    small = json.dumps(_ticket(org, "small")).encode()
    assert desk.client.post("/api/v1/tickets", headers=two, content=small).status_code == 400
    one = two[:2]
    assert desk.client.post("/api/v1/tickets", headers=one, content=body).status_code == 413
    assert desk.client.post("/api/v1/tickets", headers=one, content=small).status_code == 201


def test_a_json_body_declared_as_multipart_is_not_parsed_as_json(desk, org):
    body = json.dumps(_ticket(org, "x" * (2 * 1024 * 1024))).encode()
    headers = {**desk.headers["customer"], "content-type": "multipart/form-data; boundary=x"}
    answer = desk.client.post("/api/v1/tickets", headers=headers, content=body)
    assert answer.status_code in (400, 413, 415, 422) and answer.status_code != 201


@pytest.mark.parametrize(
    ("field", "longest", "value"),
    [
        ("advertiser_name", 2000, "a"),
        ("steps_taken", 100_000, "s"),
        ("user_email", 320, None),
    ],
)
def test_intake_answers_have_their_own_length_limits(
    desk: Desk, org: int, field: str, longest: int, value: str | None
) -> None:
    def answer(length: int) -> str:
        if value is not None:
            return value * length
        return "u" * (length - len("@example.com")) + "@example.com"

    path, headers = "/api/v1/tickets", desk.headers["customer"]
    accepted = desk.client.post(path, headers=headers, json=_ticket(org, "d", {field: answer(longest)}))
    assert accepted.status_code == 201, accepted.text
    refused = desk.client.post(path, headers=headers, json=_ticket(org, "d", {field: answer(longest + 1)}))
    assert refused.status_code == 422
    assert refused.json()["field"] == f"intake.{field}"
    assert str(longest) in refused.json()["detail"]
