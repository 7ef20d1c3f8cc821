"""Every built-in policy's own scenarios pass, each as its own test, and there are at least eight."""

from __future__ import annotations

import pytest

from sladesk.policy import BUILTIN_IDS
from sladesk.sla.scenarios import run_policy_tests

RESULTS = {policy_id: run_policy_tests(policy_id)[1] for policy_id in BUILTIN_IDS}
CASES = [(policy_id, result) for policy_id, results in RESULTS.items() for result in results]


@pytest.mark.parametrize("policy_id", BUILTIN_IDS)
def test_built_in_policy_ships_at_least_eight_scenarios(policy_id):
    assert len(RESULTS[policy_id]) >= 8


@pytest.mark.parametrize(("policy_id", "result"), CASES, ids=[f"{p}: {r.name}" for p, r in CASES])
def test_built_in_scenario_passes(policy_id, result):
    details = result.error or "; ".join(
        f"{m.metric}.{m.field}: expected {m.expected}, got {m.actual}" for m in result.mismatches
    )
    assert result.passed, f"{result.file}:{result.line}: {details}"
