"""Slow and oversized requests over real sockets: cut off after a deadline, refused before the app sees them.

The deadlines are tested on uvicorn in a thread with `GuardedHttpProtocol` shortened to a fraction of a
second; the caps on `sladesk serve` itself, as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from sladesk.api import create_app
from sladesk.api.limits import MAX_HEADERS, GuardedHttpProtocol
from sladesk.store import make_engine, make_sessions
from tests.support.processes import free_port, serving

SHORT_SECONDS = 0.5


class QuickGuard(GuardedHttpProtocol):
    head_timeout_seconds = SHORT_SECONDS
    body_timeout_seconds = SHORT_SECONDS
    body_min_bytes_per_second = 1000


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    """A port where the desk's app runs in this process behind `QuickGuard` (its database is never asked)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'unused.db'}")
    config = uvicorn.Config(
        create_app(make_sessions(engine)),
        host="127.0.0.1",
        port=free_port(),
        http=QuickGuard,
        ws="none",
        lifespan="off",
        log_level="warning",
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield config.port
    finally:
        server.should_exit = True
        thread.join(10)
        engine.dispose()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def read_all(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails if it keeps it open for 5 s)."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def status_and_problem(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def test_a_request_whose_headers_trickle_past_the_deadline_is_answered_408_and_closed(port: int):
    with connect(port) as connection:
        connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: desk\r\n")
        started = time.monotonic()
        answer = read_all(connection)
        waited = time.monotonic() - started
    status, problem = status_and_problem(answer)
    assert status == 408 and b"connection: close" in answer.lower()
    assert "headers" in str(problem["detail"])
    assert SHORT_SECONDS * 0.8 < waited < SHORT_SECONDS + 3


def test_a_header_a_byte_at_a_time_does_not_earn_more_time(port: int):
    with connect(port) as connection:
        connection.sendall(b"GET /api/health HTTP/1.1\r\nX-Slow: ")
        started = time.monotonic()
        with pytest.raises(OSError):
            while time.monotonic() - started < SHORT_SECONDS + 3:
                connection.sendall(b"a")
                time.sleep(SHORT_SECONDS / 10)
        assert time.monotonic() - started < SHORT_SECONDS + 3


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(port: int):
    with connect(port) as connection:
        assert read_all(connection) == b""


def test_a_body_trickled_past_the_deadline_is_answered_408_and_closed(port: int):
    with connect(port) as connection:
        connection.sendall(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        started = time.monotonic()
        with contextlib.suppress(OSError):  # closed while still sending
            while time.monotonic() - started < SHORT_SECONDS + 3:
                connection.sendall(b" ")  # far slower than 1000 bytes a second
                time.sleep(SHORT_SECONDS / 10)
        answer = read_all(connection)
    status, problem = status_and_problem(answer)
    assert status == 408 and "body" in str(problem["detail"])
    assert time.monotonic() - started < SHORT_SECONDS + 3


def test_a_body_sent_in_time_is_answered_by_the_app(port: int):
    with connect(port) as connection:
        connection.sendall(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\nConnection: close\r\n\r\n{"
        )
        time.sleep(SHORT_SECONDS / 2)
        connection.sendall(b"}")
        answer = read_all(connection)
    assert answer.startswith(b"HTTP/1.1 401 ")  # the app's answer: no token


def test_a_kept_alive_connection_gets_a_fresh_deadline_for_each_request(port: int):
    request = b"GET /api/health HTTP/1.1\r\nHost: desk\r\n\r\n"
    with connect(port) as connection:
        for _ in range(3):
            time.sleep(SHORT_SECONDS * 0.6)  # three of these are past one deadline, not past any of them
            connection.sendall(request)
            assert connection.recv(65536).startswith(b"HTTP/1.1 200 ")


def _head(headers: list[tuple[str, str]]) -> bytes:
    lines = [b"GET /api/health HTTP/1.1", *(f"{name}: {value}".encode() for name, value in headers)]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@pytest.mark.cli
def test_sladesk_serve_refuses_too_many_headers_and_too_large_a_head_with_431(tmp_path: Path):
    with serving(["serve", "--data-dir", str(tmp_path / "data")], free_port(), tmp_path / "serve.log") as base:
        port = int(base.rsplit(":", 1)[1])
        host = [("Host", "desk"), ("Connection", "close")]
        cases = {
            "most headers": (host + [(f"X-{n}", "1") for n in range(MAX_HEADERS - len(host))], 200),
            "one header more": (host + [(f"X-{n}", "1") for n in range(MAX_HEADERS - len(host) + 1)], 431),
            "a 16 KiB header": ([*host, ("X-Big", "b" * 16 * 1024)], 200),
            "an 80 KiB header": ([*host, ("X-Big", "b" * 80 * 1024)], 431),
        }
        for case, (headers, expected) in cases.items():
            with connect(port) as connection:
                with contextlib.suppress(OSError):  # closed while still sending: it must have answered first
                    connection.sendall(_head(headers))
                answer = read_all(connection)
            assert answer.startswith(f"HTTP/1.1 {expected} ".encode()), (case, answer[:200])
            if expected == 431:
                assert b"application/problem+json" in answer
                assert b"connection: close" in answer.lower()


def test_sladesk_serve_workers_run_behind_the_same_guard(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from sladesk.cli import common, serve

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    for name in ("SLADESK_DATABASE_URL", "SLADESK_DATA_DIR"):
        monkeypatch.setenv(name, "")  # restored (or removed) afterwards: run_api_workers sets them
    monkeypatch.setattr(common.out, "print", lambda *args, **kwargs: None)
    serve.run_api_workers("postgresql+psycopg://desk@127.0.0.1/desk", tmp_path, "127.0.0.1", 1, 2)
    assert calls and calls[0]["http"] is GuardedHttpProtocol


def test_a_client_waiting_to_be_asked_for_its_body_is_not_late(port: int, monkeypatch: pytest.MonkeyPatch):
    from sladesk.api import limits

    asked = threading.Event()
    reading = limits.NestingLimit.__call__

    async def late_reader(self, scope, receive, send):  # the app reads the body only after several deadlines
        await asyncio.sleep(SHORT_SECONDS * 3)
        asked.set()
        await reading(self, scope, receive, send)

    monkeypatch.setattr(limits.NestingLimit, "__call__", late_reader)
    with connect(port) as connection:
        connection.sendall(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert connection.recv(65536).startswith(b"HTTP/1.1 100 ")
        assert asked.is_set()
        connection.sendall(b"{}")
        assert read_all(connection).startswith(b"HTTP/1.1 401 ")
