"""Run the installed `sladesk` command for real, in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def _sladesk_executable() -> str:
    beside_python = Path(sys.executable).with_name("sladesk")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("sladesk")
    if found is None:
        pytest.fail("the sladesk command is not installed (pip install -e .)")
    return found


@pytest.fixture(scope="session")
def sladesk():
    executable = _sladesk_executable()

    def run(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> Run:
        env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
        completed = subprocess.run(
            [executable, *args], input=stdin, capture_output=True, text=True, cwd=cwd, env=env, timeout=120
        )
        return Run(completed.returncode, completed.stdout, completed.stderr)

    return run
