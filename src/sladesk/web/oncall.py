"""The on-call pages: schedules and who is on call now."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
