"""The web pages: sign-in, the customer portal, the agent console and the admin area, served by `sladesk serve`.

Pages call the same use cases and read models as the API (`sladesk.services`), never the store directly.
Their assets (`static/`) are the desk's own files: nothing is loaded from another host.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from sladesk.web import admin, console, incident_links, live, oncall, portal, reports, signin


def install(app: FastAPI) -> None:
    """Add the pages and their static assets to `app`."""
    app.mount("/static", StaticFiles(packages=[("sladesk.web", "static")]), name="static")
    app.include_router(signin.router)
    app.include_router(portal.router)
    app.include_router(console.router)
    app.include_router(live.router)
    app.include_router(admin.router)
    app.include_router(oncall.router)
    app.include_router(reports.router)
    app.include_router(incident_links.router)
