"""Every main page, on the demo desk (where every kind of clock state is on show), in a real browser: it passes
axe-core's WCAG 2 A and AA checks, contrast included; it runs under its own Content-Security-Policy with
nothing blocked and no console error; and it is saved under build/screenshots/ for people to look at.

axe-core is injected into the page, which the pages' policy rightly forbids: the axe checks run in a context
that bypasses the policy, and the policy is checked in another context that does not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import StorageState, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.demo import seed_demo
from sladesk.policy import builtin_source
from sladesk.store.tables import Organisation, Ticket
from tests.support.playwright_browser import Chromium, Seed, ServedDesk, axe_violations, screenshot

pytestmark = pytest.mark.browser

CUSTOMER = ("riley@prairiemedia.example", "demo-riley")
AGENT = ("avery@sladesk.example", "demo-avery")
ADMIN = ("morgan@sladesk.example", "demo-morgan")

# name (of the screenshot), who signs in (None: nobody), the path ({ticket}: one of the customer's tickets)
MAIN_PAGES = [
    ("sign-in", None, "/sign-in"),
    ("portal-list", CUSTOMER, "/portal"),
    ("new-request", CUSTOMER, "/portal/new"),
    ("customer-ticket", CUSTOMER, "/portal/tickets/{ticket}"),
    ("queue", AGENT, "/queue"),
    ("agent-ticket", AGENT, "/tickets/{ticket}"),
    ("admin-overview", ADMIN, "/admin"),
    ("admin-organisations", ADMIN, "/admin/organisations"),
    ("admin-users", ADMIN, "/admin/users"),
    ("admin-outbox", ADMIN, "/admin/outbox"),
    ("policy", ADMIN, "/admin/policies/alli"),
    ("policy-upload", ADMIN, "/admin/policies/alli/upload"),
]


def _demo(session: Session, now: datetime) -> dict[str, int]:
    """The demo desk; the number of Prairie Media's first ticket (the demo customer's organisation)."""
    seed_demo(session, now)
    ticket = session.scalar(
        select(Ticket.id).join(Organisation).where(Organisation.name == "Prairie Media").order_by(Ticket.id).limit(1)
    )
    assert ticket is not None
    return {"ticket": ticket}


@pytest.fixture(scope="module")
def desk(start_desk: Callable[[Seed], ServedDesk]) -> ServedDesk:
    return start_desk(_demo)


@pytest.fixture(scope="module")
def signed_in(pages: Chromium, desk: ServedDesk) -> Callable[[tuple[str, str] | None], StorageState | None]:
    """The cookies of a demo person (None: nobody), each signed in once for the module."""
    states: dict[tuple[str, str], StorageState] = {}

    def state(person: tuple[str, str] | None) -> StorageState | None:
        if person is None:
            return None
        if person not in states:
            states[person] = pages.signed_in(desk.url, *person)
        return states[person]

    return state


SignedIn = Callable[[tuple[str, str] | None], StorageState | None]


@pytest.mark.parametrize(("name", "person", "path"), MAIN_PAGES, ids=[page[0] for page in MAIN_PAGES])
def test_the_page_passes_wcag_aa(
    pages: Chromium,
    desk: ServedDesk,
    signed_in: SignedIn,
    axe: Path,
    name: str,
    person: tuple[str, str] | None,
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


@pytest.mark.parametrize(("name", "person", "path"), MAIN_PAGES, ids=[page[0] for page in MAIN_PAGES])
def test_the_page_runs_under_its_policy_without_errors(
    pages: Chromium, desk: ServedDesk, signed_in: SignedIn, name: str, person: tuple[str, str] | None, path: str
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


def test_the_policy_upload_with_problems_passes_wcag_aa(
    pages: Chromium, desk: ServedDesk, signed_in: SignedIn, axe: Path
) -> None:
    context = pages.context(bypass_csp=True, storage_state=signed_in(ADMIN))
    page = context.new_page()
    page.goto(f"{desk.url}/admin/policies/alli/upload")
    broken = (
        builtin_source("alli").replace("\nversion: 3\n", "\nversion: 4\n").replace("timezone: ", "timezone: Mars/", 1)
    )
    page.get_by_label("Policy YAML").fill(broken)
    page.get_by_role("button", name="Check and upload").click()
    expect(page.get_by_role("alert")).to_contain_text("nothing was stored")
    screenshot(page, "policy-upload-errors")
    violations = axe_violations(page, axe)
    context.close()
    assert not violations, "the upload's problems fail WCAG 2 AA:\n" + "\n".join(violations)


def test_the_keyboard_shortcuts_dialog_passes_wcag_aa(
    pages: Chromium, desk: ServedDesk, signed_in: SignedIn, axe: Path
) -> None:
    context = pages.context(bypass_csp=True, storage_state=signed_in(AGENT))
    page = context.new_page()
    page.goto(f"{desk.url}/queue")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    screenshot(page, "queue-shortcuts")
    violations = axe_violations(page, axe)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    context.close()
    assert not violations, "the keyboard shortcuts dialog fails WCAG 2 AA:\n" + "\n".join(violations)


def test_a_refused_sign_in_and_a_missing_page_pass_wcag_aa(
    pages: Chromium, desk: ServedDesk, signed_in: SignedIn, axe: Path
) -> None:
    anonymous = pages.context(bypass_csp=True)
    page = anonymous.new_page()
    page.goto(f"{desk.url}/sign-in")
    page.get_by_label("Email").fill(CUSTOMER[0])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    screenshot(page, "sign-in-refused")
    violations = [f"/sign-in, refused: {line}" for line in axe_violations(page, axe)]
    anonymous.close()

    customer = pages.context(bypass_csp=True, storage_state=signed_in(CUSTOMER))
    page = customer.new_page()
    response = page.goto(f"{desk.url}/portal/tickets/999999")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    screenshot(page, "not-found")
    violations += [f"a missing request: {line}" for line in axe_violations(page, axe)]
    customer.close()
    assert not violations, "\n".join(violations)
