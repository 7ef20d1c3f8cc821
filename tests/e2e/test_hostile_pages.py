"""Hostile text in a real browser: a ticket whose subject, description and reply hold a `<script>`, an image
with an `onerror` handler and a `javascript:` link is shown as text on every page that shows it. No dialog
opens and no script runs, neither under the pages' Content-Security-Policy nor with the policy bypassed: the
escaping alone keeps the text inert, and the policy has nothing to block.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from playwright.sync_api import StorageState, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.services import actor_of, open_ticket, reply
from sladesk.store.tables import User
from tests.support.playwright_browser import (
    AGENT,
    CUSTOMER,
    PASSWORD,
    Chromium,
    Seed,
    ServedDesk,
    seed_people,
)

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.pwned = 'script'; alert('script')</script>"
IMAGE = "<img src=x onerror=\"window.pwned = 'image'; alert('image')\">"
LINK = "<a href=\"javascript:window.pwned = 'link'; alert('link')\">open the report</a>"
SUBJECT = f"Export fails {SCRIPT}"
DESCRIPTION = f"The export shows {IMAGE} then {LINK}"
REPLY = f"We tried {SCRIPT} and {IMAGE} and {LINK}"

# who reads, the page, and the hostile text it shows
PAGES = [
    ("customer-list", CUSTOMER, "/portal", [SUBJECT]),
    ("customer-ticket", CUSTOMER, "/portal/tickets/1", [SUBJECT, DESCRIPTION, REPLY]),
    ("queue", AGENT, "/queue", [SUBJECT]),
    ("agent-ticket", AGENT, "/tickets/1", [SUBJECT, DESCRIPTION, REPLY]),
]


def _hostile_ticket(session: Session, now: datetime) -> None:
    """The test desk's people, and ticket 1 from its customer with a public reply from its agent."""
    seed_people(session, now)
    customer, agent = (session.scalars(select(User.id).where(User.email == email)).one() for email in (CUSTOMER, AGENT))
    opened = open_ticket(
        session, actor_of(session, customer), subject=SUBJECT, description=DESCRIPTION, severity="p2", now=now
    )
    reply(session, actor_of(session, agent), opened.ticket.id, REPLY, now=now)


@pytest.fixture(scope="module")
def desk(start_desk: Callable[[Seed], ServedDesk]) -> ServedDesk:
    return start_desk(_hostile_ticket)


@pytest.fixture(scope="module")
def signed_in(pages: Chromium, desk: ServedDesk) -> dict[str, StorageState]:
    """The cookies of the customer and the agent, each signed in once for the module."""
    return {email: pages.signed_in(desk.url, email, PASSWORD) for email in (CUSTOMER, AGENT)}


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["under-policy", "policy-bypassed"])
@pytest.mark.parametrize(("name", "person", "path", "shown"), PAGES, ids=[page[0] for page in PAGES])
def test_hostile_text_shows_as_text_and_runs_nothing(
    pages: Chromium,
    desk: ServedDesk,
    signed_in: dict[str, StorageState],
    bypass_csp: bool,
    name: str,
    person: str,
    path: str,
    shown: list[str],
) -> None:
    context = pages.context(bypass_csp=bypass_csp, storage_state=signed_in[person])
    page = context.new_page()
    response = page.goto(desk.url + path)
    assert response is not None and response.status == 200, f"{path}: {desk.errors()}"
    main = page.locator("main")
    for text in shown:
        expect(main).to_contain_text(text)
    expect(page.locator("main script, [onerror], a[href^='javascript:' i]")).to_have_count(0)
    if LINK in shown:  # the words of the would-be link are plain text: clicking them goes nowhere
        main.get_by_text("open the report").first.click()
        expect(page).to_have_url(desk.url + path)
    page.wait_for_load_state("load")
    assert page.evaluate("window.pwned") is None
    problems = pages.problems(context)
    context.close()
    assert problems == [], "\n".join(problems)
