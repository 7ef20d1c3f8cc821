"""The front door as a new user with no internet meets it, in a real browser: the front page, and the
interactive API docs served by the desk itself under their Content-Security-Policy.

Each test opens its page in the module's one chromium, on the module's one `sladesk serve` (see conftest).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.support.browser import WINDOW, Browser, Page

pytestmark = pytest.mark.browser

# Swagger UI is done when it shows the document's title block, or says why it cannot.
SWAGGER_UI_DONE = (
    "document.querySelector('#swagger-ui .information-container, #swagger-ui .version-pragma, "
    "#swagger-ui .errors-wrapper') !== null"
)
OPERATION_PATHS = "[...document.querySelectorAll('.opblock-summary-path')].map((element) => element.dataset.path)"


def _open(browser: Browser, url: str, done: str) -> Page:
    page = browser.new_page()
    page.go(url)
    page.wait_for(done)
    return page


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG image's header chunk."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR", png[:16]
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _problems(page: Page) -> list[str]:
    """What went wrong in the page: errors the console or the browser logged, exceptions, failed requests."""
    return [
        message
        for message in page.messages()
        if message.startswith(("error:", "console.error:", "exception:", "failed request:"))
    ]


def test_the_front_page_says_what_sladesk_is_and_links_the_docs(browser: Browser, desk_url: str) -> None:
    page = _open(browser, f"{desk_url}/", "document.readyState === 'complete' && document.body.innerText")
    text = page.evaluate("document.body.innerText")
    assert "sladesk" in text and "support desk" in text, text
    links = page.evaluate("[...document.querySelectorAll('a')].map((link) => link.getAttribute('href'))")
    assert "/api/docs" in links and "/api/openapi.json" in links, links
    assert _problems(page) == [] and page.violations() == []


def test_the_api_docs_run_offline_under_their_policy(browser: Browser, desk_url: str, tmp_path: Path) -> None:
    """Swagger UI's script and styles come from the desk, run under the page's policy with nothing blocked,
    fetch the OpenAPI document and draw a page: no request fails, with no route to any other host."""
    page = _open(browser, f"{desk_url}/api/docs", SWAGGER_UI_DONE)
    assert page.violations() == [], "the docs page's Content-Security-Policy blocked these"
    assert _problems(page) == []
    assert page.evaluate("typeof window.SwaggerUIBundle") == "function"
    assert page.evaluate("getComputedStyle(document.querySelector('.swagger-ui')).fontFamily") != ""

    screenshot = tmp_path / "api-docs.png"
    screenshot.write_bytes(page.screenshot())
    png = screenshot.read_bytes()
    assert _png_size(png) == WINDOW
    colours = browser.new_page().colours(png)
    assert colours > 16, f"{screenshot} holds {colours} colours: a blank page, not the docs"


def test_the_api_docs_show_sladesks_operations(browser: Browser, desk_url: str, tmp_path: Path) -> None:
    page = _open(browser, f"{desk_url}/api/docs", SWAGGER_UI_DONE)
    (tmp_path / "api-docs.png").write_bytes(page.screenshot())
    title = page.evaluate("document.querySelector('.info .title')?.innerText || ''")
    assert title.startswith("sladesk"), page.evaluate("document.querySelector('#swagger-ui').innerText")
    paths = set(page.wait_for(f"{OPERATION_PATHS}.length && {OPERATION_PATHS}", timeout_s=5))
    assert {"/api/v1/tickets", "/api/v1/tickets/{ticket_id}", "/api/v1/users", "/api/health"} <= paths, paths
    assert page.violations() == [] and _problems(page) == []
