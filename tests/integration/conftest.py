"""Integration fixtures: a migrated database on SQLite and on PostgreSQL for every test.

The migrations run once per session (see `tests.support.database`): each SQLite test gets a copy of a
migrated file, each PostgreSQL test the session's migrated schema with its tables emptied and its sequences
restarted. Without a reachable PostgreSQL the PostgreSQL cases are skipped, except under CI (`CI` set),
where they fail. `desk` is an empty desk on that database to set up (see `tests.support.desk`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sladesk.store import make_engine, make_sessions
from tests.support.database import Postgres, PostgresSchema, SqliteTemplate
from tests.support.desk import Desk


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = Postgres()
    yield server
    server.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_schema(postgres: Postgres) -> Iterator[PostgresSchema]:
    schema = PostgresSchema(postgres)
    yield schema
    schema.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database of the test's own: a copied SQLite file, or the emptied PostgreSQL schema."""
    if request.param == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("sqlite_template")
        engine = template.copy(tmp_path)
    else:
        schema: PostgresSchema = request.getfixturevalue("postgres_schema")
        schema.empty()
        engine = make_engine(schema.url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the migrated database of `engine`."""
    return make_sessions(engine)


@pytest.fixture
def desk(sessions: sessionmaker[Session], tmp_path: Path) -> Desk:
    """An empty desk on the test's database at `tests.support.desk.START`, its attachments in the test's directory."""
    return Desk(sessions, attachments=tmp_path / "attachments")
