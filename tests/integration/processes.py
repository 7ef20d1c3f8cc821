"""The installed `sladesk` command in a subprocess, and `sladesk serve` running for the length of a test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def executable() -> str:
    found = Path(sys.executable).with_name("sladesk")
    if not found.exists():
        pytest.fail(f"the sladesk command is not installed beside {sys.executable} (pip install -e .)")
    return str(found)


def env() -> dict[str, str]:
    """The environment a user's shell would give: the installed command first on PATH, no database URL."""
    values = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
    values["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{values.get('PATH', '')}"
    values.pop("SLADESK_DATABASE_URL", None)
    return values


def sladesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([executable(), *args], capture_output=True, text=True, env=env(), timeout=120)


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
            [executable(), *args, "--port", str(port)], stdout=output, stderr=subprocess.STDOUT, env=env()
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
