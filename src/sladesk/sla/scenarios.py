"""Policy tests: scenarios a policy file carries (or keeps beside it) and their pass/fail results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sladesk.errors import InputError, PolicyError, Problem, SladeskError
from sladesk.policy import Policy, load_policy, read_yaml
from sladesk.policy.load import BUILTIN_IDS, builtin_path, located, policy_from_document
from sladesk.sla.events import Event, parse_events, parse_instant, parse_ticket
from sladesk.sla.incidents import incident_start
from sladesk.sla.replay import ReplayReport, replay

_INSTANT_KEYS = ("due", "goal", "started_at", "stopped_at", "warning_at", "earlier_breach_due")
_VALUE_KEYS = (
    "state",
    "counted_seconds",
    "remaining_seconds",
    "percent_used",
    "excused",
    "cycle",
    "calendar",
    "goal_met",
)
_TICKET_KEYS = ("severity", "status", "awaiting_triage", "path", "category", "tier", "team", "pages_at")
_TEST_KEYS = {"name", "why", "ticket", "events", "now", "expect", "expect_ticket", "expect_error"}
TESTS_SUFFIX = ".tests.yaml"


@dataclass(frozen=True)
class Mismatch:
    metric: str
    field: str
    expected: Any
    actual: Any


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    file: str
    line: int | None
    mismatches: tuple[Mismatch, ...]
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None


def tests_file_beside(policy_file: Path) -> Path:
    return policy_file.with_name(f"{policy_file.stem}.tests.yaml")


def run_policy_tests(reference: str) -> tuple[Policy, list[ScenarioResult]]:
    """Run the scenarios of a policy (a built-in id, a policy file, or a `.tests.yaml` file)."""
    path = builtin_path(reference) if reference in BUILTIN_IDS else Path(reference)
    if not path.is_file():
        load_policy(reference)  # raises the unknown-policy error with the known ids
    document = read_yaml(path, path.name if reference in BUILTIN_IDS else None)
    name = path.name if reference in BUILTIN_IDS else str(path)
    sources: list[tuple[str, Any]] = []
    if _is_tests_file(path, document):
        policy = load_policy(_policy_of_tests_file(path, document, name))
        sources.append((name, document))
    else:
        policy = policy_from_document(document, name)
        if isinstance(document, Mapping) and document.get("tests"):
            sources.append((name, document))
        beside = tests_file_beside(path)
        if beside.is_file():
            sources.append((beside.name if reference in BUILTIN_IDS else str(beside), read_yaml(beside)))
    results: list[ScenarioResult] = []
    for file_name, source in sources:
        results.extend(_run_all(policy, source, file_name))
    return policy, results


def _is_tests_file(path: Path, document: Any) -> bool:
    if path.name.endswith(TESTS_SUFFIX):
        return True
    return isinstance(document, Mapping) and "tests" in document and "timezone" not in document


def _policy_of_tests_file(tests_path: Path, document: Any, name: str) -> str:
    """The policy a tests file tests: its `policy:` (a policy file, the id of a policy file beside it, or a
    built-in id), else the policy file it is named after (`acme.yaml` for `acme.tests.yaml`)."""
    directory = tests_path.parent
    named = document.get("policy") if isinstance(document, Mapping) else None
    if named is None:
        stem = tests_path.name.removesuffix(TESTS_SUFFIX)
        for candidate in (directory / f"{stem}.yaml", directory / f"{stem}.yml"):
            if candidate.is_file():
                return str(candidate)
        message = "name the policy these scenarios test with `policy:` (its id, or its file)"
        raise PolicyError([Problem(name, 1, "policy", message)])
    policy_ref = str(named)
    for candidate in (directory / policy_ref, Path(policy_ref)):
        if candidate.is_file():
            return str(candidate)
    beside = _policy_file_with_id(directory, policy_ref, document, name)
    if beside is not None:
        return str(beside)
    if policy_ref in BUILTIN_IDS:
        return policy_ref
    message = (
        f"unknown policy {policy_ref!r}: no policy file beside this one has that id, "
        f"nor is it a built-in ({', '.join(BUILTIN_IDS)})"
    )
    raise PolicyError([located(document, name, ("policy",), message)])


def _policy_file_with_id(directory: Path, policy_id: str, document: Any, name: str) -> Path | None:
    """The policy file in `directory` whose `id` is `policy_id`: the one named after it, else the only one.

    A file beside a tests file is the policy it means, so it is preferred to a built-in with the same id.
    """
    named_after = [directory / f"{policy_id}.yaml", directory / f"{policy_id}.yml"]
    for candidate in named_after:
        if _has_id(candidate, policy_id):
            return candidate
    others = sorted(
        path
        for pattern in ("*.yaml", "*.yml")
        for path in directory.glob(pattern)
        if path not in named_after and not path.name.endswith(TESTS_SUFFIX)
    )
    found = [path for path in others if _has_id(path, policy_id)]
    if len(found) > 1:
        files = ", ".join(path.name for path in found)
        message = f"{len(found)} policy files beside this one have id {policy_id!r} ({files}): name the file instead"
        raise PolicyError([located(document, name, ("policy",), message)])
    return found[0] if found else None


def _has_id(path: Path, policy_id: str) -> bool:
    if not path.is_file():
        return False
    try:
        document = read_yaml(path)
    except PolicyError:
        return False  # not readable as YAML: not the policy asked for, whatever it is
    return isinstance(document, Mapping) and document.get("id") == policy_id


def _run_all(policy: Policy, document: Any, file_name: str) -> list[ScenarioResult]:
    tests = document.get("tests") if isinstance(document, Mapping) else None
    if tests is None:
        return []
    if not isinstance(tests, list):
        raise PolicyError([located(document, file_name, ("tests",), "`tests` must be a list of scenarios")])
    return [_run_one(policy, test, index, document, file_name) for index, test in enumerate(tests)]


def _run_one(policy: Policy, test: Any, index: int, document: Any, file_name: str) -> ScenarioResult:
    where = located(document, file_name, ("tests", index), "")
    name = str(test.get("name", f"test {index}")) if isinstance(test, Mapping) else f"test {index}"
    try:
        if not isinstance(test, Mapping):
            raise InputError("a scenario must be a mapping with name, ticket, events, now and expect")
        unknown = set(test) - _TEST_KEYS
        if unknown:
            raise InputError(f"unknown field(s) in scenario: {', '.join(sorted(unknown))}")
        events = parse_events(test.get("events"))
        now = parse_instant(test["now"], "`now`") if test.get("now") is not None else events[-1].at
        refused = test.get("expect_error")
        if refused is not None:
            return _expect_refusal(policy, test, events, now, str(refused), (name, file_name, where.line))
        report = replay(policy, parse_ticket(test.get("ticket")), events, now)
        actual = report.to_json()["metrics"]
        mismatches = _compare(test.get("expect") or {}, actual)
        mismatches += _compare_ticket(test.get("expect_ticket") or {}, report, events)
    except SladeskError as error:
        return ScenarioResult(name, file_name, where.line, (), str(error))
    return ScenarioResult(name, file_name, where.line, tuple(mismatches))


def _expect_refusal(
    policy: Policy,
    test: Mapping[str, Any],
    events: Sequence[Event],
    now: datetime,
    wanted: str,
    where: tuple[str, str, int | None],
) -> ScenarioResult:
    """A scenario whose history the policy must refuse, with a message containing `wanted`."""
    name, file_name, line = where
    try:
        replay(policy, parse_ticket(test.get("ticket")), events, now)
    except InputError as error:
        if wanted.lower() in str(error).lower():
            return ScenarioResult(name, file_name, line, ())
        return ScenarioResult(name, file_name, line, (Mismatch("history", "error", wanted, str(error)),))
    return ScenarioResult(name, file_name, line, (Mismatch("history", "error", wanted, "accepted"),))


def _compare(expect: Any, actual: Mapping[str, Any]) -> list[Mismatch]:
    if not isinstance(expect, Mapping):
        raise InputError("`expect` must map metric ids to expected fields")
    mismatches: list[Mismatch] = []
    for metric_id, fields in expect.items():
        if metric_id not in actual:
            raise InputError(f"`expect` names metric {metric_id!r}, which the policy does not define")
        if not isinstance(fields, Mapping):
            raise InputError(f"`expect.{metric_id}` must map fields to expected values")
        for field, wanted in fields.items():
            if field not in _INSTANT_KEYS and field not in _VALUE_KEYS:
                raise InputError(f"`expect.{metric_id}` has unknown field {field!r}")
            got = (
                (actual[metric_id].get("earlier_breach") or {}).get("due")
                if field == "earlier_breach_due"
                else actual[metric_id][field]
            )
            if not _same(field, wanted, got):
                mismatches.append(Mismatch(metric_id, field, wanted, got))
    return mismatches


def _compare_ticket(expect: Any, report: ReplayReport, events: Sequence[Event]) -> list[Mismatch]:
    """The ticket's own facts at `now`: its live severity (by code), status, triage, path, category, tier,
    team, and `pages_at`, the instant its on-call incident starts (null: it pages nobody)."""
    if not isinstance(expect, Mapping):
        raise InputError("`expect_ticket` must map ticket fields to expected values")
    history = report.history
    actual = {
        "severity": report.severity.code,
        "status": history.status,
        "awaiting_triage": history.awaiting_triage,
        "path": history.path,
        "category": history.category,
        "tier": history.tier,
        "team": history.team,
        "pages_at": incident_start(report, events),
    }
    mismatches = []
    for field, wanted in expect.items():
        if field not in _TICKET_KEYS:
            raise InputError(f"`expect_ticket` has unknown field {field!r} (known: {', '.join(_TICKET_KEYS)})")
        if field == "pages_at" and wanted is not None:
            wanted = parse_instant(wanted, "`expect_ticket.pages_at`")
        if wanted != actual[field]:
            mismatches.append(Mismatch("ticket", field, wanted, actual[field]))
    return mismatches


def _same(field: str, wanted: Any, got: Any) -> bool:
    if field in _INSTANT_KEYS:
        if wanted is None or got is None:
            return wanted is None and got is None
        expected_instant = parse_instant(wanted, f"`{field}`")
        return expected_instant == datetime.fromisoformat(got)
    if field == "percent_used" and wanted is not None and got is not None:
        return abs(float(wanted) - float(got)) < 0.05
    return bool(wanted == got)
