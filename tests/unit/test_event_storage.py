"""An event is stored as its type, instant and data (unset fields left out) and read back as the same event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sladesk.sla.events import AssignedEvent, CategoryEvent, Event, TierEvent, event_of

AT = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event", "stored", "summary"),
    [
        (AssignedEvent(at=AT, to=None), {}, "Unassigned"),
        (AssignedEvent(at=AT, to=3), {"to": 3}, "Assigned to user 3"),
        (
            TierEvent(at=AT, to=None, reason="contract ended"),
            {"reason": "contract ended"},
            "Tier became none: contract ended",
        ),
        (CategoryEvent(at=AT, to=None), {}, "Category became none"),
    ],
)
def test_an_event_cleared_to_none_is_stored_without_the_field_and_read_back_the_same(
    event: Event, stored: dict[str, object], summary: str
):
    assert event.data() == stored
    again = event_of(event.type, AT, event.data())
    assert again == event
    assert again.describe() == summary
