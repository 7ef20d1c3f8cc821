"""Outgoing webhooks, signed the Standard Webhooks way (https://www.standardwebhooks.com).

Each request carries `webhook-id` (the message's idempotency key, the same on every retry),
`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`: `v1,` and the base64
HMAC-SHA256, keyed with the subscription's secret, of `{webhook-id}.{webhook-timestamp}.{body}`.
A secret is `whsec_` followed by the base64 of its random bytes; the bytes are the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx2
from pydantic import BaseModel, ConfigDict

from sladesk.errors import SladeskError
from sladesk.notify import http
from sladesk.notify.failure import DeliveryFailed

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
TOLERANCE = timedelta(minutes=5)
"""How far a receiver lets `webhook-timestamp` stray from its own clock before it calls a request a replay."""


class WebhookSecretError(SladeskError):
    """A webhook secret that is not `whsec_` and base64."""


class WebhookSignatureError(SladeskError):
    """A webhook request whose headers do not prove it came from the desk, now, with this body."""


class WebhookPayload(BaseModel):
    """An outbox `webhook` message: the document to POST to a subscriber, and the secret it is signed with."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    url: str
    secret: str
    event_type: str
    body: Any


def new_secret() -> str:
    """A fresh signing secret for a subscription, such as `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw...`."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signing_key(secret: str) -> bytes:
    """The HMAC key a secret stands for: the bytes its base64 part decodes to."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSecretError("a webhook secret is 'whsec_' followed by base64") from None
    if not key:
        raise WebhookSecretError("a webhook secret is 'whsec_' followed by base64 of at least one byte")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The `webhook-signature` value for this message id, timestamp and raw body: `v1,<base64 HMAC-SHA256>`."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    signed = f"{msg_id}.{timestamp}.".encode() + raw
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    secret: str, headers: Mapping[str, str], body: bytes | str, *, now: datetime, tolerance: timedelta = TOLERANCE
) -> None:
    """Return if `headers` sign exactly `body` with `secret` at a time within `tolerance` of `now`, else raise.

    `body` must be the raw bytes received, before any JSON parsing. `headers` may use any letter case.
    Raises `WebhookSignatureError` naming what is wrong.
    """
    named = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in ("webhook-id", "webhook-timestamp", "webhook-signature") if not named.get(name)]
    if missing:
        raise WebhookSignatureError(f"missing header {', '.join(missing)}")
    msg_id, stamp, offered = named["webhook-id"], named["webhook-timestamp"].strip(), named["webhook-signature"]
    if not stamp.isdigit():
        raise WebhookSignatureError(f"webhook-timestamp {stamp!r} is not Unix seconds")
    timestamp = int(stamp)
    skew_s = abs(now.timestamp() - timestamp)
    if skew_s > tolerance.total_seconds():
        raise WebhookSignatureError(f"webhook-timestamp {timestamp} is {skew_s:.0f} s from now, past the tolerance")
    expected = sign(secret, msg_id, timestamp, body).encode("ascii")
    # The header may hold several space-separated signatures (during a secret rotation); any v1 match will do.
    for candidate in offered.split():
        if hmac.compare_digest(candidate.encode("utf-8", errors="replace"), expected):
            return
    raise WebhookSignatureError("no v1 signature in webhook-signature matches the body")


def encode_body(body: Any) -> bytes:
    """The exact bytes posted and signed: compact JSON in UTF-8."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def send(
    message: WebhookPayload,
    idempotency_key: str,
    *,
    timestamp: int,
    timeout_s: float,
    through: httpx2.Client | None = None,
) -> None:
    """POST the message's body, signed for `timestamp`, to its subscriber."""
    try:
        raw = encode_body(message.body)
        signature = sign(message.secret, idempotency_key, timestamp, raw)
    except (TypeError, ValueError) as error:
        raise DeliveryFailed(f"webhook body is not JSON: {error}", retryable=False) from None
    except WebhookSecretError as error:
        raise DeliveryFailed(f"webhook subscription secret: {error}", retryable=False) from None
    headers = {
        "Content-Type": "application/json",
        "webhook-id": idempotency_key,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "Idempotency-Key": idempotency_key,
        "X-Sladesk-Event-Type": message.event_type,
    }
    http.post(message.url, raw, headers, channel="webhook", timeout_s=timeout_s, through=through)
