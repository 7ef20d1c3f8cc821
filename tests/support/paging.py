"""A paging desk for the tests: Prairie Media on Alli's policy, paging through the escalation policy `night`.

    paging_desk(desk)                       # Morgan (admin), Ann, Bo and Cy (agents), Riley (customer)
    ticket = open_p1(desk)                  # Riley's P1 at SUNDAY_3AM

Alli pages on-call for P1 and P2; the uploaded variant `alli_paging` names the escalation policy `night`.
The schedule `primary` (America/Chicago) has Ann on call every day from 09:00 to 09:00 the next day (from
Monday 23 November 2026), and, when `with_days`, Bo on weekday days 09:00-17:00 on a second layer. `night`
pages the primary schedule's on-call person at once, then Cy after 5 minutes, then the lead Morgan 10 minutes
later while the incident is not resolved, even acknowledged (`night_steps`); `steps` replaces those.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sladesk.config import Settings
from sladesk.services import Role
from sladesk.services import tickets as ticket_services
from sladesk.services.escalation_policies import create_policy
from sladesk.services.oncall import create_schedule
from sladesk.services.policies import upload_policy
from tests.support.desk import Desk
from tests.support.units import committed
from tests.support.variants import variant

SUNDAY_3AM = datetime.fromisoformat("2026-11-29T03:00:00-06:00")  # Sunday 29 Nov 2026 03:00 Chicago


class Sent:
    """Stands in for the channels at the edge: every message the worker hands over, in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any], str]] = []

    def __call__(self, kind: str, payload: dict[str, Any], key: str, settings: Settings) -> None:
        self.messages.append((kind, payload, key))

    def emails_to(self, address: str) -> list[dict[str, Any]]:
        return [payload for kind, payload, _ in self.messages if kind == "email" and address in payload["to"]]


def night_steps(desk: Desk) -> list[dict[str, Any]]:
    """The escalation policy `night`: the primary schedule at once, Cy after 5 minutes, Morgan 10 minutes later."""
    return [
        {"targets": [{"schedule": "primary"}], "escalate_after": "5m"},
        {"targets": [{"user": desk.ids["cy"]}], "escalate_after": "10m"},
        {"targets": [{"user": desk.ids["morgan"]}], "escalate_after": "15m", "condition": "not_resolved"},
    ]


def paging_desk(
    desk: Desk, *, with_days: bool = True, steps: Callable[[Desk], list[dict[str, Any]]] = night_steps
) -> Desk:
    """Set the paging desk up on `desk`, its clock an hour before SUNDAY_3AM; `steps(desk)` are `night`'s."""
    desk.clock.set(SUNDAY_3AM - timedelta(hours=1))
    desk.user("morgan", Role.ADMIN)
    for key in ("ann", "bo", "cy"):
        desk.user(key, Role.AGENT)
    admin, now = desk.actors["morgan"], desk.clock()
    paging = variant("alli", "alli_paging", paging={"escalation_policy": "night"})
    committed(upload_policy)(desk.sessions, admin, paging, now=now)
    desk.user("riley", Role.CUSTOMER, desk.organisation("Prairie Media", "alli_paging"))
    layers: list[dict[str, Any]] = [
        {"id": "nights", "start": "2026-11-23T09:00", "rotation": "daily", "people": [desk.ids["ann"]]}
    ]
    if with_days:
        days = {"id": "days", "start": "2026-11-23T09:00", "rotation": "daily", "people": [desk.ids["bo"]]}
        layers.append({**days, "restrictions": [{"days": "mon-fri", "hours": "09:00-17:00"}]})
    committed(create_schedule)(desk.sessions, admin, "primary", "Primary", "America/Chicago", layers, now=now)
    spec = {"steps": steps(desk)}
    committed(create_policy)(desk.sessions, admin, "night", "Night", spec, now=now)
    return desk


def open_p1(desk: Desk) -> int:
    """Riley's P1 "Every dashboard is empty", opened at SUNDAY_3AM (the desk's clock is set there)."""
    desk.clock.set(SUNDAY_3AM)
    change = committed(ticket_services.open_ticket)(
        desk.sessions,
        desk.actors["riley"],
        subject="Every dashboard is empty",
        description="No data for any client since 02:40.",
        severity="P1",
        now=SUNDAY_3AM,
    )
    return change.ticket.id
