"""Policy tests: scenarios a policy file carries (or keeps beside it) and their pass/fail results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sladesk.errors import InputError, PolicyError, SladeskError
from sladesk.policy import Policy, load_policy, read_yaml
from sladesk.policy.load import BUILTIN_IDS, builtin_path, located, policy_from_document
from sladesk.sla.events import parse_events, parse_instant, parse_ticket
from sladesk.sla.replay import replay

_INSTANT_KEYS = ("due", "goal", "started_at", "stopped_at", "warning_at")
_VALUE_KEYS = ("state", "counted_seconds", "remaining_seconds", "percent_used", "excused", "cycle", "calendar")
_TEST_KEYS = {"name", "why", "ticket", "events", "now", "expect"}


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
    if isinstance(document, Mapping) and "tests" in document and "timezone" not in document:
        policy_ref = document.get("policy") or reference
        policy = load_policy(_beside(path, str(policy_ref)))
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


def _beside(tests_path: Path, policy_ref: str) -> str:
    if policy_ref in BUILTIN_IDS:
        return policy_ref
    candidate = tests_path.parent / policy_ref
    return str(candidate) if candidate.is_file() else policy_ref


def _run_all(policy: Policy, document: Any, file_name: str) -> list[ScenarioResult]:
    tests = document.get("tests")
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
        report = replay(policy, parse_ticket(test.get("ticket")), events, now)
        actual = report.to_json()["metrics"]
        mismatches = _compare(test.get("expect") or {}, actual)
    except SladeskError as error:
        return ScenarioResult(name, file_name, where.line, (), str(error))
    return ScenarioResult(name, file_name, where.line, tuple(mismatches))


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
            got = actual[metric_id][field]
            if not _same(field, wanted, got):
                mismatches.append(Mismatch(metric_id, field, wanted, got))
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
