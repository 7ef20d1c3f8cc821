"""Paging: escalation policies and the steps an incident has fired or will fire, worked out for `now`.

Pure like `sladesk.clock`: an incident's snapshot of its policy and its events in, the steps out. Who a
step reaches (a schedule's on-call person, a team) is looked up through a function the caller gives,
so the same plan serves the worker that pages and the page that explains it.
"""

from sladesk.paging.escalation import (
    Condition,
    EscalationPlan,
    EscalationPolicy,
    EscalationStep,
    FiredStep,
    IncidentFacts,
    StepTarget,
    escalation_plan,
    policy_from_spec,
)

__all__ = [
    "Condition",
    "EscalationPlan",
    "EscalationPolicy",
    "EscalationStep",
    "FiredStep",
    "IncidentFacts",
    "StepTarget",
    "escalation_plan",
    "policy_from_spec",
]
