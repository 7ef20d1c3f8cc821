"""The reports dashboard: attainment, times and breaches as charts, each with its CSV and its tickets."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
