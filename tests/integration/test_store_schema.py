"""The migrated schema on SQLite and PostgreSQL: it matches the models, instants stay exact, the CLI migrates."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from sladesk.store import Base, current_revision, database_url, head_revision, make_engine, upgrade
from sladesk.store.tables import Organisation, User

NEW_YORK = ZoneInfo("America/New_York")
TABLES = {table.name for table in Base.metadata.sorted_tables}


def test_migrated_schema_matches_the_models(engine: Engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}


def _shape(engine: Engine) -> dict[str, object]:
    inspector = inspect(engine)
    return {
        name: (
            [(c["name"], repr(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(name)],
            sorted((i["name"] or "", tuple(i["column_names"])) for i in inspector.get_indexes(name)),
            sorted(str(fk["name"]) for fk in inspector.get_foreign_keys(name)),
        )
        for name in inspector.get_table_names()
    }


def test_upgrade_twice_applies_nothing(engine: Engine):
    before = _shape(engine)
    assert upgrade(engine) == []
    assert _shape(engine) == before
    assert current_revision(engine) == head_revision()


def test_current_revision_is_the_head(engine: Engine):
    assert head_revision() is not None
    assert current_revision(engine) == head_revision()


def test_aware_instant_round_trips_as_the_same_utc_instant(sessions: sessionmaker[Session]):
    # 16:30 in New York on 25 November (EST, -05:00) is 21:30 UTC
    opened = datetime(2026, 11, 25, 16, 30, 15, 123456, tzinfo=NEW_YORK)
    in_summer = datetime(2026, 7, 1, 9, 0, tzinfo=NEW_YORK)  # EDT, -04:00
    with sessions.begin() as session:
        session.add_all(
            [
                Organisation(name="Winter", policy_id="alleo", created_at=opened),
                Organisation(name="Summer", policy_id="alleo", created_at=in_summer),
            ]
        )
    with sessions() as session:
        stored = dict(session.execute(select(Organisation.name, Organisation.created_at)).all())
        later_than_noon_utc = session.scalars(
            select(Organisation.name).where(Organisation.created_at > datetime(2026, 11, 25, 21, 0, tzinfo=UTC))
        ).all()
    assert stored["Winter"] == opened
    assert stored["Winter"].utcoffset() == timedelta(0)
    assert (stored["Winter"].hour, stored["Winter"].minute, stored["Winter"].microsecond) == (21, 30, 123456)
    assert stored["Summer"] == datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
    assert later_than_noon_utc == ["Winter"]


def test_naive_instant_is_refused(sessions: sessionmaker[Session]):
    with sessions() as session:
        session.add(Organisation(name="Naive", policy_id="alleo", created_at=datetime(2026, 11, 25, 16, 30)))
        with pytest.raises(StatementError, match="naive datetimes cannot be stored"):
            session.flush()


def test_foreign_keys_are_enforced(sessions: sessionmaker[Session]):
    with sessions() as session:
        session.add(
            User(
                email="nobody@example.com",
                name="Nobody",
                role="customer",
                organisation_id=999,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()


def test_sqlite_engine_uses_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["foreign_keys"] == 1
    assert pragmas["busy_timeout"] > 0


def test_database_url_defaults_to_sqlite_in_the_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SLADESK_DATABASE_URL", raising=False)
    monkeypatch.setenv("SLADESK_DATA_DIR", str(tmp_path / "data"))
    assert database_url() == f"sqlite:///{tmp_path / 'data' / 'sladesk.db'}"
    assert (tmp_path / "data").is_dir()
    monkeypatch.setenv("SLADESK_DATABASE_URL", "postgresql+psycopg://desk@db.example/desk")
    assert database_url() == "postgresql+psycopg://desk@db.example/desk"


def _sladesk(*args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("sladesk")
    if not executable.exists():
        pytest.fail(f"the sladesk command is not installed beside {sys.executable} (pip install -e .)")
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([str(executable), *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.cli
def test_db_upgrade_command_creates_the_tables(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = _sladesk("db", "upgrade", "--database-url", url)
    assert result.returncode == 0, result.stderr
    head = head_revision()
    assert head is not None
    assert f"applied {head}:" in result.stdout
    assert f"at revision {head}" in result.stdout
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        assert current_revision(engine) == head
    finally:
        engine.dispose()

    again = _sladesk("db", "upgrade", "--database-url", url)
    assert again.returncode == 0, again.stderr
    assert "nothing to apply" in again.stdout
    current = _sladesk("db", "current", "--database-url", url)
    assert current.stdout.strip() == f"{head} (head)"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.cli
def test_db_upgrade_on_unreachable_postgresql_names_the_host_not_the_password():
    url = f"postgresql+psycopg://desk:s3cret-pw@127.0.0.1:{_closed_port()}/desk"
    result = _sladesk("db", "upgrade", "--database-url", url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot connect to the database postgresql+psycopg://desk:***@127.0.0.1:")
    assert "s3cret-pw" not in result.stderr + result.stdout
