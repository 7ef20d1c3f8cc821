"""sladesk admin and sladesk demo: a desk's first admin, and a demo desk to try."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from sladesk.cli.common import DatabaseUrlOption, DataDirOption, HostOption, PortOption, data_directory, out, sqlite_url
from sladesk.cli.serve import base_url, check_port, run_api
from sladesk.config import DEFAULT_HOST, DEFAULT_PORT

if TYPE_CHECKING:
    from sladesk.demo import DemoLogins


def admin(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The admin's email address.")],
    name: Annotated[str, typer.Option(metavar="NAME", help="The admin's name (for a new admin).")] = "Admin",
    token_name: Annotated[
        str, typer.Option("--token-name", metavar="NAME", help="What the new API token is for.")
    ] = "cli",
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an admin (or find the one with this email) and print a new API token for it.

    This is how an operator gets into a new desk; everything else then goes through the API with that token.
    """
    from sladesk.services import issue_token
    from sladesk.services.directory import bootstrap_admin
    from sladesk.services.maintenance import upgrade_desk
    from sladesk.store import database_url as configured_url
    from sladesk.store import make_engine, make_sessions, safe_url, transaction

    url = database_url or (configured_url() if data_dir is None else sqlite_url(data_directory(data_dir)))
    engine = make_engine(url)
    try:
        upgrade_desk(engine)
        with transaction(make_sessions(engine)) as session:
            user, created = bootstrap_admin(session, email=email, name=name)
            token = issue_token(session, user.id, token_name)
    finally:
        engine.dispose()
    what = "created" if created else "exists already"
    out.print(f"database: {safe_url(url)}", markup=False)
    out.print(f"admin {user.email} (user {user.id}) {what}; a new API token, shown this once:", markup=False)
    print(token)


def demo(
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    data_dir: DataDirOption = None,
    then_serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the service after setting it up.")
    ] = True,
) -> None:
    """Set up an embedded desk with demo data for the five built-in policies, print logins, and serve it."""
    import shlex

    from sladesk.demo import seed_demo
    from sladesk.services.maintenance import upgrade_desk
    from sladesk.store import make_engine, make_sessions, transaction
    from sladesk.store.engine import SQLITE_FILENAME

    if then_serve:
        check_port(host, port)  # before any work, so a busy port costs nothing
    directory = data_directory(data_dir)
    url = sqlite_url(directory)
    engine = make_engine(url)
    try:
        upgrade_desk(engine)
        with transaction(make_sessions(engine)) as session:
            logins = seed_demo(session, datetime.now(UTC))
    except BaseException:
        engine.dispose()
        raise
    _print_logins(logins, directory / SQLITE_FILENAME, base_url(host, port))
    if not then_serve:
        engine.dispose()
        out.print("Serve it with:")
        out.print(f"  sladesk serve --data-dir {shlex.quote(str(directory))}", markup=False)
        return
    run_api(engine, host, port, directory)


def _print_logins(logins: DemoLogins, database: Path, base: str) -> None:
    """What the demo holds and how to sign in, readable in 80 columns: no email, password or token is cut."""
    if logins.created is not None:
        made = logins.created
        out.print(f"Demo data created in {database}:", markup=False)
        out.print(
            f"{made.organisations} organisations (one per built-in policy), {made.users} users, {made.tickets} tickets."
        )
    else:
        held = logins.held
        out.print(f"The demo data exists already in {database},", markup=False)
        out.print(
            f"which holds {held.organisations} organisations, {held.users} users and {held.tickets} tickets; "
            "new API tokens were issued."
        )
    out.print(f"Open {base}/ in a browser and sign in with any of these logins:", markup=False)
    out.print("Customers get the portal, agents the work queue, the admin also the admin pages.")
    table = Table("role")
    table.add_column("email", no_wrap=True)
    table.add_column("password", no_wrap=True)
    table.add_column("organisation")  # the one column that may wrap, between words
    for login in logins.logins:
        organisation = f"{login.organisation} ({login.policy_id})" if login.organisation else "every organisation"
        table.add_row(login.role.value, login.email, login.password, organisation)
    out.print(table)
    # A token is too long to share a table row with an email at 80 columns; each gets a line of its own.
    out.print("API tokens, shown this once:")
    email_width = max(len(login.email) for login in logins.logins)
    for login in logins.logins:
        out.print(f"  {login.email:<{email_width}}  {login.token}", markup=False)
    customer = logins.customer("alleo")
    out.print(f"Try the API as {customer.name}, who sees only {customer.organisation}'s tickets:", markup=False)
    out.print(f"  TOKEN={customer.token}", markup=False)
    out.print(f'  curl -H "Authorization: Bearer $TOKEN" {base}/api/v1/tickets', markup=False)
