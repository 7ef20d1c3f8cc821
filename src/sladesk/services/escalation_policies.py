"""Escalation policies on a desk: admins store them, agents and admins read them.

A policy is stored as its request body's JSON (the steps, their targets, `escalate_after`, `condition`,
`repeat`, `ack_timeout`; see `sladesk.api.oncall_schemas`), which the API has already checked against
`sladesk.paging.EscalationPolicy`. Here each target is checked against the desk: a user is an active agent
or admin, a schedule and a team exist. The version goes up by one on every change, so an incident can say
which version it escalated under.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sladesk.services.actors import Actor, Role, require_admin, require_staff
from sladesk.services.errors import ConflictError, InvalidFieldError, NotFoundError
from sladesk.services.oncall import check_name, check_slug
from sladesk.store.tables import EscalationPolicyRow, OncallSchedule, Team, User


def check_targets(session: Session, spec: dict[str, Any]) -> None:
    """Every target names something the desk has; a 422 naming the first that does not (`steps.0.targets.1.team`)."""
    for step_index, step in enumerate(spec.get("steps", [])):
        for target_index, target in enumerate(step.get("targets", [])):
            where = f"steps.{step_index}.targets.{target_index}"
            if target.get("user") is not None:
                _check_user(session, int(target["user"]), f"{where}.user")
            elif target.get("schedule") is not None:
                slug = str(target["schedule"])
                if session.scalar(select(OncallSchedule.id).where(OncallSchedule.slug == slug)) is None:
                    raise InvalidFieldError(f"{where}.schedule", f"no on-call schedule {slug!r}")
            elif target.get("team") is not None:
                slug = str(target["team"])
                if session.scalar(select(Team.id).where(Team.slug == slug)) is None:
                    raise InvalidFieldError(f"{where}.team", f"no team {slug!r}")
            else:
                for position, user_id in enumerate(target.get("round_robin") or []):
                    _check_user(session, int(user_id), f"{where}.round_robin.{position}")


def _check_user(session: Session, user_id: int, field: str) -> None:
    user = session.get(User, user_id)
    if user is None or not user.active or user.role == Role.CUSTOMER.value:
        raise InvalidFieldError(field, f"no active agent or admin {user_id}: pages go to agents and admins")


def create_policy(
    session: Session, actor: Actor, slug: str, name: str, spec: dict[str, Any], *, now: datetime
) -> EscalationPolicyRow:
    """A new escalation policy at version 1 (admins); 409 when the slug is taken."""
    require_admin(actor, "manage escalation policies")
    slug, name = check_slug(slug), check_name(name)
    check_targets(session, spec)
    if session.scalar(select(EscalationPolicyRow.id).where(EscalationPolicyRow.slug == slug)) is not None:
        raise ConflictError(f"an escalation policy {slug!r} exists already")
    row = EscalationPolicyRow(slug=slug, name=name, spec=spec, version=1, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # stored by a concurrent request since the check above
        raise ConflictError(f"an escalation policy {slug!r} exists already") from None
    return row


def update_policy(
    session: Session, actor: Actor, slug: str, name: str, spec: dict[str, Any], *, now: datetime
) -> EscalationPolicyRow:
    """Replace a policy's name and steps (admins); its version goes up by one."""
    require_admin(actor, "manage escalation policies")
    name = check_name(name)
    row = policy_row(session, slug, for_update=True)
    check_targets(session, spec)
    row.name = name
    row.spec = spec
    row.version += 1
    row.updated_at = now
    return row


def delete_policy(session: Session, actor: Actor, slug: str) -> None:
    """Delete an escalation policy (admins)."""
    require_admin(actor, "manage escalation policies")
    session.delete(policy_row(session, slug, for_update=True))


def get_policy(session: Session, actor: Actor, slug: str) -> EscalationPolicyRow:
    """One escalation policy (staff)."""
    require_staff(actor, "see escalation policies")
    return policy_row(session, slug)


def list_policies(session: Session, actor: Actor) -> list[EscalationPolicyRow]:
    """Every escalation policy by slug (staff)."""
    require_staff(actor, "see escalation policies")
    return list(session.scalars(select(EscalationPolicyRow).order_by(EscalationPolicyRow.slug)))


def policy_row(session: Session, slug: str, *, for_update: bool = False) -> EscalationPolicyRow:
    query = select(EscalationPolicyRow).where(EscalationPolicyRow.slug == slug)
    row = session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise NotFoundError(f"no escalation policy {slug!r}")
    return row
