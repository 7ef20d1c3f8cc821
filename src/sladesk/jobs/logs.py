"""Structured logs: one JSON object per line, with what the worker did as fields (ticket, timer, kind)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


def configure_logging(level: int = logging.INFO) -> None:
    """Send sladesk's logs to stderr as JSON lines (`time`, `level`, `logger`, `message` and the extras)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    logger = logging.getLogger("sladesk")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
