"""Debian's chromium, headless, driven over the DevTools protocol on a pair of pipes.

Pipes rather than a debugging port: the browser may run in another network namespace (see `tests.e2e`),
where no port of the tests' own could reach it, and a pipe opens nothing on any network.

    with Browser(["chromium"], tmp_path / "profile", tmp_path / "chromium.log") as browser:
        page = browser.new_page()
        page.go("http://127.0.0.1:8000/")
        page.wait_for("document.title !== ''")
        png = page.screenshot()
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

CHROMIUM = "chromium"
# Headless as root, and nothing that phones home: no sync, no component updates, no QUIC probes.
QUIET_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
CHROMIUM_FLAGS = ("--headless", *QUIET_FLAGS, "--hide-scrollbars", "--remote-debugging-pipe")
WINDOW = (1280, 1600)
# chromium reads the protocol's commands on its descriptor 3 and writes its answers on 4: this puts the
# two pipe ends given on the command line there (by way of descriptors past 9, so neither overwrites the
# other), then becomes the browser.
_ONTO_3_AND_4 = (
    "import fcntl, os, sys\n"
    "commands, answers = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3])\n"
    "os.dup2(commands, 3)\n"
    "os.dup2(answers, 4)\n"
    "os.execvp(sys.argv[3], sys.argv[3:])\n"
)


class BrowserError(Exception):
    """The browser refused a command, closed its pipe, or did not answer in time."""


def chromium() -> str | None:
    """The chromium command on PATH, or None."""
    return shutil.which(CHROMIUM)


class Browser:
    """One headless chromium with a fresh profile in `profile`, its output in `log`.

    `prefix` goes before the command, e.g. `nsenter --target PID --net` to run it in another network namespace.
    """

    def __init__(self, executable: str, profile: Path, log: Path, prefix: list[str] | None = None) -> None:
        self.log = log
        commands_in, self._commands = os.pipe()
        self._answers, answers_out = os.pipe()
        argv = [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}"]
        shim = [sys.executable, "-c", _ONTO_3_AND_4, str(commands_in), str(answers_out)]
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [*(prefix or []), *shim, *argv, "about:blank"],
                pass_fds=(commands_in, answers_out),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        os.close(commands_in)
        os.close(answers_out)
        self._buffer = b""
        self._last_id = 0
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.send("Browser.close", timeout_s=5)
            except (BrowserError, OSError):  # OSError: it closed its end of the pipe already
                self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for descriptor in (self._commands, self._answers):
            with contextlib.suppress(OSError):  # closed already
                os.close(descriptor)

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout_s: float = 30
    ) -> dict[str, Any]:
        """Send one command (to a page's `session`, else to the browser) and wait for its result."""
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._commands, data) :]
        deadline = time.monotonic() + timeout_s
        while True:
            answer = self._receive(deadline, method)
            if answer.get("id") != self._last_id:
                self.events.append(answer)
                continue
            if "error" in answer:
                raise BrowserError(f"{method}: {answer['error']}")
            result: dict[str, Any] = answer.get("result", {})
            return result

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"no answer to {waiting_for} in time; chromium's output is in {self.log}")
            ready, _, _ = select.select([self._answers], [], [], remaining)
            if ready:
                chunk = os.read(self._answers, 1 << 20)
                if not chunk:
                    raise BrowserError(
                        f"chromium closed its pipe; its output is in {self.log}:\n{self.log.read_text()}"
                    )
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        answer: dict[str, Any] = json.loads(message)
        return answer

    def new_page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Page(self, session)


# Run in every document before its own scripts (DevTools' scripts are not subject to the page's policy):
# keeps what the page's Content-Security-Policy blocked.
_RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


class Page:
    """One tab of the browser, WINDOW wide and high."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": _RECORD_VIOLATIONS})
        width, height = WINDOW
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def send(self, method: str, params: dict[str, Any] | None = None, timeout_s: float = 30) -> dict[str, Any]:
        return self.browser.send(method, params, self.session, timeout_s)

    def go(self, url: str, timeout_s: float = 30) -> None:
        """Open `url` once its server answers: a refused connection is tried again until `timeout_s` has passed."""
        deadline = time.monotonic() + timeout_s
        while True:
            error = self.send("Page.navigate", {"url": url}).get("errorText")
            if not error:
                return
            if time.monotonic() > deadline:
                raise BrowserError(f"cannot open {url}: {error}")
            time.sleep(0.25)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page, as JSON gives it (a promise is awaited)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 30) -> Any:
        """The first truthy value of `expression`, polled until `timeout_s` has passed."""
        deadline = time.monotonic() + timeout_s
        while not (value := self.evaluate(expression)):
            if time.monotonic() > deadline:
                raise BrowserError(f"still false after {timeout_s} s: {expression}\nthe page said: {self.messages()}")
            time.sleep(0.1)
        return value

    def violations(self) -> list[str]:
        """What the page's Content-Security-Policy blocked since it was opened."""
        return list(self.evaluate("window.__violations || []"))

    def messages(self) -> list[str]:
        """The console's messages, the browser's log entries and failed requests of this page so far."""
        said = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                continue
            params, method = event.get("params", {}), event.get("method")  # a late answer has no method
            if method == "Log.entryAdded":
                said.append(f"{params['entry']['level']}: {params['entry']['text']}")
            elif method == "Runtime.consoleAPICalled":
                said.append(f"console.{params['type']}: " + " ".join(str(a.get("value", "")) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                said.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Network.loadingFailed":
                said.append(f"failed request: {params.get('errorText')} {params.get('blockedReason', '')}")
        return said

    def screenshot(self) -> bytes:
        """The viewport as a PNG image."""
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])

    def colours(self, png: bytes, at_most: int = 1000) -> int:
        """How many distinct colours the PNG image `png` holds (counting stops at `at_most`), as this page's
        canvas decodes it: the project has no imaging library of its own. Use a new page (about:blank): a
        page's policy may refuse the image."""
        source = "data:image/png;base64," + base64.b64encode(png).decode()
        return int(
            self.evaluate(
                f"""(async () => {{
                  const image = new Image();
                  image.src = {json.dumps(source)};
                  await image.decode();
                  const canvas = document.createElement("canvas");
                  canvas.width = image.width;
                  canvas.height = image.height;
                  const context = canvas.getContext("2d");
                  context.drawImage(image, 0, 0);
                  const pixels = context.getImageData(0, 0, image.width, image.height).data;
                  const seen = new Set();
                  for (let i = 0; i < pixels.length && seen.size < {at_most}; i += 4) {{
                    seen.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
                  }}
                  return seen.size;
                }})()"""
            )
        )
