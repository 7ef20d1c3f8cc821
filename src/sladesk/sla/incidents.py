"""A ticket's on-call incident, from its history: when it started, its escalation steps, and what is due.

A ticket whose severity pages on-call (`pages_oncall`), under a policy that names an escalation policy
(`paging`), gets one incident: it starts when the ticket opens with that severity or is raised to it, and
the desk records the escalation policy as it is at that moment (the `incident` event's snapshot). Its
steps then fall due as `sladesk.paging` plans them; each is recorded once, as a `page` event, with the
people it reached. An acknowledgement or a resolve (events) changes the plan; a resolved or closed ticket
ends the incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sladesk.paging import EscalationPlan, IncidentFacts, StepTarget, escalation_plan, policy_from_spec
from sladesk.sla.events import Event, IncidentEvent, PageEvent
from sladesk.sla.replay import ReplayReport

START = "start"


@dataclass(frozen=True)
class Incident:
    started_at: datetime
    escalation_policy: str | None
    snapshot: dict[str, Any] | None
    acknowledged: tuple[datetime, ...]
    resolved_at: datetime | None
    paged: frozenset[tuple[int, int]]  # (round, step) already recorded


def incident_of(events: Sequence[Event]) -> Incident | None:
    """The ticket's incident as its events tell it, or None if none started."""
    started: IncidentEvent | None = None
    acks: list[datetime] = []
    resolved: datetime | None = None
    paged: set[tuple[int, int]] = set()
    for event in events:
        if isinstance(event, IncidentEvent):
            if event.action == "triggered" and started is None:
                started = event
            elif event.action == "acknowledged" and started is not None:
                acks.append(event.at)
            elif event.action == "resolved" and started is not None and resolved is None:
                resolved = event.at
        elif isinstance(event, PageEvent):
            paged.add((event.round, event.step))
    if started is None:
        return None
    return Incident(
        started.started_at or started.at,
        started.escalation_policy,
        started.snapshot,
        tuple(acks),
        resolved,
        frozenset(paged),
    )


def incident_start(report: ReplayReport, events: Sequence[Event]) -> datetime | None:
    """When the ticket's incident should start, if it pages and none has started: the instant its paging
    severity took effect."""
    policy, history = report.policy, report.history
    if policy.spec.paging is None or not report.severity.pages_oncall or incident_of(events) is not None:
        return None
    if policy.is_finished(history.status):
        return None
    changes = history.severity_changes
    start = changes[-1].at if changes else history.opened_at
    within = report.severity.pages_within
    if within is not None and not policy.calendar(within).is_working(start):
        return None  # Aspenware's Level 1 pages in the on-call period; in business hours the team has it
    return start


def plan_of(incident: Incident, report: ReplayReport, ticket_id: int = 0) -> EscalationPlan | None:
    """The incident's escalation at the report's `now` (people left unresolved: the worker names them)."""
    if not incident.snapshot:
        return None
    end = incident.resolved_at
    finished = [span.start for span in report.history.status_spans if report.policy.is_finished(span.status)]
    if finished and finished[-1] >= incident.started_at and report.policy.is_finished(report.history.status):
        end = min(end, finished[-1]) if end is not None else finished[-1]
    facts = IncidentFacts(incident.started_at, incident.acknowledged, end, number=ticket_id)
    return escalation_plan(policy_from_spec(incident.snapshot), facts, report.now, _nobody)


def page_times(report: ReplayReport, events: Sequence[Event]) -> list[tuple[str, datetime]]:
    """(subject, instant) of the incident moments still to act on: its start, and each step not yet paged."""
    start = incident_start(report, events)
    if start is not None:
        return [(START, start)]
    incident = incident_of(events)
    if incident is None:
        return []
    plan = plan_of(incident, report)
    if plan is None:
        return []
    steps = [step for step in plan.fired if step.key not in incident.paged]
    if plan.next is not None:
        steps.append(plan.next)
    return [(f"{step.round}:{step.step}", step.at) for step in steps]


def _nobody(target: StepTarget, at: datetime) -> frozenset[int]:
    return frozenset()
