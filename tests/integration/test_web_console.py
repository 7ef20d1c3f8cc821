"""The agent console over HTTP on both databases: the queue, filters, saved views, the ticket page and its actions."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from sladesk.services import Role, assign, open_ticket, reply, set_outside_incident
from sladesk.services.attachments import add_attachment
from sladesk.store import reading, transaction
from sladesk.store.tables import SavedView, Ticket, TicketEvent, WebSession
from sladesk.web import live
from tests.support.desk import Desk
from tests.support.web import PASSWORD, WebPerson


@pytest.fixture
def console(desk: Desk) -> Desk:
    """Acme (alleo, New York hours) with a Sev1 and a Sev3 ticket, Globex (sourcegraph, enterprise) with a P2."""
    acme = desk.organisation("Acme", "alleo")
    globex = desk.organisation("Globex", "sourcegraph", tier="enterprise")
    desk.user("carol", Role.CUSTOMER, acme, password=PASSWORD)
    desk.user("gina", Role.CUSTOMER, globex, password=PASSWORD)
    desk.user("alice", Role.AGENT, password=PASSWORD)
    desk.user("bob", Role.AGENT, password=PASSWORD)
    now = desk.clock()
    with transaction(desk.sessions) as session:
        open_ticket(
            session, desk.actors["carol"], subject="How do I set up SSO?", description="Steps?", severity=3, now=now
        )
        open_ticket(
            session, desk.actors["gina"], subject="Search is slow", description="Since Monday", severity=2, now=now
        )
        open_ticket(
            session, desk.actors["carol"], subject="Nobody can sign in", description="Down!", severity=1, now=now
        )
    return desk


def agent(desk: Desk, email: str = "alice@example.com") -> WebPerson:
    person = WebPerson(desk.app())
    person.sign_in(email)
    return person


def rows_of(page: str) -> list[str]:
    """The queue's rows as text, tags stripped and spaces squeezed."""
    if '<table class="queue">' not in page:
        return []
    body = page.split('<table class="queue">', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [_text(row) for row in body.split("</tr>")[:-1]]


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def version_of(page: str, action: str) -> str:
    """The version field of the form posting to `.../<action>`."""
    form = page.split(f'/{action}" class="stack', 1)[1].split("</form>", 1)[0]
    found = re.search(r'name="version" value="(\d+)"', form)
    assert found is not None
    return found.group(1)


def events_of(desk: Desk, ticket_id: int) -> list[str]:
    with reading(desk.sessions) as session:
        return list(
            session.scalars(
                select(TicketEvent.type).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.sequence)
            )
        )


def test_the_queue_lists_tickets_in_the_total_order_with_the_first_marked(console: Desk):
    page = agent(console).get("/queue")
    assert page.status_code == 200
    # severity first (Sev1, then p2, then Sev3); each due instant worked out by hand, shown in UTC (alice has no
    # zone): Sev1 4 h from Mon 09:00 New York = 13:00 EST; p2 24 h of calendar time = Tue 14:00 UTC; Sev3 two
    # 9-hour business days (Mon 8 h, Tue 9 h, Wed 1 h) = Wed 09:00 EST
    assert rows_of(page.text) == [
        "1 · work this first #3 Nobody can sign in New · Number one: severity Sev1 (rank 1), due "
        "2026-12-07T18:00:00+00:00, opened 2026-12-07T14:00:00+00:00. Ahead of #2 because its severity Sev1 "
        "outranks p2. Sev1 — — Acme Unassigned Mon 7 Dec 2026, 18:00 UTC Mon 7 Dec 2026, 18:00 UTC Running",
        # Sourcegraph's priority is assigned by support: the customer's p2 waits in triage
        "2 #2 Search is slow Awaiting triage New · "
        + _reason(page.text, 1)
        + " p2 enterprise — Globex Unassigned Tue 8 Dec 2026, 14:00 UTC Tue 8 Dec 2026, 14:00 UTC Running",
        "3 #1 How do I set up SSO? New · "
        + _reason(page.text, 2)
        + " Sev3 — — Acme Unassigned Wed 9 Dec 2026, 14:00 UTC Wed 9 Dec 2026, 14:00 UTC Running",
    ]
    assert page.text.count("work this first") == 1
    assert '<tr class="first">' in page.text and 'data-live="/events/queue?since=0:3"' in page.text
    assert '<dialog id="shortcuts"' in page.text


