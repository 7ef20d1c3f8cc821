"""The FastAPI application: routes under /api/v1, OpenAPI at /api/openapi.json, problem documents.

Health: `/api/health` (and `/api/health/live`) says the process answers, without touching the database;
`/api/health/ready` says the desk can serve, its database answering (else 503 with Retry-After).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from sladesk import __version__
from sladesk.api import front, problems
from sladesk.api.limits import BodyLimit
from sladesk.api.routes import delivery, directory, files, incidents, meta, metrics, teams, tickets, triage, worklog
from sladesk.api.routes import oncall as oncall_routes
from sladesk.api.routes import reports as report_routes
from sladesk.api.routes.notification_rules import router as notification_rules_router
from sladesk.store.engine import DatabaseUnavailableError


def create_app(
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime] | None = None,
    attachments_dir: Path | None = None,
) -> FastAPI:
    """The API on a database; `clock` gives `now` (the wall clock unless a test fixes it).

    Attachments are kept in `attachments_dir` (default: `attachments` in the data directory).
    """
    app = FastAPI(
        title="sladesk",
        version=__version__,
        description="An SLA-driven support desk: tickets, their clocks, and the one work queue.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # served offline by `front`
        redoc_url=None,
    )
    app.state.sessions = sessions
    app.state.clock = clock or (lambda: datetime.now(UTC))
    app.state.attachments_dir = attachments_dir  # None: resolved in the data directory when first needed
    problems.install(app)
    app.add_middleware(BodyLimit)
    front.install(app)
    app.include_router(tickets.router)
    app.include_router(files.router)
    app.include_router(meta.router)
    app.include_router(triage.router)
    app.include_router(directory.router)
    app.include_router(delivery.router)
    app.include_router(metrics.router)
    app.include_router(teams.router)
    app.include_router(worklog.router)
    app.include_router(incidents.router)
    app.include_router(oncall_routes.router)
    app.include_router(report_routes.router)
    app.include_router(notification_rules_router)

    @app.get("/api/health", tags=["health"])
    @app.get("/api/health/live", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: the process answers. The database is not asked."""
        return {"status": "ok"}

    @app.get("/api/health/ready", tags=["health"], responses={503: {"description": "The database cannot be reached"}})
    def ready() -> JSONResponse:
        """Readiness: the database answers a query; 503 with Retry-After when it does not."""
        try:
            with sessions() as session:
                session.execute(text("SELECT 1"))
        except (DatabaseUnavailableError, DBAPIError) as error:
            return problems.unavailable(error)
        return JSONResponse({"status": "ok", "database": "ok"})

    return app
