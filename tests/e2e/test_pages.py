"""The desk's main stories, as people do them in a real browser on a running `sladesk serve`: a customer
submits a request with a file, an agent sees it first in the queue and answers, and the customer sees the
answer with the first-response countdown stopped; an admin uploads a broken policy and reads each error
against its line. Each page on the way is saved as build/screenshots/story-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, FilePayload, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.policy import builtin_source
from sladesk.services import actor_of, open_ticket
from sladesk.store.tables import User
from tests.support.playwright_browser import (
    ADMIN,
    AGENT,
    CUSTOMER,
    PASSWORD,
    Chromium,
    Seed,
    ServedDesk,
    screenshot,
    seed_people,
    sign_in,
)

pytestmark = pytest.mark.browser

SUBJECT = "Code search returns nothing since the upgrade"
REPLY = "Thanks, Casey: the search index is rebuilding and results are back within the hour."


@pytest.fixture(scope="module")
def desk(start_desk: Callable[[Seed], ServedDesk]) -> ServedDesk:
    return start_desk(seed_people)


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
    screenshot(customer, "story-portal-list-empty")

    customer.get_by_role("link", name="Submit a request").first.click()
    customer.wait_for_url(f"{desk.url}/portal/new")  # and loaded: its file chooser lists what is chosen
    expect(customer.get_by_role("heading", level=1)).to_have_text("Submit a request")
    customer.get_by_label("Subject").fill(SUBJECT)
    customer.get_by_label("Description").fill("Every search returns no results since we upgraded to 5.2 at 09:00.")
    customer.get_by_role("radio", name="p2", exact=True).check()
    log: FilePayload = {"name": "search-log.txt", "mimeType": "text/plain", "buffer": b"09:01 search: 0 results\n"}
    customer.get_by_label("Attach files").set_input_files(files=[log])
    expect(customer.get_by_text("search-log.txt (24 bytes)")).to_be_visible()
    screenshot(customer, "story-new-request")
    customer.get_by_role("button", name="Submit").click()

    expect(customer).to_have_url(re.compile(r"/portal/tickets/1(\?|$)"))
    expect(customer.get_by_role("status")).to_have_text("Request #1 submitted. We will answer here.")
    expect(customer).to_have_url(f"{desk.url}/portal/tickets/1")  # shown once: a reload does not repeat it
    expect(customer.get_by_role("heading", level=1)).to_have_text(f"#1 {SUBJECT}")
    due = customer.locator("#answer-due")
    expect(due).to_contain_text(re.compile(r"Due in 2[0-3] h \d\d min"))
    expect(due.locator("time.countdown")).to_have_count(1)
    expect(customer.get_by_role("link", name="search-log.txt")).to_be_visible()
    screenshot(customer, "story-customer-ticket")

    agent_context, agent = _person(pages, desk, AGENT)
    expect(agent).to_have_url(f"{desk.url}/queue")
    first = agent.locator("tr.first")
    expect(first).to_contain_text("1 · work this first")
    expect(first.get_by_role("link")).to_have_text(f"#1 {SUBJECT}")
    screenshot(agent, "story-queue")
    agent.keyboard.press("o")  # opens the ticket to work first
    agent.wait_for_url(f"{desk.url}/tickets/1")  # and loaded: its keys work from then on

    expect(agent.get_by_role("heading", level=1)).to_have_text(f"#1 {SUBJECT}")
    expect(agent.get_by_role("link", name="search-log.txt")).to_be_visible()
    # The agent answers from the keyboard too: "r" goes to the reply, Tab past its files to its button.
    agent.keyboard.press("r")
    expect(agent.get_by_label("Reply to the customer")).to_be_focused()
    agent.keyboard.type(REPLY)
    agent.keyboard.press("Tab")
    expect(agent.locator("#reply-files")).to_be_focused()
    agent.keyboard.press("Tab")
    expect(agent.get_by_role("button", name="Send reply")).to_be_focused()
    agent.keyboard.press("Enter")
    expect(agent.locator("#ticket-conversation")).to_contain_text(REPLY)
    expect(agent.get_by_role("heading", name="Time to first response")).to_contain_text("Met")
    screenshot(agent, "story-agent-ticket")

    customer.goto(f"{desk.url}/portal/tickets/1")
    expect(customer.locator(".conversation")).to_contain_text(REPLY)
    expect(due).to_contain_text("Answered on")
    expect(due.locator("time.countdown")).to_have_count(0)
    screenshot(customer, "story-customer-ticket-answered")

    assert pages.problems(customer_context) == [] and pages.problems(agent_context) == []
    customer_context.close()
    agent_context.close()


def _broken(source: str, old: str, new: str) -> tuple[str, int]:
    """`source` with the first `old` replaced by `new`, and the line the change starts on."""
    at = source.index(old)
    return source[:at] + new + source[at + len(old) :], source.count("\n", 0, at) + 1


def test_an_admin_uploads_a_broken_policy_and_reads_each_error_against_its_line(
    pages: Chromium, desk: ServedDesk, tmp_path: Path
) -> None:
    source = builtin_source("sourcegraph").replace("\nversion: 3\n", "\nversion: 4\n")
    source, calendar_line = _broken(
        source, "calendar: always\n    start: opened", "calendar: nowhere\n    start: opened"
    )
    source, due_line = _broken(
        source, "first_response: {due: 24h, goal: 2h}", "first_response: {due: 24 parsecs, goal: 2h}"
    )
    broken = tmp_path / "sourcegraph.yaml"
    broken.write_text(source)
    calendar_problem = "metrics.first_response.calendar: unknown calendar 'nowhere' (known: always)"
    due_problem = (
        "severities[0].targets.first_response.due: unknown unit 'parsecs' in duration '24 parsecs' "
        "(use s, m, h or business days)"
    )

    context, admin = _person(pages, desk, ADMIN)
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(admin.get_by_role("heading", level=1)).to_be_visible()
    screenshot(admin, "story-admin-overview")
    admin.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Policies").click()
    admin.get_by_role("link", name="sourcegraph", exact=True).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Sourcegraph Support")
    screenshot(admin, "story-policy")
    admin.get_by_role("link", name="Upload a new version").first.click()
    admin.get_by_label("Or choose a file").set_input_files(broken)
    admin.get_by_role("button", name="Check and upload").click()

    problems = admin.get_by_role("alert")
    expect(problems).to_contain_text("2 problems: nothing was stored.")
    expect(problems.get_by_role("listitem")).to_have_text(
        [f"Line {calendar_line}, {calendar_problem}", f"Line {due_line}, {due_problem}"]
    )
    for line, problem in ((calendar_line, calendar_problem), (due_line, due_problem)):
        expect(admin.locator(f"#line-{line} + tr")).to_have_text(f"Problem on line {line}✖ Line {line}, {problem}")
        problems.get_by_role("link", name=f"Line {line}").click()
        expect(admin).to_have_url(re.compile(f"#line-{line}$"))
    screenshot(admin, "story-policy-upload-errors")

    admin.goto(f"{desk.url}/admin/policies/sourcegraph")
    versions = admin.get_by_role("table", name="Stored versions, newest first").locator("tbody tr")
    expect(versions).to_have_count(1)
    expect(versions).to_contain_text("3 (current)")
    # The page of problems answers 422, which the browser logs; nothing else went wrong.
    assert pages.problems(context) == [
        f"console error on {desk.url}/admin/policies/sourcegraph/upload: "
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ]
    context.close()


def _ticket_from_the_customer(session: Session, now: datetime) -> None:
    """The test desk's people, and ticket 1 from the customer, not answered yet."""
    seed_people(session, now)
    customer = session.scalars(select(User.id).where(User.email == CUSTOMER)).one()
    open_ticket(
        session,
        actor_of(session, customer),
        subject="Batch changes stuck",
        description="Two batch changes never finish.",
        severity="p2",
        now=now,
    )