def _reason(page: str, index: int) -> str:
    return _text(page.split('<div class="help">')[index + 1].split("</div>", 1)[0]).split(" · ", 1)[1]


def tickets_in(page: str) -> list[str]:
    """The ticket numbers of the queue's rows, in order."""
    return [re.findall(r"#\d+", row)[0] for row in rows_of(page)]


def test_filters_narrow_the_queue_and_keep_its_order(console: Desk):
    with transaction(console.sessions) as session:
        assign(session, console.actors["alice"], 1, console.ids["alice"], now=console.clock())
    alice = agent(console)
    assert tickets_in(alice.get("/queue?severity=1").text) == ["#3"]
    assert tickets_in(alice.get(f"/queue?organisation={console.ids['Acme']}").text) == ["#3", "#1"]
    assert tickets_in(alice.get("/queue?assignee=me").text) == ["#1"]
    assert tickets_in(alice.get("/queue?assignee=unassigned").text) == ["#3", "#2"]
    assert "No open ticket matches these filters." in alice.get("/queue?state=breached").text
    console.clock.advance(timedelta(hours=3, minutes=30))  # 12:30 New York: Sev1 is past 75% of its 4 h
    warning = alice.get("/queue?state=warning").text
    assert tickets_in(warning) == ["#3"] and '<span class="state state-warning">Warning</span>' in warning
    console.clock.advance(timedelta(hours=1, minutes=30))  # 14:00 New York: Sev1 was due at 13:00
    breached = alice.get("/queue?state=breached").text
    assert tickets_in(breached) == ["#3"] and '<span class="state state-breached">Breached</span>' in breached
    assert tickets_in(alice.get("/queue?state=breached&severity=2").text) == []
    assert alice.get("/queue?severity=high").status_code == 422


def test_a_saved_view_is_saved_listed_applied_and_deleted(console: Desk):
    alice = agent(console)
    acme = console.ids["Acme"]
    alice.get(f"/queue?organisation={acme}&assignee=unassigned")
    saved = alice.submit("/queue/views", {"name": "Acme  waiting", "organisation": str(acme), "assignee": "unassigned"})
    assert saved.status_code == 303
    assert saved.headers["location"].startswith(f"/queue?organisation={acme}&assignee=unassigned&done=")
    queue = alice.get("/queue").text
    link = f'<a href="/queue?organisation={acme}&amp;assignee=unassigned">Acme waiting</a>'
    assert link in queue and tickets_in(queue) == ["#3", "#2", "#1"]
    assert tickets_in(alice.get(f"/queue?organisation={acme}&assignee=unassigned").text) == ["#3", "#1"]
    assert link not in agent(console, "bob@example.com").get("/queue").text  # each agent's own views
    with reading(console.sessions) as session:
        view_id = session.scalars(select(SavedView.id)).one()
    alice.get("/queue")
    deleted = alice.submit(f"/queue/views/{view_id}/delete", {})
    assert deleted.status_code == 303 and "Acme waiting" not in alice.get("/queue").text
    assert alice.submit("/queue/views", {"name": "Nothing"}).status_code == 422  # no filter to keep


