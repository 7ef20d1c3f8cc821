"""Acknowledging and resolving a page from its email, on both databases: the signed links it carries (a page
to confirm on, a form that acts) and a reply saying ACK or RESOLVE through the desk's SMTP receiver.

The desk: Prairie Media on Alli (P1 pages on-call) with `paging: {escalation_policy: night}`; `night` pages
Ann at once, then Cy after 5 minutes unless someone acknowledged. Riley, a customer, opens a P1 at 03:00
Chicago on Sunday 29 November 2026 (09:00 UTC); the worker pages Ann then.
"""

from __future__ import annotations

import re
import smtplib
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sladesk.config import ConfigError, Settings, load_settings
from sladesk.jobs import Worker
from sladesk.mail.smtp import DeskHandler, receiver
from sladesk.services import tickets as ticket_services
from sladesk.services.clocks import load_events
from sladesk.services.escalation_policies import update_policy
from sladesk.services.incident_links import IncidentLink, read_link, sign_link
from sladesk.sla.events import PageEvent, ReplyEvent
from sladesk.store import reading
from sladesk.store.tables import InboundMessage, OutboxMessage, TicketEvent
from tests.support.desk import Desk
from tests.support.paging import SUNDAY_3AM, Sent, open_p1, paging_desk
from tests.support.processes import free_port, serving
from tests.support.units import committed
from tests.support.web import WebPerson

KEY = "a test key that signs the desk's links"
DESK_ADDRESS = "support@desk.example"
open_ticket = committed(ticket_services.open_ticket)


@pytest.fixture
def paged(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Desk:
    """The desk with Riley's P1 open (ticket #1) and Ann paged for it by the worker at 03:00."""
    monkeypatch.setenv("SLADESK_SECRET_KEY", KEY)  # what the pages check links with
    paging_desk(desk, with_days=False, steps=lambda desk: [_person(desk, "ann"), _person(desk, "cy")])
    assert open_p1(desk) == 1
    return desk


def _person(desk: Desk, key: str) -> dict[str, Any]:
    return {"targets": [{"user": desk.ids[key]}], "escalate_after": "5m"}


def _worker(desk: Desk, sent: Sent, public_url: str | None = "https://desk.example") -> Worker:
    settings = Settings(
        smtp_host="smtp.desk.example", mail_domain="desk.example", public_url=public_url, secret_key=KEY
    )
    return Worker(desk.sessions, settings, clock=desk.clock, send=sent)


def _page_links(desk: Desk) -> tuple[dict[str, Any], str, str]:
    """Ann's page email and the paths of its acknowledge and resolve links."""
    sent = Sent()
    _worker(desk, sent).run_once()
    [email] = sent.emails_to("ann@example.com")
    acknowledge, resolve = re.findall(r"https://desk\.example(/incident/\S+)", email["text"])
    return email, acknowledge, resolve


def _incident_history(desk: Desk) -> list[tuple[str, str | None]]:
    """(action, who) of each `incident` event of ticket #1, oldest first."""
    with reading(desk.sessions) as session:
        rows = session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == 1, TicketEvent.type == "incident")
            .order_by(TicketEvent.id)
        )
        names = {user_id: key for key, user_id in desk.ids.items()}
        return [(row.data["action"], names.get(row.actor_id) if row.actor_id else None) for row in rows]


def _event_count(desk: Desk) -> int:
    with reading(desk.sessions) as session:
        return session.scalar(select(func.count()).select_from(TicketEvent)) or 0


def _pages(desk: Desk) -> list[tuple[int, int]]:
    with reading(desk.sessions) as session:
        return [(e.round, e.step) for e in load_events(session, 1) if isinstance(e, PageEvent)]


def _outcome(page: str) -> str:
    found = re.search(r'id="incident-outcome">([^<]*)<', page)
    assert found is not None, page
    return found.group(1).replace("&#39;", "'")


