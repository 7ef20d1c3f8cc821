"""Which channel carries which outbox kind: one message in, delivered or `DeliveryFailed` out."""

from __future__ import annotations

import contextlib
import time
from typing import Any, TypeVar

import httpx2
from pydantic import BaseModel, ValidationError

from sladesk.config import Settings
from sladesk.notify import chat, email, http, pagerduty, webhook
from sladesk.notify.failure import DeliveryFailed

Payload = TypeVar("Payload", bound=BaseModel)


def deliver(kind: str, payload: dict[str, Any], idempotency_key: str, settings: Settings) -> None:
    """Send one outbox message now, within `settings.delivery_timeout_seconds` per network step.

    Returns once the receiver has accepted it. Raises `DeliveryFailed` for every network, protocol and
    payload problem, saying whether a later attempt of the same message may succeed.
    """
    with Channels(settings) as channels:
        channels.deliver(kind, payload, idempotency_key, settings)


class Channels:
    """The connections a delivery pass shares: one SMTP connection and one HTTP client, each opened when first
    needed and closed when the block ends. `deliver` is `sladesk.notify.deliver` through them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack = contextlib.ExitStack()
        self._mailer: email.Mailer | None = None
        self._client: httpx2.Client | None = None

    def __enter__(self) -> Channels:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def deliver(self, kind: str, payload: dict[str, Any], idempotency_key: str, settings: Settings) -> None:
        timeout_s = settings.delivery_timeout_seconds
        if kind == "email":
            email.send(_read(email.EmailPayload, kind, payload), idempotency_key, settings, mailer=self._smtp())
        elif kind == "webhook":
            hook = _read(webhook.WebhookPayload, kind, payload)
            webhook.send(hook, idempotency_key, timestamp=int(time.time()), timeout_s=timeout_s, through=self._http())
        elif kind == "chat":
            message = _read(chat.ChatPayload, kind, payload)
            chat.send(message, idempotency_key, timeout_s=timeout_s, through=self._http())
        elif kind == "pagerduty":
            page = _read(pagerduty.PagerDutyPayload, kind, payload)
            pagerduty.send(page, idempotency_key, timeout_s=timeout_s, through=self._http())
        else:
            raise DeliveryFailed(f"no channel delivers outbox messages of kind {kind!r}", retryable=False)

    def _smtp(self) -> email.Mailer:
        if self._mailer is None:
            self._mailer = self._stack.enter_context(email.Mailer(self.settings))
        return self._mailer

    def _http(self) -> httpx2.Client:
        if self._client is None:
            self._client = self._stack.enter_context(http.client(self.settings.delivery_timeout_seconds))
        return self._client


def _read(model: type[Payload], kind: str, payload: dict[str, Any]) -> Payload:
    """The payload as its channel's model; a payload that does not fit can never be sent."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "payload"
        raise DeliveryFailed(f"{kind} payload: {field}: {problem['msg']}", retryable=False) from None
