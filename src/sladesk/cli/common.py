"""What the sladesk commands share: the consoles they print on, option types, and one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sladesk.errors import PolicyError, SladeskError

# Piped output (CI logs, files) gets a fixed width wide enough for the policy tables.
_WIDTH = None if sys.stdout.isatty() else 120
out = Console(highlight=False, soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH)


def run(app: typer.Typer) -> None:
    """Run the command `app`: every user-facing error is one line on stderr and exit code 2."""
    try:
        app()
    except PolicyError as error:
        for problem in error.problems:
            err.print(f"error: {problem}", markup=False)
        raise SystemExit(2) from None
    except SladeskError as error:
        err.print(f"error: {error}", markup=False)
        raise SystemExit(2) from None


DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: $SLADESK_DATABASE_URL, else sladesk.db in the data directory).",
        show_default=False,
    ),
]

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the embedded database and the attachments go (default: $SLADESK_DATA_DIR, "
        "else the user data directory).",
        show_default=False,
    ),
]

HostOption = Annotated[str, typer.Option(help="Address to listen on (loopback by default).")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)]


def data_directory(given: Path | None) -> Path:
    """The data directory asked for, else the configured one; created if missing."""
    from sladesk.errors import StoreError
    from sladesk.store import data_dir as configured_data_dir

    if given is None:
        return configured_data_dir()
    directory = given.expanduser().resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create the data directory {directory}: {error.strerror}") from None
    return directory


def sqlite_url(directory: Path) -> str:
    """The URL of the embedded database in `directory`."""
    from sqlalchemy.engine import URL

    from sladesk.store.engine import SQLITE_FILENAME

    return URL.create("sqlite", database=str(directory / SQLITE_FILENAME)).render_as_string()
