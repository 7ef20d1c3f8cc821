"""Pages through the PagerDuty Events API v2, for teams whose on-call lives in PagerDuty.

The `dedup_key` names the incident: a trigger sent twice opens one incident, and `acknowledge` or
`resolve` with the same key act on it.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx2
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sladesk.notify import http

EVENTS_API_URL = "https://events.pagerduty.com/v2/enqueue"


class PagerDutyPayload(BaseModel):
    """An outbox `pagerduty` message; `summary`, `source` and `severity` are needed to trigger."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    url: str | None = None
    """Unset: PagerDuty's own Events API."""
    routing_key: str = Field(min_length=1)
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str = Field(min_length=1, max_length=255)
    summary: str | None = None
    severity: Literal["critical", "error", "warning", "info"] | None = None
    source: str | None = None
    custom_details: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _trigger_is_complete(self) -> PagerDutyPayload:
        if self.event_action == "trigger":
            missing = [name for name in ("summary", "source", "severity") if not getattr(self, name)]
            if missing:
                raise ValueError(f"a trigger needs {', '.join(missing)}")
        return self


def event(message: PagerDutyPayload) -> dict[str, Any]:
    """The Events API v2 document for the message; only a trigger describes the incident."""
    document: dict[str, Any] = {
        "routing_key": message.routing_key,
        "event_action": message.event_action,
        "dedup_key": message.dedup_key,
    }
    if message.event_action == "trigger":
        details: dict[str, Any] = {
            # PagerDuty cuts longer summaries itself; cutting here keeps the request within its limits.
            "summary": (message.summary or "")[:1024],
            "source": message.source,
            "severity": message.severity,
            "custom_details": message.custom_details or {},
        }
        document["payload"] = details
    return document


def send(
    message: PagerDutyPayload, idempotency_key: str, *, timeout_s: float, through: httpx2.Client | None = None
) -> None:
    """Send the event; PagerDuty answers 202 when it has it, 400 for a malformed one, 429 when throttling."""
    body = json.dumps(event(message), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
    http.post(message.url or EVENTS_API_URL, body, headers, channel="pagerduty", timeout_s=timeout_s, through=through)
