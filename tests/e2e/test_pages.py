"""The desk's main stories, as people do them in a real browser on a running `sladesk serve`: a customer
submits a request with a file, an agent sees it first in the queue and answers, and the customer sees the
answer with the first-response countdown stopped; an admin uploads a broken policy and reads each error
against its line. Each main page is saved under build/screenshots/ on the way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import pytest
from playwright.sync_api import BrowserContext, FilePayload, Page, expect
from sqlalchemy.orm import Session

from sladesk.services import Role, create_organisation, create_user
from tests.support.playwright_browser import Chromium, Seed, ServedDesk, screenshot, sign_in

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"
CUSTOMER = "casey@initech.example"
AGENT = "alex@sladesk.example"
ADMIN = "ada@sladesk.example"
SUBJECT = "Code search returns nothing since the upgrade"
REPLY = "Thanks, Casey: the search index is rebuilding and results are back within the hour."


def _people(session: Session, now: datetime) -> None:
    """An empty desk: an admin, an agent, and a customer of Initech, an enterprise customer under the
    Sourcegraph policy (first response due 24 h after the report, counted every hour)."""
    create_user(session, None, email=ADMIN, name="Ada Admin", role=Role.ADMIN, password=PASSWORD, now=now)
    create_user(session, None, email=AGENT, name="Alex Agent", role=Role.AGENT, password=PASSWORD, now=now)
    initech = create_organisation(session, None, name="Initech", policy_id="sourcegraph", tier="enterprise", now=now)
    create_user(
        session,
        None,
        email=CUSTOMER,
        name="Casey Customer",
        role=Role.CUSTOMER,
        organisation_id=initech.id,
        password=PASSWORD,
        now=now,
    )


@pytest.fixture(scope="module")
def desk(start_desk: Callable[[Seed], ServedDesk]) -> ServedDesk:
    return start_desk(_people)


def _person(pages: Chromium, desk: ServedDesk, email: str) -> tuple[BrowserContext, Page]:
    context = pages.context()
    page = context.new_page()
    sign_in(page, desk.url, email, PASSWORD)
    return context, page


def test_a_request_with_a_file_is_answered_and_its_first_response_countdown_stops(
    pages: Chromium, desk: ServedDesk
) -> None:
    customer_context, customer = _person(pages, desk, CUSTOMER)
    expect(customer).to_have_url(f"{desk.url}/portal")
    expect(customer.get_by_text("Your organisation has no requests yet.")).to_be_visible()
    screenshot(customer, "portal-list-empty")

    customer.get_by_role("link", name="Submit a request").first.click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("Submit a request")
    customer.get_by_label("Subject").fill(SUBJECT)
    customer.get_by_label("Description").fill("Every search returns no results since we upgraded to 5.2 at 09:00.")
    customer.get_by_label("p2: p2").check()
    log: FilePayload = {"name": "search-log.txt", "mimeType": "text/plain", "buffer": b"09:01 search: 0 results\n"}
    customer.get_by_label("Attach files").set_input_files(files=[log])
    expect(customer.get_by_text("search-log.txt (24 bytes)")).to_be_visible()
    screenshot(customer, "new-request")
    customer.get_by_role("button", name="Submit").click()

    expect(customer).to_have_url(re.compile(r"/portal/tickets/1(\?|$)"))
    expect(customer.get_by_role("status")).to_have_text("Request #1 submitted. We will answer here.")
    expect(customer.get_by_role("heading", level=1)).to_have_text(f"#1 {SUBJECT}")
    due = customer.locator("#answer-due")
    expect(due).to_contain_text(re.compile(r"Due in 2[0-3] h \d\d min"))
    expect(due.locator("time.countdown")).to_have_count(1)
    expect(customer.get_by_role("link", name="search-log.txt")).to_be_visible()
    screenshot(customer, "customer-ticket")

    agent_context, agent = _person(pages, desk, AGENT)
    expect(agent).to_have_url(f"{desk.url}/queue")
    first = agent.locator("tr.first")
    expect(first).to_contain_text("1 · work this first")
    expect(first.get_by_role("link")).to_have_text(f"#1 {SUBJECT}")
    screenshot(agent, "queue")
    first.get_by_role("link").click()

    expect(agent.get_by_role("heading", level=1)).to_have_text(f"#1 {SUBJECT}")
    expect(agent.get_by_role("link", name="search-log.txt")).to_be_visible()
    agent.get_by_label("Reply to the customer").fill(REPLY)
    agent.get_by_role("button", name="Send reply").click()
    expect(agent.locator("#ticket-conversation")).to_contain_text(REPLY)
    expect(agent.get_by_role("heading", name="Time to first response")).to_contain_text("Met")
    screenshot(agent, "agent-ticket")

    customer.goto(f"{desk.url}/portal/tickets/1")
    expect(customer.locator(".conversation")).to_contain_text(REPLY)
    expect(due).to_contain_text("Answered on")
    expect(due.locator("time.countdown")).to_have_count(0)
    screenshot(customer, "customer-ticket-answered")

    assert pages.problems(customer_context) == [] and pages.problems(agent_context) == []
    customer_context.close()
    agent_context.close()
