"""Subscriptions: admins point the desk's events at outside receivers (a webhook, a chat room, PagerDuty)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.notify import DeliveryFailed
from sladesk.notify.http import checked_url
from sladesk.notify.webhook import new_secret
from sladesk.services.actors import Actor, Role
from sladesk.services.errors import ForbiddenError, InvalidFieldError, NotFoundError
from sladesk.sla.events import EVENT_TYPES
from sladesk.store.tables import Subscription

KINDS = ("webhook", "chat", "pagerduty")
MOMENTS = ("sla.warning", "sla.goal_missed", "sla.breached", "comms.update", "comms.overdue")
SUBSCRIBABLE = tuple(f"ticket.{kind}" for kind in EVENT_TYPES if kind not in ("sla", "comms")) + MOMENTS


def _require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise ForbiddenError("only admins manage subscriptions")


def create_subscription(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    url: str,
    event_types: Sequence[str],
    routing_key: str | None = None,
    now: datetime,
) -> Subscription:
    """Subscribe `url` to `event_types` (`*` for all). A webhook gets a fresh signing secret, shown in the answer."""
    _require_admin(actor)
    if kind not in KINDS:
        raise InvalidFieldError("kind", f"must be one of {', '.join(KINDS)}")
    try:
        checked_url(url)
    except DeliveryFailed as failure:
        raise InvalidFieldError("url", failure.reason) from None
    if not event_types:
        raise InvalidFieldError("event_types", f"name at least one of: *, {', '.join(SUBSCRIBABLE)}")
    for index, name in enumerate(event_types):
        if name != "*" and name not in SUBSCRIBABLE:
            raise InvalidFieldError(f"event_types[{index}]", f"{name!r} is not one of: *, {', '.join(SUBSCRIBABLE)}")
    if kind == "pagerduty" and not routing_key:
        raise InvalidFieldError("routing_key", "a PagerDuty subscription needs the integration's routing key")
    subscription = Subscription(
        kind=kind,
        url=url,
        secret=new_secret() if kind == "webhook" else routing_key if kind == "pagerduty" else None,
        event_types=sorted(set(event_types)),
        active=True,
        created_at=now,
    )
    session.add(subscription)
    session.flush()
    return subscription


def list_subscriptions(session: Session, actor: Actor) -> list[Subscription]:
    _require_admin(actor)
    return list(session.scalars(select(Subscription).where(Subscription.active.is_(True)).order_by(Subscription.id)))


def delete_subscription(session: Session, actor: Actor, subscription_id: int) -> None:
    """Stop sending to the receiver; messages already queued for it are still delivered."""
    _require_admin(actor)
    subscription = session.get(Subscription, subscription_id, with_for_update=True)
    if subscription is None or not subscription.active:
        raise NotFoundError(f"no subscription {subscription_id}")
    subscription.active = False
