"""Where the database is and how to connect to it: SQLite embedded by default, PostgreSQL in production."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from sladesk.config import Settings, load_settings
from sladesk.errors import StoreError
from sladesk.store.transaction import WRITES

DATABASE_URL_ENV = "SLADESK_DATABASE_URL"
DATA_DIR_ENV = "SLADESK_DATA_DIR"
SQLITE_FILENAME = "sladesk.db"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
POSTGRES_POOL_SIZE = 20  # per process; two API workers hold at most 40 of the server's connections


ATTACHMENTS_DIRNAME = "attachments"


def attachments_dir(configured: Path | None = None) -> Path:
    """Where attachments are kept: `configured` (an application's setting), else `attachments` in the data directory."""
    return configured if configured is not None else data_dir() / ATTACHMENTS_DIRNAME


def data_dir(settings: Settings | None = None) -> Path:
    """The data directory, created if missing: `SLADESK_DATA_DIR`, else the platform's user data dir.

    `settings` are read from the environment unless given.
    """
    configured = (settings or load_settings()).data_dir
    path = configured.expanduser() if configured else _platform_data_dir() / "sladesk"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create the data directory {path}: {error.strerror}") from None
    return path


def _platform_data_dir() -> Path:
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    if sys.platform == "darwin":
        return home / "Library" / "Application Support"
    xdg = os.environ.get("XDG_DATA_HOME")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"


def database_url(settings: Settings | None = None) -> str:
    """The configured database URL: `SLADESK_DATABASE_URL`, else `sladesk.db` (SQLite) in the data directory.

    `settings` are read from the environment unless given.
    """
    settings = settings or load_settings()
    if settings.database_url:
        return settings.database_url
    return URL.create("sqlite", database=str(data_dir(settings) / SQLITE_FILENAME)).render_as_string()


def safe_url(url: str | URL) -> str:
    """The URL as text with any password replaced by `***`, fit for messages and logs."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str | URL) -> Engine:
    """An engine for `url`, set up for sladesk.

    SQLite gets WAL journaling, enforced foreign keys, a busy timeout and connections usable from any
    thread; PostgreSQL gets a fixed pool of `POSTGRES_POOL_SIZE` connections, pre-pinged so dropped ones
    are replaced. Nothing connects yet; when a
    connection later cannot be opened, `StoreError` names the URL without its password.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL: {safe_url(url)}") from None
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = create_engine(
                parsed,
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_begin)
        elif backend == "postgresql":
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_SECONDS
            engine = create_engine(
                parsed,
                pool_pre_ping=True,
                # A fixed set of connections: the API's worker threads queue for one instead of each opening
                # an overflow connection that is closed again on return (a new server process every time).
                pool_size=POSTGRES_POOL_SIZE,
                max_overflow=0,
                connect_args=connect_args,
            )
        else:
            raise StoreError(f"unsupported database {safe_url(parsed)}: use sqlite:/// or postgresql+psycopg://")
    except (NoSuchModuleError, ImportError) as error:
        raise StoreError(f"no driver for {safe_url(parsed)}: {error}") from None
    event.listen(engine, "handle_error", _name_unreachable_database)
    return engine


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory on `engine` whose objects stay readable after commit.

    Its `info["caches"]` is one dict shared by every session it makes: the services keep there what
    the desk computes once and shares across requests (compiled policies), owned by whoever owns the factory.
    """
    return sessionmaker(bind=engine, expire_on_commit=False, info={"caches": {}})


def _sqlite_begin(connection: Any) -> None:
    """Start a transaction: a writing unit of work takes SQLite's write lock now, a reading one does not.

    Writers then take turns from their first statement (as PostgreSQL's row locks make them), and an
    open reader never blocks a writer (WAL readers keep their snapshot).
    """
    writes = connection.get_execution_options().get(WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # sqlite3's own implicit BEGIN is switched off so that `_sqlite_begin` decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    finally:
        cursor.close()


class DatabaseUnavailableError(StoreError):
    """No connection to the database could be opened: it is down, unreachable or refuses this desk.

    Worth retrying later (the API answers 503), unlike a database that answers but cannot be used.
    """


def _name_unreachable_database(context: ExceptionContext) -> None:
    """Turn a failure to open a connection into a `DatabaseUnavailableError` naming the database."""
    if context.connection is not None or context.is_pre_ping:
        return
    if not isinstance(context.sqlalchemy_exception, DBAPIError) or context.engine is None:
        return
    reason = str(context.original_exception).strip().splitlines()
    detail = reason[0].strip() if reason else type(context.original_exception).__name__
    password = context.engine.url.password
    if password:
        detail = detail.replace(str(password), "***")
    raise DatabaseUnavailableError(f"cannot connect to the database {safe_url(context.engine.url)}: {detail}")
