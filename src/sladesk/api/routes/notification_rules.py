"""/api/v1/users/{id}/notification-rules: how an escalation's pages reach a person, and after how long."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.notification_rule_schemas import NotificationRulesIn, NotificationRulesOut
from sladesk.api.schemas import MAX_ID
from sladesk.services.notification_rules import read_rules, replace_rules
from sladesk.store import reading, transaction

router = APIRouter(prefix="/api/v1", tags=["directory"])
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/users/{user_id}/notification-rules", response_model=NotificationRulesOut)
def read_notification_rules(user_id: UserId, actor: CurrentActor, sessions: Sessions) -> NotificationRulesOut:
    """The person's notification rules for pages (the person themself or an admin; customers have none)."""
    with reading(sessions) as session:
        return NotificationRulesOut.of(user_id, read_rules(session, actor, user_id))


@router.put("/users/{user_id}/notification-rules", response_model=NotificationRulesOut)
def replace_notification_rules(
    user_id: UserId, body: NotificationRulesIn, actor: CurrentActor, sessions: Sessions
) -> NotificationRulesOut:
    """Replace the person's notification rules (the person themself or an admin).

    Each rule sends one message when an escalation step pages the person, `after` the page, whatever their
    quiet hours: `{"after": "0m", "channel": "email"}`, `{"after": "0m", "channel": "chat", "to": "<webhook
    URL>"}`, `{"after": "5m", "channel": "pagerduty", "to": "<routing key>"}`. At most 10; 422 names the field
    refused (`rules.2.to`). Rules not yet sent are cancelled when the incident is acknowledged or resolved.
    """
    rules = [rule.model_dump(exclude_none=True) for rule in body.rules]
    with transaction(sessions) as session:
        return NotificationRulesOut.of(user_id, replace_rules(session, actor, user_id, rules))
