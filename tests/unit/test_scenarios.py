"""Policy scenario tests: read from the policy file or from the file beside it, and reported exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from sladesk.errors import PolicyError
from sladesk.policy import builtin_source
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


ALLEO_SEV1_IN_TWO_HOURS = """\
policy: alleo
tests:
  - name: Sev1 opened Monday 09:00 is due at 11:00 under the edited policy
    ticket: {severity: 1}
    events:
      - {at: "2026-12-07T09:00:00-05:00", type: opened}
    expect:
      first_response: {due: "2026-12-07T11:00:00-05:00"}
"""


def test_a_tests_file_names_by_id_the_policy_file_beside_it(tmp_path: Path):
    (tmp_path / "tiny-desk-v2.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "notes.yaml").write_text("id: [not, a, policy]\n", encoding="utf-8")
    (tmp_path / "smoke.tests.yaml").write_text("policy: tiny\n" + SCENARIOS, encoding="utf-8")
    policy, results = run_policy_tests(str(tmp_path / "smoke.tests.yaml"))
    assert policy.id == "tiny"
    assert [r.passed for r in results] == [True, False, False]


def test_a_policy_file_beside_the_tests_is_chosen_over_the_built_in_with_its_id(tmp_path: Path):
    edited = builtin_source("alleo").replace("first_response: 4h", "first_response: 2h", 1)
    assert edited != builtin_source("alleo")
    (tmp_path / "alleo.yaml").write_text(edited, encoding="utf-8")
    (tmp_path / "alleo.tests.yaml").write_text(ALLEO_SEV1_IN_TWO_HOURS, encoding="utf-8")
    policy, results = run_policy_tests(str(tmp_path / "alleo.tests.yaml"))
    assert policy.source == str(tmp_path / "alleo.yaml")
    assert [(r.passed, r.mismatches, r.error) for r in results] == [(True, (), None)]


def test_a_tests_file_without_policy_tests_the_file_it_is_named_after(tmp_path: Path):
    (tmp_path / "tiny.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "tiny.tests.yaml").write_text(SCENARIOS, encoding="utf-8")
    policy, results = run_policy_tests(str(tmp_path / "tiny.tests.yaml"))
    assert (policy.id, len(results)) == ("tiny", 3)


def test_a_tests_file_naming_an_unknown_policy_is_a_located_problem(tmp_path: Path):
    (tmp_path / "tiny.yaml").write_text(MINIMAL, encoding="utf-8")
    tests_file = tmp_path / "other.tests.yaml"
    tests_file.write_text("# scenarios for acme\npolicy: acme\n" + SCENARIOS, encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        run_policy_tests(str(tests_file))
    assert [str(p) for p in error.value.problems] == [
        f"{tests_file}:2: policy: unknown policy 'acme': no policy file beside this one has that id, "
        "nor is it a built-in (alli, alleo, aspenware, sourcegraph, choozle)"
    ]


def test_two_policy_files_beside_with_the_asked_id_are_refused_by_name(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "x.tests.yaml").write_text("policy: tiny\n" + SCENARIOS, encoding="utf-8")
    with pytest.raises(PolicyError, match=r"2 policy files beside this one have id 'tiny' \(a.yaml, b.yaml\)"):
        run_policy_tests(str(tmp_path / "x.tests.yaml"))


def test_a_tests_file_without_scenarios_has_no_results(tmp_path: Path):
    (tmp_path / "tiny.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "tiny.tests.yaml").write_text("policy: tiny\n", encoding="utf-8")
    policy, results = run_policy_tests(str(tmp_path / "tiny.tests.yaml"))
    assert (policy.id, results) == ("tiny", [])
