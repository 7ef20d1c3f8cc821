"""Policy scenario tests: read from the policy file or from the file beside it, and reported exactly."""

from __future__ import annotations

from pathlib import Path

from sladesk.sla.scenarios import Mismatch, run_policy_tests
from tests.unit.test_policy_load import MINIMAL

SCENARIOS = """\
tests:
  - name: two hours from Monday 17:00 Paris is Tuesday 10:00 (one hour each side of the night)
    ticket: {severity: S1}
    events:
      - {at: "2026-12-07T17:00:00+01:00", type: opened}
    expect:
      first_response: {state: running, due: "2026-12-08T10:00:00+01:00", counted_seconds: 0}
  - name: a wrong expectation is reported field by field
    ticket: {severity: 1}
    events:
      - {at: "2026-12-07T17:00:00+01:00", type: opened}
    now: "2026-12-07T17:30:00+01:00"
    expect:
      first_response: {due: "2026-12-08T11:00:00+01:00", state: running, counted_seconds: 60}
  - name: a broken scenario is an error, not a crash
    ticket: {severity: 9}
    events:
      - {at: "2026-12-07T17:00:00+01:00", type: opened}
"""


def test_scenarios_inside_the_policy_file_run_and_report_mismatches(tmp_path: Path):
    path = tmp_path / "tiny.yaml"
    path.write_text(MINIMAL + SCENARIOS, encoding="utf-8")
    policy, results = run_policy_tests(str(path))
    assert policy.id == "tiny"
    assert [r.passed for r in results] == [True, False, False]
    assert results[1].mismatches == (
        Mismatch("first_response", "due", "2026-12-08T11:00:00+01:00", "2026-12-08T10:00:00+01:00"),
        Mismatch("first_response", "counted_seconds", 60, 1800),
    )
    assert results[1].line == 26
    assert results[2].error == "policy 'tiny' has no severity 9 (known: 1 (S1))"


def test_scenarios_beside_the_policy_file_are_found(tmp_path: Path):
    (tmp_path / "tiny.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "tiny.tests.yaml").write_text("policy: tiny.yaml\n" + SCENARIOS, encoding="utf-8")
    _, from_policy = run_policy_tests(str(tmp_path / "tiny.yaml"))
    _, from_tests_file = run_policy_tests(str(tmp_path / "tiny.tests.yaml"))
    assert [r.name for r in from_policy] == [r.name for r in from_tests_file]
    assert len(from_policy) == 3
