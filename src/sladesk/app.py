"""The desk as one ASGI application, composed from its parts: what `sladesk serve` and uvicorn run.

The REST API (`sladesk.api`), the web pages (`sladesk.web`) and, when asked, the embedded worker
(`sladesk.jobs`), which runs in a thread of the server process from startup to shutdown.

`factory` is for uvicorn and process managers that import the app themselves; it reads the settings
from the environment (`SLADESK_DATABASE_URL`, `SLADESK_DATA_DIR`, see `sladesk.config`):

    uvicorn --factory sladesk.app:factory --workers 4 --no-server-header

It does not migrate the database (several workers would race to): run `sladesk db upgrade` first,
or `sladesk serve --workers N`, which migrates once and then starts the workers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sladesk import web
from sladesk.api import create_app
from sladesk.config import Settings, load_settings
from sladesk.jobs import Worker, WorkerThread
from sladesk.jobs.chores import default_chores
from sladesk.store import data_dir, database_url, make_engine, make_sessions
from sladesk.store.engine import ATTACHMENTS_DIRNAME


def compose(
    sessions: sessionmaker[Session],
    *,
    attachments_dir: Path | None = None,
    clock: Callable[[], datetime] | None = None,
    worker: Settings | None = None,
) -> FastAPI:
    """The application on a database's sessions; attachments are kept in `attachments_dir`.

    `clock` gives `now` (the wall clock unless a test fixes it). `attachments_dir` defaults to
    `attachments` in the configured data directory, resolved when first needed. With `worker` (the
    settings it delivers with), a worker runs in this process while the application does.
    """
    app = create_app(sessions, clock=clock, attachments_dir=attachments_dir)
    web.install(app)
    if worker is not None:
        chores = default_chores(worker, attachments_dir)
        embed_worker(app, Worker(sessions, worker, clock=app.state.clock, chores=chores))
    return app


def embed_worker(app: FastAPI, worker: Worker) -> None:
    """Run `worker` in a thread from the application's startup until its shutdown (finishing its pass)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: Any) -> AsyncIterator[Any]:
        thread = WorkerThread(worker)
        thread.start()
        try:
            async with inner(running) as state:
                yield state
        finally:
            thread.stop()

    app.router.lifespan_context = lifespan


def build(settings: Settings | None = None) -> FastAPI:
    """The application on the configured database and data directory (`settings`, else the environment's).

    The database engine is made here, one per process, and disposed of when the application shuts down.
    """
    settings = settings or load_settings()
    engine = make_engine(database_url(settings))
    try:
        app = compose(
            make_sessions(engine),
            attachments_dir=data_dir(settings) / ATTACHMENTS_DIRNAME,
            worker=settings if settings.embedded_worker else None,
        )
    except BaseException:
        engine.dispose()
        raise
    dispose_at_shutdown(app, engine)
    return app


def factory() -> FastAPI:
    """The application factory for uvicorn (`uvicorn --factory sladesk.app:factory`): settings from the environment."""
    return build(load_settings())


def dispose_at_shutdown(app: FastAPI, engine: Engine) -> None:
    """Close `engine`'s pooled connections once `app` has shut down (after its own lifespan, if any)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: Any) -> AsyncIterator[Any]:
        try:
            async with inner(running) as state:
                yield state
        finally:
            engine.dispose()

    app.router.lifespan_context = lifespan
