"""Escalation plans worked out by hand: steps at their delays, acknowledgements, repeats, lapses, resolves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sladesk.paging import (
    Condition,
    EscalationPolicy,
    EscalationStep,
    IncidentFacts,
    StepTarget,
    escalation_plan,
)

START = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # Sunday 03:00


def minutes(n: float) -> datetime:
    return START + timedelta(minutes=n)


ON_CALL = StepTarget("schedule", "primary")
SECOND = StepTarget("schedule", "secondary")
MANAGER = StepTarget("user", 9)
POLICY = EscalationPolicy(
    steps=(
        EscalationStep((ON_CALL,), timedelta(minutes=5)),
        EscalationStep((SECOND,), timedelta(minutes=10)),
        EscalationStep((MANAGER,), timedelta(minutes=15), Condition.NOT_RESOLVED),
    )
)


def resolve(target: StepTarget, at: datetime) -> frozenset[int]:
    """`primary` is Ann (1) until 03:08, then Bo (2); `secondary` is Cy (3)."""
    if target.ref == "primary":
        return frozenset({1} if at < minutes(8) else {2})
    return frozenset({3})


def fired(plan) -> list[tuple[int, int, int, set[int]]]:
    """(minutes after the start, round, step, people) of each step due."""
    return [(int((s.at - START).total_seconds() // 60), s.round, s.step, set(s.people)) for s in plan.fired]


def test_the_first_step_fires_at_once_and_the_next_waits_for_its_delay():
    plan = escalation_plan(POLICY, IncidentFacts(START), minutes(4), resolve)
    assert fired(plan) == [(0, 0, 0, {1})]
    assert plan.next is not None and (plan.next.at, plan.next.step, set(plan.next.people)) == (minutes(5), 1, {3})


def test_without_an_acknowledgement_every_step_fires_in_turn():
    # 03:00 on-call (Ann), 03:05 secondary (Cy), 03:15 the manager (9); the policy does not repeat
    plan = escalation_plan(POLICY, IncidentFacts(START), minutes(60), resolve)
    assert fired(plan) == [(0, 0, 0, {1}), (5, 0, 1, {3}), (15, 0, 2, {9})]
    assert plan.next is None


def test_an_acknowledgement_stops_the_unacknowledged_steps_but_not_one_that_waits_for_the_resolve():
    plan = escalation_plan(POLICY, IncidentFacts(START, acknowledged=(minutes(3),)), minutes(60), resolve)
    assert fired(plan) == [(0, 0, 0, {1}), (15, 0, 2, {9})]  # the secondary is skipped; the manager still hears
    assert plan.acknowledged is True


def test_a_resolve_ends_the_escalation():
    plan = escalation_plan(POLICY, IncidentFacts(START, resolved_at=minutes(12)), minutes(60), resolve)
    assert fired(plan) == [(0, 0, 0, {1}), (5, 0, 1, {3})]
    assert (plan.next, plan.resolved) == (None, True)


def test_repeats_run_the_steps_again_as_new_rounds_and_a_schedule_is_read_at_each_step():
    policy = EscalationPolicy(steps=POLICY.steps[:2], repeat=1)
    # round 0: 03:00 Ann, 03:05 Cy; round 1: 03:15 the on-call is Bo now, 03:20 Cy
    plan = escalation_plan(policy, IncidentFacts(START), minutes(21), resolve)
    assert fired(plan) == [(0, 0, 0, {1}), (5, 0, 1, {3}), (15, 1, 0, {2}), (20, 1, 1, {3})]
    assert plan.next is None


def test_an_acknowledgement_that_lapses_starts_the_escalation_again():
    policy = EscalationPolicy(steps=POLICY.steps[:2], ack_timeout=timedelta(minutes=30))
    incident = IncidentFacts(START, acknowledged=(minutes(2),))
    # acknowledged at 03:02, not resolved by 03:32: the page goes out again from the first step (Bo by now)
    plan = escalation_plan(policy, incident, minutes(40), resolve)
    assert fired(plan) == [(0, 0, 0, {1}), (32, 1, 0, {2}), (37, 1, 1, {3})]
    assert plan.fired[1].restart is True
    assert plan.acknowledged is False
    renewed = IncidentFacts(START, acknowledged=(minutes(2), minutes(20)))
    # a second acknowledgement at 03:20 renews it: lapse at 03:50 instead
    assert fired(escalation_plan(policy, renewed, minutes(40), resolve)) == [(0, 0, 0, {1})]


def test_round_robin_turns_with_the_incident_number():
    policy = EscalationPolicy(
        steps=(EscalationStep((StepTarget("round_robin", users=(4, 5, 6)),), timedelta(minutes=5)),)
    )
    people = [
        set(escalation_plan(policy, IncidentFacts(START, number=n), START, resolve).fired[0].people) for n in range(4)
    ]
    assert people == [{4}, {5}, {6}, {4}]


def test_a_policy_that_cannot_mean_anything_is_refused():
    with pytest.raises(ValueError, match="at least one step"):
        EscalationPolicy(steps=())
    with pytest.raises(ValueError, match="longer than nothing"):
        EscalationStep((MANAGER,), timedelta())
    with pytest.raises(ValueError, match="needs `users`"):
        StepTarget("round_robin")
