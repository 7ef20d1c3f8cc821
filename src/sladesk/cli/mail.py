"""sladesk mail: receive the desk's mail over SMTP, poll its IMAP mailbox, and read the quarantine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sladesk.cli.common import DatabaseUrlOption, DataDirOption, HostOption, PortOption, data_directory, out, sqlite_url
from sladesk.config import DEFAULT_HOST

app = typer.Typer(help="Receive mail: the SMTP receiver, the IMAP poller, the quarantine.", no_args_is_help=True)

# Where `sladesk mail serve` listens unless told: an unprivileged port, for a relay to forward the desk's mail to.
DEFAULT_SMTP_PORT = 2525

AddressOption = Annotated[
    list[str] | None,
    typer.Option(
        "--address",
        metavar="ADDRESS",
        help="An address to accept mail for; repeat for several (default: $SLADESK_INBOUND_ADDRESSES, "
        "else the address of $SLADESK_MAIL_FROM).",
        show_default=False,
    ),
]


@app.command("serve")
def mail_serve(
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_SMTP_PORT,
    address: AddressOption = None,
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Receive mail over SMTP until interrupted: each message becomes a ticket, a reply, or a refusal.

    A message is acknowledged once it is stored; when the database cannot store it the sender is told to
    try again later (451).
    """
    import signal
    import threading

    from sladesk.cli.serve import check_port
    from sladesk.mail.settings import load_mailbox_settings
    from sladesk.mail.smtp import DeskHandler, receiver
    from sladesk.services.maintenance import upgrade_desk
    from sladesk.store import make_engine, make_sessions, safe_url

    settings = load_mailbox_settings()
    addresses = tuple(a.strip().lower() for a in address or () if a.strip()) or settings.desk_addresses
    if not addresses:
        raise typer.BadParameter(
            "give the desk's address with --address, $SLADESK_INBOUND_ADDRESSES or $SLADESK_MAIL_FROM"
        )
    check_port(host, port)
    url, directory = _database(database_url, data_dir)
    engine = make_engine(url)
    stop = threading.Event()
    try:
        upgrade_desk(engine)
        handler = DeskHandler(
            make_sessions(engine),
            addresses,
            mail_domain=settings.message_id_domain,
            attachments_dir=directory / "attachments",
        )
        server = receiver(handler, host, port)
        server.start()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        out.print(f"database: {safe_url(url)}", markup=False)
        out.print(f"Receiving mail for {', '.join(addresses)} at {host}:{port} (SMTP); Ctrl+C stops it.", markup=False)
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    finally:
        engine.dispose()


@app.command("poll")
def mail_poll(database_url: DatabaseUrlOption = None, data_dir: DataDirOption = None) -> None:
    """Poll the IMAP mailbox ($SLADESK_IMAP_*) once: file every unseen message, then mark it seen."""
    from datetime import UTC, datetime

    from sladesk.mail.imap import poll_once
    from sladesk.mail.settings import load_mailbox_settings
    from sladesk.store import make_engine, make_sessions

    settings = load_mailbox_settings()
    url, directory = _database(database_url, data_dir)
    engine = make_engine(url)
    try:
        filed = poll_once(make_sessions(engine), settings, datetime.now(UTC), attachments_dir=directory / "attachments")
    finally:
        engine.dispose()
    out.print(f"filed {filed} message{'s' if filed != 1 else ''} from {settings.imap_folder}", markup=False)


@app.command("quarantine")
def mail_quarantine(
    show: Annotated[
        int | None,
        typer.Option("--show", metavar="ID", help="Write the quarantined message ID, as received, to stdout."),
    ] = None,
    limit: Annotated[int, typer.Option(help="How many of the latest to list.", min=1)] = 50,
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """List the mail the desk could not read or act on (newest first), or write one out with --show."""
    from rich.table import Table

    from sladesk.errors import SladeskError
    from sladesk.services.inbound import Outcome, list_inbound
    from sladesk.store import make_engine, make_sessions, reading
    from sladesk.store.tables import InboundMessage

    url, _ = _database(database_url, data_dir)
    engine = make_engine(url)
    try:
        with reading(make_sessions(engine)) as session:
            if show is not None:
                row = session.get(InboundMessage, show)
                if row is None or row.outcome != Outcome.QUARANTINED:
                    raise SladeskError(f"no quarantined message {show}")
                sys.stdout.buffer.write(row.raw)
                sys.stdout.buffer.flush()
                return
            rows = list_inbound(session, outcome=Outcome.QUARANTINED, limit=limit)
    finally:
        engine.dispose()
    if not rows:
        out.print("the quarantine is empty")
        return
    table = Table("id", "received", "via", "sender", "subject", "reason")
    for row in rows:
        table.add_row(
            str(row.id),
            row.received_at.isoformat(timespec="seconds"),
            row.source,
            row.sender or "?",
            row.subject or "",
            row.reason or "",
        )
    out.print(table)


def _database(database_url: str | None, data_dir: Path | None) -> tuple[str, Path]:
    """The database URL (as `sladesk serve` chooses it) and the data directory that holds the attachments."""
    from sladesk.store import database_url as configured_url

    directory = data_directory(data_dir)
    url = database_url or (configured_url() if data_dir is None else sqlite_url(directory))
    return url, directory
