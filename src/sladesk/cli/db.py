"""sladesk db: create and migrate the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sladesk.cli.common import DatabaseUrlOption, DataDirOption, data_directory, out, sqlite_url

app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
    revision: Annotated[str, typer.Option(metavar="REVISION", help="Target revision.")] = "head",
) -> None:
    """Apply the migrations the database lacks and print each one applied."""
    from sladesk.services.maintenance import upgrade_desk
    from sladesk.store import make_engine, safe_url
    from sladesk.store.migrate import current_revision, revision_doc

    url = _database_url(database_url, data_dir)
    engine = make_engine(url)
    try:
        applied = upgrade_desk(engine, revision)
        now_at = current_revision(engine)
    finally:
        engine.dispose()
    out.print(f"database: {safe_url(url)}", markup=False)
    for applied_revision in applied:
        out.print(f"applied {applied_revision}: {revision_doc(applied_revision)}", markup=False)
    if not applied:
        out.print("nothing to apply")
    out.print(f"at revision {now_at}", markup=False)


@app.command("current")
def db_current(database_url: DatabaseUrlOption = None, data_dir: DataDirOption = None) -> None:
    """Print the revision the database is at, and whether it is the newest."""
    from sladesk.store import make_engine
    from sladesk.store.migrate import current_revision, head_revision

    engine = make_engine(_database_url(database_url, data_dir))
    try:
        now_at = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    if now_at is None:
        out.print("no revision: the database is not migrated (run sladesk db upgrade)")
    elif now_at == head:
        out.print(f"{now_at} (head)", markup=False)
    else:
        out.print(f"{now_at} (head is {head}; run sladesk db upgrade)", markup=False)


def _database_url(given: str | None, data_dir: Path | None) -> str:
    """--database-url, else the embedded database of --data-dir, else the configured database (as `serve`)."""
    from sladesk.store import database_url as configured_url

    if given:
        return given
    return configured_url() if data_dir is None else sqlite_url(data_directory(data_dir))