def test_the_ticket_page_shows_the_conversation_history_and_each_metric_explained(console: Desk):
    console.clock.advance(timedelta(minutes=30))
    with transaction(console.sessions) as session:
        reply(session, console.actors["bob"], 1, "Customer seems to mean Okta.", public=False, now=console.clock())
    alice = agent(console)
    page = alice.get("/tickets/1")
    assert page.status_code == 200 and re.findall(r'data-live="([^"]+)"', page.text) == ["/events/tickets/1?since=2"]
    assert '<textarea id="reply-body" name="body" data-shortcut="r">' in page.text
    assert '<textarea id="note-body" name="body" data-shortcut="n">' in page.text
    assert '<a href="/queue" data-shortcut="q">' in page.text
    assert "<tr><td><kbd>r</kbd></td><td>Write a reply</td></tr>" in page.text
    text = _text(page.text)
    assert "carol opened the ticket · Mon 7 Dec 2026, 09:00 EST Steps?" in text
    assert "bob · Internal note · Mon 7 Dec 2026, 09:30 EST Customer seems to mean Okta." in text
    assert '<li class="message internal">' in page.text
    assert "Mon 7 Dec 2026, 09:00 EST · carol: Opened by the customer: severity 3" in text
    assert "Mon 7 Dec 2026, 09:30 EST · bob: Internal note" in text
    # Sev3: 2 business days of 9 h from Mon 09:00 = Mon 8 h + Tue 9 h + Wed 1 h: due Wed 09:00 EST; 30 min counted
    assert (
        "Time to first response Running Due Wed 9 Dec 2026, 09:00 EST ( Wed 9 Dec 2026, 09:00 EST ) "
        "Target 2 business days (18h of working time) Goal — Counted 30 min of working time Used 2.8% Remaining 17 h 30 min"
    ) in text
    assert "Running: due Wednesday 09 December 2026 09:00 EST (2026-12-09T09:00:00-05:00)." in text
    assert "Mon 07 Dec 2026 09:30-17:00 counts 7h 30m (8h of 18h)" in text
    assert "Tue 08 Dec 2026 08:00-17:00 counts 9h (17h of 18h) Tue 08 Dec 2026 13:30 EST warning reached." in text
    assert "Wed 09 Dec 2026 08:00-09:00 counts 1h (18h of 18h) Wed 09 Dec 2026 09:00 EST due reached." in text


def test_each_action_changes_the_ticket_and_appears_in_the_history(console: Desk):
    initech = console.organisation("Initech", "alli")
    console.user("ian", Role.CUSTOMER, initech)
    with transaction(console.sessions) as session:
        open_ticket(session, console.actors["ian"], subject="Reports are late", description="Again", severity=3)
        open_ticket(session, console.actors["carol"], subject="Cannot sign in either", description="Same", severity=2)
    alice = agent(console)

    def act(ticket_id: int, action: str, fields: dict[str, str]) -> str:
        """Send one action's form as read on the ticket page; the confirmation the page then shows."""
        page = alice.get(f"/tickets/{ticket_id}").text
        answer = alice.submit(f"/tickets/{ticket_id}/{action}", {"version": version_of(page, action), **fields})
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith(f"/tickets/{ticket_id}?done=")
        shown = alice.get(answer.headers["location"]).text
        return _text(shown.split('<p class="flash" role="status">', 1)[1].split("</p>", 1)[0])

    assert act(3, "assign", {"assignee": "me"}) == "Assigned to you."
    assert act(3, "note", {"body": "Checking the identity provider"}) == "Internal note added."
    assert act(3, "reply", {"body": "We are on it."}) == "Reply sent to the customer."
    assert act(3, "status", {"status": "open"}) == "Status changed to Open."
    severity = act(3, "severity", {"severity": "2", "reason": "Only some users are affected"})
    assert severity == "Severity changed to Sev2 (Severity Level 2)."
    assert act(3, "believed-resolved", {"set": "yes", "reason": "Fix deployed"}) == "Marked as believed resolved."
    incident = act(3, "outside-incident", {"reason": "Identity provider outage"})
    assert incident == "Marked as caused by an outside incident."
    assert act(2, "tier", {"tier": "team", "reason": "Contract changed"}) == "Tier changed to team."
    category = act(4, "category", {"category": "incident", "reason": "Reports feed the customers' dashboards"})
    assert category == "Category changed to incident."
    assert act(5, "merge", {"into": "#3"}) == "Merged into #3 and closed."
    assert events_of(console, 3) == [
        "opened",
        "assigned",
        "reply",
        "reply",
        "status",
        "severity",
        "believed_resolved",
        "outside_incident",
        "merged",
    ]
    page = alice.get("/tickets/3").text
    text = _text(page)
    assert "Status Open Severity Sev2 · Severity Level 2" in text and "Assignee alice" in text
    assert "Believed resolved Yes Outside incident Identity provider outage" in text
    assert "alice · public reply" in text and "alice · Internal note" in text
    history = _text(page.split('<h2 id="history-title">', 1)[1].split("</ol>", 1)[0])
    assert history == (
        "History Mon 7 Dec 2026, 09:00 EST · carol: Opened by the customer: severity 1 "
        "Mon 7 Dec 2026, 09:00 EST · alice: Assigned to alice "
        "Mon 7 Dec 2026, 09:00 EST · alice: Internal note by an agent "
        "Mon 7 Dec 2026, 09:00 EST · alice: Public reply by the agent "
        "Mon 7 Dec 2026, 09:00 EST · alice: Status became open "
        "Mon 7 Dec 2026, 09:00 EST · alice: Severity became 2: Only some users are affected "
        "Mon 7 Dec 2026, 09:00 EST · alice: Support believes the issue is resolved: Fix deployed "
        "Mon 7 Dec 2026, 09:00 EST · alice: Marked as caused by an outside incident: Identity provider outage "
        "Mon 7 Dec 2026, 09:00 EST · alice: Ticket 5 was merged into this one"
    )
    assert "Tier team Category" in _text(alice.get("/tickets/2").text)
    assert "Category incident" in _text(alice.get("/tickets/4").text)
    merged = _text(alice.get("/tickets/5").text)
    assert "Status Closed" in merged and "Merged into #3" in merged


