"""The reference in docs/ holds: its API walk-through runs, its links resolve, and the lock file pins every dependency.

The walk-through of docs/api.md runs as its reader would run it: every `sh` block of the section, in order, in one
bash shell, against `sladesk serve` on a new data directory. A `# ` line right after a command that starts with `{`,
`[` or a status code is what that command must print (`...` stands for any text); `NAME=sld_...   # the token just
shown` takes the token from the answer before it.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support import ROOT
from tests.support.processes import env, free_port, serving

README = (ROOT / "README.md").read_text(encoding="utf-8")
API_DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
WALK_THROUGH = API_DOC[API_DOC.index("## Walk-through") :]
LOCK = ROOT / "requirements.lock"
MARK = "@@step@@"
TOKEN_JUST_SHOWN = re.compile(r"^(\w+)=sld_\.\.\.\s+# the token just shown$")
ASSIGNMENT = re.compile(r"^\w+=")


def _steps(text: str) -> list[tuple[str, str | None]]:
    """(command, what it prints or None) for every command of the `sh` blocks in `text`, in order."""
    steps: list[tuple[str, str | None]] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            command = [lines[index]]
            index += 1
            if command[0].startswith("#") or not command[0].strip():
                continue
            while command[-1].endswith("\\"):
                command.append(lines[index])
                index += 1
            expected = None
            if index < len(lines) and re.match(r"# (\{|\[|\d{3}$)", lines[index]):
                expected = lines[index][2:]
                index += 1
            steps.append(("\n".join(command), expected))
    return steps


def _shown(output: str) -> str:
    """An answer as the doc writes it: JSON with `", "` and `": "` between items, anything else stripped."""
    try:
        return json.dumps(json.loads(output), ensure_ascii=False)
    except json.JSONDecodeError:
        return output.strip()


def _matches(expected: str, output: str) -> bool:
    pattern = re.escape(expected).replace(re.escape("..."), ".*")
    return re.fullmatch(pattern, _shown(output), flags=re.DOTALL) is not None


def _script(steps: list[tuple[str, str | None]], base: str) -> str:
    """One bash script: each command's output, then a mark; `OUT` holds the last answer for the token lines."""
    script = ["set -euo pipefail", 'OUT=""']
    for command, _ in steps:
        command = command.replace("http://127.0.0.1:8000", base)
        token = TOKEN_JUST_SHOWN.match(command)
        if token is not None:
            script.append(f"{token.group(1)}=$(printf '%s' \"$OUT\" | grep -o 'sld_[A-Za-z0-9_-]*' | head -n 1)")
            script.append('OUT=""')
        elif ASSIGNMENT.match(command):
            script += [command, 'OUT=""']
        else:
            script.append(f"OUT=$({command})")
        script.append(f"printf '%s\\n{MARK}\\n' \"$OUT\"")
    return "\n".join(script)


def test_the_api_walk_through_has_answers_to_check():
    steps = _steps(WALK_THROUGH)
    assert sum(expected is not None for _, expected in steps) >= 15
    assert any(TOKEN_JUST_SHOWN.match(command) for command, _ in steps)
    assert steps[0][0].startswith("ADMIN=$(sladesk admin ")


@pytest.mark.cli
def test_the_api_walk_through_answers_what_the_doc_shows(tmp_path: Path):
    data = tmp_path / "data"
    steps = _steps(WALK_THROUGH)
    with serving(["serve", "--data-dir", str(data)], free_port(), tmp_path / "serve.log") as base:
        shell = {**env(), "SLADESK_DATA_DIR": str(data)}  # `sladesk admin` adds the admin to the served desk
        run = subprocess.run(
            ["bash", "-c", _script(steps, base)], cwd=tmp_path, env=shell, capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    outputs = run.stdout.split(f"\n{MARK}\n")
    assert len(outputs) == len(steps) + 1
    for (command, expected), output in zip(steps, outputs, strict=False):
        if expected is not None:
            assert _matches(expected, output), f"{command}\nprinted:\n{output}\nthe doc shows:\n{expected}"


def _relative_links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    return [link for link in links if not re.match(r"[a-z]+:", link) and not link.startswith("#")]


def _anchors(path: Path) -> set[str]:
    """The `#fragment` of each heading, as the usual Markdown renderers make them."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))])
def test_every_link_of_the_reference_leads_to_a_file_and_heading_in_the_repository(page: str):
    path = ROOT / page
    for link in _relative_links(path):
        file, _, fragment = link.partition("#")
        target = (path.parent / file).resolve()
        assert target.is_relative_to(ROOT), f"{page} links outside the repository: {link}"
        assert target.exists(), f"{page} links to a missing file: {link}"
        if fragment and target.suffix == ".md":
            assert fragment in _anchors(target), f"{page} links to a heading {file} does not have: {link}"


def _project_files() -> list[Path]:
    """The project's own text: its documents, code, tests, benchmarks, examples and CI script (not this file)."""
    files = [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / ".ci" / "run"]
    for folder in ("docs", "src", "tests", "benchmarks", "examples"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".md", ".py", ".yaml", ".json", ".mako")]
    return [p for p in files if p.resolve() != Path(__file__).resolve()]


def test_nothing_in_the_project_points_at_documents_outside_it():
    outside = re.compile(r"\b(DESIGN|SEMANTICS)\.md\b|\.\./shared/")
    for path in _project_files():
        found = outside.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path.relative_to(ROOT)} names {found.group(0)}, which is not in the repository"


def test_the_readme_links_the_whole_reference():
    linked = set(_relative_links(ROOT / "README.md"))
    for page in ("api.md", "operations.md", "clocks.md", "configuration.md", "policy-format.md"):
        assert any(link.split("#")[0] == f"docs/{page}" for link in linked), f"the README does not link docs/{page}"


def _test_command() -> str:
    section = README[README.index("Run the tests") :]
    command = re.search(r"```sh\n(.*?)\n```", section, flags=re.DOTALL)
    assert command is not None
    return command.group(1)


def test_ci_runs_exactly_the_readme_test_command_last():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == _test_command()


def test_both_readme_commands_install_the_locked_versions():
    demo = re.search(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)
    assert demo is not None
    assert "pip install -c requirements.lock -e . " in demo.group(1)
    assert 'pip install -c requirements.lock -e ".[dev]"' in _test_command()


def _normalised(name: str) -> str:
    """A project name as PEP 503 compares them: case and runs of `-`, `_` and `.` do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, separator, version = line.partition("==")
        assert separator and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+!-]*", version), f"not pinned exactly: {line}"
        pins[_normalised(name)] = version
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    return [Requirement(spec) for spec in specs]


def test_the_lock_pins_every_dependency_pyproject_names_within_its_range():
    pins = _locked()
    for requirement in _declared():
        name = _normalised(requirement.name)
        assert name in pins, (
            f"pyproject.toml names {requirement.name}, which requirements.lock does not pin: regenerate it "
            "(see the README)"
        )
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject.toml's {requirement}: regenerate it"
        )