def test_the_page_email_says_who_is_paged_for_what_and_holds_both_links(paged: Desk):
    email, acknowledge, resolve = _page_links(paged)
    assert email["subject"] == "[#1] Every dashboard is empty"
    assert email["text"] == (
        "Ticket #1: Every dashboard is empty\n"
        "\n"
        "ann, you are paged for ticket #1, severity P1 (Priority 1 - Highest severity).\n"
        "Paged ann <ann@example.com> by email (escalation step 1, round 1).\n"
        "\n"
        f"Acknowledge: https://desk.example{acknowledge}\n"
        f"Resolve: https://desk.example{resolve}\n"
        "\n"
        "Or reply to this message with ACK or RESOLVE.\n"
        "\n"
        "Status: new\n"
    )
    with reading(paged.sessions) as session:
        started = session.scalar(select(TicketEvent.id).where(TicketEvent.type == "incident"))
    assert started is not None
    expires = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 24 hours after the page
    now = SUNDAY_3AM + timedelta(minutes=1)
    ann = paged.ids["ann"]
    assert read_link(acknowledge.removeprefix("/incident/"), KEY.encode(), now) == IncidentLink(
        1, started, ann, "acknowledge", expires
    )
    assert read_link(resolve.removeprefix("/incident/"), KEY.encode(), now) == IncidentLink(
        1, started, ann, "resolve", expires
    )


def test_without_a_public_url_the_page_email_says_to_reply(paged: Desk):
    sent = Sent()
    _worker(paged, sent, public_url=None).run_once()
    [email] = sent.emails_to("ann@example.com")
    assert "/incident/" not in email["text"]
    assert email["text"].endswith(
        "Paged ann <ann@example.com> by email (escalation step 1, round 1).\n"
        "\n"
        "Or reply to this message with ACK or RESOLVE.\n"
        "\n"
        "Status: new\n"
    )


def test_opening_the_link_shows_what_it_would_do_and_changes_nothing(paged: Desk):
    _, acknowledge, _ = _page_links(paged)
    before = _event_count(paged)
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=1))
    person = WebPerson(paged.app())
    page = person.get(acknowledge)
    assert page.status_code == 200
    assert "#1 Every dashboard is empty" in page.text
    assert "P1 (Priority 1 - Highest severity)" in page.text
    assert "You act as ann." in page.text
    assert '<button type="submit" class="primary">Acknowledge</button>' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert _event_count(paged) == before
    assert _incident_history(paged) == [("triggered", None)]


def test_the_acknowledge_link_acknowledges_as_the_person_paged_and_the_next_step_does_not_fire(paged: Desk):
    _, acknowledge, _ = _page_links(paged)
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=2))
    person = WebPerson(paged.app())  # nobody signed in: the link is the credential
    person.get(acknowledge)
    done = person.submit(acknowledge, {})
    assert done.status_code == 200
    assert _outcome(done.text) == (
        "The on-call incident of ticket #1 is acknowledged, by ann. "
        "The steps that wait for an acknowledgement will not page."
    )
    assert _incident_history(paged) == [("triggered", None), ("acknowledged", "ann")]
    sent = Sent()
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=20))
    _worker(paged, sent).run_once()
    assert _pages(paged) == [(0, 0)]
    assert sent.emails_to("cy@example.com") == []


def test_a_second_post_says_it_was_acknowledged_already_and_by_whom(paged: Desk):
    _, acknowledge, _ = _page_links(paged)
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=2))
    person = WebPerson(paged.app())
    person.get(acknowledge)
    assert person.submit(acknowledge, {}).status_code == 200
    again = person.submit(acknowledge, {}, csrf=_csrf_cookie(person))
    assert again.status_code == 409
    assert _outcome(again.text) == (
        "Nothing changed: the on-call incident of ticket #1 was acknowledged already by ann at 2026-11-29 09:02 UTC."
    )
    assert _incident_history(paged) == [("triggered", None), ("acknowledged", "ann")]
    shown = person.get(acknowledge)  # the link's page says so too, without a button
    assert shown.status_code == 200 and "<button" not in shown.text.split("<main", 1)[1]
    assert _outcome(shown.text) == (
        "Nothing to do: the on-call incident was acknowledged already by ann at 2026-11-29 09:02 UTC."
    )


