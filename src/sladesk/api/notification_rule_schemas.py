"""Request and response bodies of /api/v1/users/{id}/notification-rules: how pages reach a person."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from sladesk.api.schemas import Body
from sladesk.services.notification_rules import NotificationRule


class NotificationRuleIn(Body):
    after: str = Field(
        max_length=32, description="How long after the page: `0m` (at once), `5m`, `1h 30m`; 24h at most"
    )
    channel: Literal["email", "chat", "pagerduty"] = Field(
        description="`email` (the person's own address), `chat` (an incoming webhook) or `pagerduty` (Events API v2)"
    )
    to: str | None = Field(
        default=None,
        max_length=2000,
        description="chat: the incoming-webhook URL; pagerduty: the integration's routing key; email: leave it out",
    )
    url: str | None = Field(
        default=None,
        max_length=2000,
        description="pagerduty only: another Events API endpoint (PagerDuty's EU region); unset: PagerDuty's own",
    )


class NotificationRulesIn(Body):
    rules: list[NotificationRuleIn] = Field(
        description="In order, at most 10; an empty list: one email at once, the desk's default"
    )


class NotificationRuleOut(BaseModel):
    after: str
    channel: str
    to: str | None = None
    url: str | None = None


class NotificationRulesOut(BaseModel):
    user_id: int
    rules: list[NotificationRuleOut]
    default: bool = Field(description="True while the person has no rules: a page reaches them by one email at once")

    @classmethod
    def of(cls, user_id: int, rules: list[NotificationRule]) -> NotificationRulesOut:
        return cls(
            user_id=user_id,
            rules=[NotificationRuleOut(**rule.stored()) for rule in rules],
            default=not rules,
        )
