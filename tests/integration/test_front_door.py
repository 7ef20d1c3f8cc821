"""What anyone reaching the desk's address meets: health checks, a database out of reach, headers, `/`, the docs.

A database that refuses connections is a 503 with Retry-After whose body names neither the database nor its
password (the log does); liveness never touches the database, readiness does. Every response carries the
hardening headers; the docs page and its assets come from the desk itself, with no internet.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from sladesk.api import create_app
from sladesk.services import Role
from sladesk.store import make_engine, make_sessions
from tests.support.database import PostgresSchema
from tests.support.desk import Desk
from tests.support.processes import free_port, serving

PASSWORD = "s3cret-pw"
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _unreachable_urls(tmp_path: Path) -> list[str]:
    return [
        f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/x?connect_timeout=1",  # nothing listens on port 1
        f"sqlite:///{tmp_path / 'missing' / 'directory' / 'sladesk.db'}",
    ]


@pytest.mark.parametrize("which", [0, 1], ids=["postgresql-refused", "sqlite-missing-directory"])
def test_a_database_out_of_reach_is_503_with_retry_after_naming_nothing(
    which: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    url = _unreachable_urls(tmp_path)[which]
    engine = make_engine(url)
    try:
        client = TestClient(create_app(make_sessions(engine)), raise_server_exceptions=False)
        with caplog.at_level(logging.WARNING, logger="sladesk.api"):
            answers = [
                client.get("/api/v1/users/me", headers={"Authorization": "Bearer sld_whatever"}),
                client.get("/api/health/ready"),
            ]
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert int(answer.headers["retry-after"]) > 0
            body = answer.json()
            assert (body["status"], body["title"]) == (503, "Service unavailable")
            for secret in (PASSWORD, "127.0.0.1", "postgresql", "sqlite", "missing", "connect"):
                assert secret not in answer.text
        # The detail is in the log, without the password.
        logged = caplog.text
        assert "cannot connect to the database" in logged
        assert PASSWORD not in logged

        # Liveness does not ask the database.
        live = [client.get("/api/health"), client.get("/api/health/live")]
        assert [(a.status_code, a.json()) for a in live] == [(200, {"status": "ok"})] * 2
    finally:
        engine.dispose()


def test_readiness_answers_200_when_the_database_answers(desk: Desk):
    answer = desk.client.get("/api/health/ready")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok", "database": "ok"})


class _Outage:
    """A TCP relay to PostgreSQL that can go down (every connection cut, new ones refused) and come back."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.lock = threading.Lock()
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self.lock:
            if self.listener is not None:
                with suppress(OSError):
                    self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
                self.listener.close()
                self.listener = None
            for sock in self.sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                if self.listener is not listener:  # down since
                    client.close()
                    return
                server = socket.create_connection(self.target)
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass


@contextmanager
def _outage(schema: PostgresSchema) -> Iterator[tuple[_Outage, str]]:
    url = schema.url
    relay = _Outage(url.host or "127.0.0.1", url.port or 5432)
    try:
        relayed = url.set(host="127.0.0.1", port=relay.port).update_query_dict({"connect_timeout": "2"})
        yield relay, relayed.render_as_string(hide_password=False)
    finally:
        relay.down()


@contextmanager
def _desk_behind_relay(schema: PostgresSchema, tmp_path: Path) -> Iterator[tuple[_Outage, Desk, TestClient, Any]]:
    """An admin's desk on the test PostgreSQL reached through a relay the test can cut: (relay, desk, client, engine)."""
    schema.empty()
    with _outage(schema) as (relay, url):
        engine = make_engine(url)
        try:
            desk = Desk(make_sessions(engine), attachments=tmp_path / "attachments")
            desk.user("boss", Role.ADMIN)
            yield relay, desk, TestClient(desk.app(), raise_server_exceptions=False), engine
        finally:
            engine.dispose()


def test_a_database_that_goes_away_is_503_until_it_is_back(postgres_schema: PostgresSchema, tmp_path: Path):
    with _desk_behind_relay(postgres_schema, tmp_path) as (relay, desk, client, _):

        def answers() -> list[int]:
            me = client.get("/api/v1/users/me", headers=desk.headers["boss"])
            return [
                me.status_code,
                client.get("/api/health/ready").status_code,
                client.get("/api/health").status_code,
            ]

        assert answers() == [200, 200, 200]
        relay.down()
        assert answers() == [503, 503, 200]
        relay.up()
        assert answers() == [200, 200, 200]


def test_a_connection_lost_in_the_middle_of_a_request_is_503(postgres_schema: PostgresSchema, tmp_path: Path):
    with _desk_behind_relay(postgres_schema, tmp_path) as (relay, desk, client, engine):
        cuts: list[bool] = []

        def cut(*args: Any) -> None:  # after the pool's ping, before the request's first statement
            if not cuts:
                cuts.append(True)
                relay.down()

        event.listen(engine, "before_cursor_execute", cut)
        answer = client.get("/api/v1/users/me", headers=desk.headers["boss"])
        assert answer.status_code == 503, answer.text
        assert int(answer.headers["retry-after"]) > 0
        assert "postgres" not in answer.text and "SELECT" not in answer.text


