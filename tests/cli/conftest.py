"""Run the installed `sladesk` command for real, in a subprocess (see `tests.support.processes`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.processes import Run, run


@pytest.fixture(scope="session")
def sladesk() -> Callable[..., Run]:
    """`sladesk(*args, stdin=None, cwd=ROOT)`: the command's exit code, standard output and standard error."""
    return run
