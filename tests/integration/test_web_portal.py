"""The customer portal over HTTP on both databases: submitting, following and answering requests.

The desk's clock starts on Monday 7 December 2026 at 09:00 in New York. Alleo counts first response in its
support hours, Monday to Friday 08:00-17:00 America/New_York (alleo.yaml), so a Sev2 request (1 business day,
9 working hours) submitted then is due after 8 hours on Monday and 1 on Tuesday: Tuesday 8 December at 09:00
EST, 14:00 UTC.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import sladesk.policy as policy_package
from sladesk.services import Role, change_severity, change_status, open_ticket, reply
from sladesk.services.attachments import add_attachment
from sladesk.services.policies import upload_policy
from sladesk.services.portal_views import request_page
from sladesk.store import reading
from sladesk.store.tables import Attachment, Ticket
from tests.support.desk import Desk
from tests.support.units import committed, update_user
from tests.support.web import PASSWORD, WebPerson

opened = committed(open_ticket)
replied = committed(reply)
attached = committed(add_attachment)

SEV2_DUE_NEW_YORK = "Tue 8 Dec 2026, 09:00 EST"
SEV2_DUE_UTC = "2026-12-08T14:00:00Z"


@pytest.fixture
def people(desk: Desk) -> Desk:
    acme = desk.organisation("Acme", "alleo")
    globex = desk.organisation("Globex", "alleo")
    adverts = desk.organisation("Adverts", "choozle")
    desk.user("customer", Role.CUSTOMER, acme, password=PASSWORD)
    desk.user("colleague", Role.CUSTOMER, acme, password=PASSWORD)
    desk.user("outsider", Role.CUSTOMER, globex, password=PASSWORD)
    desk.user("marketer", Role.CUSTOMER, adverts, password=PASSWORD)
    desk.user("agent", Role.AGENT, password=PASSWORD)
    return desk


def signed_in(desk: Desk, key: str) -> WebPerson:
    person = WebPerson(desk.app())
    person.sign_in(f"{key}@example.com")
    return person


def ticket_count(desk: Desk) -> int:
    with reading(desk.sessions) as session:
        return session.scalar(select(func.count()).select_from(Ticket)) or 0


def test_a_customer_submits_a_request_with_a_file_and_lands_on_it_with_its_status_and_due_time(people: Desk):
    customer = signed_in(people, "customer")
    form = customer.get("/portal/new")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text
    assert '<label for="file-logs">Logs</label>' in form.text  # a plain file input, labelled, without scripts
    assert '<input type="file" id="file-logs" name="file.logs" multiple accept="application/json,' in form.text
    assert '<p class="dropzone-hint" hidden>or drag and drop files here</p>' in form.text
    fields = {
        "subject": "Reports page is slow",
        "description": "Every report takes a minute to load.",
        "severity": "Sev2",
        "intake.steps_to_reproduce": "1. Sign in\n2. Open Reports",
    }
    files = [("file.logs", ("browser.log", b"GET /reports 200 61.2s\n", "text/plain"))]
    sent = customer.submit("/portal/new", fields, files=files)
    assert sent.status_code == 303
    location = sent.headers["location"]
    assert location.startswith("/portal/tickets/1?done=")
    page = customer.get(location)
    assert page.status_code == 200
    assert "Request #1 submitted. We will answer here." in page.text
    assert '<dd id="status">New <span class="help">' in page.text
    assert "Sev2: Severity Level 2" in page.text
    assert f'<time class="countdown" datetime="{SEV2_DUE_UTC}">in 1 day</time>' in page.text
    assert f'<strong class="due-at">{SEV2_DUE_NEW_YORK}</strong>' in page.text
    assert "Times are shown in America/New_York (your support policy&#39;s time zone)." in page.text
    assert "1. Sign in\n2. Open Reports" in page.text  # the intake answer, under its label
    assert "<dt>Steps to reproduce the issue</dt>" in page.text
    link = re.search(r'href="(/portal/tickets/1/attachments/(\d+))" download>browser.log</a>', page.text)
    assert link is not None
    download = customer.get(link.group(1))
    assert download.status_code == 200
    assert download.content == b"GET /reports 200 61.2s\n"
    assert download.headers["content-disposition"] == 'attachment; filename="browser.log"'
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert download.headers["x-content-type-options"] == "nosniff"
    listing = customer.get("/portal")
    assert '<a href="/portal/tickets/1">#1 Reports page is slow</a>' in listing.text
    assert "<td>New</td>" in listing.text
    assert f'Due by <time datetime="{SEV2_DUE_UTC}">{SEV2_DUE_NEW_YORK}</time>' in listing.text


def test_a_missing_required_field_is_named_beside_it_keeps_what_was_typed_and_stores_nothing(people: Desk):
    customer = signed_in(people, "customer")
    customer.get("/portal/new")
    fields = {"subject": "  ", "description": "It <b>broke</b> again", "severity": "Sev3"}
    sent = customer.submit("/portal/new", fields)
    assert sent.status_code == 422
    assert '<p class="error" id="subject-error">Give your request a subject.</p>' in sent.text
    assert 'aria-invalid="true" aria-describedby="subject-error"' in sent.text
    assert "It &lt;b&gt;broke&lt;/b&gt; again</textarea>" in sent.text
    assert 'value="Sev3" required aria-describedby="severity-3-guide severity-doubt" checked' in sent.text
    assert "description-error" not in sent.text
    assert ticket_count(people) == 0


def test_a_refused_file_is_named_beside_its_field_and_the_request_is_not_stored(people: Desk):
    customer = signed_in(people, "customer")
    customer.get("/portal/new")
    fields = {"subject": "Look at this", "description": "See the page.", "severity": "Sev4"}
    files = [("files", ("page.html", b"<html><script>alert(1)</script></html>", "text/html"))]
    sent = customer.submit("/portal/new", fields, files=files)
    assert sent.status_code == 422
    assert '<p class="error" id="files-error">page.html: content type &#39;text/html&#39; is not accepted' in sent.text
    assert 'value="Look at this"' in sent.text
    assert ticket_count(people) == 0
    with reading(people.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_the_severity_guide_sits_beside_the_choice_with_each_definition_and_when_in_doubt(people: Desk):
    page = signed_in(people, "customer").get("/portal/new").text
    assert "When in doubt, choose the more severe level." in page
    definitions = [
        "Alleo cannot be reached or does not work at all: the service or the software is down for the customer.",
        "Performance of the services or the software is noticeably impaired, but they remain accessible and functional.",
        "A support contact needs information or help with the capabilities, configuration or operation of the services or software.",
        "The software works and there is no impact on the customer&#39;s business operations.",
    ]
    for number, definition in enumerate(definitions, start=1):
        radio = f'<input type="radio" id="severity-{number}" name="severity" value="Sev{number}" required aria-describedby="severity-{number}-guide severity-doubt">'
        assert radio in page
        assert f'<label for="severity-{number}">Sev{number}: Severity Level {number}</label>' in page
        guide = page.index(f'<div class="guide" id="severity-{number}-guide">')
        assert page.index(definition, guide) < page.index("</div>", guide)
    assert "<li>Nobody in the customer&#39;s organisation can sign in to Alleo.</li>" in page
    assert "Time to first response: 4h (Alleo support hours)" in page
    assert "Time to first response: 1 business day (9h of working time) (Alleo support hours)" in page
    assert '<label for="intake-steps_to_reproduce">Steps to reproduce the issue</label>' in page
    assert '<p class="help" id="intake-steps_to_reproduce-help">Detailed steps are recommended.</p>' in page
    assert '<label for="file-screenshot">Screenshot or video of the issue</label>' in page
    assert "Highly recommended." in page


def test_aspenware_guide_says_the_level_1_hour_in_its_own_words(people: Desk):
    people.user("skier", Role.CUSTOMER, people.organisation("Summit", "aspenware"), password=PASSWORD)
    page = signed_in(people, "skier").get("/portal/new")
    assert page.status_code == 200
    assert (
        '<p class="help">Expected response time: 1h of elapsed time if opened within Business hours or on-call '
        "period, else 1h after its next opening</p>"
    ) in page.text
    assert '<p class="help">Expected response time: 9h (Business hours)</p>' in page.text


def test_choozle_asks_for_the_advertiser_campaign_ad_group_and_creative_names(people: Desk):
    page = signed_in(people, "marketer").get("/portal/new").text
    for field_id, label in (
        ("advertiser_name", "Advertiser name"),
        ("campaign_name", "Campaign name"),
        ("ad_group_name", "Ad group name"),
        ("creative_name", "Creative name"),
    ):
        assert f'<label for="intake-{field_id}">{label}</label>' in page
        assert f'<input id="intake-{field_id}" name="intake.{field_id}" type="text" value=""' in page
        assert f'<p class="help" id="intake-{field_id}-help">As it appears in the platform.</p>' in page
    assert '<input id="intake-user_email" name="intake.user_email" type="email"' in page
    assert "When in doubt, choose the more severe level." in page


def test_choozle_intake_answers_are_checked_by_the_policy_and_kept(people: Desk):
    marketer = signed_in(people, "marketer")
    marketer.get("/portal/new")
    fields = {
        "subject": "Creative rejected",
        "description": "The creative was rejected overnight.",
        "severity": "S2",
        "intake.advertiser_name": "Acme Outdoors",
        "intake.user_email": "not an address",
    }
    refused = marketer.submit("/portal/new", fields)
    assert refused.status_code == 422
    assert (
        '<p class="error" id="intake-user_email-error">&#39;not an address&#39; is not an email address</p>'
        in refused.text
    )
    assert 'value="Acme Outdoors"' in refused.text
    assert ticket_count(people) == 0
    marketer.get("/portal/new")
    sent = marketer.submit("/portal/new", {**fields, "intake.user_email": "ops@adverts.example"})
    assert sent.status_code == 303
    page = marketer.get("/portal/tickets/1").text
    assert '<dt>Advertiser name</dt><dd class="body">Acme Outdoors</dd>' in page
    assert '<dt>Email of the user who hit the issue</dt><dd class="body">ops@adverts.example</dd>' in page


def test_an_agents_public_reply_is_shown_and_an_internal_note_is_not(people: Desk):
    opened(
        people.sessions,
        people.actors["customer"],
        subject="Sign-in fails",
        description="Nobody can sign in.",
        severity="Sev1",
        now=people.clock(),
    )
    people.clock.advance(timedelta(minutes=30))
    replied(
        people.sessions,
        people.actors["agent"],
        1,
        "Internal: looks like the SSO certificate expired.",
        public=False,
        now=people.clock(),
    )
    people.clock.advance(timedelta(minutes=30))
    replied(
        people.sessions, people.actors["agent"], 1, "We are on it: please try again in ten minutes.", now=people.clock()
    )
    page = signed_in(people, "colleague").get("/portal/tickets/1").text
    assert "We are on it: please try again in ten minutes." in page
    assert "<strong>agent</strong> (support)" in page
    assert "SSO certificate" not in page and "Internal:" not in page
    assert (
        '<span class="answered">Answered</span> on <time datetime="2026-12-07T15:00:00Z">Mon 7 Dec 2026, 10:00 EST</time>.'
        in page
    )
    assert 'class="countdown"' not in page


def test_a_customer_replies_with_a_file_and_sees_both(people: Desk):
    opened(
        people.sessions,
        people.actors["customer"],
        subject="Export fails",
        description="CSV export errors.",
        severity="Sev3",
        now=people.clock(),
    )
    customer = signed_in(people, "customer")
    customer.get("/portal/tickets/1")
    people.clock.advance(timedelta(hours=2))
    files = [("files", ("export.csv", b"id,name\n1,Acme\n", "text/csv"))]
    sent = customer.submit("/portal/tickets/1/reply", {"body": "Here is the file it made."}, files=files)
    assert sent.status_code == 303 and sent.headers["location"] == "/portal/tickets/1?done=Reply%20sent."
    page = customer.get(sent.headers["location"]).text
    assert '<p class="flash" role="status">Reply sent.</p>' in page
    assert "<strong>customer</strong> ·" in page
    assert (
        '<time datetime="2026-12-07T16:00:00Z">Mon 7 Dec 2026, 11:00 EST</time></p>\n    <p class="body">Here is the file it made.</p>'
        in page
    )
    assert re.search(r'<a href="/portal/tickets/1/attachments/\d+" download>export.csv</a>', page)
    empty = customer.submit("/portal/tickets/1/reply", {"body": "   "})
    assert empty.status_code == 422
    assert '<p class="error" id="body-error">Write a reply or attach a file.</p>' in empty.text


def test_another_organisations_request_and_its_files_are_not_found(people: Desk):
    opened(
        people.sessions,
        people.actors["outsider"],
        subject="Globex secret plans",
        description="Private.",
        severity="Sev2",
        now=people.clock(),
    )
    attached(
        people.sessions,
        people.actors["outsider"],
        1,
        filename="plans.txt",
        content_type="text/plain",
        data=b"private",
        storage=people.attachments,
        now=people.clock(),
    )
    customer = signed_in(people, "customer")
    assert customer.get("/portal/tickets/1").status_code == 404
    assert customer.get("/portal/tickets/1/attachments/1").status_code == 404
    listing = customer.get("/portal").text
    assert "Globex secret plans" not in listing
    assert "Your organisation has no requests yet." in listing
    customer.get("/portal")
    refused = customer.submit("/portal/tickets/1/reply", {"body": "let me in"})
    assert refused.status_code == 404
    assert signed_in(people, "agent").get("/portal").status_code == 403


def test_hostile_ticket_text_renders_as_inert_text(people: Desk):
    hostile = '<script>alert(1)</script> <img src=x onerror=alert(1)> <a href="javascript:alert(1)">click</a>'
    opened(
        people.sessions,
        people.actors["customer"],
        subject=f"Subject {hostile}",
        description=f"Body {hostile}",
        severity="Sev4",
        now=people.clock(),
    )
    replied(people.sessions, people.actors["agent"], 1, f"Reply {hostile}", now=people.clock())
    attached(
        people.sessions,
        people.actors["customer"],
        1,
        filename='"><img src=x onerror=alert(1)>.txt',
        content_type="text/plain",
        data=b"<script>alert(1)</script>",
        storage=people.attachments,
        now=people.clock(),
    )
    customer = signed_in(people, "customer")
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt; &lt;a href=&#34;javascript:alert(1)&#34;&gt;click&lt;/a&gt;"
    page = customer.get("/portal/tickets/1").text
    for text in (f"Subject {escaped}", f"Body {escaped}", f"Reply {escaped}"):
        assert text in page
    assert "download>&#34;&gt;&lt;img src=x onerror=alert(1)&gt;.txt</a>" in page
    download = customer.get("/portal/tickets/1/attachments/1")
    assert download.headers["content-disposition"] == (
        "attachment; filename*=utf-8''%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt"
    )
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    listing = customer.get("/portal").text
    assert f"#1 Subject {escaped}</a>" in listing
    for page_text in (page, listing):
        assert (
            "<script>alert" not in page_text and "<img src=x" not in page_text and 'href="javascript:' not in page_text
        )


def test_a_customer_with_their_own_time_zone_sees_the_due_time_there(people: Desk):
    update_user(people.sessions, None, people.ids["customer"], {"timezone": "Europe/Paris"})
    opened(
        people.sessions,
        people.actors["customer"],
        subject="Slow pages",
        description="Slow.",
        severity="Sev2",
        now=people.clock(),
    )
    customer = signed_in(people, "customer")
    page = customer.get("/portal/tickets/1").text
    assert f'<time class="countdown" datetime="{SEV2_DUE_UTC}">in 1 day</time>' in page
    assert '<strong class="due-at">Tue 8 Dec 2026, 15:00 CET</strong>' in page
    assert "Times are shown in Europe/Paris (your time zone)." in page
    listing = customer.get("/portal").text
    assert f'Due by <time datetime="{SEV2_DUE_UTC}">Tue 8 Dec 2026, 15:00 CET</time>' in listing
    people.clock.advance(timedelta(days=1, hours=2))
    late = signed_in(people, "customer").get("/portal/tickets/1").text  # a new session: the first one went idle
    assert (
        f'<span class="overdue">Overdue</span>: it was due <time class="countdown" datetime="{SEV2_DUE_UTC}">2 h 00 min ago</time>'
        in late
    )


def test_choozle_shows_the_resolution_due_and_its_answers_in_the_customers_zone(people: Desk):
    # Choozle S2: respond in 2 h of business hours (08:00-17:00 Denver), so from 07:00 MST it is due at 10:00;
    # resolve in 3 business days of the business week (24 h each), so Thursday 07:00 MST (goal 1 day).
    marketer = signed_in(people, "marketer")
    marketer.get("/portal/new")
    fields = {
        "subject": "Creative rejected",
        "description": "Rejected overnight.",
        "severity": "S2",
        "intake.occurred_at": "2026-12-07T06:30",  # a browser's date-and-time field: wall time, no offset
    }
    form = marketer.get("/portal/new").text
    assert (
        '<p class="help" id="intake-occurred_at-help">Date and time; an estimate is fine. '
        "Your local time, in America/Denver.</p>" in form
    )
    assert marketer.submit("/portal/new", fields).status_code == 303
    with reading(people.sessions) as session:
        assert session.get_one(Ticket, 1).intake["occurred_at"] == "2026-12-07T06:30:00-07:00"
    page = marketer.get("/portal/tickets/1").text
    assert '<dd id="severity">S2 (Medium)</dd>' in page
    assert '<strong class="due-at">Mon 7 Dec 2026, 10:00 MST</strong>' in page
    assert '<dt>Time to resolution</dt><dd id="due-resolution">' in page
    assert '<time class="countdown" datetime="2026-12-10T14:00:00Z">in 3 days</time>' in page
    assert '<strong class="due-at">Thu 10 Dec 2026, 07:00 MST</strong>' in page
    assert (
        '<dt>When the issue happened</dt><dd class="body"><time datetime="2026-12-07T13:30:00Z">'
        "Mon 7 Dec 2026, 06:30 MST</time></dd>" in page
    )
    assert "Times are shown in America/Denver (your support policy&#39;s time zone)." in page
    listing = marketer.get("/portal").text
    assert "<td>S2 (Medium)</td>" in listing


def test_a_closed_choozle_request_says_to_open_a_follow_up_which_links_to_it(people: Desk):
    opened(
        people.sessions,
        people.actors["marketer"],
        subject="Pixel not firing",
        description="No conversions.",
        severity="S3",
        now=people.clock(),
    )
    committed(change_status)(people.sessions, people.actors["agent"], 1, "closed", now=people.clock())
    marketer = signed_in(people, "marketer")
    page = marketer.get("/portal/tickets/1").text
    assert '<dd id="status">Closed' in page
    assert (
        '<p class="closed-note" id="closed-note">Once an existing ticket is in a &#39;Closed&#39; status, a new ticket '
        "is required for any update or new issue: open a follow-up ticket, linked to this one.</p>" in page
    )
    assert (
        '<a class="button primary" id="follow-up" href="/portal/new?follow_up_of=1">Open a follow-up request</a>'
        in page
    )
    assert 'action="/portal/tickets/1/reply"' not in page
    form = marketer.get("/portal/new?follow_up_of=1").text
    assert '<input type="hidden" name="follow_up_of" value="1">' in form
    fields = {
        "subject": "Pixel still not firing",
        "description": "Since the fix.",
        "severity": "S3",
        "follow_up_of": "1",
    }
    sent = marketer.submit("/portal/new", fields)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/portal/tickets/2?")
    with reading(people.sessions) as session:
        assert session.get_one(Ticket, 2).follow_up_of_id == 1
    marketer.get("/portal/new")
    refused = marketer.submit("/portal/new", {**fields, "follow_up_of": "99"})
    assert refused.status_code == 422
    assert '<p class="error" id="follow_up_of-error">no ticket 99</p>' in refused.text


def test_an_internal_file_is_neither_listed_nor_downloadable_for_the_customer(people: Desk):
    opened(
        people.sessions,
        people.actors["customer"],
        subject="Invoices",
        description="Wrong totals.",
        severity="Sev3",
        now=people.clock(),
    )
    for filename, public in (("internal-trace.txt", False), ("fix-notes.txt", True)):
        attached(
            people.sessions,
            people.actors["agent"],
            1,
            filename=filename,
            content_type="text/plain",
            data=f"{filename}\n".encode(),
            storage=people.attachments,
            public=public,
            now=people.clock(),
        )
    with reading(people.sessions) as session:
        page = request_page(session, people.actors["customer"], 1, people.clock())
        internal = session.scalar(select(Attachment.id).where(Attachment.public.is_(False)))
    assert [(file.filename, file.uploaded_by) for file in page.files] == [("fix-notes.txt", "agent")]
    customer = signed_in(people, "customer")
    html = customer.get("/portal/tickets/1").text
    assert "internal-trace.txt" not in html and "fix-notes.txt</a>" in html
    assert customer.get(f"/portal/tickets/1/attachments/{internal}").status_code == 404
    assert customer.get(f"/portal/tickets/1/attachments/{page.files[0].id}").content == b"fix-notes.txt\n"


def test_every_required_intake_field_left_blank_is_named_at_once(people: Desk):
    people.user("admin", Role.ADMIN)
    source = (Path(policy_package.__file__).parent / "builtin" / "alleo.yaml").read_text(encoding="utf-8")
    required = source.replace("version: 2\n", "version: 3\n", 1).replace(
        "type: long_text, required: false", "type: long_text, required: true", 1
    )
    committed(upload_policy)(people.sessions, people.actors["admin"], required, now=people.clock())
    customer = signed_in(people, "customer")
    form = customer.get("/portal/new").text
    assert (
        '<label for="intake-steps_to_reproduce">Steps to reproduce the issue <span aria-hidden="true">*</span></label>'
        in form
    )
    sent = customer.submit("/portal/new", {"subject": "Slow", "description": "", "intake.steps_to_reproduce": " \n"})
    assert sent.status_code == 422
    assert '<p class="error" id="description-error">Describe what happened.</p>' in sent.text
    assert (
        '<p class="error" id="severity-error">Choose a severity; when in doubt, choose the more severe.</p>'
        in sent.text
    )
    assert (
        '<p class="error" id="intake-steps_to_reproduce-error">Steps to reproduce the issue is required.</p>'
        in sent.text
    )
    assert '<li><a href="#intake-steps_to_reproduce">Steps to reproduce the issue is required.</a></li>' in sent.text
    assert "subject-error" not in sent.text
    assert ticket_count(people) == 0


def test_a_severity_set_by_support_shows_beside_the_one_chosen_and_moves_the_due_time(people: Desk):
    opened(
        people.sessions,
        people.actors["customer"],
        subject="Nobody can sign in",
        description="Since 08:45.",
        severity="Sev4",
        now=people.clock(),
    )
    people.clock.advance(timedelta(minutes=10))
    committed(change_severity)(
        people.sessions, people.actors["agent"], 1, "Sev1", "everyone is locked out", now=people.clock()
    )
    page = signed_in(people, "customer").get("/portal/tickets/1").text
    assert (
        '<dd id="severity">Sev1: Severity Level 1 <span class="help">(you chose Sev4: Severity Level 4; '
        "our team set this one)</span></dd>" in page
    )
    # Sev1's 4 h from the original start, 09:00 EST
    assert '<time class="countdown" datetime="2026-12-07T18:00:00Z">in 3 h 50 min</time>' in page
    assert '<strong class="due-at">Mon 7 Dec 2026, 13:00 EST</strong>' in page


def test_the_list_shows_the_newest_request_first_and_pages_back_to_older_ones(people: Desk, monkeypatch):
    import sladesk.web.portal as portal

    monkeypatch.setattr(portal, "PAGE_SIZE", 2)
    for number in range(1, 4):
        opened(
            people.sessions,
            people.actors["customer"],
            subject=f"Request number {number}",
            description="Details.",
            severity="Sev3",
            now=people.clock(),
        )
        people.clock.advance(timedelta(minutes=5))
    customer = signed_in(people, "customer")
    first = re.findall(r'href="/portal/tickets/(\d+)"', customer.get("/portal").text)
    assert first == ["3", "2"]
    assert 'href="/portal?after=2"' in customer.last_page
    assert re.findall(r'href="/portal/tickets/(\d+)"', customer.get("/portal?after=2").text) == ["1"]


def test_a_request_answered_under_a_target_with_no_due_time_says_when_it_was_answered(people: Desk):
    # Alli tracks first response without a due time (alli.yaml); its zone is America/Chicago.
    pmg = people.organisation("Prairie", "alli")
    people.user("planner", Role.CUSTOMER, pmg, password=PASSWORD)
    opened(
        people.sessions,
        people.actors["planner"],
        subject="Report export is empty",
        description="The CSV has headers only.",
        severity="P3",
        now=people.clock(),
    )
    planner = signed_in(people, "planner")
    assert "No time is set for this severity." in planner.get("/portal/tickets/1").text
    people.clock.advance(timedelta(minutes=30))
    replied(people.sessions, people.actors["agent"], 1, "Looking at the export now.", now=people.clock())
    page = planner.get("/portal/tickets/1").text
    assert (
        '<span class="answered">Answered</span> on <time datetime="2026-12-07T14:30:00Z">Mon 7 Dec 2026, 08:30 CST</time>.'
        in page
    )
    assert "No time is set for this severity." not in page
