"""Integration fixtures: a migrated database on SQLite and on PostgreSQL for every test.

PostgreSQL comes from `SLADESK_TEST_POSTGRES_URL` (default: the local `test` database); each test gets a
fresh schema of its own, dropped afterwards. Without a reachable PostgreSQL the PostgreSQL cases are
skipped, except under CI (`CI` set), where they fail: CI must cover PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from sladesk.errors import StoreError
from sladesk.store import make_engine, make_sessions, upgrade

POSTGRES_URL_ENV = "SLADESK_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class Postgres:
    """The test PostgreSQL server: its URL, or why it cannot be used."""

    def __init__(self) -> None:
        self.url: URL = make_url(os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL)
        self.admin: Engine | None = None
        self.problem: str | None = None
        engine = make_engine(self.url.set(query={**self.url.query, "connect_timeout": "5"}))
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except StoreError as error:
            engine.dispose()
            self.problem = str(error)
        else:
            self.admin = engine

    def require(self) -> Engine:
        """The admin engine, or skip (fail under CI) with the reason PostgreSQL cannot be used."""
        if self.admin is not None:
            return self.admin
        message = f"no PostgreSQL for the tests (set {POSTGRES_URL_ENV}): {self.problem}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {message}", pytrace=False)
        pytest.skip(message)

    def dispose(self) -> None:
        if self.admin is not None:
            self.admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = Postgres()
    yield server
    server.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, postgres: Postgres) -> Iterator[Engine]:
    """A migrated database: a fresh SQLite file, or a fresh schema on the test PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(URL.create("sqlite", database=str(tmp_path / "sladesk.db")))
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()
        return
    admin = postgres.require()
    schema = f"t_{secrets.token_hex(6)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(postgres.url.update_query_dict({"options": f"-csearch_path={schema}"}))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the migrated database of `engine`."""
    return make_sessions(engine)
