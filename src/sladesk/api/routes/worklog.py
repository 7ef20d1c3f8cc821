"""/api/v1 routes for pins and logged time."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["worklog"])