def test_after_an_acknowledgement_lapses_the_link_acknowledges_again(paged: Desk):
    steps = [{"targets": [{"user": paged.ids["ann"]}], "escalate_after": "5m"}]
    spec = {"steps": steps, "ack_timeout": "30m"}
    committed(update_policy)(paged.sessions, paged.actors["morgan"], "night", "Night", spec, now=paged.clock())
    _, acknowledge, _ = _page_links(paged)
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=2))
    person = WebPerson(paged.app())
    person.get(acknowledge)
    assert person.submit(acknowledge, {}).status_code == 200
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=31))  # the acknowledgement holds until 03:32
    assert _outcome(person.get(acknowledge).text).startswith("Nothing to do: the on-call incident was acknowledged")
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=33))
    _worker(paged, Sent()).run_once()
    assert _pages(paged) == [(0, 0), (1, 0)]  # it lapsed: Ann is paged again
    again = person.submit(acknowledge, {}, csrf=_csrf_cookie(person))
    assert again.status_code == 200
    assert _incident_history(paged) == [("triggered", None), ("acknowledged", "ann"), ("acknowledged", "ann")]


def test_the_resolve_link_resolves_and_nobody_is_paged_any_more(paged: Desk):
    _, acknowledge, resolve = _page_links(paged)
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=3))
    person = WebPerson(paged.app())
    person.get(resolve)
    done = person.submit(resolve, {})
    assert done.status_code == 200
    assert _outcome(done.text) == (
        "The on-call incident of ticket #1 is resolved, by ann. Nobody is paged for it any more."
    )
    assert _incident_history(paged) == [("triggered", None), ("resolved", "ann")]
    person.get(acknowledge)
    late = person.submit(acknowledge, {}, csrf=_csrf_cookie(person))
    assert late.status_code == 409
    assert _outcome(late.text) == (
        "Nothing changed: the on-call incident of ticket #1 was resolved already by ann at 2026-11-29 09:03 UTC."
    )
    paged.clock.set(SUNDAY_3AM + timedelta(hours=1))
    _worker(paged, Sent()).run_once()
    assert _pages(paged) == [(0, 0)]


def _csrf_cookie(person: WebPerson) -> str:
    token = person.client.cookies.get("sladesk_sign_in")
    assert token
    return token


def _tampered(path: str) -> str:
    """The link naming the next user (Cy) with Ann's signature."""
    ticket, incident, user, rest = path.removeprefix("/incident/").split(".", 3)
    return f"/incident/{ticket}.{incident}.{int(user) + 1}.{rest}"


@pytest.mark.parametrize(
    ("make", "status", "reason"),
    [
        (
            _tampered,
            400,
            "This link is not one the desk sent: it has been changed, or was signed with another key.",
        ),
        (
            lambda path: path[:-5],
            400,
            "This link is not one the desk sent: it may have been cut short; copy it whole.",
        ),
    ],
    ids=["another-person", "cut-short"],
)
def test_a_changed_link_is_refused_and_stores_nothing(paged: Desk, make: Any, status: int, reason: str):
    _, acknowledge, _ = _page_links(paged)
    before = _event_count(paged)
    person = WebPerson(paged.app())
    person.get("/sign-in")
    shown = person.get(make(acknowledge))
    assert (shown.status_code, _outcome(shown.text)) == (status, reason)
    posted = person.submit(make(acknowledge), {}, csrf=_csrf_cookie(person))
    assert (posted.status_code, _outcome(posted.text)) == (status, reason)
    assert _event_count(paged) == before


def test_an_expired_link_is_refused_and_stores_nothing(paged: Desk):
    _, acknowledge, _ = _page_links(paged)
    person = WebPerson(paged.app())
    person.get(acknowledge)
    before = _event_count(paged)
    paged.clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # 24 hours after the page
    expired = person.submit(acknowledge, {})
    assert expired.status_code == 410
    assert _outcome(expired.text) == (
        "This link expired at 2026-11-30 09:00 UTC; acknowledge or resolve from the ticket in the console."
    )
    assert _event_count(paged) == before
    assert _incident_history(paged) == [("triggered", None)]


