"""The admin pages: organisations, users and tokens, failed deliveries, and policies, on both databases."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sladesk.policy import builtin_path, builtin_source, read_yaml
from sladesk.services import Role
from sladesk.services.outbox import enqueue
from sladesk.store import reading, transaction
from sladesk.store.tables import ApiToken, Organisation, OutboxMessage, PolicyVersion, User
from tests.support.desk import Desk
from tests.support.web import PASSWORD, WebPerson


@pytest.fixture
def people(desk: Desk) -> Desk:
    acme = desk.organisation("Acme", "alleo")
    desk.user("customer", Role.CUSTOMER, acme, password=PASSWORD)
    desk.user("agent", Role.AGENT, password=PASSWORD)
    desk.user("admin", Role.ADMIN, password=PASSWORD)
    return desk


def _admin(desk: Desk) -> WebPerson:
    person = WebPerson(desk.app())
    person.sign_in("admin@example.com")
    return person


def _text(fragment: str) -> str:
    """A fragment of HTML as the reader sees it: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment.replace("<br>", " "))).split())


def _table(page: str, table_id: str) -> str:
    found = re.search(rf'<table[^>]* id="{table_id}".*?</table>', page, re.S)
    assert found is not None, f"no table {table_id} in the page"
    return found.group(0)


def _rows(table: str) -> list[list[str]]:
    """Each body row's cells as text."""
    body = table.split("<tbody>", 1)[1]
    return [
        [_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def test_an_admin_creates_an_organisation_and_a_customer_and_issues_a_token_shown_once(people: Desk):
    admin = _admin(people)
    assert admin.get("/admin/organisations/new").status_code == 200
    created = admin.submit(
        "/admin/organisations/new", {"name": "Globex", "policy_id": "alleo", "tier": "gold", "timezone": ""}
    )
    assert created.status_code == 303
    with reading(people.sessions) as session:
        globex = session.scalars(select(Organisation).where(Organisation.name == "Globex")).one()
        assert (globex.policy_id, globex.tier, globex.timezone) == ("alleo", "gold", None)
    assert created.headers["location"] == f"/admin/organisations/{globex.id}?done=Organisation%20Globex%20created."
    page = admin.get(created.headers["location"]).text
    assert "Organisation Globex created." in page and 'value="gold"' in page

    refused = admin.submit(
        f"/admin/organisations/{globex.id}", {"name": "Globex", "policy_id": "sourcegraph", "tier": "gold"}
    )
    assert refused.status_code == 422
    assert refused.text.count("policy &#39;sourcegraph&#39; has no tier &#39;gold&#39;") == 1
    assert 'value="gold" aria-invalid="true" aria-describedby="form-error tier-help"' in refused.text
    moved = admin.submit(
        f"/admin/organisations/{globex.id}", {"name": "Globex", "policy_id": "sourcegraph", "tier": "enterprise"}
    )
    assert moved.status_code == 303
    with reading(people.sessions) as session:
        assert session.get_one(Organisation, globex.id).policy_id == "sourcegraph"
        assert session.get_one(Organisation, globex.id).tier == "enterprise"

    admin.get(f"/admin/users/new?organisation={globex.id}")
    made = admin.submit(
        "/admin/users/new",
        {"email": "Wanda@Globex.example", "name": "Wanda", "role": "customer", "organisation_id": str(globex.id)},
    )
    assert made.status_code == 303
    with reading(people.sessions) as session:
        wanda = session.scalars(select(User).where(User.email == "wanda@globex.example")).one()
        assert (wanda.role, wanda.organisation_id, wanda.active) == ("customer", globex.id, True)

    admin.get(f"/admin/users/{wanda.id}")
    issued = admin.submit(f"/admin/users/{wanda.id}/tokens", {"name": "CI integration"})
    assert issued.status_code == 200
    secret = re.search(r'id="issued-secret" type="text" readonly value="(sld_[^"]+)"', issued.text)
    assert secret is not None and "it is shown this once" in issued.text
    api = people.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert api.status_code == 200 and api.json()["email"] == "wanda@globex.example"

    later = admin.get(f"/admin/users/{wanda.id}").text
    assert secret.group(1) not in later and "issued-secret" not in later
    assert [row[0] for row in _rows(_table(later.replace("<table>", '<table id="tokens">', 1), "tokens"))] == [
        "CI integration"
    ]
    with reading(people.sessions) as session:
        [token] = session.scalars(select(ApiToken).where(ApiToken.user_id == wanda.id)).all()
    revoked = admin.submit(f"/admin/users/{wanda.id}/tokens/{token.id}/revoke", {})
    assert revoked.status_code == 303
    assert "No API tokens." in admin.get(revoked.headers["location"]).text
    refused = people.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert refused.status_code == 401


def test_an_admin_deactivates_and_reactivates_a_user_but_not_themself(people: Desk):
    admin = _admin(people)
    customer = people.ids["customer"]
    admin.get(f"/admin/users/{customer}")
    assert admin.submit(f"/admin/users/{customer}/active", {"active": "no"}).status_code == 303
    with reading(people.sessions) as session:
        assert session.get_one(User, customer).active is False
        assert session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == customer)) == 0
    page = admin.get(f"/admin/users/{customer}").text
    assert "Deactivated: signs in no more" in page and "Reactivate customer" in page
    assert admin.submit(f"/admin/users/{customer}/active", {"active": "yes"}).status_code == 303
    with reading(people.sessions) as session:
        assert session.get_one(User, customer).active is True

    own = people.ids["admin"]
    admin.get(f"/admin/users/{own}")
    refused = admin.submit(f"/admin/users/{own}/active", {"active": "no"})
    assert refused.status_code == 409 and "admins cannot deactivate themselves" in refused.text


