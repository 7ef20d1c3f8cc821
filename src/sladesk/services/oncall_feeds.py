"""Calendar feeds of on-call shifts: secret URLs that calendar apps subscribe to, and the iCalendar they read.

A feed is one schedule's shifts or one person's shifts across every schedule, from 7 days ago to 60 days
ahead. Its URL holds a random secret (shown once; the store keeps its sha256), so calendar apps, which send
no API token, can fetch it.

Each layer shift is one event under the shift's stable uid (`sladesk.oncall.LayerShift.uid`), so a
subscribed calendar updates the same event rather than adding another. An override that takes the person
off the whole shift leaves the event in the feed with `STATUS:CANCELLED` for as long as the shift is in the
window, so calendars drop it; an override that puts someone on call adds an event of its own. `SEQUENCE` is
the schedule's version less one (it goes up with every change of the layers or the overrides) and
`DTSTAMP` the time of that change.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.oncall import Shift, final_schedule, layer_shifts
from sladesk.services.actors import Actor, Role, require_staff
from sladesk.services.errors import ForbiddenError, InvalidFieldError
from sladesk.services.oncall import EARLIEST, LATEST, StoredSchedule, schedule_row, stored, user_names
from sladesk.store.tables import CalendarFeedToken, OncallSchedule, User

FEED_PAST = timedelta(days=7)
FEED_AHEAD = timedelta(days=60)
FEED_PATH = "/oncall/feeds/{secret}.ics"
PRODID = "-//sladesk//on-call schedules//EN"


@dataclass(frozen=True)
class FeedEvent:
    """One event of a feed: a person's shift on a schedule, confirmed or cancelled."""

    uid: str
    user: int
    start: datetime
    end: datetime
    cancelled: bool
    schedule: OncallSchedule
    layer: str | None  # None for an override's own event


@dataclass(frozen=True)
class IssuedFeed:
    """A new feed: its secret URL path (shown once) and what it shows."""

    path: str
    schedule: str | None
    user_id: int | None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def issue_feed(
    session: Session, actor: Actor, *, schedule: str | None, user_id: int | None, now: datetime
) -> IssuedFeed:
    """A feed URL for one schedule (staff) or one person's shifts (that person, or an admin for anyone)."""
    require_staff(actor, "see on-call schedules")
    if (schedule is None) == (user_id is None):
        raise InvalidFieldError("schedule", "give either `schedule` (a schedule's slug) or `user_id`, not both")
    schedule_id = None
    if schedule is not None:
        schedule_id = schedule_row(session, schedule).id
    if user_id is not None:
        if user_id != actor.user_id and actor.role is not Role.ADMIN:
            raise ForbiddenError("only admins issue a feed of someone else's shifts")
        user = session.get(User, user_id)
        if user is None or user.role == Role.CUSTOMER.value:
            raise InvalidFieldError("user_id", f"no agent or admin {user_id}")
    secret = secrets.token_urlsafe(32)
    session.add(
        CalendarFeedToken(user_id=user_id, schedule_id=schedule_id, token_hash=secret_hash(secret), created_at=now)
    )
    session.flush()
    return IssuedFeed(FEED_PATH.format(secret=secret), schedule, user_id)


def feed_calendar(session: Session, secret: str, now: datetime) -> bytes | None:
    """The iCalendar text of the feed with this secret, or None when no feed has it."""
    token = session.scalar(select(CalendarFeedToken).where(CalendarFeedToken.token_hash == secret_hash(secret)))
    if token is None:
        return None
    start, end = now - FEED_PAST, now + FEED_AHEAD
    if token.schedule_id is not None:
        row = session.get(OncallSchedule, token.schedule_id)
        if row is None:
            return None
        return render(session, schedule_events(stored(session, row), start, end), f"On call: {row.name}")
    assert token.user_id is not None
    user = session.get(User, token.user_id)
    if user is None:
        return None
    events: list[FeedEvent] = []
    for row in session.scalars(select(OncallSchedule).order_by(OncallSchedule.slug)):
        events += [e for e in schedule_events(stored(session, row), start, end) if e.user == user.id]
    return render(session, events, f"On call: {user.name}")


def schedule_calendar(session: Session, slug: str, start: datetime, end: datetime) -> bytes:
    """The iCalendar text of one schedule's shifts overlapping [start, end), as its feed gives them."""
    for field, instant in (("from", start), ("to", end)):
        if not EARLIEST <= instant < LATEST:
            raise InvalidFieldError(field, f"must be in the years {EARLIEST.year} to {LATEST.year - 1}")
    if end <= start:
        raise InvalidFieldError("to", "must be after `from`")
    row = schedule_row(session, slug)
    return render(session, schedule_events(stored(session, row), start, end), f"On call: {row.name}")


def schedule_events(schedule: StoredSchedule, start: datetime, end: datetime) -> list[FeedEvent]:
    """The events of a schedule's shifts overlapping [start, end): each layer shift where the layers put its
    person on call (cancelled where the overrides take them off all of it), then the overrides' own."""
    pure, overrides, row = schedule.schedule, schedule.pure_overrides, schedule.row
    shifts = layer_shifts(pure, start, end)
    low = min([start, *(shift.start for shift in shifts)])
    high = max([end, *(shift.end for shift in shifts)])
    without = final_schedule(pure, [], low, high)
    final = final_schedule(pure, overrides, low, high)
    events: list[FeedEvent] = []
    for shift in shifts:
        planned = _cover(without, shift.user, shift.start, shift.end)
        if not planned:
            continue  # a higher layer has someone throughout: it never was this person's shift
        kept = _cover(final, shift.user, shift.start, shift.end)
        span = kept or planned
        events.append(FeedEvent(shift.uid, shift.user, span[0][0], span[-1][1], not kept, row, shift.layer_id))
    for override in schedule.overrides:
        if override.kind == "remove" or override.ends_at <= start or override.starts_at >= end:
            continue
        covered = _cover(final, override.user_id, max(override.starts_at, low), min(override.ends_at, high))
        if covered:
            uid = f"{row.slug}/override/{override.id}"
            events.append(FeedEvent(uid, override.user_id, covered[0][0], covered[-1][1], False, row, None))
    return events


def _cover(shifts: Sequence[Shift], user: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The stretches of [start, end) in which `user` is on call in `shifts`, in order."""
    found: list[tuple[datetime, datetime]] = []
    for shift in shifts:
        if shift.end <= start or shift.start >= end or user not in shift.people:
            continue
        found.append((max(shift.start, start), min(shift.end, end)))
    return found


def render(session: Session, events: Sequence[FeedEvent], name: str) -> bytes:
    """The events as an iCalendar document, in order of start."""
    names = user_names(session, (event.user for event in events))
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for item in sorted(events, key=lambda e: (e.start, e.uid)):
        person = names.get(item.user)
        who = person.name if person is not None else f"user {item.user}"
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", item.schedule.updated_at)
        event.add("sequence", item.schedule.version - 1)
        event.add("dtstart", item.start)
        event.add("dtend", item.end)
        event.add("summary", f"On call: {who} ({item.schedule.name})")
        what = f"layer {item.layer}" if item.layer is not None else "an override"
        event.add("description", f"{who} is on call for {item.schedule.name} ({what}).")
        event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    text: bytes = calendar.to_ical()
    return text
