"""Escalation policies and the plan of an incident: which step reaches whom, and when.

An escalation policy is an ordered list of steps. Each step names its targets (a person, a schedule's
on-call people, a team, or a round-robin over people), a condition (`not_acknowledged`: it fires only
while nobody has acknowledged; `not_resolved`: it fires while the incident is open, acknowledged or not)
and `escalate_after`, how long after it fires the next step comes. After the last step the policy starts
again from the first, `repeat` more times (PagerDuty's loops, GoAlert's repeat count).

An incident keeps the policy as it was when the incident started (its snapshot), so editing the policy
does not change an escalation under way. An acknowledgement silences the `not_acknowledged` steps; with
`ack_timeout`, an acknowledgement left without a resolve for that long lapses, and the escalation starts
again from the first step at that instant, as a new round. A resolve ends it.

`escalation_plan` is the whole story at `now`: the steps already due (each once, with the round it belongs
to, so a worker's fencing token can be (incident, round, step)), and the next one, if any.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from sladesk.clock import parse_duration


class Condition(StrEnum):
    NOT_ACKNOWLEDGED = "not_acknowledged"
    NOT_RESOLVED = "not_resolved"


@dataclass(frozen=True)
class StepTarget:
    """Who a step reaches: `user` (an id), `schedule` (its on-call people at the step's instant), `team`
    (its members), or `round_robin` (one of `users`, the next one for each incident)."""

    kind: Literal["user", "schedule", "team", "round_robin"]
    ref: int | str | None = None  # the user id, schedule id or team slug
    users: tuple[int, ...] = ()  # for round_robin

    def __post_init__(self) -> None:
        if self.kind == "round_robin" and not self.users:
            raise ValueError("a round_robin target needs `users`")
        if self.kind != "round_robin" and self.ref is None:
            raise ValueError(f"a {self.kind} target needs `ref`")


@dataclass(frozen=True)
class EscalationStep:
    targets: tuple[StepTarget, ...]
    escalate_after: timedelta
    condition: Condition = Condition.NOT_ACKNOWLEDGED

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError("a step needs at least one target")
        if self.escalate_after <= timedelta():
            raise ValueError("`escalate_after` must be longer than nothing: a step waits before the next")


@dataclass(frozen=True)
class EscalationPolicy:
    steps: tuple[EscalationStep, ...]
    repeat: int = 0  # how many more times the whole list runs after the first
    ack_timeout: timedelta | None = None  # an acknowledgement lapses after this long without a resolve

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("an escalation policy needs at least one step")
        if not 0 <= self.repeat <= 20:
            raise ValueError("`repeat` is 0 to 20")
        if self.ack_timeout is not None and self.ack_timeout <= timedelta():
            raise ValueError("`ack_timeout` must be longer than nothing")


@dataclass(frozen=True)
class IncidentFacts:
    """What happened to an incident: when it started, its acknowledgements and its resolve (instants in order).

    `number` is the incident's sequence among those of its policy, which round-robin targets turn on.
    """

    started_at: datetime
    acknowledged: tuple[datetime, ...] = ()
    resolved_at: datetime | None = None
    number: int = 0


@dataclass(frozen=True)
class FiredStep:
    """One step of one round: when it fires, and who it reaches then."""

    at: datetime
    round: int  # 0 for the first pass; each repeat and each lapsed acknowledgement starts a new round
    step: int  # its index in the policy
    people: frozenset[int]
    restart: bool = False  # the first step of a round started by a lapsed acknowledgement

    @property
    def key(self) -> tuple[int, int]:
        """What identifies it within its incident, for firing it exactly once."""
        return (self.round, self.step)


@dataclass(frozen=True)
class EscalationPlan:
    fired: tuple[FiredStep, ...]  # due by `now`, in order
    next: FiredStep | None  # the next step to fire after `now`, if the escalation goes on
    acknowledged: bool  # an acknowledgement is in force at `now`
    resolved: bool


Resolver = Callable[[StepTarget, datetime], frozenset[int]]


def escalation_plan(
    policy: EscalationPolicy, incident: IncidentFacts, now: datetime, resolve: Resolver
) -> EscalationPlan:
    """The steps of `incident` under its policy snapshot that are due by `now`, and the next one.

    `resolve(target, at)` names the people a schedule or team target reaches at `at`; user and
    round-robin targets are resolved here.
    """
    fired: list[FiredStep] = []
    pending: FiredStep | None = None
    end = incident.resolved_at
    acks = sorted(incident.acknowledged)
    for round_start, round_index, restart, round_end in _rounds(policy, incident, end):
        at = round_start
        for pass_index in range(policy.repeat + 1):
            for step_index, step in enumerate(policy.steps):
                if round_end is not None and at >= round_end:
                    break
                if end is not None and at >= end:
                    break
                acked = _acknowledged_at(acks, round_start, at)
                if step.condition is Condition.NOT_ACKNOWLEDGED and acked:
                    at += step.escalate_after
                    continue
                candidate = FiredStep(
                    at=at,
                    round=round_index + pass_index,
                    step=step_index,
                    people=_people(step, incident, at, resolve),
                    restart=restart and pass_index == 0 and step_index == 0,
                )
                if at <= now:
                    fired.append(candidate)
                elif pending is None:
                    pending = candidate
                at += step.escalate_after
    acknowledged = _ack_in_force(policy, acks, now) and (end is None or now < end)
    resolved = end is not None and end <= now
    if resolved:
        pending = None
    return EscalationPlan(tuple(fired), pending, acknowledged, resolved)


def _rounds(
    policy: EscalationPolicy, incident: IncidentFacts, end: datetime | None
) -> list[tuple[datetime, int, bool, datetime | None]]:
    """Each run of the policy: (its start, its first round number, whether a lapsed acknowledgement
    started it, and when the next run takes over). Round numbers leave room for the run's repeats."""
    starts = [(incident.started_at, False)]
    if policy.ack_timeout is not None:
        for ack in sorted(incident.acknowledged):
            lapse = ack + policy.ack_timeout
            later = [a for a in incident.acknowledged if ack < a < lapse]
            if later:
                continue  # a later acknowledgement renewed it before it lapsed
            if end is None or lapse < end:
                starts.append((lapse, True))
    starts.sort()
    runs = []
    width = policy.repeat + 1
    for index, (start, restart) in enumerate(starts):
        next_start = starts[index + 1][0] if index + 1 < len(starts) else None
        runs.append((start, index * width, restart, next_start))
    return runs


def _acknowledged_at(acks: Sequence[datetime], run_start: datetime, at: datetime) -> bool:
    """Whether an acknowledgement made in this run, by `at`, silences a `not_acknowledged` step."""
    return any(run_start <= ack <= at for ack in acks)


def _ack_in_force(policy: EscalationPolicy, acks: Sequence[datetime], now: datetime) -> bool:
    made = [ack for ack in acks if ack <= now]
    if not made:
        return False
    return policy.ack_timeout is None or now < made[-1] + policy.ack_timeout


def _people(step: EscalationStep, incident: IncidentFacts, at: datetime, resolve: Resolver) -> frozenset[int]:
    people: set[int] = set()
    for target in step.targets:
        if target.kind == "user":
            assert isinstance(target.ref, int)
            people.add(target.ref)
        elif target.kind == "round_robin":
            people.add(target.users[incident.number % len(target.users)])
        else:
            people |= resolve(target, at)
    return frozenset(people)


def policy_from_spec(spec: Mapping[str, Any]) -> EscalationPolicy:
    """An escalation policy from its stored JSON (the API's body shape, already checked when it was stored):
    `{"steps": [{"targets": [{"user": 7} | {"schedule": "primary"} | {"team": "ops"} | {"round_robin": [..]}],
    "escalate_after": "5m", "condition": "not_acknowledged"}], "repeat": 0, "ack_timeout": "30m"}`."""
    steps = []
    for step in spec["steps"]:
        targets = []
        for target in step["targets"]:
            if "round_robin" in target:
                targets.append(StepTarget("round_robin", users=tuple(int(u) for u in target["round_robin"])))
            elif "user" in target:
                targets.append(StepTarget("user", int(target["user"])))
            elif "schedule" in target:
                targets.append(StepTarget("schedule", str(target["schedule"])))
            else:
                targets.append(StepTarget("team", str(target["team"])))
        condition = Condition(step.get("condition", Condition.NOT_ACKNOWLEDGED))
        steps.append(EscalationStep(tuple(targets), _elapsed(step["escalate_after"]), condition))
    ack_timeout = spec.get("ack_timeout")
    return EscalationPolicy(
        tuple(steps), int(spec.get("repeat", 0)), _elapsed(ack_timeout) if ack_timeout is not None else None
    )


def _elapsed(text: str) -> timedelta:
    return timedelta(seconds=parse_duration(str(text)).seconds)