@pytest.mark.parametrize("who", ["agent", "customer"])
def test_agents_and_customers_are_refused_every_admin_page(people: Desk, who: str):
    person = WebPerson(people.app())
    person.sign_in(f"{who}@example.com")
    for path in ("/admin", "/admin/organisations", "/admin/users", "/admin/outbox", "/admin/policies/alleo"):
        answer = person.get(path)
        assert (answer.status_code, "this page is for admins" in answer.text) == (403, True), path
    home = "/portal" if who == "customer" else "/queue"
    person.get(home)
    forged = person.submit("/admin/organisations/new", {"name": "Evil", "policy_id": "alleo"})
    assert forged.status_code == 403
    with reading(people.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 1


def test_a_visitor_not_signed_in_is_sent_to_sign_in_and_back(people: Desk):
    answer = WebPerson(people.app()).get("/admin/policies/alleo?week=2026-11-23")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/admin/policies/alleo%3Fweek%3D2026-11-23"


def test_a_dead_delivery_is_listed_and_retry_makes_it_pending_again(people: Desk):
    with transaction(people.sessions) as session:
        message = enqueue(
            session,
            "chat",
            {"url": "https://chat.example/hooks/T000/SECRET", "text": "#1 opened"},
            idempotency_key="chat-test-1",
            now=people.clock(),
        )
        message.status, message.attempts, message.last_error = "dead", 8, "HTTP 400 from chat.example: unknown event"
        session.flush()
        message_id = message.id
    admin = _admin(people)
    page = admin.get("/admin/outbox").text
    row = re.search(rf'<tr id="message-{message_id}">.*?</tr>', page, re.S)
    assert row is not None
    assert _text(row.group(0)) == (
        f"{message_id} chat-test-1 chat chat.example — Dead 8 HTTP 400 from chat.example: unknown event "
        f"Retry message {message_id}"
    )
    assert "SECRET" not in page

    people.clock.advance(timedelta(minutes=5))
    retried = admin.submit(f"/admin/outbox/{message_id}/retry", {})
    assert retried.status_code == 303
    with reading(people.sessions) as session:
        stored = session.get_one(OutboxMessage, message_id)
        assert (stored.status, stored.attempts, stored.available_at) == ("pending", 0, people.clock())
        assert stored.last_error is None
    after = admin.get(retried.headers["location"]).text
    assert f"Message {message_id} (chat-test-1) will be sent again now." in after
    assert f'id="message-{message_id}"' not in after  # its old error is no longer shown as current
    assert "The outbox now: 1 pending, 0 sent, 0 dead." in after

    again = admin.submit(f"/admin/outbox/{message_id}/retry", {})
    assert again.status_code == 409
    assert f"outbox message {message_id} is pending and has not failed: only failed messages are retried" in again.text


def test_a_pending_delivery_whose_last_attempt_failed_is_retried_now_and_its_error_cleared(people: Desk):
    with transaction(people.sessions) as session:
        message = enqueue(
            session,
            "webhook",
            {"url": "https://hooks.example/in", "body": {}},
            idempotency_key="webhook-test-1",
            now=people.clock(),
        )
        message.attempts, message.last_error = 3, "HTTP 503 from hooks.example"
        message.available_at = people.clock() + timedelta(minutes=40)
        session.flush()
        message_id = message.id
    admin = _admin(people)
    page = admin.get("/admin/outbox").text
    row = re.search(rf'<tr id="message-{message_id}">.*?</tr>', page, re.S)
    assert row is not None
    assert _text(row.group(0)) == (
        f"{message_id} webhook-test-1 webhook hooks.example — Retrying next attempt Mon 7 Dec 2026, 14:40 UTC "
        f"3 HTTP 503 from hooks.example Retry message {message_id} now"
    )
    people.clock.advance(timedelta(minutes=5))
    retried = admin.submit(f"/admin/outbox/{message_id}/retry", {})
    assert retried.status_code == 303
    with reading(people.sessions) as session:
        stored = session.get_one(OutboxMessage, message_id)
        assert (stored.status, stored.attempts, stored.available_at, stored.last_error) == (
            "pending",
            0,
            people.clock(),
            None,
        )
    assert f'id="message-{message_id}"' not in admin.get("/admin/outbox").text


def test_the_alleo_policy_page_shows_each_target_in_words_and_the_thanksgiving_week(people: Desk):
    admin = _admin(people)
    page = admin.get("/admin/policies/alleo?week=2026-11-25").text  # any day of the week shows its Monday on
    assert _rows(_table(page.replace('class="severities"', 'id="severities"'), "severities")) == [
        [
            "Sev1 · Severity Level 1 Alleo cannot be reached or does not work at all: the service or the software "
            "is down for the customer.",
            "4h on Alleo support hours",
            "No",
        ],
        [
            "Sev2 · Severity Level 2 Performance of the services or the software is noticeably impaired, but they "
            "remain accessible and functional.",
            "1 business day (9h of working time) on Alleo support hours",
            "No",
        ],
        [
            "Sev3 · Severity Level 3 A support contact needs information or help with the capabilities, "
            "configuration or operation of the services or software.",
            "2 business days (18h of working time) on Alleo support hours",
            "No",
        ],
        [
            "Sev4 · Severity Level 4 The software works and there is no impact on the customer's business operations.",
            "5 business days (45h of working time) on Alleo support hours",
            "No",
        ],
    ]
    assert "Calendars in the week of Mon 23 Nov 2026" in page
    assert _text(re.search(r'<p class="holidays">.*?</p>', page, re.S).group(0)) == (  # type: ignore[union-attr]
        "Holidays this week: Thu 26 Nov: Thanksgiving Day; Fri 27 Nov: Friday after Thanksgiving."
    )
    week = _table(page, "calendar-business")
    assert [row[:2] for row in _rows(week)] == [
        ["Mon 23 Nov", "08:00-17:00"],
        ["Tue 24 Nov", "08:00-17:00"],
        ["Wed 25 Nov", "08:00-17:00"],
        ["Thu 26 Nov", "Closed: Thanksgiving Day"],
        ["Fri 27 Nov", "Closed: Friday after Thanksgiving"],
        ["Sat 28 Nov", "Closed"],
        ["Sun 29 Nov", "Closed"],
    ]
    grids = re.findall(r'<span class="grid" aria-hidden="true">(.*?)</span></td>', week, re.S)
    shaded = [[m == "h-full" for m in re.findall(r'class="h (h-\w+)"', grid)] for grid in grids]
    assert shaded[0] == [False] * 8 + [True] * 9 + [False] * 7  # Mon: the hours 08-17 shaded
    assert shaded[3] == [False] * 24  # Thanksgiving: none
    assert 'href="/admin/policies/alleo?week=2026-11-16#week"' in page
    assert 'href="/admin/policies/alleo?week=2026-11-30#week"' in page


def test_the_aspenware_week_marks_the_on_call_period_and_its_holiday_hours(people: Desk):
    page = _admin(people).get("/admin/policies/aspenware?week=2026-11-23").text
    on_call = _table(page.replace('class="week week-oncall"', 'class="week-oncall"'), "calendar-oncall")
    assert 'After-hours on-call period <span class="badge-oncall">On-call period</span>' in on_call
    assert [row[:2] for row in _rows(on_call)][2:5] == [
        ["Wed 25 Nov", "17:00-22:00"],
        ["Thu 26 Nov", "08:00-22:00 (holiday hours: Thanksgiving Day)"],
        ["Fri 27 Nov", "17:00-22:00"],
    ]
    assert page.count("badge-oncall") == 1  # business hours and their union with on-call are not the period itself
    assert _rows(_table(page, "calendar-business"))[3][:2] == ["Thu 26 Nov", "Closed: Thanksgiving Day"]
    always = _table(page, "calendar-always")  # calendar time counts holidays like any day
    assert _rows(always)[3][:2] == ["Thu 26 Nov", "00:00-24:00"] and 'class="holiday"' not in always


def test_a_policy_page_lists_the_targets_that_depend_on_the_ticket_and_the_rules(people: Desk):
    page = _admin(people).get("/admin/policies/aspenware").text  # the desk's clock: Mon 7 Dec 2026
    level_2 = page[page.index('<tr id="severity-L2">') : page.index('<tr id="severity-L3">')]
    assert (
        "<li>Expected resolution time (category Software defect, path Needs a new version): within 2 release "
        "versions (next releases 2026-12-08, 2027-01-05)</li>"
    ) in level_2
    assert '<td data-metric="resolution">5 business days (45h of working time) on Business hours</td>' in level_2
    rules = page[page.index('<h2 id="rules">') :]
    assert "<li>Resolution paths staff can mark: Needs a new version, Hotfix.</li>" in rules
    assert (
        "<li>Releases: the next are Tue 08 Dec 2026 06:00, Tue 05 Jan 2027 06:00, Tue 02 Feb 2027 06:00.</li>" in rules
    )


def test_the_week_defaults_to_the_current_one_and_a_bad_week_is_refused(people: Desk):
    admin = _admin(people)
    assert "Calendars in the week of Mon 7 Dec 2026" in admin.get("/admin/policies/alleo").text
    refused = admin.get("/admin/policies/alleo?week=next-tuesday")
    assert refused.status_code == 422 and "is not a date like 2026-12-21" in refused.text
    assert admin.get("/admin/policies/nosuch").status_code == 404
    far = admin.get("/admin/policies/alleo?week=0001-01-01")
    assert far.status_code == 422 and "calendars are shown from 1902-01-01 to 2398-12-31" in far.text


def test_the_scenario_results_list_every_scenario_of_the_built_in_policy_as_passed(people: Desk):
    page = _admin(people).get("/admin/policies/alleo").text
    scenarios = read_yaml(builtin_path("alleo").with_name("alleo.tests.yaml"))["tests"]
    rows = _rows(_table(page.replace('class="scenarios"', 'id="scenarios-table"'), "scenarios-table"))
    assert [
        (result, re.sub(r" \(alleo.tests.yaml, line \d+\)$", "", name), details) for result, name, details in rows
    ] == [("Passed", scenario["name"], "—") for scenario in scenarios]
    assert f"{len(scenarios)} passed, 0 failed." in page


def _alleo(version: int, first_response: str = "4h") -> str:
    text = re.sub(r"^version: \d+$", f"version: {version}", builtin_source("alleo"), count=1, flags=re.MULTILINE)
    return text.replace("first_response: 4h", f"first_response: {first_response}", 1)


def test_an_upload_with_a_bad_duration_shows_the_problem_under_its_line_and_stores_nothing(people: Desk):
    admin = _admin(people)
    form = admin.get("/admin/policies/alleo/upload").text
    assert 'enctype="multipart/form-data"' in form and 'for="source"' in form and 'for="file"' in form
    source = _alleo(2, "4 hourz")
    line = source.split("\n").index("      first_response: 4 hourz") + 1
    answer = admin.submit("/admin/policies/alleo/upload", {"source": source})
    assert answer.status_code == 422
    message = "unknown unit &#39;hourz&#39; in duration &#39;4 hourz&#39; (use s, m, h or business days)"
    assert re.search(
        rf'<tr id="line-{line}" class="has-problem"><th scope="row">{line}</th><td><code>'
        rf"      first_response: 4 hourz</code></td></tr>\s*"
        rf'<tr class="problem"><td><span class="visually-hidden">Problem on line {line}</span></td>'
        rf"<td>✖ Line {line}, severities\[0\].targets.first_response.due: {re.escape(message)}</td></tr>",
        answer.text,
    )
    assert f'<a href="#line-{line}">Line {line}</a>' in answer.text
    with reading(people.sessions) as session:
        assert session.scalar(select(func.count()).select_from(PolicyVersion)) == 0


def test_an_upload_that_does_not_raise_the_version_is_refused_at_its_version_line(people: Desk):
    admin = _admin(people)
    admin.get("/admin/policies/alleo/upload")
    answer = admin.submit("/admin/policies/alleo/upload", {"source": _alleo(2)})
    assert answer.status_code == 422
    assert "✖ Line 5, version: policy &#39;alleo&#39; is at version 2 already; give the new text version: 3" in (
        answer.text
    )


def test_a_good_upload_by_file_becomes_version_3_and_shows_as_current(people: Desk):
    admin = _admin(people)
    admin.get("/admin/policies/alleo/upload")
    source = _alleo(3, "2h")
    answer = admin.submit(
        "/admin/policies/alleo/upload", {"source": ""}, files={"file": ("alleo.yaml", source.encode(), "text/yaml")}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        "/admin/policies/alleo?done=Version%203%20stored%3A%20it%20is%20the%20current%20version%20now."
    )
    page = admin.get(answer.headers["location"]).text
    assert "version 3 (current)" in page
    assert _rows(_table(page.replace('class="severities"', 'id="severities"'), "severities"))[0][1] == (
        "2h on Alleo support hours"
    )
    assert [row[:2] for row in _rows(_table(page.replace('class="versions"', 'id="versions"'), "versions"))] == [
        ["Version 3 (current)", "Uploaded by admin"]
    ]
    assert "This version carries no scenario tests." in page  # the upload has no `tests:` of its own
    shipped = admin.get("/admin/policies/alleo?version=2&week=2026-11-23").text
    assert 'version 2, not the current one: <a href="/admin/policies/alleo">see version 3</a>' in shipped
    assert _rows(_table(shipped.replace('class="severities"', 'id="severities"'), "severities"))[0][1] == (
        "4h on Alleo support hours"
    )
    assert 'href="/admin/policies/alleo?week=2026-11-30&amp;version=2#week"' in shipped
    assert "16 passed, 0 failed." in shipped  # the shipped version's scenarios
    assert admin.get("/admin/policies/alleo?version=4").status_code == 404
    listed = _rows(_table(admin.get("/admin/policies").text.replace("<table>", '<table id="p">', 1), "p"))
    assert listed[1][:3] == ["alleo", "Alleo Support", "3"]


def test_a_new_policy_is_uploaded_and_an_organisation_can_be_served_under_it(people: Desk):
    admin = _admin(people)
    assert "Upload a new policy" in admin.get("/admin/new-policy").text
    source = _alleo(1).replace("id: alleo", "id: initech", 1).replace("name: Alleo Support", "name: Initech", 1)
    answer = admin.submit("/admin/new-policy", {"source": source})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/policies/initech?done=Version%201%20stored")
    page = admin.get(answer.headers["location"]).text
    assert "<h1>Initech</h1>" in page and "version 1 (current)" in page
    admin.get("/admin/organisations/new")
    made = admin.submit("/admin/organisations/new", {"name": "Initrode", "policy_id": "initech"})
    assert made.status_code == 303
    with reading(people.sessions) as session:
        assert session.scalars(select(Organisation.policy_id).where(Organisation.name == "Initrode")).one() == "initech"


def test_a_version_page_refuses_a_text_of_another_policy(people: Desk):
    admin = _admin(people)
    admin.get("/admin/policies/alleo/upload")
    answer = admin.submit(
        "/admin/policies/alleo/upload",
        {"source": re.sub(r"(?m)^version: \d+$", "version: 9", builtin_source("choozle"))},
    )
    assert answer.status_code == 422
    assert "this page uploads versions of &#39;alleo&#39;; the text&#39;s id is &#39;choozle&#39;" in answer.text
    with reading(people.sessions) as session:
        assert session.scalar(select(func.count()).select_from(PolicyVersion)) == 0


def test_a_token_issued_with_an_expiry_day_signs_in_until_that_day_begins(people: Desk):
    admin = _admin(people)
    agent = people.ids["agent"]
    admin.get(f"/admin/users/{agent}")
    issued = admin.submit(f"/admin/users/{agent}/tokens", {"name": "Until Christmas", "expires_on": "2026-12-25"})
    secret = re.search(r'readonly value="(sld_[^"]+)"', issued.text).group(1)  # type: ignore[union-attr]
    row = [row for row in _rows(_table(issued.text.replace("<table>", '<table id="tokens">', 1), "tokens"))][-1]
    assert row[:4] == ["Until Christmas", "Mon 7 Dec 2026, 14:00 UTC", "never", "Fri 25 Dec 2026, 00:00 UTC"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert people.client.get("/api/v1/users/me", headers=headers).status_code == 200
    people.clock.advance(timedelta(days=18))  # Fri 25 Dec 2026, 14:00 UTC
    assert people.client.get("/api/v1/users/me", headers=headers).status_code == 401

    admin = _admin(people)  # signed in again: the first session has ended meanwhile
    admin.get(f"/admin/users/{agent}")
    refused = admin.submit(f"/admin/users/{agent}/tokens", {"name": "Past", "expires_on": "2026-12-25"})
    assert refused.status_code == 422 and "expires_at: must be in the future" in refused.text


def test_an_uploaded_version_with_its_own_scenarios_shows_what_a_failing_one_expected_and_got(people: Desk):
    scenarios = """
tests:
  - name: Sev1 opened Monday 09:00 is due 13:00
    ticket: {severity: 1}
    events:
      - {at: "2026-12-07T09:00:00-05:00", type: opened}
    expect:
      first_response: {state: running, due: "2026-12-07T13:00:00-05:00"}
  - name: Sev1 opened Monday 09:00 is due 12:00
    ticket: {severity: 1}
    events:
      - {at: "2026-12-07T09:00:00-05:00", type: opened}
    expect:
      first_response: {state: running, due: "2026-12-07T12:00:00-05:00"}
"""
    source = _alleo(3) + scenarios
    first = source.split("\n").index("  - name: Sev1 opened Monday 09:00 is due 13:00") + 1
    admin = _admin(people)
    admin.get("/admin/policies/alleo/upload")
    assert admin.submit("/admin/policies/alleo/upload", {"source": source}).status_code == 303
    page = admin.get("/admin/policies/alleo").text
    assert "1 passed, 1 failed." in page
    rows = _rows(_table(page.replace('class="scenarios"', 'id="scenarios-table"'), "scenarios-table"))
    assert rows == [
        ["Passed", f"Sev1 opened Monday 09:00 is due 13:00 (version 3, line {first})", "—"],
        [
            "Failed",
            f"Sev1 opened Monday 09:00 is due 12:00 (version 3, line {first + 6})",
            "first_response due: expected 2026-12-07T12:00:00-05:00, got 2026-12-07T13:00:00-05:00",
        ],
    ]


def test_ids_no_row_can_have_are_pages_of_something_missing_on_both_databases(people: Desk):
    admin = _admin(people)
    admin.get("/admin")
    huge = 2**40
    assert admin.get(f"/admin/organisations/{huge}").status_code == 404
    assert admin.get(f"/admin/users/{huge}").status_code == 404
    form = {"name": "Globex", "policy_id": "alleo"}
    assert admin.submit(f"/admin/organisations/{huge}", form).status_code == 404
    admin.get("/admin")
    assert admin.submit(f"/admin/users/{huge}/active", {"active": "no"}).status_code == 404
    admin.get("/admin")
    assert admin.submit(f"/admin/users/{huge}/tokens", {"name": "x"}).status_code == 404
    admin.get("/admin")
    assert admin.submit(f"/admin/users/{people.ids['agent']}/tokens/{huge}/revoke", {}).status_code == 404
    admin.get("/admin")
    assert admin.submit(f"/admin/outbox/{huge}/retry", {}).status_code == 404
    admin.get("/admin/users/new")
    fields = {"email": "x@example.com", "name": "X", "role": "customer", "organisation_id": str(huge)}
    refused = admin.submit("/admin/users/new", fields)
    assert refused.status_code == 422 and "organisation_id: choose one from the list" in refused.text


def test_an_admin_creates_an_agent_and_an_admin_who_sign_in_with_their_passwords(people: Desk):
    admin = _admin(people)
    for key, role in (("ada", "agent"), ("grace", "admin")):
        admin.get("/admin/users/new")
        fields = {"email": f"{key}@example.com", "name": key.title(), "role": role, "password": f"{key}-password-1"}
        made = admin.submit("/admin/users/new", {**fields, "organisation_id": str(people.ids["Acme"])})
        assert made.status_code == 303
        with reading(people.sessions) as session:
            user = session.scalars(select(User).where(User.email == f"{key}@example.com")).one()
            assert (user.name, user.role, user.organisation_id) == (key.title(), role, None)  # staff belong to no org
        person = WebPerson(people.app())
        assert person.sign_in(f"{key}@example.com", f"{key}-password-1").headers["location"] == "/queue"
        assert person.get("/admin").status_code == (200 if role == "admin" else 403)

    admin.get("/admin/users/new")
    taken = admin.submit("/admin/users/new", {"email": "ADA@example.com", "name": "Ada again", "role": "agent"})
    assert taken.status_code == 409 and "a user with email &#39;ADA@example.com&#39; exists already" in taken.text
    admin.get("/admin/users/new")
    orphan = admin.submit("/admin/users/new", {"email": "c@example.com", "name": "C", "role": "customer"})
    assert orphan.status_code == 422 and "organisation_id: a customer belongs to an organisation" in orphan.text
    listed = _rows(_table(admin.get("/admin/users?role=agent").text.replace("<table>", '<table id="u">', 1), "u"))
    assert [row[:3] for row in listed] == [["agent", "agent@example.com", "agent"], ["Ada", "ada@example.com", "agent"]]


def _role_and_organisation(desk: Desk, user_id: int) -> tuple[str, int | None]:
    with reading(desk.sessions) as session:
        user = session.get_one(User, user_id)
        return user.role, user.organisation_id


def test_an_admin_changes_roles_and_a_customer_change_needs_the_organisation(people: Desk):
    admin = _admin(people)
    agent, customer, acme = people.ids["agent"], people.ids["customer"], people.ids["Acme"]
    page = admin.get(f"/admin/users/{agent}").text
    assert '<label for="role">Role</label>' in page and '<option value="agent" selected>agent</option>' in page
    made = admin.submit(f"/admin/users/{agent}/role", {"role": "admin", "organisation_id": ""})
    assert (
        made.status_code == 303
        and made.headers["location"] == f"/admin/users/{agent}?done=agent%20is%20now%20an%20admin."
    )
    assert _role_and_organisation(people, agent) == ("admin", None)

    admin.get(f"/admin/users/{customer}")
    kept = admin.submit(f"/admin/users/{customer}/role", {"role": "agent", "organisation_id": str(acme)})
    assert kept.status_code == 422
    assert "organisation_id: staff belong to no organisation: set it to none" in html.unescape(kept.text)
    assert _role_and_organisation(people, customer) == ("customer", acme)
    moved = admin.submit(f"/admin/users/{customer}/role", {"role": "agent", "organisation_id": ""})
    assert moved.headers["location"] == f"/admin/users/{customer}?done=customer%20is%20now%20an%20agent."
    assert _role_and_organisation(people, customer) == ("agent", None)
    admin.get(f"/admin/users/{customer}")
    unnamed = admin.submit(f"/admin/users/{customer}/role", {"role": "customer", "organisation_id": ""})
    assert unnamed.status_code == 422
    assert "organisation_id: a customer belongs to an organisation: name it" in html.unescape(unnamed.text)
    back = admin.submit(f"/admin/users/{customer}/role", {"role": "customer", "organisation_id": str(acme)})
    assert back.status_code == 303 and _role_and_organisation(people, customer) == ("customer", acme)


def test_the_last_active_admin_cannot_step_down_but_one_of_two_can(people: Desk):
    admin, own = _admin(people), people.ids["admin"]
    admin.get(f"/admin/users/{own}")
    refused = admin.submit(f"/admin/users/{own}/role", {"role": "agent", "organisation_id": ""})
    assert refused.status_code == 409
    assert "the last active admin stays an admin: make another user admin first" in html.unescape(refused.text)
    assert _role_and_organisation(people, own) == ("admin", None)
    admin.get(f"/admin/users/{people.ids['agent']}")
    admin.submit(f"/admin/users/{people.ids['agent']}/role", {"role": "admin", "organisation_id": ""})
    admin.get(f"/admin/users/{own}")
    stepped = admin.submit(f"/admin/users/{own}/role", {"role": "agent", "organisation_id": ""})
    assert stepped.status_code == 303 and _role_and_organisation(people, own) == ("agent", None)
    assert stepped.headers["location"] == "/queue?done=admin%20is%20now%20an%20agent."
    assert admin.get(stepped.headers["location"]).status_code == 200
    assert admin.get("/admin/users").status_code == 403  # an agent now: the admin pages are closed
