"""Signing in to the pages: sessions, CSRF, rate limits and password resets, over HTTP on both databases."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sladesk.services import Role
from sladesk.store import reading
from sladesk.store.tables import OutboxMessage, WebSession
from tests.support.desk import Desk
from tests.support.web import PASSWORD, WebPerson


@pytest.fixture
def people(desk: Desk) -> Desk:
    acme = desk.organisation("Acme", "alleo")
    desk.user("customer", Role.CUSTOMER, acme, password=PASSWORD)
    desk.user("agent", Role.AGENT, password=PASSWORD)
    desk.user("admin", Role.ADMIN, password=PASSWORD)
    return desk


def test_the_desk_address_shows_the_sign_in_page_with_its_own_policy(people: Desk):
    person = WebPerson(people.app())
    page = person.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/sign-in"' in page.text and 'for="email"' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "form-action 'self'" in policy
    assert page.headers["cache-control"] == "no-store"


def test_a_customer_signs_in_to_the_portal_and_an_agent_to_the_queue(people: Desk):
    customer, agent = WebPerson(people.app()), WebPerson(people.app())
    assert customer.sign_in("customer@example.com").headers["location"] == "/portal"
    assert agent.sign_in("AGENT@example.com").headers["location"] == "/queue"
    assert customer.get("/").headers["location"] == "/portal"
    cookie = WebPerson(people.app()).sign_in("customer@example.com").headers["set-cookie"]
    assert cookie.startswith("sladesk_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over TLS the cookie is Secure


def test_the_session_cookie_is_secure_over_tls(people: Desk):
    person = WebPerson(people.app(), base_url="https://testserver")
    cookie = person.sign_in("agent@example.com").headers["set-cookie"]
    assert "Secure" in cookie


def test_a_wrong_password_is_refused_without_saying_whether_the_account_exists(people: Desk):
    person = WebPerson(people.app())
    person.get("/sign-in")
    wrong = person.submit("/sign-in", {"email": "customer@example.com", "password": "not it at all"})
    person.get("/sign-in")
    nobody = person.submit("/sign-in", {"email": "nobody@example.com", "password": "not it at all"})
    assert wrong.status_code == nobody.status_code == 401
    assert "do not match an account" in wrong.text and "do not match an account" in nobody.text
    assert "sladesk_session" not in wrong.headers.get("set-cookie", "")


def test_a_form_without_the_right_csrf_token_is_refused_and_changes_nothing(people: Desk):
    person = WebPerson(people.app())
    person.get("/sign-in")
    forged = person.submit("/sign-in", {"email": "customer@example.com", "password": PASSWORD}, csrf="forged")
    assert forged.status_code == 403 and "reload the page" in forged.text
    with reading(people.sessions) as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    person.sign_in("customer@example.com")
    assert person.submit("/sign-out", {}, csrf="").status_code == 403
    assert person.get("/").headers["location"] == "/portal"  # still signed in


def test_signing_out_ends_the_session_on_the_server(people: Desk):
    person = WebPerson(people.app())
    person.sign_in("agent@example.com")
    secret = person.client.cookies["sladesk_session"]
    person.get("/sign-in?next=/queue")  # signed in: sent on, with the page's token in the last page read
    page = person.get("/").headers["location"]
    assert page == "/queue"
    person.last_page = f'<input type="hidden" name="csrf" value="{_csrf_of_session(people)}">'
    answer = person.submit("/sign-out", {})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in")
    replay = WebPerson(people.app())
    replay.client.cookies.set("sladesk_session", secret)
    assert replay.get("/").status_code == 200  # the old cookie signs in no more: the sign-in page


def _csrf_of_session(desk: Desk) -> str:
    with reading(desk.sessions) as session:
        token = session.scalar(select(WebSession.csrf_token))
    assert token is not None
    return str(token)


def test_five_failed_sign_ins_lock_the_account_for_fifteen_minutes_even_with_the_right_password(people: Desk):
    person = WebPerson(people.app())
    for _ in range(5):
        person.get("/sign-in")
        assert person.submit("/sign-in", {"email": "agent@example.com", "password": "guess-guess"}).status_code == 401
    person.get("/sign-in")
    locked = person.submit("/sign-in", {"email": "agent@example.com", "password": PASSWORD})
    assert locked.status_code == 429 and locked.headers["retry-after"] == str(15 * 60)
    assert "try again in 15 minutes" in locked.text
    # Another account from the same address is not locked (5 < the address's 20).
    person.get("/sign-in")
    assert person.submit("/sign-in", {"email": "customer@example.com", "password": PASSWORD}).status_code == 303
    people.clock.advance(timedelta(minutes=15))
    WebPerson(people.app()).sign_in("agent@example.com")


def test_a_password_reset_link_is_emailed_works_once_and_ends_other_sessions(people: Desk):
    other_browser = WebPerson(people.app())
    other_browser.sign_in("customer@example.com")
    person = WebPerson(people.app())
    person.get("/password-reset")
    sent = person.submit("/password-reset", {"email": "customer@example.com"})
    person.get("/password-reset")
    unknown = person.submit("/password-reset", {"email": "nobody@example.com"})
    assert sent.status_code == unknown.status_code == 200
    assert "If an account uses that address" in sent.text and "If an account uses that address" in unknown.text
    with reading(people.sessions) as session:
        mails = list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "email")))
    assert [mail.payload["to"] for mail in mails] == [["customer@example.com"]]
    link = re.search(r"http://testserver(/password-reset/new\?token=\S+)", mails[0].payload["text"])
    assert link is not None
    person.get(link.group(1))
    token = link.group(1).split("token=")[1]
    short = person.submit("/password-reset/new", {"token": token, "password": "short", "password_again": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    new = "a much longer secret"
    done = person.submit("/password-reset/new", {"token": token, "password": new, "password_again": new})
    assert done.status_code == 303 and done.headers["location"].startswith("/portal")
    replay = WebPerson(people.app())
    replay.get(link.group(1))
    again = replay.submit("/password-reset/new", {"token": token, "password": new, "password_again": new})
    assert again.status_code == 422 and "unknown, used or expired" in again.text
    assert other_browser.get("/").status_code == 200  # its session ended with the reset: the sign-in page
    WebPerson(people.app()).sign_in("customer@example.com", new)


def test_a_page_that_needs_a_sign_in_sends_there_and_back(people: Desk):
    person = WebPerson(people.app())
    answer = person.get("/queue?view=mine")
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in?next=/queue%3Fview%3Dmine"
    person.get(answer.headers["location"])
    signed = person.submit("/sign-in", {"email": "agent@example.com", "password": PASSWORD, "next": "/queue?view=mine"})
    assert signed.headers["location"] == "/queue?view=mine"
    person.get("/sign-in")
    elsewhere = WebPerson(people.app())
    elsewhere.get("/sign-in")
    away = elsewhere.submit("/sign-in", {"email": "agent@example.com", "password": PASSWORD, "next": "//evil.example/"})
    assert away.headers["location"] == "/queue"


def test_a_malformed_address_on_a_page_answers_an_html_page_not_json(people: Desk):
    person = WebPerson(people.app())
    person.sign_in("admin@example.com")
    wrong_id = person.get("/tickets/abc")
    assert wrong_id.status_code == 404 and wrong_id.headers["content-type"].startswith("text/html")
    assert "there is no such page" in wrong_id.text


def test_a_session_ends_after_twelve_idle_hours_but_each_page_read_counts_as_activity(people: Desk):
    person = WebPerson(people.app())
    person.sign_in("agent@example.com")
    people.clock.advance(timedelta(hours=11))
    assert person.get("/").headers["location"] == "/queue"  # read 11 h after signing in: active again
    people.clock.advance(timedelta(hours=11))
    assert person.get("/").headers["location"] == "/queue"  # 22 h after signing in, 11 h idle
    people.clock.advance(timedelta(hours=12))
    assert person.get("/").status_code == 200  # 12 h idle: the sign-in page
