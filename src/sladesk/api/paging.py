"""Opaque cursors for id-ordered lists: `next_cursor` out, `cursor` back in."""

from __future__ import annotations

import base64
import re
from typing import Annotated

from fastapi import Query

from sladesk.services import InvalidFieldError

_ID = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1  # the largest id any table holds (PostgreSQL integer)

Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


def encode_cursor(kind: str, row_id: int) -> str:
    """A cursor after `row_id` in a list of `kind` (a letter, so one list's cursor is refused by another)."""
    return base64.urlsafe_b64encode(f"{kind}{row_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """The id a cursor points after; None for the first page; a located error for anything else."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    digits = text[len(kind) :]
    # ASCII digits of an id some row can have: str.isdigit() takes '²', and int() refuses 4,301 digits or more
    if not text.startswith(kind) or not _ID.fullmatch(digits) or int(digits) > MAX_ID:
        raise InvalidFieldError("cursor", "not a cursor this API gave out")
    return int(digits)
