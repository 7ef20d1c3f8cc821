"""The admin area: organisations, users and tokens, the outbox's failed deliveries, and the policies."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from sladesk.web.pages import Admin, page_router, render

router = page_router()


@router.get("/admin")
def overview(request: Request, visitor: Admin) -> HTMLResponse:
    return render(request, "admin/overview.html", {"title": "Admin"})
