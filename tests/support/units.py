"""Use cases run as an adapter runs them: each call in a writing unit of work of its own."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from sladesk.store import transaction

Result = TypeVar("Result")


def committed(use_case: Callable[..., Result]) -> Callable[..., Result]:
    """`use_case(session, ...)` as `use_case(sessions, ...)`: one transaction per call, committed on return."""

    @wraps(use_case)
    def run(sessions: sessionmaker[Session], *args: Any, **kwargs: Any) -> Result:
        with transaction(sessions) as session:
            return use_case(session, *args, **kwargs)

    return run
