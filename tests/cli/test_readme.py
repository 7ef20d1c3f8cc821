"""Every `$ sladesk ...` example in the README runs and prints exactly what the README shows."""

from __future__ import annotations

import re
import shlex
from datetime import datetime
from typing import cast

import pytest

from sladesk.sla import ReplayReport
from tests.support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _console_examples() -> list[tuple[str, str]]:
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.DOTALL):
        command: str | None = None
        output: list[str] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    examples.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                output.append(line)
        if command is not None:
            examples.append((command, "\n".join(output)))
    return examples


EXAMPLES = _console_examples()


def test_readme_has_examples_to_check():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example_prints_what_the_readme_shows(sladesk, command, expected):
    argv = shlex.split(command)
    assert argv[0] == "sladesk"
    result = sladesk(*argv[1:])
    assert result.code == 0, result.stderr
    assert result.stdout.rstrip("\n") == expected.rstrip("\n")


def test_readme_first_command_installs_the_package_alone_and_starts_the_demo_desk():
    first_command = re.search(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)
    assert first_command is not None
    assert first_command.group(1) == (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -c requirements.lock -e . && sladesk demo"
    )


def test_readme_python_api_example_runs_and_its_comments_hold():
    code = re.search(r"```python\n(.*?)```", README, flags=re.DOTALL)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    report = cast(ReplayReport, namespace["report"])
    due = report.metrics["first_response"].due
    assert due == datetime.fromisoformat("2026-11-30T10:00-05:00")