def test_a_severity_change_needs_a_reason(console: Desk):
    alice = agent(console)
    page = alice.get("/tickets/3").text
    answer = alice.submit(
        "/tickets/3/severity", {"version": version_of(page, "severity"), "severity": "2", "reason": " "}
    )
    assert answer.status_code == 422
    assert '<div class="error" role="alert" id="action-problem"><p>Not saved: reason: say why the severity changes' in (
        answer.text
    )
    assert "<h1>#3 Nobody can sign in</h1>" in answer.text  # the ticket page again, to correct and resend
    assert events_of(console, 3) == ["opened"]


def test_a_change_the_policy_does_not_allow_is_explained_on_the_ticket_page(console: Desk):
    alice = agent(console)
    page = alice.get("/tickets/3").text
    answer = alice.submit(
        "/tickets/3/severity", {"version": version_of(page, "severity"), "severity": "1", "reason": "x"}
    )
    assert answer.status_code == 409
    assert "Not saved: the ticket already has severity 1" in answer.text
    merge = alice.submit("/tickets/3/merge", {"version": version_of(page, "merge"), "into": "2"})
    assert merge.status_code == 422 and "Not saved: into: no ticket 2 in the same organisation" in merge.text
    assert events_of(console, 3) == ["opened"]


def test_a_form_sent_at_an_old_version_gets_the_conflict_message_and_changes_nothing(console: Desk):
    alice, bob = agent(console), agent(console, "bob@example.com")
    seen_by_alice = alice.get("/tickets/3").text
    bob_page = bob.get("/tickets/3").text
    assert (
        bob.submit("/tickets/3/status", {"version": version_of(bob_page, "status"), "status": "open"}).status_code
        == 303
    )
    old = version_of(seen_by_alice, "severity")
    answer = alice.submit("/tickets/3/severity", {"version": old, "severity": "2", "reason": "Fewer users"})
    assert answer.status_code == 409
    text = _text(answer.text)
    assert "Another person changed ticket #3" in text and "nothing was stored" in text
    assert "What changed since you read it Mon 7 Dec 2026, 09:00 EST · bob: Status became open Open the fresh" in text
    assert '<a class="button primary" href="/tickets/3"' in answer.text
    alice.last_page = seen_by_alice
    kept = alice.submit("/tickets/3/reply", {"version": old, "body": "We are <looking> into it"})
    assert kept.status_code == 409 and "We are &lt;looking&gt; into it</textarea>" in kept.text
    assert events_of(console, 3) == ["opened", "status"]
    with reading(console.sessions) as session:
        ticket = session.get_one(Ticket, 3)
        assert (ticket.severity_rank, ticket.status, ticket.version) == (1, "open", 2)
    resent = alice.submit("/tickets/3/reply", {"version": "2", "body": "We are <looking> into it"})
    assert resent.status_code == 303 and events_of(console, 3) == ["opened", "status", "reply"]


