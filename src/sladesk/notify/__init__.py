"""The channels that carry the desk's outbox messages to people and systems: email, webhooks, chat, PagerDuty.

`deliver` sends one message, `Channels` many over shared connections; the outbox dispatcher retries a
retryable `DeliveryFailed` after `backoff`, and gives up (dead letter) after `MAX_ATTEMPTS`. Receivers drop
duplicates by the idempotency key.
"""

from __future__ import annotations

from sladesk.notify.channels import Channels, deliver
from sladesk.notify.failure import DeliveryFailed
from sladesk.notify.retry import MAX_ATTEMPTS, backoff

__all__ = ["MAX_ATTEMPTS", "Channels", "DeliveryFailed", "backoff", "deliver"]
