"""The FastAPI application: routes under /api/v1, OpenAPI at /api/openapi.json, problem documents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from sladesk import __version__
from sladesk.api import problems
from sladesk.api.routes import meta, tickets


def create_app(sessions: sessionmaker[Session], clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The API on a database; `clock` gives `now` (the wall clock unless a test fixes it)."""
    app = FastAPI(
        title="sladesk",
        version=__version__,
        description="An SLA-driven support desk: tickets, their clocks, and the one work queue.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.sessions = sessions
    app.state.clock = clock or (lambda: datetime.now(UTC))
    problems.install(app)
    app.include_router(tickets.router)
    app.include_router(meta.router)

    @app.get("/api/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
