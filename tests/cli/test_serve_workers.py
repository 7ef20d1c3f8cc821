"""`sladesk serve --workers N`: N API processes on PostgreSQL, started and stopped as a user does; refused on SQLite.

PostgreSQL comes from `SLADESK_TEST_POSTGRES_URL` (default: the local `test` database), in a fresh schema
dropped afterwards. Without a reachable server the test is skipped, except under CI (`CI` set): it fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.engine import URL

from sladesk.errors import StoreError
from sladesk.store import make_engine

POSTGRES_URL_ENV = "SLADESK_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PROC = Path("/proc")


@pytest.fixture
def postgres_url() -> Iterator[URL]:
    """A fresh schema on the test PostgreSQL, as the URL a desk is served from."""
    server = make_url(os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL)
    admin = make_engine(server.update_query_dict({"connect_timeout": "5"}))
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except StoreError as error:
        admin.dispose()
        message = f"no PostgreSQL for the tests (set {POSTGRES_URL_ENV}): {error}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {message}", pytrace=False)
        pytest.skip(message)
    schema = f"serve_{secrets.token_hex(6)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield server.update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _executable() -> str:
    found = Path(sys.executable).with_name("sladesk")
    if not found.exists():
        pytest.fail(f"the sladesk command is not installed beside {sys.executable} (pip install -e .)")
    return str(found)


def _env() -> dict[str, str]:
    values = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
    for name in ("SLADESK_DATABASE_URL", "SLADESK_DATA_DIR"):
        values.pop(name, None)
    return values


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _children(parent: int) -> dict[int, str]:
    """The live child processes of `parent`, with their command lines."""
    children = {}
    for entry in PROC.glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z":
            children[int(entry.name)] = command
    return children


def _alive(pid: int) -> bool:
    try:
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.cli
def test_serve_with_two_workers_runs_two_api_processes_on_postgresql_and_stops_them(postgres_url: URL, tmp_path: Path):
    if not PROC.is_dir():
        pytest.skip("needs /proc to see the worker processes")
    url = postgres_url.render_as_string(hide_password=False)
    made = subprocess.run(
        [_executable(), "admin", "boss@example.com", "--database-url", url],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.splitlines()[-1]

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    command = [_executable(), "serve", "--workers", "2", "--database-url", url]
    command += ["--data-dir", str(tmp_path / "data"), "--port", str(port)]
    with log.open("w") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=_env())
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if _get(f"{base}/api/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no answer at /api/health within 60 s:\n{log.read_text()}"
            time.sleep(0.2)

        # Two worker processes, each running the application (uvicorn logs each one's start with its pid).
        workers = {pid for pid, line in _children(server.pid).items() if "multiprocessing.spawn" in line}
        assert len(workers) == 2, _children(server.pid)
        deadline = time.monotonic() + 30
        while not all(f"Started server process [{pid}]" in log.read_text() for pid in workers):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

        # The API on the PostgreSQL schema, under concurrent requests that both workers can take.
        def me(_: int) -> tuple[int, bytes]:
            return _get(f"{base}/api/v1/users/me", token)

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(me, range(40)))
        assert {status for status, _ in answers} == {200}, answers[0]
        assert {json.loads(body)["email"] for _, body in answers} == {"boss@example.com"}
        assert _get(f"{base}/api/v1/users/me")[0] == 401
        assert all(_alive(pid) for pid in workers)
    finally:
        server.send_signal(signal.SIGTERM)  # as a process manager stops it; the workers go with it
        try:
            code = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            raise
    printed = log.read_text()
    assert code == 0, printed
    assert not any(_alive(pid) for pid in workers), printed
    assert printed.startswith(f"database: {postgres_url.render_as_string(hide_password=True)}\n"), printed
    assert f"Serving at {base} with 2 worker processes (API docs at {base}/api/docs); Ctrl+C stops them." in printed
    assert len(re.findall(r"Application startup complete", printed)) == 2, printed


@pytest.mark.cli
def test_serve_with_workers_on_sqlite_exits_2_with_one_line_before_doing_anything(sladesk, tmp_path: Path):
    message = (
        "error: --workers 2 needs PostgreSQL: an SQLite database is served by one process "
        "(set --database-url or SLADESK_DATABASE_URL to a postgresql+psycopg:// URL, or run one worker)"
    )
    result = sladesk("serve", "--workers", "2", "--data-dir", str(tmp_path / "data"), "--port", str(_free_port()))
    assert (result.code, result.stderr.strip().splitlines()) == (2, [message])
    assert not (tmp_path / "data").exists()

    url = f"sqlite:///{tmp_path / 'other.db'}"
    result = sladesk("serve", "--workers", "2", "--database-url", url, "--port", str(_free_port()))
    assert (result.code, result.stderr.strip().splitlines()) == (2, [message])
    assert not (tmp_path / "other.db").exists()


@pytest.mark.cli
def test_serve_refuses_no_workers(sladesk):
    result = sladesk("serve", "--workers", "0")
    assert result.code == 2
    assert "Invalid value for '--workers'" in result.stderr
