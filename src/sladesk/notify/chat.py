"""Chat messages through incoming webhooks: the `{"text": ...}` document Slack and Mattermost both accept."""

from __future__ import annotations

import json

import httpx2
from pydantic import BaseModel, ConfigDict

from sladesk.notify import http


class ChatPayload(BaseModel):
    """An outbox `chat` message: the channel's incoming-webhook URL and the text to post there."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    url: str
    text: str


def send(message: ChatPayload, idempotency_key: str, *, timeout_s: float, through: httpx2.Client | None = None) -> None:
    """Post the text to the channel; Slack and Mattermost ignore the `Idempotency-Key` header, a proxy may not."""
    body = json.dumps({"text": message.text}, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
    http.post(message.url, body, headers, channel="chat", timeout_s=timeout_s, through=through)
