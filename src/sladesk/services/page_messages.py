"""The messages a page and an incident's acknowledgement or resolve send, per person.

A page tells each person it names by email, whatever their quiet hours (`notifications.people_messages`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from sladesk.policy import Policy
from sladesk.services.notifications import people_messages
from sladesk.sla import Event
from sladesk.store.tables import Ticket, TicketEvent, User


def page_messages(
    session: Session, ticket: Ticket, row: TicketEvent, event: Event, users: Sequence[User], policy: Policy
) -> list[dict[str, Any]]:
    """The outbox rows telling `users` of the recorded page `row`."""
    return people_messages(ticket, row, users, policy)


def incident_messages(session: Session, ticket: Ticket, row: TicketEvent, event: Event) -> list[dict[str, Any]]:
    """The outbox rows an incident's acknowledgement or resolve causes (none yet)."""
    return []
