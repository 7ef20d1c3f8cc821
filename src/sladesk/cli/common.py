"""What the sladesk commands share: the consoles they print on, option types, help text, and one-line errors."""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperGroup, TyperOption

from sladesk.errors import PolicyError, SladeskError

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Piped output (CI logs, files) gets a fixed width wide enough for the policy tables, unless COLUMNS says otherwise.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit() else 120
out = Console(highlight=False, soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH)


def run(app: typer.Typer) -> None:
    """Run the command `app`: every user-facing error is one line on stderr and exit code 2."""
    try:
        click_command(app)()
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
        metavar="URL",
        help="SQLAlchemy URL (default: $SLADESK_DATABASE_URL, else sladesk.db in the data directory).",
        show_default=False,
    ),
]

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Where the embedded database and the attachments go (default: $SLADESK_DATA_DIR, "
        "else the user data directory).",
        show_default=False,
    ),
]

HostOption = Annotated[str, typer.Option(metavar="ADDRESS", help="Address to listen on (loopback by default).")]
PortOption = Annotated[int, typer.Option(metavar="PORT", help="Port to listen on.", min=1, max=65535)]


def print_version(wanted: bool) -> None:
    """The `--version` option: print the installed package's version and stop."""
    if not wanted:
        return
    try:
        out.print(f"sladesk {version('sladesk')}", markup=False)
    except PackageNotFoundError:
        out.print("sladesk (not installed, so no version: pip install -e .)", markup=False)
    raise typer.Exit()


VersionOption = Annotated[
    bool,
    typer.Option("--version", help="Print the version of sladesk and exit.", callback=print_version, is_eager=True),
]


def click_command(app: typer.Typer) -> typer.core.TyperCommand | TyperGroup:
    """The click command tree of `app`, its help naming every value by its metavar alone.

    Typer's help writes each parameter's Python type beside it (`<bool>` after every flag, `<list[Path]>`)
    and braces around required arguments in the usage line (`{FILE...}...`); neither tells a user anything
    the option's name and help do not.
    """
    command = typer.main.get_command(app)
    _name_values_by_metavar(command)
    return command  # type: ignore[return-value]


class _MetavarOption(TyperOption):
    """An option shown as `--port PORT`, and a flag as itself."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        return self.metavar or max(self.opts, key=len).lstrip("-").upper()


class _MetavarArgument(TyperArgument):
    """An argument shown by its metavar (`FILE...`, `[ID|FILE]...`), with no type beside it."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.display_name_raw
        if not self.required and not name.startswith("["):
            name = f"[{name}]"
        if self.nargs != 1 and not name.endswith("..."):
            name += "..."
        return [name]


def _name_values_by_metavar(command: Any) -> None:
    # Typer builds the parameters itself and has no setting for this, so each is given the class that
    # differs from Typer's only in how it is displayed.
    params = [*command.params]
    help_option = command.get_help_option(typer.Context(command))
    if help_option is not None:
        params.append(help_option)
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = _MetavarOption
        elif type(param) is TyperArgument:
            param.__class__ = _MetavarArgument
    for subcommand in getattr(command, "commands", {}).values():
        _name_values_by_metavar(subcommand)


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


def migrated_engine(database_url: str | None, data_dir: Path | None) -> Engine:
    """The desk's database, which must be migrated already (`sladesk db upgrade`)."""
    from sladesk.errors import StoreError
    from sladesk.store import current_revision, head_revision, make_engine, safe_url
    from sladesk.store import database_url as configured_url

    url = database_url or (configured_url() if data_dir is None else sqlite_url(data_directory(data_dir)))
    engine = make_engine(url)
    if current_revision(engine) != head_revision():
        engine.dispose()
        raise StoreError(f"the database at {safe_url(url)} is not at the latest revision: run sladesk db upgrade")
    return engine
