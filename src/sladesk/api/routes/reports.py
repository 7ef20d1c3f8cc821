"""The reports API: attainment, times, what-if and forecast."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
