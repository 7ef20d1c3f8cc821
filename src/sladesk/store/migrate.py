"""Schema migrations: bring a database to the newest revision and say which revision it is at."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the migrations shipped in this package, running on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision this package ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def revision_doc(revision: str) -> str:
    """The first line of a shipped revision's description, e.g. "The initial schema."."""
    script = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    return script.doc.strip().splitlines()[0] if script is not None and script.doc else ""


def current_revision(engine: Engine) -> str | None:
    """The revision the database at `engine` is at, or None when it has never been migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Migrate the database at `engine` up to `revision`, in one transaction where the database allows.

    Returns the revisions applied, oldest first; an empty list when it was already there.
    """
    before = current_revision(engine)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    after = current_revision(engine)
    if after == before:
        return []
    script = ScriptDirectory.from_config(alembic_config())
    applied = [rev.revision for rev in script.iterate_revisions(after, before)]
    return list(reversed(applied))
