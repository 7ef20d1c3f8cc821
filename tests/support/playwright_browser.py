"""Playwright driving Debian's chromium for the page tests: launching it (inside the tests' network namespace
when there is one), recording what goes wrong in its pages, axe-core's accessibility checks, and screenshots.

    chromium = Chromium.launch(playwright, "/usr/bin/chromium", tmp_path, ["nsenter", "--target=42", "--net"])
    context = chromium.context()             # the pages' own Content-Security-Policy applies
    page = context.new_page()
    page.goto(f"{base}/sign-in")
    assert chromium.problems(context) == []  # console errors, exceptions, blocked content, failed requests, dialogs

Playwright's own browser download is not used: it cannot be fetched here, and Debian's chromium is the one CI
installs. axe-core comes from the npm registry by the repository's package-lock.json (`axe_script`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    Request,
    StorageState,
    ViewportSize,
)
from sqlalchemy.orm import Session

from sladesk.cli.common import sqlite_url
from sladesk.services import Role, create_organisation, create_user
from sladesk.services.maintenance import upgrade_desk
from sladesk.store import make_engine, make_sessions, transaction
from tests.support import ROOT
from tests.support.browser import QUIET_FLAGS

AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "build" / "screenshots"
NPM_INSTALL_S = 300
CHROMIUM_ARGS = QUIET_FLAGS  # nothing that phones home, as the pipe-driven browser (tests.support.browser)
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
# Every Content-Security-Policy violation, as the page's own script would see it, told to the test.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__sladeskViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`);
});
"""
WCAG_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


def chromium_command(executable: str, prefix: list[str], directory: Path) -> str:
    """What Playwright should start as chromium: `executable` itself, or with a `prefix` (e.g. nsenter into a
    network namespace) a small script in `directory` that runs it there with Playwright's arguments."""
    if not prefix:
        return executable
    script = directory / "chromium-in-namespace"
    script.write_text(f'#!/bin/sh\nexec {shlex.join([*prefix, executable])} "$@"\n')
    script.chmod(0o755)
    return str(script)


@dataclass
class Chromium:
    """One headless chromium; each context it makes records its pages' problems."""

    browser: Browser
    _problems: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def launch(cls, playwright: Playwright, executable: str, prefix: list[str], directory: Path) -> Chromium:
        command = chromium_command(executable, prefix, directory)
        return cls(playwright.chromium.launch(executable_path=command, args=list(CHROMIUM_ARGS)))

    def context(self, *, bypass_csp: bool = False, storage_state: StorageState | None = None) -> BrowserContext:
        """A fresh context, with its own cookies or those of `storage_state` (see `signed_in`); `bypass_csp`
        only for running axe-core, which the pages' policy rightly refuses to run: a context checking the
        policy itself never sets it."""
        context = self.browser.new_context(viewport=VIEWPORT, bypass_csp=bypass_csp, storage_state=storage_state)
        problems: list[str] = []
        self._problems[id(context)] = problems
        context.expose_binding("__sladeskViolation", lambda _source, text: problems.append(f"policy: {text}"))
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("page", lambda page: _watch(page, problems))
        return context

    def signed_in(self, base: str, email: str, password: str) -> StorageState:
        """The cookies of a person signed in on the sign-in page, for contexts that start signed in (signing in
        costs a password hash: tests that are not about it sign in once)."""
        context = self.context()
        sign_in(context.new_page(), base, email, password)
        state = context.storage_state()
        problems = self.problems(context)
        context.close()
        assert problems == [], "\n".join(problems)
        return state

    def problems(self, context: BrowserContext) -> list[str]:
        """What went wrong so far in the context's pages: console errors (a blocked script or style logs one),
        uncaught exceptions, Content-Security-Policy violations, failed requests, and any dialog opened."""
        return list(self._problems[id(context)])

    def close(self) -> None:
        self.browser.close()


def _watch(page: Page, problems: list[str]) -> None:
    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "assert"):
            problems.append(f"console {message.type} on {page.url}: {message.text}")

    def failed(request: Request) -> None:
        # An abort is a request the page left behind by navigating on (or one the browser refused, which the
        # console reports as an error of its own); an answer with an error status is a console error too.
        if request.failure != "net::ERR_ABORTED":
            problems.append(f"failed request {request.method} {request.url}: {request.failure}")

    def dialog(opened: Dialog) -> None:
        problems.append(f"dialog ({opened.type}) on {page.url}: {opened.message}")
        opened.dismiss()

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"exception on {page.url}: {error}"))
    page.on("requestfailed", failed)
    page.on("dialog", dialog)


def axe_script() -> Path:
    """axe-core's script, installed from package-lock.json by `npm ci` when it is missing. Without npm, or when
    the install fails, the test is skipped, except under CI (`CI` set), where it fails."""
    if AXE_SCRIPT.is_file():
        return AXE_SCRIPT
    npm = shutil.which("npm")
    if npm is None:
        problem = "npm is not installed (apt-get install -y npm), so axe-core cannot be installed"
    else:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=NPM_INSTALL_S,
            check=False,
        )
        if done.returncode == 0 and AXE_SCRIPT.is_file():
            return AXE_SCRIPT
        problem = f"npm ci did not install axe-core (exit {done.returncode}):\n{done.stdout}{done.stderr}"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the accessibility checks: {problem}", pytrace=False)
    pytest.skip(problem)


def axe_violations(page: Page, script: Path) -> list[str]:
    """axe-core's WCAG 2 A and AA violations on the page as it is now, one readable line per element.

    The page must be in a context made with `bypass_csp=True`: the page's policy forbids injected scripts."""
    page.add_script_tag(path=script)
    found: list[dict[str, Any]] = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then((result) => result.violations)",
        list(WCAG_AA),
    )
    lines = []
    for violation in found:
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"{violation['id']} ({violation['impact']}) at {target}: {violation['help']}. {summary}")
    return lines


def screenshot(page: Page, name: str) -> Path:
    """The whole page saved as build/screenshots/<name>.png (gitignored), for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    """Sign in on the sign-in page as a person does, and wait for the page it leads to."""
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)


Seed = Callable[[Session, datetime], Any]


@dataclass(frozen=True)
class ServedDesk:
    """A running `sladesk serve` (`url`) on a database a seed filled first, and what the seed returned."""

    url: str
    seeded: Any
    log: Path  # what the server printed

    def errors(self) -> str:
        """The server's tracebacks so far, to show beside a failed page."""
        text = self.log.read_text()
        return text[text.find("Traceback") :] if "Traceback" in text else "(no traceback in the server's log)"


def seed_data_directory(data: Path, seed: Seed) -> Any:
    """The embedded database of a new data directory, migrated and filled by `seed` in one transaction."""
    data.mkdir(parents=True)
    engine = make_engine(sqlite_url(data))
    try:
        upgrade_desk(engine, attachments_dir=data / "attachments")
        with transaction(make_sessions(engine)) as session:
            return seed(session, datetime.now(UTC))  # the server runs on the real clock: so does its data
    finally:
        engine.dispose()


# The people of `seed_people`; each signs in with PASSWORD.
PASSWORD = "a long enough password"
CUSTOMER = "casey@initech.example"
AGENT = "alex@sladesk.example"
ADMIN = "ada@sladesk.example"


def seed_people(session: Session, now: datetime) -> None:
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
