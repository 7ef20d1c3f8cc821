"""/api/v1/policies and /api/v1/queue: the rules, and the one order of work."""

from __future__ import annotations

from fastapi import APIRouter
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
def queue(actor: CurrentActor, sessions: Sessions, limit: int = 50) -> list[QueueItemOut]:
    """Open tickets in the one total order of SEMANTICS.md, each with the reason for its place."""
    if not actor.is_staff:
        raise ForbiddenError("the work queue is for agents and admins")
    with sessions() as session:
        rows = session.execute(
            select(Ticket, Organisation).join(Organisation, Organisation.id == Ticket.organisation_id)
        ).all()
        entries, subjects = [], {}
        for ticket, organisation in rows:
            policy = load_policy(ticket.policy_id)
            if policy.is_finished(ticket.status):
                continue
            severity = policy.severity(ticket.severity_rank)
            subjects[ticket.id] = ticket.subject
            entries.append(
                QueueEntry(
                    ticket_id=ticket.id,
                    severity_rank=ticket.severity_rank,
                    severity_code=severity.code,
                    tier=organisation.tier,
                    tier_rank=policy.tier_rank(organisation.tier),
                    next_due=ticket.next_due_at,
                    opened_at=ticket.opened_at,
                )
            )
    ordered = order_queue(entries)[: max(1, min(limit, 500))]
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
        for p in ordered
    ]