def test_a_customer_may_not_use_the_console(console: Desk):
    carol = WebPerson(console.app())
    carol.sign_in("carol@example.com")
    assert carol.get("/queue").status_code == 403
    assert carol.get("/tickets/3").status_code == 403
    assert carol.get("/events/queue").status_code == 403
    assert carol.get("/events/tickets/3").status_code == 403
    carol.get("/portal")
    assert carol.submit("/tickets/3/status", {"version": "1", "status": "closed"}).status_code == 403
    assert events_of(console, 3) == ["opened"]
    assert WebPerson(console.app()).get("/queue").headers["location"] == "/sign-in?next=/queue"


def test_ticket_text_is_shown_as_text(console: Desk):
    with transaction(console.sessions) as session:
        open_ticket(
            session,
            console.actors["carol"],
            subject="<script>alert(1)</script>",
            description="<img src=x onerror=alert(2)>",
            severity=4,
        )
    alice = agent(console)
    for page in (alice.get("/tickets/4").text, alice.get("/queue").text):
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in alice.get("/tickets/4").text


def test_the_ticket_stream_says_changed_after_a_reply(console: Desk):
    alice = agent(console)
    assert alice.get("/events/tickets/99").status_code == 404
    assert alice.get("/tickets/99").status_code == 404
    with alice.client.stream("GET", "/events/tickets/3") as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "retry: 3000"
        with transaction(console.sessions) as session:
            reply(session, console.actors["bob"], 3, "On it", now=console.clock())
        received = []
        for line in lines:
            received.append(line)
            if line in ("event: changed", ": keep-alive"):  # a keep-alive: 15 s went by with no change seen
                break
        assert received[-1] == "event: changed"


def test_a_filtered_queue_marks_its_first_row_as_first_in_the_view_only(console: Desk):
    page = agent(console).get("/queue?severity=3").text
    assert rows_of(page)[0].startswith("1 · first in this view #1 How do I set up SSO?")
    assert "work this first" not in page and '<th scope="col"># in this view</th>' in page


def test_a_breach_on_an_outside_incident_reads_excused_in_the_queue(console: Desk):
    with transaction(console.sessions) as session:
        set_outside_incident(session, console.actors["alice"], 3, "Identity provider outage", now=console.clock())
    console.clock.advance(timedelta(hours=5))  # 14:00 New York: the Sev1 answer was due at 13:00
    rows = rows_of(agent(console).get("/queue").text)
    assert rows[0].endswith("Mon 7 Dec 2026, 18:00 UTC Mon 7 Dec 2026, 18:00 UTC Excused")
    page = agent(console).get("/queue").text
    assert '<span class="state state-excused">Excused</span>' in page
    assert '<span class="state state-breached">' not in page


def test_the_queue_stream_says_changed_when_any_ticket_changes(console: Desk):
    alice = agent(console)
    with alice.client.stream("GET", "/events/queue") as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "retry: 3000"
        with transaction(console.sessions) as session:
            open_ticket(session, console.actors["gina"], subject="Another", description="One more", severity=2)
        received = []
        for line in lines:
            received.append(line)
            if line in ("event: changed", ": keep-alive"):  # a keep-alive: 15 s went by with no change seen
                break
        assert received[-1] == "event: changed"


