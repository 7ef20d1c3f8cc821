"""The README's walk through the running service: every `curl` block, run in bash against `sladesk serve`.

All blocks run in order in one shell, as in one terminal. The demo data is made with `sladesk demo --no-serve` and served with `sladesk serve --data-dir`, as the
README says. Each `NAME=sld_...   # <email>'s token` line gets that user's token from the demo's output,
and the port is a free one. A comment line after a command that shows JSON (`# {...}`, `# [...]`) or
after a `sladesk` command is the output that command must print; `...` stands for any text.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.processes import env, free_port, serving, sladesk

README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## The service") : README.index("## Python API")]
BLOCKS = [block for block in re.findall(r"```sh\n(.*?)```", SECTION, flags=re.DOTALL) if "curl" in block]
TOKEN_LINE = re.compile(r"^(\w+)=sld_\.\.\.\s+# (\S+)'s token$")
MARK = "@@step@@"


def _steps(block: str) -> list[tuple[str, str | None]]:
    """(command, expected output or None) in order; prose comments are left out."""
    lines = block.splitlines()
    steps: list[tuple[str, str | None]] = []
    index = 0
    while index < len(lines):
        command = [lines[index]]
        index += 1
        if command[0].startswith("#"):
            continue
        while command[-1].endswith("\\"):
            command.append(lines[index])
            index += 1
        text = "\n".join(command)
        expected = None
        if index < len(lines) and lines[index].startswith("# "):
            comment = lines[index][2:]
            if comment[:1] in "{[" or text.startswith("sladesk "):
                expected = comment
                index += 1
        steps.append((text, expected))
    return steps


def _matches(expected: str, output: str) -> bool:
    try:
        shown = json.dumps(json.loads(output), ensure_ascii=False)
    except json.JSONDecodeError:
        shown = output.strip()
    pattern = re.escape(expected).replace(re.escape("..."), ".*")
    return re.fullmatch(pattern, shown, flags=re.DOTALL) is not None


def test_the_readme_has_a_walk_through_with_outputs_to_check():
    steps = [step for block in BLOCKS for step in _steps(block)]
    assert len(BLOCKS) >= 4
    assert sum(expected is not None for _, expected in steps) >= 6


@pytest.mark.cli
def test_every_curl_walk_through_in_the_readme_does_what_it_shows(tmp_path: Path):
    data = tmp_path / "data"
    demo = sladesk("demo", "--no-serve", "--data-dir", str(data))
    assert demo.returncode == 0, demo.stderr
    tokens = {}
    for line in demo.stdout.splitlines():
        email, token = re.search(r"(\S+@\S+)", line), re.search(r"(sld_[\w-]+)", line)
        if email and token:
            tokens[email.group(1)] = token.group(1)
    work = tmp_path / "work"
    work.mkdir()
    with serving(["serve", "--data-dir", str(data)], free_port(), tmp_path / "serve.log") as base:
        steps = [step for block in BLOCKS for step in _steps(block)]  # one terminal: variables carry over
        script = ["set -euo pipefail"]
        for command, _ in steps:
            token_line = TOKEN_LINE.match(command)
            if token_line is not None:
                command = f"{token_line.group(1)}={tokens[token_line.group(2)]}"
            script += [command.replace("http://127.0.0.1:8000", base), f"printf '\\n{MARK}\\n'"]
        shell = {**env(), "SLADESK_DATA_DIR": str(data)}  # `sladesk admin` works on the served desk
        run = subprocess.run(
            ["bash", "-c", "\n".join(script)], cwd=work, env=shell, capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    outputs = run.stdout.split(f"\n{MARK}\n")
    assert len(outputs) == len(steps) + 1
    for (command, expected), output in zip(steps, outputs, strict=False):
        if expected is not None:
            assert _matches(expected, output), f"{command}\nprinted:\n{output}\nthe README shows:\n{expected}"