def test_a_link_signed_with_another_key_is_refused(paged: Desk):
    link = IncidentLink(1, 1, paged.ids["ann"], "acknowledge", datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    person = WebPerson(paged.app())
    shown = person.get(f"/incident/{sign_link(link, b'another key')}")
    assert shown.status_code == 400


def test_the_form_without_its_csrf_token_is_refused(paged: Desk):
    _, acknowledge, _ = _page_links(paged)
    person = WebPerson(paged.app())
    person.get(acknowledge)
    refused = person.submit(acknowledge, {}, csrf="not the token")
    assert refused.status_code == 403
    assert _incident_history(paged) == [("triggered", None)]


# --- replying to the page ----------------------------------------------------------------------------------


@pytest.fixture
def smtp(paged: Desk) -> Iterator[tuple[str, int]]:
    """The desk's SMTP receiver on a free local port, at the desk's clock."""
    handler = DeskHandler(
        paged.sessions, [DESK_ADDRESS], mail_domain="desk.example", attachments_dir=paged.attachments, clock=paged.clock
    )
    controller = receiver(handler, "127.0.0.1", free_port())
    controller.start()
    try:
        yield "127.0.0.1", controller.port
    finally:
        controller.stop()


def _reply(server: tuple[str, int], sender: str, text: str, page: dict[str, Any]) -> None:
    """A reply from `sender` to the page email, quoting it below the new text."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = DESK_ADDRESS
    message["Subject"] = f"Re: {page['subject']}"
    message["Message-ID"] = make_msgid(domain="example.com")
    message["In-Reply-To"] = page["message_id"]
    quoted = "\n".join(f"> {line}" for line in page["text"].splitlines())
    message.set_content(f"{text}\n\nOn Sun, 29 Nov 2026 at 03:00, Support wrote:\n{quoted}\n")
    with smtplib.SMTP(*server, timeout=30) as client:
        client.send_message(message)


def _inbound(desk: Desk) -> list[tuple[str, str | None]]:
    with reading(desk.sessions) as session:
        rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id))
        return [(row.outcome, row.reason) for row in rows]


def test_the_paged_agent_replying_ack_acknowledges_as_themselves(paged: Desk, smtp: tuple[str, int]):
    page, _, _ = _page_links(paged)
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=4))
    _reply(smtp, "ann@example.com", "ACK", page)
    assert _incident_history(paged) == [("triggered", None), ("acknowledged", "ann")]
    assert _inbound(paged) == [("replied", "ACKNOWLEDGE: the on-call incident is acknowledged")]
    with reading(paged.sessions) as session:
        assert [e for e in load_events(session, 1) if isinstance(e, ReplyEvent)] == []
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=20))
    _worker(paged, Sent()).run_once()
    assert _pages(paged) == [(0, 0)]


def test_a_reply_resolve_resolves_and_a_later_ack_is_answered_with_who_resolved_it(paged: Desk, smtp: tuple[str, int]):
    page, _, _ = _page_links(paged)
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=4))
    _reply(smtp, "cy@example.com", "Resolve.", page)
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=6))
    _reply(smtp, "ann@example.com", "ack", page)
    assert _incident_history(paged) == [("triggered", None), ("resolved", "cy")]
    reason = "the on-call incident of ticket #1 was resolved already by cy at 2026-11-29 09:04 UTC"
    assert _inbound(paged) == [
        ("replied", "RESOLVE: the on-call incident is resolved"),
        (
            "refused",
            f"Your ACKNOWLEDGE changed nothing: {reason}. Nothing was added to ticket #1.",
        ),
    ]
    with reading(paged.sessions) as session:
        [answer] = session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key.like("inbound-%")))
    assert answer.payload["to"] == ["ann@example.com"]
    assert f"Your ACKNOWLEDGE changed nothing: {reason}." in answer.payload["text"]


def test_a_customer_replying_ack_adds_an_ordinary_reply(paged: Desk, smtp: tuple[str, int]):
    page, _, _ = _page_links(paged)
    paged.clock.set(SUNDAY_3AM + timedelta(minutes=4))
    _reply(smtp, "riley@example.com", "ack", page)
    assert _incident_history(paged) == [("triggered", None)]
    assert _inbound(paged) == [("replied", None)]
    with reading(paged.sessions) as session:
        [reply] = [e for e in load_events(session, 1) if isinstance(e, ReplyEvent)]
    assert (reply.by, reply.public) == ("customer", True)


# --- the desk's address ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://support.example.com/", "https://support.example.com"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://example.com/desk/", "https://example.com/desk"),
        ("  ", None),
    ],
)
def test_the_public_url_is_kept_without_its_trailing_slash(given: str, kept: str | None):
    assert Settings(public_url=given).public_url == kept


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("support.example.com", "expected an absolute http or https URL"),
        ("ftp://support.example.com", "expected an absolute http or https URL"),
        ("https://support.example.com/?desk=1", "expected the desk's address without a query (?) or fragment (#)"),
        ("https://support.example.com/#top", "expected the desk's address without a query (?) or fragment (#)"),
    ],
)
def test_a_public_url_that_is_not_the_desks_address_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, given: str, problem: str
):
    monkeypatch.setenv("SLADESK_PUBLIC_URL", given)
    with pytest.raises(ConfigError, match=re.escape(f"SLADESK_PUBLIC_URL: Value error, {problem}")):
        load_settings()


@pytest.mark.cli
def test_sladesk_serve_links_to_the_address_it_listens_on_when_none_is_set(tmp_path: Path):
    port = free_port()
    with serving(["serve", "--data-dir", str(tmp_path / "data")], port, tmp_path / "serve.log") as base:
        with urllib.request.urlopen(f"{base}/sign-in", timeout=10) as answer:
            assert answer.status == 200
        try:
            urllib.request.urlopen(f"{base}/incident/12.7.2.a.1796029200", timeout=10)
        except urllib.error.HTTPError as refused:  # the desk has a key to check links with: not a 503
            assert refused.code == 400
            assert "it may have been cut short" in refused.read().decode()
        else:
            raise AssertionError("a cut link was not refused")
    printed = (tmp_path / "serve.log").read_text()
    assert f"links in mail: http://127.0.0.1:{port}\n" in printed
    kept = (tmp_path / "data" / "secret-key").resolve()
    assert f"links in mail are signed with the key kept in {kept}" in printed
    assert kept.stat().st_mode & 0o777 == 0o600  # its owner's alone
    key = kept.read_text().strip()
    assert len(key) >= 43

    # restarted on the same data directory, it checks links with the same key: links sent before still hold
    expires = datetime.now(UTC) + timedelta(hours=1)
    before_restart = sign_link(IncidentLink(12, 7, 2, "acknowledge", expires), key.encode())
    elsewhere = sign_link(IncidentLink(12, 7, 2, "acknowledge", expires), b"another desk's key")
    port = free_port()
    with serving(["serve", "--data-dir", str(tmp_path / "data")], port, tmp_path / "again.log") as base:
        answers = {token: _status_and_text(f"{base}/incident/{token}") for token in (before_restart, elsewhere)}
    assert "signed with another key" not in answers[before_restart][1]  # it holds: there is no such incident
    assert answers[before_restart][0] != 200
    assert answers[elsewhere][0] == 400 and "signed with another key" in answers[elsewhere][1]
    assert kept.read_text().strip() == key
    assert f"signed with the key kept in {kept}" in (tmp_path / "again.log").read_text()


def _status_and_text(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_an_agents_resolve_on_a_ticket_without_an_incident_is_answered_and_adds_nothing(
    paged: Desk, smtp: tuple[str, int]
):
    change = open_ticket(
        paged.sessions,
        paged.actors["riley"],
        subject="Slow report",
        description="The weekly report takes a minute.",
        severity="P3",
        now=SUNDAY_3AM,
    )
    page = {"subject": f"[#{change.ticket.id}] Slow report", "message_id": "<elsewhere@example.com>", "text": ""}
    _reply(smtp, "cy@example.com", "RESOLVE", page)
    reason = "Your RESOLVE changed nothing: the ticket has no on-call incident. Nothing was added to ticket #2."
    assert _inbound(paged) == [("refused", reason)]
    with reading(paged.sessions) as session:
        history = load_events(session, change.ticket.id)
    assert [event.type for event in history] == ["opened"]
