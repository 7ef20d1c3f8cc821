"""The on-call pages in a real browser: the admin's schedules and a schedule's timeline, the console's on-call-now
page and a ticket with an on-call incident. Each passes axe-core's WCAG 2 A and AA checks, runs under its own
Content-Security-Policy with no console error, and on a 320 px wide screen the page never scrolls sideways
(the timeline scrolls in its own box).

The desk: a New York schedule that hands over daily between Alex and Ada, Alex's turn begun within the last
two hours, for five days (then a gap), with an override adding Ada for two hours inside Alex's turn, starting one
to two hours from now whatever the hour the tests run at; an escalation policy paging it; and a P1 of Prairie Media
(Alli, which pages on-call) whose incident has started and paged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import StorageState, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.services import Role, create_organisation, create_user
from sladesk.services.actors import Actor
from sladesk.services.escalation_policies import create_policy
from sladesk.services.oncall import OverrideInput, add_override, create_schedule
from sladesk.services.policies import upload_policy
from sladesk.services.tickets import open_ticket
from sladesk.services.timers import fire_due_timers
from sladesk.store.tables import User
from tests.support.playwright_browser import (
    ADMIN,
    AGENT,
    PASSWORD,
    Chromium,
    Seed,
    ServedDesk,
    axe_violations,
    screenshot,
    seed_people,
)
from tests.support.variants import variant

pytestmark = pytest.mark.browser

NEW_YORK = ZoneInfo("America/New_York")
PAGES = [
    ("admin-oncall", ADMIN, "/admin/oncall"),
    ("admin-oncall-schedule", ADMIN, "/admin/oncall/primary"),
    ("console-oncall", AGENT, "/console/oncall"),
    ("agent-ticket-incident", AGENT, "/tickets/{ticket}"),
]
NARROW = 320


def _seed(session: Session, now: datetime) -> dict[str, int]:
    seed_people(session, now)
    ada = session.scalars(select(User).where(User.email == ADMIN)).one()
    alex = session.scalars(select(User).where(User.email == AGENT)).one()
    admin = Actor(ada.id, Role.ADMIN, None)
    upload_policy(session, admin, variant("alli", "alli_paging", paging={"escalation_policy": "night"}), now=now)
    prairie = create_organisation(session, None, name="Prairie Media", policy_id="alli_paging", now=now)
    riley = create_user(
        session,
        None,
        email="riley@prairiemedia.example",
        name="Riley Reporter",
        role=Role.CUSTOMER,
        organisation_id=prairie.id,
        password=PASSWORD,
        now=now,
    )
    # Alex's turn began an hour or so ago, whatever the hour the tests run at
    first = (now.astimezone(NEW_YORK) - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    layer = {
        "id": "days",
        "start": first.isoformat(timespec="minutes"),
        "end": (first + timedelta(days=5)).isoformat(timespec="minutes"),
        "rotation": "daily",
        "people": [alex.id, ada.id],
    }
    create_schedule(session, admin, "primary", "Primary", "America/New_York", [layer], now=now)
    # inside Alex's turn, so the final schedule shows Ada by override; in Ada's own turn it would change nothing
    release = (first + timedelta(hours=3)).replace(tzinfo=NEW_YORK)
    cover = OverrideInput("add", ada.id, release, release + timedelta(hours=2), reason="Release day")
    add_override(session, admin, "primary", cover, now=now)
    steps = [
        {"targets": [{"schedule": "primary"}], "escalate_after": "5m"},
        {"targets": [{"user": ada.id}], "escalate_after": "10m", "condition": "not_resolved"},
    ]
    create_policy(session, admin, "night", "Night", {"steps": steps}, now=now)
    opened = now - timedelta(minutes=1)
    customer = Actor(riley.id, Role.CUSTOMER, prairie.id)
    change = open_ticket(
        session, customer, subject="Every dashboard is empty", description="No data.", severity="P1", now=opened
    )
    fire_due_timers(session, now)  # the incident starts
    fire_due_timers(session, now)  # and its first step pages whoever is on call
    return {"ticket": change.ticket.id}


@pytest.fixture(scope="module")
def desk(start_desk: Callable[[Seed], ServedDesk]) -> ServedDesk:
    return start_desk(_seed)


@pytest.fixture(scope="module")
def signed_in(pages: Chromium, desk: ServedDesk) -> Callable[[str], StorageState]:
    states: dict[str, StorageState] = {}

    def state(email: str) -> StorageState:
        if email not in states:
            states[email] = pages.signed_in(desk.url, email, PASSWORD)
        return states[email]

    return state


@pytest.mark.parametrize(("name", "email", "path"), PAGES, ids=[page[0] for page in PAGES])
def test_the_page_passes_wcag_aa(
    pages: Chromium,
    desk: ServedDesk,
    signed_in: Callable[[str], StorageState],
    axe: Path,
    name: str,
    email: str,
    path: str,
) -> None:
    context = pages.context(bypass_csp=True, storage_state=signed_in(email))
    page = context.new_page()
    response = page.goto(desk.url + path.format(**desk.seeded))
    assert response is not None and response.status == 200, f"{path}: {desk.errors()}"
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    screenshot(page, name)
    violations = axe_violations(page, axe)
    context.close()
    assert not violations, f"{path} fails WCAG 2 AA:\n" + "\n".join(violations)


@pytest.mark.parametrize(("name", "email", "path"), PAGES, ids=[page[0] for page in PAGES])
def test_the_page_runs_under_its_policy_without_errors_and_fits_a_narrow_screen(
    pages: Chromium,
    desk: ServedDesk,
    signed_in: Callable[[str], StorageState],
    name: str,
    email: str,
    path: str,
) -> None:
    context = pages.context(storage_state=signed_in(email))
    page = context.new_page()
    response = page.goto(desk.url + path.format(**desk.seeded))
    assert response is not None and response.status == 200, f"{path}: {desk.errors()}"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.wait_for_load_state("load")
    page.set_viewport_size({"width": NARROW, "height": 800})
    widest = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, f"{name}-narrow")
    problems = pages.problems(context)
    context.close()
    assert problems == [], f"{name}: " + "\n".join(problems)
    assert widest <= NARROW, f"{path} is {widest} px wide on a {NARROW} px screen"


def test_the_timeline_draws_the_override_and_the_gap_and_lists_them_in_words(
    pages: Chromium, desk: ServedDesk, signed_in: Callable[[str], StorageState]
) -> None:
    context = pages.context(storage_state=signed_in(ADMIN))
    page = context.new_page()
    page.goto(desk.url + "/admin/oncall/primary")
    timeline = page.get_by_role("img", name="The next 14 days")
    expect(timeline).to_be_visible()
    expect(page.locator("svg.timeline .tl-override")).to_have_count(2)  # in the overrides row and the final row
    final = page.get_by_role("table", name="Final schedule")
    expect(final.get_by_text("by override")).to_have_count(1)
    expect(final.get_by_text("Gap", exact=True).first).to_be_visible()
    problems = pages.problems(context)
    context.close()
    assert problems == []


def test_acknowledging_from_the_ticket_page_says_who_did(
    pages: Chromium, desk: ServedDesk, signed_in: Callable[[str], StorageState]
) -> None:
    context = pages.context(storage_state=signed_in(AGENT))
    page = context.new_page()
    page.goto(desk.url + f"/tickets/{desk.seeded['ticket']}")
    panel = page.get_by_role("region", name="On-call incident")
    expect(panel.get_by_text("Paged Alex Agent")).to_be_visible()
    panel.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("region", name="On-call incident").get_by_text("Acknowledged")).to_be_visible()
    expect(page.locator("#incident-state")).to_contain_text("Acknowledged by Alex Agent")
    problems = pages.problems(context)
    context.close()
    assert problems == []
