"""A PostgreSQL database of a benchmark's own: created and migrated for the run, dropped at its end."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import URL

from sladesk.store import make_engine, upgrade


@contextmanager
def postgres_database(admin_url: URL, purpose: str) -> Iterator[URL]:
    """A new, migrated database `sladesk_<purpose>_bench_<random>` on the server of `admin_url`, dropped at the end."""
    name = f"sladesk_{purpose}_bench_{secrets.token_hex(4)}"
    admin = make_engine(admin_url.set(query={**admin_url.query, "connect_timeout": "5"}))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_url.set(database=name)
        try:
            engine = make_engine(url)
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            yield url
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
