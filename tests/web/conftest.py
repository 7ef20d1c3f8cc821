"""The web tests run on SQLite and PostgreSQL with the integration tests' migrated databases."""

from tests.integration.conftest import engine, postgres, postgres_schema, sessions, sqlite_template

__all__ = ["engine", "postgres", "postgres_schema", "sessions", "sqlite_template"]
