"""sladesk db: create and migrate the database."""

from __future__ import annotations

from typing import Annotated

import typer

from sladesk.cli.common import DatabaseUrlOption, out

app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrlOption = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply the migrations the database lacks and print each one applied."""
    from sladesk.services.maintenance import upgrade_desk
    from sladesk.store import database_url as configured_url
    from sladesk.store import make_engine, safe_url
    from sladesk.store.migrate import current_revision, revision_doc

    url = database_url or configured_url()
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
def db_current(database_url: DatabaseUrlOption = None) -> None:
    """Print the revision the database is at, and whether it is the newest."""
    from sladesk.store import database_url as configured_url
    from sladesk.store import make_engine
    from sladesk.store.migrate import current_revision, head_revision

    engine = make_engine(database_url or configured_url())
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
