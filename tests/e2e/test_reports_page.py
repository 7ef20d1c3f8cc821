"""The reports dashboard and the what-if page in a real browser: WCAG 2 AA (axe-core), their Content-Security-
Policy with no console error, the server-drawn charts loaded as SVG documents whose bars are clicked through to
their tickets, and a figure leading to its tickets.

The desk runs on the real clock, so its tickets are opened in the calendar month before today's (UTC), the
period the dashboard shows by default: a p1 answered in 1 hour (met) and a p1 answered in 30 hours (breached)
under Sourcegraph's 24-hour first response.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import FilePayload, Frame, Page, StorageState, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.policy import builtin_source
from sladesk.reports.tables import previous_month
from sladesk.services.actors import Actor, Role
from sladesk.services.tickets import open_ticket, reply
from sladesk.store.tables import Organisation, User
from tests.support.playwright_browser import (
    AGENT,
    PASSWORD,
    Chromium,
    Seed,
    ServedDesk,
    axe_violations,
    screenshot,
    seed_people,
)

pytestmark = pytest.mark.browser


def _last_month_tickets(session: Session, now: datetime) -> dict[str, int]:
    """seed_people's desk with two p1 tickets in last month: one met (answered in 1 h), one breached (30 h)."""
    seed_people(session, now)
    agent_row = session.scalars(select(User).where(User.email == AGENT)).one()
    agent = Actor(agent_row.id, Role.AGENT, None)
    initech = session.scalars(select(Organisation).where(Organisation.name == "Initech")).one()
    customer = session.scalars(select(User).where(User.organisation_id == initech.id)).one()
    start, _ = previous_month(now)
    ids = {}
    for key, opened_at, answered_after in (
        ("met", start + timedelta(days=2, hours=9), timedelta(hours=1)),
        ("breached", start + timedelta(days=3, hours=9), timedelta(hours=30)),
    ):
        change = open_ticket(
            session,
            agent,
            subject=f"Search is {key}",
            description="Searches time out.",
            severity="p1",
            organisation_id=initech.id,
            requester_id=customer.id,
            now=opened_at,
        )
        reply(session, agent, change.ticket.id, "Looking now.", now=opened_at + answered_after)
        ids[key] = change.ticket.id
    return ids


@pytest.fixture(scope="module")
def desk(start_desk: Callable[[Seed], ServedDesk]) -> ServedDesk:
    return start_desk(_last_month_tickets)


@pytest.fixture(scope="module")
def agent_state(pages: Chromium, desk: ServedDesk) -> StorageState:
    return pages.signed_in(desk.url, AGENT, PASSWORD)


NARROW = 320
WHATIF = "/reports/whatif?policy=sourcegraph&overrides=severities.p1.targets.first_response.due%3D36h"


