"""sladesk serve: the desk's application on a port, in this process or in several worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sladesk.cli.common import DatabaseUrlOption, DataDirOption, HostOption, PortOption, data_directory, out, sqlite_url
from sladesk.config import DEFAULT_HOST, DEFAULT_PORT, ENV_PREFIX, Settings
from sladesk.errors import SladeskError

if TYPE_CHECKING:
    from sqlalchemy import Engine


class ServeError(SladeskError):
    """The service cannot run as asked: the address is in use or not available, or SQLite for several workers."""


PUBLIC_URL_ENV = f"{ENV_PREFIX}PUBLIC_URL"
SECRET_KEY_ENV = f"{ENV_PREFIX}SECRET_KEY"

WorkersOption = Annotated[
    int, typer.Option(help="API processes sharing the port; more than 1 needs PostgreSQL.", min=1)
]


def serve(
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
    workers: WorkersOption = 1,
) -> None:
    """Apply any missing migrations, then run the API until interrupted (Ctrl+C).

    The database is --database-url, else $SLADESK_DATABASE_URL, else SQLite in the data directory;
    attachments are kept in the data directory. With --workers N, N processes serve the API
    (PostgreSQL only: SQLite is served by one process).
    """
    from sladesk.services.maintenance import upgrade_desk
    from sladesk.store import database_url as configured_url
    from sladesk.store import make_engine, safe_url

    _refuse_sqlite_workers(workers, database_url, data_dir)
    check_port(host, port)
    directory = data_directory(data_dir)
    url = database_url or (configured_url() if data_dir is None else sqlite_url(directory))
    engine = make_engine(url)
    try:
        upgrade_desk(engine, attachments_dir=directory / "attachments")
    except BaseException:
        engine.dispose()
        raise
    out.print(f"database: {safe_url(url)}", markup=False)
    if workers == 1:
        run_api(engine, host, port, directory)
        return
    engine.dispose()  # each worker makes its own
    run_api_workers(url, directory, host, port, workers)


def _refuse_sqlite_workers(workers: int, database_url: str | None, data_dir: Path | None) -> None:
    """Refuse, before any work, several workers on SQLite: its writers would only queue for one file lock."""
    if workers == 1:
        return
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    from sladesk.config import load_settings

    url = database_url or (load_settings().database_url if data_dir is None else None)
    try:
        backend = make_url(url).get_backend_name() if url else "sqlite"
    except ArgumentError:
        return  # not a URL at all: make_engine says so
    if backend == "sqlite":
        raise ServeError(
            f"--workers {workers} needs PostgreSQL: an SQLite database is served by one process "
            "(set --database-url or SLADESK_DATABASE_URL to a postgresql+psycopg:// URL, or run one worker)"
        )


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def check_port(host: str, port: int) -> None:
    """Fail with one line, before any work, when nothing could listen at host:port."""
    import socket

    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as error:
            raise ServeError(
                f"cannot listen on {base_url(host, port)}: {error.strerror} (choose another one with --port)"
            ) from None


# On a stop, requests in flight get this long to finish; then the rest (pages' open live-update streams) are
# cancelled instead of holding the stop until each ends by itself.
GRACEFUL_SHUTDOWN_S = 5


def run_api(engine: Engine, host: str, port: int, data_dir: Path) -> None:
    """Run the application on `engine` at host:port, in this process, until interrupted; then dispose of `engine`.

    The attachments and the key that signs links in mail are kept in `data_dir`."""
    import uvicorn

    from sladesk.api.limits import GuardedHttpProtocol
    from sladesk.app import compose
    from sladesk.config import load_settings
    from sladesk.store import make_sessions

    base = base_url(host, port)
    out.print(f"Serving at {base} (API docs at {base}/api/docs); Ctrl+C stops it.", markup=False)
    default_link_settings(host, port, data_dir)
    try:
        uvicorn.run(
            compose(
                make_sessions(engine),
                attachments_dir=data_dir / "attachments",
                worker=_worker_settings(load_settings()),
            ),
            host=host,
            port=port,
            log_level="info",
            server_header=False,  # no `Server: uvicorn` telling a client what to attack
            http=GuardedHttpProtocol,  # deadlines for slow clients, caps on request heads
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
    finally:
        engine.dispose()


def default_link_settings(host: str, port: int, data_dir: Path) -> None:
    """Make the links in the desk's mail work when their settings are unset, for this process and its workers.

    `SLADESK_PUBLIC_URL` becomes the address served (this machine's name when listening on every interface);
    `SLADESK_SECRET_KEY`, which signs the links, the key kept in the data directory's `secret-key` file,
    made at the first start: links sent before a restart keep working.
    """
    import os
    import socket

    if not os.environ.get(PUBLIC_URL_ENV, "").strip():
        reachable = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
        os.environ[PUBLIC_URL_ENV] = base_url(reachable, port)
    out.print(f"links in mail: {os.environ[PUBLIC_URL_ENV].strip()}", markup=False)
    if not os.environ.get(SECRET_KEY_ENV, "").strip():
        kept = data_dir / SECRET_KEY_FILE
        os.environ[SECRET_KEY_ENV] = kept_secret_key(kept, create=True) or ""
        out.print(
            f"links in mail are signed with the key kept in {kept}; set {SECRET_KEY_ENV} to use one of your own",
            markup=False,
        )


SECRET_KEY_FILE = "secret-key"


def kept_secret_key(path: Path, *, create: bool) -> str | None:
    """The link-signing key kept in `path`; with `create`, a new random one written there (readable by its
    owner only) when there is none yet, else None. Two processes starting at once agree on one key."""
    import os
    import secrets

    from sladesk.errors import StoreError

    try:
        if create:
            try:
                handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(handle, "w", encoding="ascii") as written:
                    written.write(secrets.token_urlsafe(32) + "\n")
        key = path.read_text(encoding="ascii").strip() if path.exists() else ""
    except (OSError, UnicodeDecodeError) as error:
        raise StoreError(f"cannot keep the key that signs links in mail in {path}: {error}") from None
    if create and not key:
        raise StoreError(f"{path} holds no key: delete it, or set {SECRET_KEY_ENV}")
    return key or None


def _worker_settings(settings: Settings) -> Settings | None:
    """The settings the embedded worker delivers with, or None when standalone workers do that work."""
    if settings.embedded_worker:
        import logging

        from sladesk.jobs.logs import configure_logging

        configure_logging(logging.INFO)
        out.print("worker: timers and outgoing messages run in this process", markup=False)
        return settings
    out.print("worker: off here (SLADESK_EMBEDDED_WORKER=false); run `sladesk worker`", markup=False)
    return None


def run_api_workers(url: str, data_dir: Path, host: str, port: int, workers: int) -> None:
    """Run the application in `workers` processes sharing host:port until interrupted.

    Each worker builds it with `sladesk.app:factory` from the environment, which gets this database and
    data directory; the processes are stopped together (Ctrl+C, or SIGTERM to this one).
    """
    import os

    import uvicorn

    from sladesk.api.limits import GuardedHttpProtocol
    from sladesk.store.engine import DATA_DIR_ENV, DATABASE_URL_ENV

    os.environ[DATABASE_URL_ENV] = url
    os.environ[DATA_DIR_ENV] = str(data_dir)
    default_link_settings(host, port, data_dir)
    base = base_url(host, port)
    out.print(
        f"Serving at {base} with {workers} worker processes (API docs at {base}/api/docs); Ctrl+C stops them.",
        markup=False,
    )
    uvicorn.run(
        "sladesk.app:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        server_header=False,
        http=GuardedHttpProtocol,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
