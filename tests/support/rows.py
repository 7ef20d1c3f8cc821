"""How many rows each table of a database holds: what a refused or failed request must leave as it found it."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text


class RowCounts:
    """Called, it gives every table's row count (but `alembic_version`'s), read in one statement."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        tables = sorted(name for name in inspect(engine).get_table_names() if name != "alembic_version")
        self.statement = text(" UNION ALL ".join(f"SELECT '{name}', COUNT(*) FROM \"{name}\"" for name in tables))

    def __call__(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return {name: count for name, count in connection.execute(self.statement)}
