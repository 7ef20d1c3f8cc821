"""Calendar feeds of on-call shifts, read back with `icalendar` as a calendar app would, on SQLite and PostgreSQL.

The schedule is `tests.support.oncall`'s: weekly hand-offs at 09:00 New York time among Alice, Bob and
Carol from 2 March 2026 to 30 March 2026, the first week 167 hours long (daylight saving time starts on
8 March). The desk's clock stands on Thursday 5 March, so a feed covers 26 February 12:00Z to 4 May 12:00Z.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from icalendar import Calendar

from tests.support.desk import Desk
from tests.support.oncall import NOW, add_override, create_primary, oncall_desk


@pytest.fixture
def desk(sessions, tmp_path) -> Desk:
    return oncall_desk(sessions, tmp_path)


def _feed(desk, body: dict[str, Any], role: str = "alice") -> str:
    answer = desk.client.post("/api/v1/oncall/feeds", headers=desk.headers[role], json=body)
    assert answer.status_code == 201, answer.text
    url: str = answer.json()["url"]
    assert url.startswith("http://testserver/oncall/feeds/")
    assert url.endswith(".ics")
    return url.removeprefix("http://testserver")


def _events(desk, path: str) -> list[tuple[str, str, datetime, datetime, str, int]]:
    """(uid, summary, start, end, status, sequence) of every event, fetched without an API token."""
    answer = desk.client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(answer.content)
    return [
        (
            str(event["UID"]),
            str(event["SUMMARY"]),
            event.decoded("DTSTART"),
            event.decoded("DTEND"),
            str(event["STATUS"]),
            int(event.decoded("SEQUENCE")),
        )
        for event in calendar.walk("VEVENT")
    ]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_schedule_feed_has_one_event_per_shift_with_stable_uids(desk):
    create_primary(desk)
    path = _feed(desk, {"schedule": "primary"})
    assert _events(desk, path) == [
        (
            "primary/weekly/0/20260302T140000Z",
            "On call: alice (Primary)",
            _utc("2026-03-02T14:00:00Z"),
            _utc("2026-03-09T13:00:00Z"),
            "CONFIRMED",
            0,
        ),
        (
            "primary/weekly/1/20260309T130000Z",
            "On call: bob (Primary)",
            _utc("2026-03-09T13:00:00Z"),
            _utc("2026-03-16T13:00:00Z"),
            "CONFIRMED",
            0,
        ),
        (
            "primary/weekly/2/20260316T130000Z",
            "On call: carol (Primary)",
            _utc("2026-03-16T13:00:00Z"),
            _utc("2026-03-23T13:00:00Z"),
            "CONFIRMED",
            0,
        ),
        (
            "primary/weekly/3/20260323T130000Z",
            "On call: alice (Primary)",
            _utc("2026-03-23T13:00:00Z"),
            _utc("2026-03-30T13:00:00Z"),
            "CONFIRMED",
            0,
        ),
    ]
    calendar = Calendar.from_ical(desk.client.get(path).content)
    assert str(calendar["X-WR-CALNAME"]) == "On call: Primary"
    first = calendar.walk("VEVENT")[0]
    assert first.decoded("DTSTAMP") == _utc(NOW)  # the schedule's last change


def test_a_shift_an_override_takes_away_is_cancelled_and_an_added_person_gets_an_event(desk):
    create_primary(desk)
    path = _feed(desk, {"schedule": "primary"})
    before = {uid: status for uid, _, _, _, status, _ in _events(desk, path)}
    assert before["primary/weekly/1/20260309T130000Z"] == "CONFIRMED"

    off = {"kind": "remove", "user_id": desk.ids["bob"], "start": "2026-03-09T13:00:00Z", "end": "2026-03-16T13:00:00Z"}
    add_override(desk, off)
    cover = {"kind": "add", "user_id": desk.ids["dave"], "start": "2026-03-10T00:00:00Z", "end": "2026-03-11T00:00:00Z"}
    added = add_override(desk, cover)

    events = {
        uid: (summary, start, end, status, sequence)
        for uid, summary, start, end, status, sequence in _events(desk, path)
    }
    assert events["primary/weekly/1/20260309T130000Z"] == (
        "On call: bob (Primary)",
        _utc("2026-03-09T13:00:00Z"),
        _utc("2026-03-16T13:00:00Z"),
        "CANCELLED",
        2,
    )
    assert events[f"primary/override/{added['id']}"] == (
        "On call: dave (Primary)",
        _utc("2026-03-10T00:00:00Z"),
        _utc("2026-03-11T00:00:00Z"),
        "CONFIRMED",
        2,
    )
    assert events["primary/weekly/2/20260316T130000Z"][3:] == ("CONFIRMED", 2)

    # the cancellation stays in the feed while the shift is in its window (7 days back), then goes
    desk.clock.set("2026-03-23T12:00:00Z")
    assert "primary/weekly/1/20260309T130000Z" in {e[0] for e in _events(desk, path)}
    desk.clock.set("2026-03-24T12:00:00Z")
    assert [e[0] for e in _events(desk, path)] == [
        "primary/weekly/2/20260316T130000Z",
        "primary/weekly/3/20260323T130000Z",
    ]


def test_a_persons_feed_has_only_their_shifts(desk):
    create_primary(desk)
    alice = _feed(desk, {"user_id": desk.ids["alice"]})
    assert [(uid, status) for uid, _, _, _, status, _ in _events(desk, alice)] == [
        ("primary/weekly/0/20260302T140000Z", "CONFIRMED"),
        ("primary/weekly/3/20260323T130000Z", "CONFIRMED"),
    ]
    calendar = Calendar.from_ical(desk.client.get(alice).content)
    assert str(calendar["X-WR-CALNAME"]) == "On call: alice"
    bob = _feed(desk, {"user_id": desk.ids["bob"]}, role="morgan")
    assert [uid for uid, *_ in _events(desk, bob)] == ["primary/weekly/1/20260309T130000Z"]


@pytest.mark.parametrize(
    ("body", "role", "status", "field"),
    [
        ({"user_id": "bob"}, "alice", 403, None),  # only admins issue someone else's feed
        ({"schedule": "nope"}, "alice", 404, None),
        ({}, "alice", 422, "schedule"),
        ({"schedule": "primary"}, "customer", 403, None),
    ],
)
def test_feeds_refused(desk, body, role, status, field):
    create_primary(desk)
    body = {key: desk.ids[value] if key == "user_id" else value for key, value in body.items()}
    answer = desk.client.post("/api/v1/oncall/feeds", headers=desk.headers[role], json=body)
    assert answer.status_code == status, answer.text
    assert answer.json().get("field") == field


def test_an_unknown_feed_is_404_and_a_deleted_schedule_takes_its_feed_along(desk):
    create_primary(desk)
    path = _feed(desk, {"schedule": "primary"})
    assert desk.client.get("/oncall/feeds/not-a-feed.ics").status_code == 404
    assert desk.client.get(path.replace(".ics", "x.ics")).status_code == 404
    deleted = desk.client.delete("/api/v1/oncall/schedules/primary", headers=desk.headers["morgan"])
    assert deleted.status_code == 204
    assert desk.client.get(path).status_code == 404


def test_a_feed_answers_304_while_nothing_changed(desk):
    create_primary(desk)
    path = _feed(desk, {"schedule": "primary"})
    first = desk.client.get(path)
    etag = first.headers["ETag"]
    assert desk.client.get(path, headers={"If-None-Match": etag}).status_code == 304
    add_override(
        desk,
        {"kind": "add", "user_id": desk.ids["dave"], "start": "2026-03-10T00:00:00Z", "end": "2026-03-11T00:00:00Z"},
    )
    changed = desk.client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
