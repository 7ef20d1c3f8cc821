"""API tokens that expire: given an instant when issued, refused with 401 from that instant, shown in listings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sladesk.services import Role, actor_for_token
from sladesk.services.accounts import MAX_CUSTOMER_TOKENS, issue_token_for
from sladesk.services.directory import issue_token
from sladesk.services.errors import InvalidFieldError
from sladesk.store import reading, transaction
from tests.support.desk import Desk

NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # the desk's START


@pytest.fixture
def desk(desk: Desk) -> Desk:
    desk.user("customer", Role.CUSTOMER, desk.organisation("Acme", "choozle"))
    desk.user("admin", Role.ADMIN)
    return desk


def _issue(desk: Desk, body: dict[str, object], key: str = "customer"):
    return desk.client.post(f"/api/v1/users/{desk.ids['customer']}/tokens", headers=desk.headers[key], json=body)


def test_a_token_with_an_expiry_signs_in_until_that_instant_then_answers_401_saying_it_expired(desk):
    issued = _issue(desk, {"name": "ci", "expires_at": "2026-12-08T09:00:00-05:00"})
    assert issued.status_code == 201, issued.text
    assert issued.json()["expires_at"] == "2026-12-08T14:00:00Z"
    bearer = {"Authorization": f"Bearer {issued.json()['token']}"}
    desk.clock.set("2026-12-08T08:59:59-05:00")
    assert desk.client.get("/api/v1/users/me", headers=bearer).status_code == 200
    desk.clock.set("2026-12-08T09:00:00-05:00")
    refused = desk.client.get("/api/v1/users/me", headers=bearer)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["detail"] == "this API token expired at 2026-12-08T14:00:00Z; use another one"
    assert refused.headers["www-authenticate"] == "Bearer"
    assert desk.client.get("/api/v1/users/me", headers=desk.headers["customer"]).status_code == 200


def test_token_listings_show_each_tokens_expiry(desk):
    _issue(desk, {"name": "ci", "expires_at": "2027-01-01T00:00:00Z"})
    listed = desk.client.get(f"/api/v1/users/{desk.ids['customer']}/tokens", headers=desk.headers["admin"])
    assert [(t["name"], t["expires_at"]) for t in listed.json()] == [("tests", None), ("ci", "2027-01-01T00:00:00Z")]


@pytest.mark.parametrize(
    ("expires_at", "detail"),
    [
        ("2026-12-07T14:00:00Z", "must be in the future"),
        ("2020-01-01T00:00:00Z", "must be in the future"),
        ("2031-12-07T14:00:01Z", "at most 1825 days (five years) from now, 2031-12-06T14:00:00Z"),
        ("2027-01-01T00:00:00", "timezone"),
        ("soon", "datetime"),
    ],
)
def test_an_expiry_that_is_past_too_far_or_without_an_offset_is_refused_naming_the_field(desk, expires_at, detail):
    refused = _issue(desk, {"name": "ci", "expires_at": expires_at})
    assert refused.status_code == 422
    assert refused.json()["field"] == "expires_at"
    assert detail in refused.json()["detail"]
    listed = desk.client.get(f"/api/v1/users/{desk.ids['customer']}/tokens", headers=desk.headers["customer"])
    assert len(listed.json()) == 1


def test_the_furthest_expiry_is_five_years_of_days_away(desk):
    assert _issue(desk, {"name": "ci", "expires_at": "2031-12-06T14:00:00Z"}).status_code == 201


def test_the_services_take_the_same_expiry_and_refuse_the_same_instants(desk):
    with transaction(desk.sessions) as session:
        secret = issue_token(session, desk.ids["admin"], "cli", NOW, expires_at=NOW + timedelta(hours=1))
        with pytest.raises(InvalidFieldError) as past:
            issue_token(session, desk.ids["admin"], "cli", NOW, expires_at=NOW)
        assert past.value.field == "expires_at"
        with pytest.raises(InvalidFieldError):
            issue_token_for(
                session, desk.actors["admin"], desk.ids["admin"], "x", NOW, expires_at=NOW + timedelta(days=1826)
            )
        issued = issue_token_for(
            session, desk.actors["admin"], desk.ids["admin"], "y", NOW, expires_at=NOW + timedelta(days=2)
        )
        assert issued.token.expires_at == NOW + timedelta(days=2)
    with reading(desk.sessions) as session:
        assert actor_for_token(session, secret, NOW + timedelta(minutes=59)) == desk.actors["admin"]
        assert actor_for_token(session, secret, NOW + timedelta(hours=1)) is None
        assert actor_for_token(session, issued.secret, NOW + timedelta(days=1)) == desk.actors["admin"]


def test_expired_tokens_do_not_count_against_the_cap_and_go_when_another_is_issued(desk):
    for n in range(MAX_CUSTOMER_TOKENS - 1):  # the desk issued one already
        assert _issue(desk, {"name": f"t{n}", "expires_at": "2026-12-08T00:00:00Z"}).status_code == 201
    assert _issue(desk, {"name": "one more"}).status_code == 409
    desk.clock.set("2026-12-08T00:00:00Z")
    assert _issue(desk, {"name": "after"}).status_code == 201
    listed = desk.client.get(f"/api/v1/users/{desk.ids['customer']}/tokens", headers=desk.headers["customer"])
    assert [t["name"] for t in listed.json()] == ["tests", "after"]
