"""The SQL store: tables, engines and sessions for SQLite or PostgreSQL, and the migrations that build them."""

from sladesk.store import tables
from sladesk.store.engine import data_dir, database_url, make_engine, make_sessions, safe_url
from sladesk.store.migrate import current_revision, head_revision, upgrade
from sladesk.store.tables import Base
from sladesk.store.transaction import reading, transaction

__all__ = [
    "Base",
    "current_revision",
    "data_dir",
    "database_url",
    "head_revision",
    "make_engine",
    "make_sessions",
    "reading",
    "safe_url",
    "tables",
    "transaction",
    "upgrade",
]
