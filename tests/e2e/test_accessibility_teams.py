"""The pages for teams, support contacts and closed requests, on the demo desk in a real browser: each passes
axe-core's WCAG 2 A and AA checks and runs under its own Content-Security-Policy with no console error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import StorageState, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.demo import seed_demo
from sladesk.services.actors import Actor, Role
from sladesk.services.teams import add_member, create_team, team_by_slug
from sladesk.store.tables import Organisation, Ticket, User
from tests.support.playwright_browser import Chromium, Seed, ServedDesk, axe_violations, screenshot

pytestmark = pytest.mark.browser

ADMIN = ("morgan@sladesk.example", "demo-morgan")
CHOOZLE_CUSTOMER = ("jordan@brightside.example", "demo-jordan")

PAGES = [
    ("admin-teams", ADMIN, "/admin/teams"),
    ("admin-team", ADMIN, "/admin/teams/tech_ops"),
    ("admin-support-contact", ADMIN, "/admin/users/{contact}"),
    ("closed-request", CHOOZLE_CUSTOMER, "/portal/tickets/{closed}"),
]


def _demo(session: Session, now: datetime) -> dict[str, int]:
    """The demo desk with a Tech Ops team staffed by Avery; Dana's id (Alleo's support contact) and the number
    of Brightside Ads' closed request (Choozle takes no updates on closed tickets)."""
    seed_demo(session, now)
    admin = session.scalars(select(User).where(User.email == ADMIN[0])).one()
    avery = session.scalars(select(User).where(User.email == "avery@sladesk.example")).one()
    if team_by_slug(session, "tech_ops") is None:
        create_team(session, None, "tech_ops", "Choozle Tech Ops", now=now)
    add_member(session, Actor(admin.id, Role.ADMIN, None), "tech_ops", avery.id)
    contact = session.scalars(select(User.id).where(User.email == "dana@harborhealth.example")).one()
    closed = session.scalar(
        select(Ticket.id)
        .join(Organisation)
        .where(Organisation.name == "Brightside Ads", Ticket.status == "closed")
        .order_by(Ticket.id)
        .limit(1)
    )
    assert closed is not None
    return {"contact": contact, "closed": closed}


@pytest.fixture(scope="module")
def desk(start_desk: Callable[[Seed], ServedDesk]) -> ServedDesk:
    return start_desk(_demo)


@pytest.fixture(scope="module")
def signed_in(pages: Chromium, desk: ServedDesk) -> Callable[[tuple[str, str]], StorageState]:
    states: dict[tuple[str, str], StorageState] = {}

    def state(person: tuple[str, str]) -> StorageState:
        if person not in states:
            states[person] = pages.signed_in(desk.url, *person)
        return states[person]

    return state


@pytest.mark.parametrize(("name", "person", "path"), PAGES, ids=[page[0] for page in PAGES])
def test_the_page_passes_wcag_aa(
    pages: Chromium,
    desk: ServedDesk,
    signed_in: Callable[[tuple[str, str]], StorageState],
    axe: Path,
    name: str,
    person: tuple[str, str],
    path: str,
) -> None:
    context = pages.context(bypass_csp=True, storage_state=signed_in(person))
    page = context.new_page()
    response = page.goto(desk.url + path.format(**desk.seeded))
    assert response is not None and response.status == 200, f"{path}: {desk.errors()}"
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    screenshot(page, name)
    violations = axe_violations(page, axe)
    context.close()
    assert not violations, f"{path} fails WCAG 2 AA:\n" + "\n".join(violations)


@pytest.mark.parametrize(("name", "person", "path"), PAGES, ids=[page[0] for page in PAGES])
def test_the_page_runs_under_its_policy_without_errors(
    pages: Chromium,
    desk: ServedDesk,
    signed_in: Callable[[tuple[str, str]], StorageState],
    name: str,
    person: tuple[str, str],
    path: str,
) -> None:
    context = pages.context(storage_state=signed_in(person))
    page = context.new_page()
    response = page.goto(desk.url + path.format(**desk.seeded))
    assert response is not None and response.status == 200, f"{path}: {desk.errors()}"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.wait_for_load_state("load")
    problems = pages.problems(context)
    context.close()
    assert problems == [], f"{name}: " + "\n".join(problems)