def test_a_draft_policy_file_is_compared_and_a_broken_one_is_answered_by_line(
    pages: Chromium, desk: ServedDesk, agent_state: StorageState
) -> None:
    draft = (
        builtin_source("sourcegraph")
        .replace("version: 3", "version: 4", 1)
        .replace("first_response: {due: 24h, goal: 2h}", "first_response: {due: 36h, goal: 2h}", 1)
    )
    context = pages.context(storage_state=agent_state)
    page = context.new_page()
    page.goto(desk.url + "/reports/whatif")
    page.get_by_text("Or a draft not uploaded yet").click()
    chosen: FilePayload = {"name": "sourcegraph-draft.yaml", "mimeType": "application/yaml", "buffer": draft.encode()}
    page.get_by_label("The draft's file").set_input_files(files=[chosen])
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name="Under draft policy sourcegraph@4")).to_be_visible()
    changes = page.locator("#whatif-changes tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.first).to_contain_text(f"#{desk.seeded['breached']}")

    page.get_by_label("or its YAML").fill(draft.replace("timezone: UTC", "timezone: Mars/Olympus_Mons", 1))
    page.get_by_role("button", name="Compare").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("1 problem in the draft: nothing was compared.")
    expect(alert).to_contain_text("timezone")
    expect(page.locator("#whatif-changes")).to_have_count(0)
    problems = pages.problems(context)
    context.close()
    # the page of problems answers 422, which the browser logs; nothing else went wrong
    assert problems == [
        f"console error on {desk.url}/reports/whatif: "
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ]


@pytest.mark.parametrize(("name", "path"), [("reports", "/reports"), ("reports-whatif", WHATIF)])
def test_the_reports_pages_pass_wcag_aa(
    pages: Chromium, desk: ServedDesk, agent_state: StorageState, axe, name: str, path: str
) -> None:
    context = pages.context(bypass_csp=True, storage_state=agent_state)
    page = context.new_page()
    response = page.goto(desk.url + path)
    assert response is not None and response.status == 200, f"{path}: {desk.errors()}"
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    screenshot(page, name)
    violations = axe_violations(page, axe)
    context.close()
    assert not violations, f"{path} fails WCAG 2 AA:\n" + "\n".join(violations)


def test_the_dashboard_draws_its_charts_under_its_policy_without_errors(
    pages: Chromium, desk: ServedDesk, agent_state: StorageState
) -> None:
    context = pages.context(storage_state=agent_state)
    page = context.new_page()
    response = page.goto(desk.url + "/reports")
    assert response is not None and response.status == 200, desk.errors()
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    expect(page.locator("object.chart")).to_have_count(3)
    for chart in ("attainment", "breaches", "times"):
        drawn = _chart_frame(page, chart).evaluate("() => document.documentElement.getAttribute('width')")
        assert drawn == "720", f"the {chart} chart was not drawn"
    problems = pages.problems(context)
    context.close()
    assert problems == [], "\n".join(problems)


def _chart_frame(page: Page, chart: str) -> Frame:
    """The document inside the chart's `<object>`, once it has loaded."""
    for _ in range(100):
        frame = next((f for f in page.frames if f"/reports/charts/{chart}.svg" in f.url), None)
        if frame is not None:
            frame.wait_for_load_state("load")
            return frame
        page.wait_for_timeout(50)
    raise AssertionError(f"no {chart} chart among {[f.url for f in page.frames]}")


def test_clicking_a_breach_bar_lists_its_tickets(pages: Chromium, desk: ServedDesk, agent_state: StorageState) -> None:
    context = pages.context(storage_state=agent_state)
    page = context.new_page()
    page.goto(desk.url + "/reports")
    bars = _chart_frame(page, "breaches").locator('a[target="_top"]')
    expect(bars).to_have_count(1)  # one breach last month: one bar to click
    bars.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tickets behind a figure")
    day = (previous_month(datetime.now(UTC))[0] + timedelta(days=4)).date().isoformat()
    expect(page.locator(".lead")).to_have_text(f"breached in the day from {day}")
    expect(page.locator("#drill-down tbody tr th")).to_have_text([f"#{desk.seeded['breached']}"])
    problems = pages.problems(context)
    context.close()
    assert problems == [], "\n".join(problems)


def test_a_breached_count_leads_to_its_ticket(pages: Chromium, desk: ServedDesk, agent_state: StorageState) -> None:
    context = pages.context(storage_state=agent_state)
    page = context.new_page()
    page.goto(desk.url + "/reports")
    row = page.locator("#attainment-table tbody tr").filter(has_text="p1")
    expect(row.locator("td").nth(1)).to_have_text("50.0%")
    row.locator("td").nth(3).get_by_role("link", name="1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tickets behind a figure")
    page.get_by_role("link", name=f"#{desk.seeded['breached']}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Search is breached")
    context.close()


def test_the_whatif_form_shows_the_ticket_a_longer_target_would_have_met(
    pages: Chromium, desk: ServedDesk, agent_state: StorageState
) -> None:
    context = pages.context(storage_state=agent_state)
    page = context.new_page()
    page.goto(desk.url + "/reports/whatif")
    page.get_by_label("Policy").fill("sourcegraph")
    page.get_by_label("Changes, one a line").fill("severities.p1.targets.first_response.due=36h")
    page.get_by_role("button", name="Compare").click()
    changes = page.locator("#whatif-changes tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.first).to_contain_text(f"#{desk.seeded['breached']}")
    expect(changes.first).to_contain_text("breached")
    expect(changes.first.locator("td").nth(2)).to_have_text("met")
    context.close()


@pytest.mark.parametrize(("name", "path"), [("reports", "/reports"), ("reports-whatif", WHATIF)])
def test_on_a_320_px_screen_the_pages_never_scroll_sideways(
    pages: Chromium, desk: ServedDesk, agent_state: StorageState, name: str, path: str
) -> None:
    context = pages.context(storage_state=agent_state)
    page = context.new_page()
    page.set_viewport_size({"width": NARROW, "height": 800})
    response = page.goto(desk.url + path)
    assert response is not None and response.status == 200, desk.errors()
    page.wait_for_load_state("load")
    widest = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, f"{name}-narrow")
    problems = pages.problems(context)
    context.close()
    assert problems == [], "\n".join(problems)
    assert widest <= NARROW, f"{path} is {widest} px wide on a {NARROW} px screen"
