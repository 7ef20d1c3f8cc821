"""What anyone reaching the desk's address meets: health checks and a database out of reach.

A database that refuses connections is a 503 with Retry-After whose body names neither the database nor its
password (the log does); liveness never touches the database, readiness does.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sladesk.api import create_app
from sladesk.store import make_engine, make_sessions
from tests.support.desk import Desk

PASSWORD = "s3cret-pw"


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
