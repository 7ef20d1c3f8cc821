"""Migrated test databases, migrated once per test session.

SQLite: one template file is migrated per session and each test gets a copy of the file. PostgreSQL: one
schema is migrated per session (per process, so per xdist worker) and emptied before each test: every table
but `alembic_version` loses its rows and every sequence restarts, so ids start at 1 again.

PostgreSQL comes from `SLADESK_TEST_POSTGRES_URL` (default: the local `test` database). Without a reachable
PostgreSQL the PostgreSQL cases are skipped, except under CI (`CI` set), where they fail: CI must cover
PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, make_url, text
from sqlalchemy.engine import URL

from sladesk.errors import StoreError
from sladesk.store import make_engine, upgrade

POSTGRES_URL_ENV = "SLADESK_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SQLITE_FILENAME = "sladesk.db"
# A connection a test left open in a transaction would otherwise block the emptying of its tables forever.
EMPTYING_LOCK_TIMEOUT = "10s"


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


def sqlite_url(path: Path) -> URL:
    return URL.create("sqlite", database=str(path))


class SqliteTemplate:
    """A migrated SQLite file in `directory`; `copy` gives a test its own migrated database."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / SQLITE_FILENAME
        engine = make_engine(sqlite_url(self.path))
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        # Everything into the main file, so that copying that one file copies the database.
        with closing(sqlite3.connect(self.path)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def copy(self, directory: Path) -> Engine:
        """An engine on a copy of the template in `directory`; the caller disposes of it."""
        path = directory / SQLITE_FILENAME
        shutil.copyfile(self.path, path)
        return make_engine(sqlite_url(path))


class PostgresSchema:
    """A migrated schema of its own on the test server, dropped by `drop`; `empty` readies it for a test."""

    def __init__(self, server: Postgres) -> None:
        self.admin = server.require()
        self.name = f"t_{secrets.token_hex(6)}"
        with self.admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.name}"'))
        self.url: URL = server.url.update_query_dict({"options": f"-csearch_path={self.name}"})
        self.engine = make_engine(self.url)
        try:
            upgrade(self.engine)
            self._emptying = self._emptying_sql()
        except BaseException:
            self.drop()
            raise

    def _emptying_sql(self) -> str:
        """DELETE from every table, children first, then restart every sequence.

        DELETE rather than TRUNCATE: on the handful of rows a test writes it takes about a tenth of the time.
        """
        sorted_tables = inspect(self.engine).get_sorted_table_and_fkc_names()
        cycles = [fkc for table, fkcs in sorted_tables if table is None for fkc in fkcs]
        if cycles:
            raise RuntimeError(f"foreign keys in a cycle; the tables cannot be emptied in order: {cycles}")
        tables = [table for table, _ in reversed(sorted_tables) if table not in (None, "alembic_version")]
        with self.engine.connect() as connection:
            sequences = connection.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = :schema ORDER BY sequencename"),
                {"schema": self.name},
            ).scalars()
            statements = [f"SET LOCAL lock_timeout = '{EMPTYING_LOCK_TIMEOUT}'"]
            statements += [f'DELETE FROM "{self.name}"."{table}"' for table in tables]
            statements += [f'ALTER SEQUENCE "{self.name}"."{sequence}" RESTART' for sequence in sequences]
        return "; ".join(statements)

    def empty(self) -> None:
        """No rows in any table but `alembic_version`, and every sequence back at its start."""
        with self.engine.begin() as connection:
            connection.exec_driver_sql(self._emptying)

    def drop(self) -> None:
        self.engine.dispose()
        with self.admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{self.name}" CASCADE'))
