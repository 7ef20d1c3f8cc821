"""A severity suggested on the portal's form in a real browser: the portal's script asks for it, shows it with
the words it matched, and its button chooses that level, under the page's Content-Security-Policy. The form
is not submitted by any of it, and Enter in a field still submits the request. The page with the suggestion
is saved as build/screenshots/triage-suggested.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.support.playwright_browser import (
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


@pytest.fixture(scope="module")
def desk(start_desk: Callable[[Seed], ServedDesk]) -> ServedDesk:
    return start_desk(seed_people)


def test_the_customer_asks_for_a_suggestion_and_chooses_it_without_leaving_the_form(
    pages: Chromium, desk: ServedDesk
) -> None:
    context = pages.context()
    customer = context.new_page()
    sign_in(customer, desk.url, CUSTOMER, PASSWORD)
    customer.goto(f"{desk.url}/portal/new")
    customer.get_by_label("Subject").fill("Instance unusable")
    customer.get_by_label("Description").fill("Our production instance is unusable and the contract p1 terms apply.")
    customer.get_by_role("button", name="Suggest a severity").click()

    suggestion = customer.locator("#suggestion")
    expect(suggestion).to_contain_text(
        "Suggested: p1 - p1 because it matches 'An enterprise customer's production instance is unusable and "
        "the contract's p1 terms apply.'"
    )
    expect(customer).to_have_url(f"{desk.url}/portal/new")  # asked by the script: the page stays
    expect(customer.get_by_role("radio", name="p1", exact=True)).not_to_be_checked()
    customer.get_by_role("button", name="Choose p1").click()
    expect(customer.get_by_role("radio", name="p1", exact=True)).to_be_checked()
    expect(customer.get_by_role("radio", name="p1", exact=True)).to_be_focused()
    expect(customer).to_have_url(f"{desk.url}/portal/new")
    expect(customer.get_by_label("Subject")).to_have_value("Instance unusable")
    screenshot(customer, "triage-suggested")

    customer.get_by_label("Subject").fill("")
    customer.get_by_label("Description").fill("")
    customer.get_by_role("button", name="Suggest a severity").click()
    expect(suggestion).to_have_text("Write a subject or a description first, then ask for a suggestion.")

    # Enter in a field still submits the request itself, once every required field is given.
    customer.get_by_label("Subject").fill("Instance unusable")
    customer.get_by_label("Description").fill("Every search fails.")
    customer.get_by_role("radio", name="p1", exact=True).check()
    customer.get_by_label("Subject").press("Enter")
    expect(customer).to_have_url(re.compile(r"/portal/tickets/1(\?|$)"))

    assert pages.problems(context) == []
    context.close()
