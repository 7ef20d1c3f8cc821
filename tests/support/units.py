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


# The desk's setup use cases, each committed on its own as a test fixture needs them.
import sladesk.demo as _demo  # noqa: E402
import sladesk.services.accounts as _accounts  # noqa: E402
import sladesk.services.directory as _directory  # noqa: E402

create_organisation = committed(_directory.create_organisation)
create_user = committed(_directory.create_user)
issue_token = committed(_directory.issue_token)
update_organisation = committed(_directory.update_organisation)
update_user = committed(_directory.update_user)
bootstrap_admin = committed(_directory.bootstrap_admin)
list_tokens = committed(_accounts.list_tokens)
seed_demo = committed(_demo.seed_demo)
