"""sladesk worker: a standalone worker that fires timers, delivers the outbox and polls the mailbox."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

from sladesk.cli.common import DatabaseUrlOption, DataDirOption, data_directory, out, sqlite_url


def worker(database_url: DatabaseUrlOption = None, data_dir: DataDirOption = None) -> None:
    """Run one worker until SIGTERM or Ctrl+C; it finishes the job in hand, then stops.

    Any number of workers may run against one PostgreSQL database, on any machines: each claims due timers
    and messages with SKIP LOCKED, so each instant fires once. On SQLite, `sladesk serve` runs the one worker.
    """
    import logging

    from sladesk.config import load_settings
    from sladesk.jobs import Worker
    from sladesk.jobs.chores import default_chores
    from sladesk.jobs.logs import configure_logging
    from sladesk.services.maintenance import upgrade_desk
    from sladesk.store import database_url as configured_url
    from sladesk.store import make_engine, make_sessions, safe_url

    configure_logging(logging.INFO)
    directory = data_directory(data_dir)
    _kept_link_key(directory)
    settings = load_settings()
    url = database_url or (configured_url() if data_dir is None else sqlite_url(directory))
    engine = make_engine(url)
    try:
        upgrade_desk(engine, attachments_dir=directory / "attachments")
        out.print(f"database: {safe_url(url)}", markup=False)
        running = Worker(
            make_sessions(engine),
            settings,
            chores=default_chores(settings, directory / "attachments"),
            name=f"worker-{_host_pid()}",
        )

        def stop(signum: int, frame: FrameType | None) -> None:
            running.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        out.print("worker running; SIGTERM or Ctrl+C stops it after the job in hand.", markup=False)
        running.run()
    finally:
        engine.dispose()


def _kept_link_key(directory: Path) -> None:
    """Sign the links in mail with the key `sladesk serve` keeps in the data directory, when none is set: a
    worker sharing the directory signs them as the pages check them (without one, the mail asks for a reply)."""
    import os

    from sladesk.cli.serve import SECRET_KEY_ENV, SECRET_KEY_FILE, kept_secret_key

    if not os.environ.get(SECRET_KEY_ENV, "").strip():
        key = kept_secret_key(directory / SECRET_KEY_FILE, create=False)
        if key is not None:
            os.environ[SECRET_KEY_ENV] = key
            out.print(f"links in mail are signed with the key kept in {directory / SECRET_KEY_FILE}", markup=False)


def _host_pid() -> str:
    import os
    import socket

    return f"{socket.gethostname()}-{os.getpid()}"
