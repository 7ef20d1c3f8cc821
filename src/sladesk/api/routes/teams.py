"""/api/v1 routes for teams and their members."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["teams"])