def test_the_agents_pages_show_the_customers_changes_as_they_happen(
    pages: Chromium, start_desk: Callable[[Seed], ServedDesk]
) -> None:
    """The ticket page and the queue follow the desk's events (server-sent) without a reload, and a reply
    sent after an update goes through: the page's forms moved on to the version shown."""
    desk = start_desk(_ticket_from_the_customer)  # a desk of its own: the other story counts on ticket 1
    agent_context, ticket = _person(pages, desk, AGENT)
    queue = agent_context.new_page()
    # Each page's stream starts from the mark of what the page shows (`?since=`); the customer acts once
    # both streams answer, so the test sees the updates arrive rather than a page read after them.
    with queue.expect_response(lambda answer: answer.url.startswith(f"{desk.url}/events/queue?since=")):
        queue.goto(f"{desk.url}/queue")
    expect(queue.locator("#queue-region tbody tr")).to_have_count(1)
    with ticket.expect_response(lambda answer: answer.url.startswith(f"{desk.url}/events/tickets/1?since=")):
        ticket.goto(f"{desk.url}/tickets/1")
    expect(ticket.get_by_role("heading", level=1)).to_have_text("#1 Batch changes stuck")

    customer_context, customer = _person(pages, desk, CUSTOMER)
    customer.goto(f"{desk.url}/portal/tickets/1")
    customer.get_by_label("Your reply").fill("Both were started from the web UI at 10:00.")
    customer.get_by_role("button", name="Send reply").click()
    expect(customer.locator(".conversation")).to_contain_text("Both were started from the web UI at 10:00.")

    live_ms = 15_000  # the server looks for changes every second; a loaded machine is slower
    expect(ticket.locator("#ticket-conversation")).to_contain_text("Both were started from the web UI", timeout=live_ms)
    expect(ticket.locator("#live-status")).to_have_text(re.compile(r"^Updated at .+\.$"))
    ticket.get_by_label("Reply to the customer").fill("Thanks: we restarted both.")
    ticket.get_by_role("button", name="Send reply").click()
    expect(ticket.get_by_role("status").filter(has_text="Reply sent")).to_be_visible()
    expect(ticket.locator("#ticket-conversation")).to_contain_text("Thanks: we restarted both.")

    customer.get_by_role("link", name="Submit a request").first.click()
    customer.get_by_label("Subject").fill("Insights chart is empty")
    customer.get_by_label("Description").fill("The dashboard shows no data points.")
    customer.get_by_role("radio", name="p1", exact=True).check()
    customer.get_by_role("button", name="Submit").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("#2 Insights chart is empty")
    expect(queue.locator("#queue-region tbody tr")).to_have_count(2, timeout=live_ms)
    expect(queue.locator("tr.first").get_by_role("link")).to_have_text("#2 Insights chart is empty")

    assert pages.problems(agent_context) == [] and pages.problems(customer_context) == []
    agent_context.close()
    customer_context.close()