def test_the_ticket_page_lists_attachments_and_an_agent_downloads_them(console: Desk):
    assert console.attachments is not None
    with transaction(console.sessions) as session:
        add_attachment(
            session,
            console.actors["carol"],
            3,
            filename="error.log",
            content_type="text/plain",
            data=b"401 at 08:59\n",
            storage=console.attachments,
            now=console.clock(),
        )
        add_attachment(
            session,
            console.actors["alice"],
            3,
            filename="idp-trace.txt",
            content_type="text/plain",
            data=b"trace\n",
            storage=console.attachments,
            public=False,
            now=console.clock(),
        )
    alice = agent(console)
    text = _text(alice.get("/tickets/3").text)
    assert "error.log (13 bytes, carol, Mon 7 Dec 2026, 09:00 EST)" in text
    assert "idp-trace.txt (6 bytes, alice, Mon 7 Dec 2026, 09:00 EST) · Internal" in text
    download = alice.get("/tickets/3/attachments/1")
    assert download.status_code == 200 and download.content == b"401 at 08:59\n"
    assert download.headers["content-disposition"] == 'attachment; filename="error.log"'
    assert alice.get("/tickets/1/attachments/1").status_code == 404  # not that ticket's file


def test_an_event_stream_ends_by_itself_and_resumes_from_the_last_mark_it_gave(
    console: Desk, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(live, "STREAM_SECONDS", 2.0)
    alice = agent(console)
    with alice.client.stream("GET", "/events/tickets/3") as stream:
        assert list(stream.iter_lines()) == ["retry: 3000", "id: 1", ": watching", ""]  # quiet, then ended
    with transaction(console.sessions) as session:
        reply(session, console.actors["bob"], 3, "While the page reconnected", now=console.clock())
    headers = {"Last-Event-ID": "1"}  # what the browser sends back when it connects again
    with alice.client.stream("GET", "/events/tickets/3", headers=headers) as stream:
        lines = list(stream.iter_lines())
    assert lines == ["retry: 3000", "id: 1", ": watching", "", "id: 2", "event: changed", "data: {}", ""]


def test_a_change_between_the_pages_read_and_its_stream_opening_is_announced(
    console: Desk, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(live, "STREAM_SECONDS", 2.0)
    alice = agent(console)
    page = alice.get("/tickets/3")
    stream_url = re.search(r'data-live="([^"]+)"', page.text)
    assert stream_url is not None and stream_url.group(1) == "/events/tickets/3?since=1"
    with transaction(console.sessions) as session:  # committed after the page was read, before it listens
        reply(session, console.actors["bob"], 3, "Right after the page loaded", now=console.clock())
    with alice.client.stream("GET", stream_url.group(1)) as stream:
        lines = list(stream.iter_lines())
    assert lines == ["retry: 3000", "id: 1", ": watching", "", "id: 2", "event: changed", "data: {}", ""]


def test_an_event_stream_is_not_activity_and_a_signed_out_page_stops_listening(
    console: Desk, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(live, "STREAM_SECONDS", 0.0)
    alice = agent(console)
    with reading(console.sessions) as session:
        seen = session.scalars(select(WebSession.last_seen_at)).one()
    console.clock.advance(timedelta(minutes=5))  # a request now would be recorded as activity
    with alice.client.stream("GET", "/events/queue") as stream:
        assert list(stream.iter_lines()) == ["retry: 3000", "id: 0:3", ": watching", ""]  # 3 events above 0
    with reading(console.sessions) as session:
        assert session.scalars(select(WebSession.last_seen_at)).one() == seen
    with transaction(console.sessions) as session:
        session.execute(delete(WebSession))
    refused = alice.get("/events/queue")
    assert refused.status_code == 303 and refused.headers["location"] == "/sign-in?next=/events/queue"


def test_files_sent_with_a_reply_are_public_and_with_a_note_internal(console: Desk):
    alice = agent(console)
    page = alice.get("/tickets/1").text
    assert '<input type="file" id="reply-files" name="files" multiple' in page
    assert '<input type="file" id="note-files" name="files" multiple' in page
    assert '<script src="/static/portal.js" defer></script>' in page
    files = [
        ("files", ("sso-steps.txt", b"1. Open settings\n", "text/plain")),
        ("files", ("metadata.json", b"{}", "application/json")),
    ]
    sent = alice.submit(
        "/tickets/1/reply", {"version": version_of(page, "reply"), "body": "Steps attached."}, files=files
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == "/tickets/1?done=Reply%20sent%20to%20the%20customer%20with%202%20files."
    page = alice.get("/tickets/1").text
    note_files = [("files", ("idp-trace.txt", b"trace\n", "text/plain"))]
    noted = alice.submit("/tickets/1/note", {"version": version_of(page, "note"), "body": "Trace"}, files=note_files)
    assert noted.headers["location"] == "/tickets/1?done=Internal%20note%20added%20with%201%20file."
    text = _text(alice.get("/tickets/1").text)
    assert "sso-steps.txt (17 bytes, alice, Mon 7 Dec 2026, 09:00 EST) metadata.json" in text
    assert "metadata.json (2 bytes, alice, Mon 7 Dec 2026, 09:00 EST) idp-trace.txt" in text
    assert "idp-trace.txt (6 bytes, alice, Mon 7 Dec 2026, 09:00 EST) · Internal" in text
    carol = WebPerson(console.app())
    carol.sign_in("carol@example.com")
    portal = carol.get("/portal/tickets/1").text
    assert ">sso-steps.txt</a>" in portal and ">metadata.json</a>" in portal
    assert "idp-trace.txt" not in portal


def test_a_file_alone_is_attached_and_a_refused_file_is_named_and_nothing_is_kept(console: Desk):
    alice = agent(console)
    page = alice.get("/tickets/1").text
    files = [("files", ("screen.png", b"\x89PNG\r\n\x1a\nrest", "image/png"))]
    alone = alice.submit("/tickets/1/note", {"version": version_of(page, "note"), "body": ""}, files=files)
    assert alone.headers["location"] == "/tickets/1?done=1%20file%20attached%20%28internal%29."
    page = alice.get("/tickets/1").text
    before = events_of(console, 1)
    assert console.attachments is not None
    kept_files = sorted(path.name for path in console.attachments.rglob("*") if path.is_file())
    assert len(kept_files) == 1
    files = [
        ("files", ("notes.txt", b"fine\n", "text/plain")),
        ("files", ("setup.exe", b"MZ\x90\x00", "application/x-msdownload")),
    ]
    refused = alice.submit("/tickets/1/reply", {"version": version_of(page, "reply"), "body": "Try this."}, files=files)
    assert refused.status_code == 422
    assert (
        "Not saved: files: setup.exe was refused: content type 'application/x-msdownload' is not accepted"
        in html.unescape(refused.text)
    )
    assert '<textarea id="reply-body" name="body" data-shortcut="r">Try this.</textarea>' in refused.text
    assert events_of(console, 1) == before
    assert sorted(path.name for path in console.attachments.rglob("*") if path.is_file()) == kept_files
    text = _text(alice.get("/tickets/1").text)
    assert "notes.txt" not in text and "Try this." not in text
    assert "screen.png (12 bytes, alice, Mon 7 Dec 2026, 09:00 EST) · Internal" in text
    empty = alice.submit("/tickets/1/note", {"version": version_of(alice.last_page, "note"), "body": " "})
    assert empty.status_code == 422 and events_of(console, 1) == before


def _comms_rows(page: str) -> list[str]:
    table = page.split('<table class="comms">', 1)[1].split("</table>", 1)[0]
    return [_text(row) for row in table.split("<tbody>", 1)[1].split("</tr>")[:-1]]


def test_an_alli_p1_lists_its_comms_due_and_a_recorded_update_moves_the_next_due_on(console: Desk):
    initech = console.organisation("Initech", "alli")
    console.user("ian", Role.CUSTOMER, initech, password=PASSWORD)
    with transaction(console.sessions) as session:
        open_ticket(
            session, console.actors["ian"], subject="Reports down", description="All", severity=1, now=console.clock()
        )
    alice = agent(console)
    page = alice.get("/tickets/4").text
    # Alli P1: an internal and an external update every hour, on the always calendar, from opening (08:00 CST)
    assert _comms_rows(page) == [
        "Internal update Not yet Mon 7 Dec 2026, 09:00 CST ( Mon 7 Dec 2026, 09:00 CST )",
        "External status update Not yet Mon 7 Dec 2026, 09:00 CST ( Mon 7 Dec 2026, 09:00 CST )",
    ]
    assert '<time class="countdown" datetime="2026-12-07T15:00:00Z">' in page
    console.clock.advance(timedelta(minutes=20))
    fields = {"version": version_of(page, "comms"), "channel": "internal", "note": "Posted in #incident-42"}
    sent = alice.submit("/tickets/4/comms", fields)
    assert sent.headers["location"] == "/tickets/4?done=Internal%20update%20recorded."
    console.clock.advance(timedelta(minutes=50))
    page = alice.get("/tickets/4").text
    assert _comms_rows(page) == [
        "Internal update Mon 7 Dec 2026, 08:20 CST Mon 7 Dec 2026, 09:20 CST ( Mon 7 Dec 2026, 09:20 CST )",
        "External status update Not yet Mon 7 Dec 2026, 09:00 CST Overdue",
    ]
    assert "Mon 7 Dec 2026, 08:20 CST · alice: Internal update posted: Posted in #incident-42" in _text(page)
    refused = alice.submit(
        "/tickets/4/comms", {"version": version_of(page, "comms"), "channel": "internal", "note": ""}
    )
    assert refused.status_code == 422
    assert _comms_rows(alice.get("/tickets/4").text)[0].startswith("Internal update Mon 7 Dec 2026, 08:20 CST")


def test_a_severity_without_required_comms_has_no_checklist(console: Desk):
    page = agent(console).get("/tickets/3").text
    assert "Comms checklist" not in page and 'action="/tickets/3/comms"' not in page


def test_a_stale_reply_with_files_or_comms_update_comes_back_to_send_again(console: Desk):
    initech = console.organisation("Initech", "alli")
    console.user("ian", Role.CUSTOMER, initech, password=PASSWORD)
    with transaction(console.sessions) as session:
        open_ticket(session, console.actors["ian"], subject="Down", description="All", severity=1, now=console.clock())
    alice, bob = agent(console), agent(console, "bob@example.com")
    seen = alice.get("/tickets/4").text
    bob_page = bob.get("/tickets/4").text
    bob.submit("/tickets/4/assign", {"version": version_of(bob_page, "assign"), "assignee": "me"})
    files = [("files", ("trace.txt", b"trace\n", "text/plain"))]
    stale = alice.submit("/tickets/4/reply", {"version": version_of(seen, "reply"), "body": "Fixed"}, files=files)
    assert stale.status_code == 409
    assert "The files you chose were not kept: choose them again (trace.txt)." in stale.text
    assert '<input type="file" id="unsent-files" name="files" multiple' in stale.text
    assert '<textarea id="unsent-body" name="body">Fixed</textarea>' in stale.text
    alice.last_page = seen
    fields = {"version": version_of(seen, "comms"), "channel": "external", "note": "Status page updated"}
    comms = alice.submit("/tickets/4/comms", fields)
    assert comms.status_code == 409
    assert '<input type="hidden" name="channel" value="external">' in comms.text
    assert (
        '<textarea id="unsent-note" name="note" required maxlength="2000">Status page updated</textarea>' in comms.text
    )
    assert events_of(console, 4) == ["opened", "assigned"]
    resent = alice.submit("/tickets/4/comms", {"version": "2", "channel": "external", "note": "Status page updated"})
    assert resent.status_code == 303 and events_of(console, 4) == ["opened", "assigned", "comms"]
