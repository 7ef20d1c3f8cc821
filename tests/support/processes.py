"""The installed `sladesk` command in a subprocess, and `sladesk serve` running for the length of a test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT


@dataclass(frozen=True)
class Run:
    """What a finished `sladesk` command gave: its exit code and its output."""

    code: int
    stdout: str
    stderr: str


def executable() -> str:
    """The installed `sladesk` command: the one beside this Python, else the one on PATH."""
    beside_python = Path(sys.executable).with_name("sladesk")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("sladesk")
    if found is None:
        pytest.fail(f"the sladesk command is not installed beside {sys.executable} or on PATH (pip install -e .)")
    return found


def env() -> dict[str, str]:
    """The environment a user's shell would give: the installed command first on PATH, no database URL."""
    values = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
    values["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{values.get('PATH', '')}"
    values.pop("SLADESK_DATABASE_URL", None)
    return values


def sladesk(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`sladesk <args>` run to the end in `cwd`, with `stdin` as its standard input."""
    return subprocess.run(
        [executable(), *args], input=stdin, capture_output=True, text=True, cwd=cwd, env=env(), timeout=120
    )


def run(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> Run:
    """`sladesk` as the CLI tests see it: its exit code and output."""
    completed = sladesk(*args, stdin=stdin, cwd=cwd)
    return Run(completed.returncode, completed.stdout, completed.stderr)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextmanager
def serving(args: list[str], port: int, log: Path) -> Iterator[str]:
    """`sladesk <args> --port <port>` running until the block ends; yields its base URL once it answers."""
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        server = subprocess.Popen(
            [executable(), *args, "--port", str(port)], stdout=output, stderr=subprocess.STDOUT, cwd=ROOT, env=env()
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                assert server.poll() is None, log.read_text()
                try:
                    if get(f"{base}/api/health")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "the server did not answer /api/health within 20 s"
                time.sleep(0.2)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
