"""Which channel carries which outbox kind: one message in, delivered or `DeliveryFailed` out."""

from __future__ import annotations

import time
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sladesk.config import Settings
from sladesk.notify import chat, email, pagerduty, webhook
from sladesk.notify.failure import DeliveryFailed

Payload = TypeVar("Payload", bound=BaseModel)


def deliver(kind: str, payload: dict[str, Any], idempotency_key: str, settings: Settings) -> None:
    """Send one outbox message now, within `settings.delivery_timeout_seconds` per network step.

    Returns once the receiver has accepted it. Raises `DeliveryFailed` for every network, protocol and
    payload problem, saying whether a later attempt of the same message may succeed.
    """
    timeout_s = settings.delivery_timeout_seconds
    if kind == "email":
        email.send(_read(email.EmailPayload, kind, payload), idempotency_key, settings)
    elif kind == "webhook":
        message = _read(webhook.WebhookPayload, kind, payload)
        webhook.send(message, idempotency_key, timestamp=int(time.time()), timeout_s=timeout_s)
    elif kind == "chat":
        chat.send(_read(chat.ChatPayload, kind, payload), idempotency_key, timeout_s=timeout_s)
    elif kind == "pagerduty":
        pagerduty.send(_read(pagerduty.PagerDutyPayload, kind, payload), idempotency_key, timeout_s=timeout_s)
    else:
        raise DeliveryFailed(f"no channel delivers outbox messages of kind {kind!r}", retryable=False)


def _read(model: type[Payload], kind: str, payload: dict[str, Any]) -> Payload:
    """The payload as its channel's model; a payload that does not fit can never be sent."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "payload"
        raise DeliveryFailed(f"{kind} payload: {field}: {problem['msg']}", retryable=False) from None
