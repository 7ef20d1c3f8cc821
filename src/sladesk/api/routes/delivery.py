"""/api/v1/subscriptions and /api/v1/outbox: where events go, and the messages that could not get there."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.schemas import MAX_ID, Body
from sladesk.services import delivery, subscriptions
from sladesk.store import reading, transaction
from sladesk.store.tables import OutboxMessage, Subscription

router = APIRouter(prefix="/api/v1", tags=["subscriptions and outbox"])
ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]


class SubscriptionCreate(Body):
    kind: Literal["webhook", "chat", "pagerduty"]
    url: str = Field(min_length=1, max_length=2000, description="Where to POST: the receiver's http(s) URL")
    event_types: list[Annotated[str, Field(max_length=64)]] = Field(
        min_length=1, max_length=64, description="`ticket.<type>`, `sla.warning`, `sla.breached`, ... or `*`"
    )
    routing_key: str | None = Field(default=None, max_length=200, description="PagerDuty only: the routing key")


class SubscriptionOut(BaseModel):
    id: int
    kind: str
    url: str
    event_types: list[str]
    created_at: datetime
    secret: str | None = Field(
        default=None, description="A webhook's signing secret: shown once, when the subscription is created"
    )

    @classmethod
    def of(cls, row: Subscription, *, with_secret: bool = False) -> SubscriptionOut:
        secret = row.secret if with_secret and row.kind == "webhook" else None
        return cls(
            id=row.id,
            kind=row.kind,
            url=row.url,
            event_types=list(row.event_types),
            created_at=row.created_at,
            secret=secret,
        )


class OutboxMessageOut(BaseModel):
    id: int
    kind: str
    status: str
    ticket_id: int | None
    idempotency_key: str
    attempts: int
    created_at: datetime
    available_at: datetime
    sent_at: datetime | None
    last_error: str | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: OutboxMessage) -> OutboxMessageOut:
        return cls.model_validate(row, from_attributes=True)


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


@router.post("/subscriptions", status_code=201, response_model=SubscriptionOut)
def create_subscription(
    body: SubscriptionCreate, actor: CurrentActor, sessions: Sessions, request: Request
) -> SubscriptionOut:
    """Admins: send the named event types to a webhook (signed), a chat room or PagerDuty."""
    with transaction(sessions) as session:
        row = subscriptions.create_subscription(
            session,
            actor,
            kind=body.kind,
            url=body.url,
            event_types=body.event_types,
            routing_key=body.routing_key,
            now=_now(request),
        )
        return SubscriptionOut.of(row, with_secret=True)


@router.get("/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(actor: CurrentActor, sessions: Sessions) -> list[SubscriptionOut]:
    with reading(sessions) as session:
        return [SubscriptionOut.of(row) for row in subscriptions.list_subscriptions(session, actor)]


@router.delete("/subscriptions/{subscription_id}", status_code=204)
def delete_subscription(subscription_id: ItemId, actor: CurrentActor, sessions: Sessions) -> Response:
    with transaction(sessions) as session:
        subscriptions.delete_subscription(session, actor, subscription_id)
    return Response(status_code=204)


@router.get("/outbox", response_model=list[OutboxMessageOut])
def list_outbox(
    actor: CurrentActor,
    sessions: Sessions,
    status: Annotated[Literal["dead", "pending", "sent", "cancelled"], Query()] = "dead",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[OutboxMessageOut]:
    """Admins: the outbox's messages in a status, newest first; `dead` ones failed every attempt, `cancelled`
    ones were page messages still waiting when their incident was acknowledged or resolved."""
    with reading(sessions) as session:
        rows = delivery.list_messages(session, actor, status=status, limit=limit, before_id=before_id)
        return [OutboxMessageOut.of(row) for row in rows]


@router.post("/outbox/{message_id}/retry", response_model=OutboxMessageOut)
def retry_outbox_message(
    message_id: ItemId, actor: CurrentActor, sessions: Sessions, request: Request
) -> OutboxMessageOut:
    """Admins: send a failed message (dead, or pending after a failed attempt) again, now, with the same
    idempotency key and a fresh count of attempts; its last error is cleared."""
    with transaction(sessions) as session:
        return OutboxMessageOut.of(delivery.retry_message(session, actor, message_id, _now(request)))
