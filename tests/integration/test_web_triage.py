"""A severity suggested on the portal's new-request form, with and without the portal's script, on both databases.

The suggestion never submits anything: the customer chooses the severity, and no request is stored by asking.
"""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from sladesk.services import Role
from sladesk.store import reading
from sladesk.store.tables import Ticket
from tests.support.desk import Desk
from tests.support.web import PASSWORD, WebPerson, csrf_of

DOWN = {
    "subject": "Nobody can reach Alleo",
    "description": "Alleo is down for us: the service cannot be reached at all.",
}
SEV1_SUGGESTED = (
    "Suggested: <strong>Sev1 - Severity Level 1</strong> because it matches "
    "'Alleo cannot be reached or does not work at all'</p>"
)


@pytest.fixture
def people(desk: Desk) -> Desk:
    desk.user("customer", Role.CUSTOMER, desk.organisation("Acme", "alleo"), password=PASSWORD)
    desk.user("marketer", Role.CUSTOMER, desk.organisation("Adverts", "choozle"), password=PASSWORD)
    desk.user("agent", Role.AGENT, password=PASSWORD)
    return desk


def on_the_form(desk: Desk, key: str = "customer") -> WebPerson:
    person = WebPerson(desk.app())
    person.sign_in(f"{key}@example.com")
    assert person.get("/portal/new").status_code == 200
    return person


def ask_as_script(person: WebPerson, fields: dict[str, str], csrf: str | None = None):
    """What the portal's script sends: the CSRF token, subject and description, asking for JSON."""
    data = {"csrf": csrf_of(person.last_page) if csrf is None else csrf, **fields}
    return person.client.post("/portal/new/suggestion", data=data, headers={"Accept": "application/json"})


def ticket_count(desk: Desk) -> int:
    with reading(desk.sessions) as session:
        return session.scalar(select(func.count()).select_from(Ticket)) or 0


def test_the_form_offers_a_suggestion_button_that_works_without_the_script(people: Desk):
    customer = on_the_form(people)
    page = customer.last_page
    assert (
        '<button type="submit" id="suggest-severity" formaction="/portal/new/suggestion" formnovalidate '
        'aria-describedby="suggest-help">Suggest a severity</button>'
    ) in page
    assert '<div id="suggestion" role="status" aria-live="polite">' in page
    assert "<script>" not in page and "style=" not in page
    script = customer.get("/static/portal.js")
    assert script.status_code == 200
    assert 'headers: { Accept: "application/json" }' in script.text


def test_without_the_script_the_form_comes_back_with_the_suggestion_and_what_was_typed(people: Desk):
    customer = on_the_form(people)
    answer = customer.submit("/portal/new/suggestion", {**DOWN, "intake.steps_to_reproduce": "Open the site"})
    assert answer.status_code == 200
    page = answer.text
    assert SEV1_SUGGESTED in page
    assert (
        '<button type="submit" name="choose_severity" value="Sev1" formaction="/portal/new/suggestion" '
        'formnovalidate data-choose-severity="Sev1">Choose Sev1</button>'
    ) in page
    assert 'value="Nobody can reach Alleo"' in page
    assert ">Alleo is down for us: the service cannot be reached at all.</textarea>" in page
    assert ">Open the site</textarea>" in page
    assert " checked" not in page  # suggested, not chosen: the customer chooses
    assert ticket_count(people) == 0


def test_choosing_the_suggested_level_without_the_script_checks_it_and_submits_nothing(people: Desk):
    customer = on_the_form(people)
    answer = customer.submit("/portal/new/suggestion", {**DOWN, "choose_severity": "Sev1"})
    assert answer.status_code == 200
    assert (
        'name="severity" value="Sev1" required aria-describedby="severity-1-guide severity-doubt" checked'
        in answer.text
    )
    assert answer.text.count(" checked") == 1
    assert ticket_count(people) == 0


def test_the_script_gets_the_suggestion_as_json_under_the_customers_own_policy(people: Desk):
    customer = on_the_form(people, "marketer")
    answer = ask_as_script(
        customer,
        {"subject": "Spend stopped", "description": "Campaigns stopped delivering; revenue is being lost now."},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert (body["policy_id"], body["severity"], body["name"], body["matched"]) == (
        "choozle",
        "S1",
        "S1 (High)",
        "Revenue is being lost now",
    )
    assert [c["code"] for c in body["candidates"]] == ["S1", "S2", "S3"]
    assert ticket_count(people) == 0


def test_files_chosen_before_asking_must_be_chosen_again(people: Desk):
    customer = on_the_form(people)
    files = [("files", ("browser.log", b"GET / 500\n", "text/plain"))]
    answer = customer.client.post(
        "/portal/new/suggestion", data={"csrf": csrf_of(customer.last_page), **DOWN}, files=files
    )
    assert answer.status_code == 200
    assert "The files you chose were not kept: please choose them again before you submit." in answer.text
    assert ticket_count(people) == 0


def test_a_text_that_matches_nothing_gets_no_suggestion(people: Desk):
    customer = on_the_form(people)
    answer = customer.submit("/portal/new/suggestion", {"subject": "zzq", "description": "qqx"})
    assert answer.status_code == 200
    assert (
        '<p class="follow-up">No word of the text matches any severity&#39;s definition or examples: '
        "choose from the guide.</p>"
    ) in answer.text
    assert "Choose Sev" not in answer.text


@pytest.mark.parametrize(
    ("fields", "field", "detail"),
    [
        (
            {"subject": " ", "description": ""},
            "description",
            "Write a subject or a description first, then ask for a suggestion.",
        ),
        (
            {"subject": "x" * 301, "description": "down"},
            "subject",
            "The subject is 301 characters long; a request's is 300 at most.",
        ),
        (
            {"subject": "down", "description": "x" * 100_001},
            "description",
            "The description is 100001 characters long; 100000 at most.",
        ),
    ],
)
def test_bad_text_is_refused_naming_the_field(people: Desk, fields, field, detail):
    customer = on_the_form(people)
    as_json = ask_as_script(customer, fields)
    assert (as_json.status_code, as_json.json()) == (422, {"field": field, "detail": detail})
    as_page = customer.submit("/portal/new/suggestion", fields)
    assert as_page.status_code == 422
    escaped = html.escape(detail, quote=True).replace("&#x27;", "&#39;")
    assert f'<li><a href="#{field}">{escaped}</a></li>' in as_page.text
    assert ticket_count(people) == 0


def test_without_the_forms_token_nothing_is_suggested(people: Desk):
    customer = on_the_form(people)
    assert ask_as_script(customer, DOWN, csrf="forged").status_code == 403


def test_the_suggestion_route_is_the_customers(people: Desk):
    agent = WebPerson(people.app())
    agent.sign_in("agent@example.com")
    agent.get("/queue")
    assert agent.submit("/portal/new/suggestion", DOWN).status_code == 403
    stranger = WebPerson(people.app())
    stranger.get("/sign-in")
    answer = stranger.client.post("/portal/new/suggestion", data={"csrf": "x", **DOWN})
    assert (answer.status_code, answer.headers["location"]) == (303, "/sign-in?next=/portal/new/suggestion")
