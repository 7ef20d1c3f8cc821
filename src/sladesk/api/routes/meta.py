"""/api/v1/policies and /api/v1/queue: the rules, and the one order of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from starlette.exceptions import HTTPException

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.schemas import PolicySummary, QueueItemOut
from sladesk.errors import SladeskError
from sladesk.policy import BUILTIN_IDS, Policy, load_policy
from sladesk.services import ForbiddenError
from sladesk.sla.queue import QueueEntry, order_queue
from sladesk.store.tables import Organisation, Ticket

router = APIRouter(prefix="/api/v1", tags=["policies and queue"])


def _summary(policy: Policy) -> PolicySummary:
    severities = []
    for severity in policy.severities:
        targets = {}
        for metric_id in policy.metric_ids:
            rule = policy.clock_rule(severity, metric_id)
            targets[metric_id] = {"due": rule.due_words, "goal": rule.goal_words, "calendar": rule.calendar_id}
        severities.append(
            {
                "rank": severity.rank,
                "code": severity.code,
                "name": severity.name,
                "definition": severity.definition,
                "examples": list(severity.examples),
                "pages_oncall": severity.pages_oncall,
                "targets": targets,
            }
        )
    return PolicySummary(
        id=policy.id,
        name=policy.name,
        version=policy.version,
        timezone=policy.spec.timezone,
        severities=severities,
        metrics=list(policy.metric_ids),
    )


@router.get("/policies", response_model=list[PolicySummary])
def list_policies(actor: CurrentActor) -> list[PolicySummary]:
    """The built-in policies with their severities and targets in words."""
    return [_summary(load_policy(policy_id)) for policy_id in BUILTIN_IDS]


@router.get("/policies/{policy_id}", response_model=PolicySummary)
def read_policy(policy_id: str, actor: CurrentActor) -> PolicySummary:
    if policy_id not in BUILTIN_IDS:
        raise HTTPException(404, f"no policy {policy_id!r}")
    try:
        return _summary(load_policy(policy_id))
    except SladeskError as error:  # pragma: no cover - built-ins are checked by their own tests
        raise HTTPException(404, str(error)) from None


@router.get("/queue", response_model=list[QueueItemOut])
def queue(
    actor: CurrentActor, sessions: Sessions, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[QueueItemOut]:
    """Open tickets in the one total order of SEMANTICS.md, each with the reason for its place.

    The database sorts (severity, tier, next due, opened, id: the index `ix_tickets_queue_order`), so a
    page costs the same however many tickets are open; the reasons come from `sladesk.sla.queue`.
    """
    if not actor.is_staff:
        raise ForbiddenError("the work queue is for agents and admins")
    query = (
        select(Ticket, Organisation.tier)
        .join(Organisation, Organisation.id == Ticket.organisation_id)
        .where(Ticket.is_open.is_(True))
        .order_by(
            Ticket.severity_rank,
            Ticket.tier_rank.asc().nulls_last(),
            Ticket.next_due_at.asc().nulls_last(),
            Ticket.opened_at,
            Ticket.id,
        )
        .limit(limit + 1)  # one more, so the last shown can say why it is ahead of the next
    )
    with sessions() as session:
        rows = session.execute(query).all()
    entries = [
        QueueEntry(
            ticket_id=ticket.id,
            severity_rank=ticket.severity_rank,
            severity_code=load_policy(ticket.policy_id).severity(ticket.severity_rank).code,
            tier=tier,
            tier_rank=ticket.tier_rank,
            next_due=ticket.next_due_at,
            opened_at=ticket.opened_at,
        )
        for ticket, tier in rows
    ]
    subjects = {ticket.id: ticket.subject for ticket, _ in rows}
    return [
        QueueItemOut(
            position=p.position,
            ticket_id=int(p.entry.ticket_id),
            subject=subjects[int(p.entry.ticket_id)],
            severity=p.entry.severity_rank,
            tier=p.entry.tier,
            next_due_at=p.entry.next_due,
            reason=p.reason,
        )
        for p in order_queue(entries)[:limit]
    ]
