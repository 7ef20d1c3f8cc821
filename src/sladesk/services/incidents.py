"""On-call incidents on tickets: starting one, paging an escalation step's people, acknowledging, resolving.

The worker starts an incident and pages its steps when their timers fall due (`services.timers`); staff
acknowledge and resolve through `change_ticket`. Each is one event in the ticket's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.paging import policy_from_spec
from sladesk.policy import Policy
from sladesk.services.actors import Actor, require_staff
from sladesk.services.clocks import load_events
from sladesk.services.errors import ConflictError, NotFoundError
from sladesk.services.oncall import load_schedule, who_is_on_call
from sladesk.services.page_messages import page_label
from sladesk.services.tickets import Change, change_ticket
from sladesk.sla import Event
from sladesk.sla.events import IncidentEvent, PageEvent
from sladesk.sla.incidents import incident_of
from sladesk.sla.timers import PlannedTimer
from sladesk.store.tables import EscalationPolicyRow, Team, TeamMember, Ticket, User


def start_incident(session: Session, policy: Policy, at: datetime, started_at: datetime) -> IncidentEvent:
    """The incident's start, with its escalation policy as it is now (a policy edited later leaves it be).

    Recorded at `at`, when the worker acts; its steps count from `started_at`, when the paging severity took
    effect (the ticket's opening, or the raise)."""
    assert policy.spec.paging is not None  # the timer is in the plan only when the policy pages
    slug = policy.spec.paging.escalation_policy
    row = session.scalar(select(EscalationPolicyRow).where(EscalationPolicyRow.slug == slug))
    if row is None:
        reason = f"the desk has no escalation policy {slug!r}, so nobody is paged"
        return IncidentEvent(at=at, action="triggered", escalation_policy=slug, reason=reason, started_at=started_at)
    snapshot = dict(row.spec)
    return IncidentEvent(at=at, action="triggered", escalation_policy=slug, snapshot=snapshot, started_at=started_at)


def page(
    session: Session, ticket: Ticket, events: Sequence[Event], timer: PlannedTimer, at: datetime
) -> tuple[PageEvent, list[User]]:
    """The step `timer` names, paging the people its targets reach at the step's instant."""
    round_index, step_index = (int(part) for part in (timer.subject or "0:0").split(":"))
    incident = incident_of(events)
    assert incident is not None and incident.snapshot  # the timer is in the plan only for a started incident
    step = policy_from_spec(incident.snapshot).steps[step_index]
    ids: set[int] = set()
    for target in step.targets:
        if target.kind == "user" and isinstance(target.ref, int):
            ids.add(target.ref)
        elif target.kind == "round_robin":
            ids.add(target.users[ticket.id % len(target.users)])
        elif target.kind == "schedule":
            try:
                ids |= who_is_on_call(load_schedule(session, str(target.ref)), timer.at)
            except NotFoundError:
                continue  # deleted since the incident started: its people cannot be named
        else:
            members = select(TeamMember.user_id).join(Team, Team.id == TeamMember.team_id)
            ids |= set(session.scalars(members.where(Team.slug == str(target.ref))))
    users = list(session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True)).order_by(User.id)))
    event = PageEvent(
        at=at,
        round=round_index,
        step=step_index,
        due_at=timer.at,
        people=tuple(user.id for user in users),
        notified=tuple(page_label(user) for user in users),
    )
    return event, users


def acknowledge_incident(
    session: Session, actor: Actor, ticket_id: int, *, expected_version: int | None = None, now: datetime | None = None
) -> Change:
    """Staff acknowledge the ticket's incident: the steps waiting for an acknowledgement stop."""
    return _incident_change(session, actor, ticket_id, "acknowledged", expected_version, now)


def resolve_incident(
    session: Session, actor: Actor, ticket_id: int, *, expected_version: int | None = None, now: datetime | None = None
) -> Change:
    """Staff resolve the ticket's incident: nobody is paged for it any more (the ticket itself stays as it is)."""
    return _incident_change(session, actor, ticket_id, "resolved", expected_version, now)


def _incident_change(
    session: Session,
    actor: Actor,
    ticket_id: int,
    action: Literal["acknowledged", "resolved"],
    expected_version: int | None,
    now: datetime | None,
) -> Change:
    require_staff(actor, "acknowledge or resolve incidents")

    def change(ticket: Ticket, at: datetime) -> Event:
        incident = incident_of(load_events(session, ticket.id))
        if incident is None:
            raise ConflictError("the ticket has no on-call incident")
        if incident.resolved_at is not None:
            raise ConflictError("the ticket's on-call incident is resolved already")
        return IncidentEvent(at=at, action=action)

    return change_ticket(session, actor, ticket_id, expected_version, now, change)
