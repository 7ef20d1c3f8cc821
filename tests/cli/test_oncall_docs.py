"""The walk-through of docs/oncall-desk.md runs as its reader would run it, against `sladesk serve` on a new desk.

Every `sh` block of its "Walk-through" section runs in order in one bash shell; a `# ` line after a command is
what the command must print (`...` for any text), as for the walk-through of docs/api.md.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli.test_docs_and_lock import MARK, _matches, _script, _steps
from tests.support import ROOT
from tests.support.processes import env, free_port, serving

DOC = (ROOT / "docs" / "oncall-desk.md").read_text(encoding="utf-8")
WALK_THROUGH = DOC[DOC.index("## Walk-through") :]


def test_the_walk_through_has_answers_to_check():
    steps = _steps(WALK_THROUGH)
    assert sum(expected is not None for _, expected in steps) >= 9
    assert steps[0][0].startswith("ADMIN=$(sladesk admin ")


@pytest.mark.cli
def test_the_oncall_walk_through_answers_what_the_doc_shows(tmp_path: Path):
    data = tmp_path / "data"
    steps = _steps(WALK_THROUGH)
    with serving(["serve", "--data-dir", str(data)], free_port(), tmp_path / "serve.log") as base:
        shell = {**env(), "SLADESK_DATA_DIR": str(data)}
        run = subprocess.run(
            ["bash", "-c", _script(steps, base)], cwd=tmp_path, env=shell, capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    outputs = run.stdout.split(f"\n{MARK}\n")
    assert len(outputs) == len(steps) + 1
    for (command, expected), output in zip(steps, outputs, strict=False):
        if expected is not None:
            assert _matches(expected, output), f"{command}\nprinted:\n{output}\nthe doc shows:\n{expected}"
    now = dict(zip((command for command, _ in steps), outputs, strict=False))[
        "sladesk oncall now primary --at 2026-03-23T14:00:00Z"
    ]
    assert now == "primary at 2026-03-23T14:00:00Z: Avery Agent <avery@example.com> (user 2)"