def _assert_hardened(headers: Any, policy: str = JSON_POLICY) -> None:
    assert headers["content-security-policy"] == policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "server" not in headers


def test_every_response_carries_the_hardening_headers_and_authenticated_ones_no_store(desk: Desk):
    desk.user("boss", Role.ADMIN)
    client = desk.client
    me = client.get("/api/v1/users/me", headers=desk.headers["boss"])
    assert me.status_code == 200
    _assert_hardened(me.headers)
    assert me.headers["cache-control"] == "no-store"

    for answer in (
        client.get("/api/health"),
        client.get("/api/openapi.json"),
        client.get("/api/v1/users/me"),  # 401
        client.get("/api/v1/nowhere"),  # 404
        client.post("/api/v1/tickets", content=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"}),
    ):
        _assert_hardened(answer.headers)
        assert "cache-control" not in answer.headers, answer.request.url

    refused = client.get("/api/v1/nowhere", headers=desk.headers["boss"])
    assert refused.status_code == 404
    _assert_hardened(refused.headers)
    assert refused.headers["cache-control"] == "no-store"


def test_an_unhandled_error_is_a_bare_500_problem(desk: Desk):
    app = desk.app()

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("internal detail: /srv/secret/path line 42")

    answer = TestClient(app, raise_server_exceptions=False).get("/api/v1/boom", headers={"Authorization": "Bearer x"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 500
    assert "internal detail" not in answer.text and "Traceback" not in answer.text
    assert "RuntimeError" not in answer.text
    _assert_hardened(answer.headers)
    assert answer.headers["cache-control"] == "no-store"


def _asset_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


def test_the_docs_page_and_its_assets_come_from_the_desk(desk: Desk):
    client = desk.client
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "cdn" not in page.text.lower() and "https://" not in page.text and "http://" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "<script>" not in page.text  # every script is a file of the desk's: the policy allows no inline one

    urls = _asset_urls(page.text)
    assert any(url.endswith(".js") for url in urls) and any(url.endswith(".css") for url in urls), urls
    for url in urls:
        assert url.startswith("/api/docs/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0
    script = client.get("/api/docs/init.js").text
    assert '"/api/docs/openapi.json"' in script
    for_the_page, document = client.get("/api/docs/openapi.json").json(), client.get("/api/openapi.json").json()
    assert (for_the_page["openapi"], document["openapi"]) == ("3.0.3", "3.1.0")  # what Swagger UI 4 draws
    assert for_the_page["paths"] == document["paths"]


def test_the_front_page_is_the_sign_in_page_says_what_the_desk_is_and_links_the_docs(desk: Desk):
    answer = desk.client.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "sladesk" in answer.text and "support desk" in answer.text and 'action="/sign-in"' in answer.text
    assert 'href="/api/docs"' in answer.text and 'href="/api/openapi.json"' in answer.text
    _assert_hardened(answer.headers, PAGE_POLICY)
    # Neither the front page nor the docs are API operations.
    paths = desk.client.get("/api/openapi.json").json()["paths"]
    assert "/" not in paths and "/api/docs" not in paths
    assert {"/api/health", "/api/health/live", "/api/health/ready"} <= set(paths)


def _fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


@pytest.mark.cli
def test_sladesk_serve_sends_no_server_header_and_serves_the_docs_offline(tmp_path: Path):
    with serving(["serve", "--data-dir", str(tmp_path / "data")], free_port(), tmp_path / "serve.log") as base:
        status, headers, _ = _fetch(f"{base}/api/health")
        assert status == 200
        _assert_hardened(headers)
        status, headers, page = _fetch(f"{base}/api/docs")
        assert status == 200 and "server" not in headers
        for url in _asset_urls(page.decode()):
            assert _fetch(f"{base}{url}")[0] == 200, url
        status, _, front = _fetch(f"{base}/")
        assert status == 200 and b"/api/docs" in front


def test_serve_with_workers_runs_uvicorn_without_a_server_header(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import uvicorn

    from sladesk.cli import common, serve

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    for name in ("SLADESK_DATABASE_URL", "SLADESK_DATA_DIR", "SLADESK_PUBLIC_URL", "SLADESK_SECRET_KEY"):
        monkeypatch.setenv(name, "")  # restored (or removed) afterwards: run_api_workers sets them
    monkeypatch.setattr(common.out, "print", lambda *args, **kwargs: None)
    serve.run_api_workers("postgresql+psycopg://desk@127.0.0.1/desk", tmp_path, "127.0.0.1", 1, 2)
    assert calls and calls[0]["server_header"] is False and calls[0]["factory"] is True
