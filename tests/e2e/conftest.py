"""Browser tests: `sladesk serve` from a fresh data directory, read in Debian's chromium, with no network route.

The server and the browser both run in a network namespace that `unshare --net` makes, with only loopback
up (this needs root, as on the project's machines and in CI): nothing there reaches another host, so a page
that needed the internet shows it. Where no namespace can be made, they run on this host's network instead,
the server bound to 127.0.0.1 and chromium kept off the network by its flags; each test records which in its
report's properties (`network`, e.g. in --junitxml). Without chromium the tests are skipped, except under CI
(`CI` set), which installs it (.ci/run) and where they fail.

The page tests drive the same chromium with Playwright (`pages`; see tests/support/playwright_browser.py),
against a desk that a seed filled before `sladesk serve` started on it (`start_desk`), and check accessibility
with axe-core from the npm registry (`axe`: `npm ci` from package-lock.json when node_modules lacks it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.support.browser import Browser, chromium
from tests.support.playwright_browser import Chromium, Seed, ServedDesk, axe_script, seed_data_directory
from tests.support.processes import env, executable, free_port

SERVER_START_S = 60  # a cold start on a loaded CI machine: imports, migrations, then the socket


class Loopback:
    """A network namespace with nothing but loopback up, held open by a sleeping process; `prefix` runs a
    command in it (nothing when no namespace could be made: then `problem` says why)."""

    def __init__(self) -> None:
        self.holder: subprocess.Popen[bytes] | None = None
        self.problem: str | None = None
        missing = [command for command in ("unshare", "nsenter", "ip") if shutil.which(command) is None]
        if missing:
            self.problem = f"no {', '.join(missing)} on PATH"
            return
        holder = subprocess.Popen(
            ["unshare", "--net", "sh", "-c", "ip link set lo up && echo up && exec sleep infinity"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert holder.stdout is not None and holder.stderr is not None
        if holder.stdout.readline() == b"up\n":
            self.holder = holder
            return
        holder.wait()
        self.problem = holder.stderr.read().decode(errors="replace").strip() or f"unshare exited {holder.returncode}"
        holder.stdout.close()
        holder.stderr.close()

    @property
    def prefix(self) -> list[str]:
        return [] if self.holder is None else ["nsenter", f"--target={self.holder.pid}", "--net"]

    @property
    def description(self) -> str:
        if self.holder is not None:
            return "a network namespace with only loopback up"
        return f"this host's network, bound to 127.0.0.1 (no namespace: {self.problem})"

    def close(self) -> None:
        if self.holder is not None:
            self.holder.terminate()
            self.holder.wait()
            for pipe in (self.holder.stdout, self.holder.stderr):
                if pipe is not None:
                    pipe.close()


@pytest.fixture(scope="session")
def loopback() -> Iterator[Loopback]:
    namespace = Loopback()
    yield namespace
    namespace.close()


@pytest.fixture(autouse=True)
def _network_in_report(loopback: Loopback, request: pytest.FixtureRequest) -> None:
    request.node.user_properties.append(("network", loopback.description))


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    found = chromium()
    if found is None:
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {message}", pytrace=False)
        pytest.skip(message)
    return found


def _wait_until_serving(server: subprocess.Popen[bytes], log: Path) -> None:
    """Until uvicorn says it listens (the test may be in another namespace than the server: it cannot ask)."""
    deadline = time.monotonic() + SERVER_START_S
    while "Uvicorn running on" not in log.read_text():
        assert server.poll() is None, f"sladesk serve exited {server.returncode}:\n{log.read_text()}"
        assert time.monotonic() < deadline, (
            f"sladesk serve did not listen within {SERVER_START_S} s:\n{log.read_text()}"
        )
        time.sleep(0.1)


@contextmanager
def _serving(loopback: Loopback, directory: Path) -> Iterator[str]:
    """`sladesk serve` on the data directory `directory / "data"` until the block ends; yields its base URL."""
    log = directory / "serve.log"
    port = free_port()
    command = [*loopback.prefix, executable(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as output:
        server = subprocess.Popen(
            command,
            env={**env(), "SLADESK_DATA_DIR": str(directory / "data")},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(server, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def desk_url(loopback: Loopback, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of `sladesk serve` on a data directory of its own that does not exist yet."""
    with _serving(loopback, tmp_path_factory.mktemp("desk")) as url:
        yield url


@pytest.fixture(scope="module")
def start_desk(loopback: Loopback, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Seed], ServedDesk]]:
    """Starts `sladesk serve` on a fresh data directory that a seed (users, tickets) filled first; every desk
    started in a module stops at its end."""
    with ExitStack() as running:

        def start(seed: Seed) -> ServedDesk:
            directory = tmp_path_factory.mktemp("desk")
            seeded = seed_data_directory(directory / "data", seed)
            url = running.enter_context(_serving(loopback, directory))
            return ServedDesk(url, seeded, directory / "serve.log")

        yield start


@pytest.fixture(scope="module")
def browser(
    loopback: Loopback, chromium_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """A headless chromium with a fresh profile, in the same network as the server."""
    directory = tmp_path_factory.mktemp("chromium")
    with Browser(chromium_executable, directory / "profile", directory / "chromium.log", loopback.prefix) as running:
        yield running


@pytest.fixture(scope="session")
def axe() -> Path:
    """axe-core's script (npm ci from package-lock.json when node_modules lacks it)."""
    return axe_script()


@pytest.fixture(scope="module")
def pages(loopback: Loopback, chromium_executable: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """Debian's chromium driven by Playwright, in the same network as the server."""
    with sync_playwright() as playwright:
        running = Chromium.launch(
            playwright, chromium_executable, loopback.prefix, tmp_path_factory.mktemp("playwright")
        )
        try:
            yield running
        finally:
            running.close()
