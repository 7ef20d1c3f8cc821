"""sladesk oncall: who is on call on a desk's schedule, who is next, and its shifts as an iCalendar file.

The commands read the desk's database (the data directory's, or `--database-url`'s) and change nothing.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from sladesk.cli.common import DatabaseUrlOption, DataDirOption, migrated_engine, out

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sladesk.store.tables import User

app = typer.Typer(
    help="On-call schedules: who is on call, who is next, and their shifts as iCalendar.", no_args_is_help=True
)

ScheduleArgument = Annotated[str, typer.Argument(metavar="SCHEDULE", help="The schedule's slug.")]


def _instant(text: str | None, option: str) -> datetime:
    """An instant given on the command line (ISO 8601 with an offset or Z), or now."""
    from sladesk.services.errors import InvalidFieldError

    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidFieldError(option, f"{text!r} is not an instant like 2026-03-09T09:00:00-05:00") from None
    if value.utcoffset() is None:
        raise InvalidFieldError(option, f"{text!r} has no UTC offset: add one, e.g. Z or -05:00")
    return value


def _who(user_ids: frozenset[int], names: Mapping[int, User]) -> str:
    """The people as `name <email> (user id)`, in id order."""
    shown = []
    for user_id in sorted(user_ids):
        user = names.get(user_id)
        shown.append(f"{user.name} <{user.email}> (user {user_id})" if user is not None else f"user {user_id}")
    return ", ".join(shown)


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@app.command("now")
def now(
    schedule: ScheduleArgument,
    at: Annotated[str | None, typer.Option("--at", metavar="INSTANT", help="Another instant than now.")] = None,
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Who is on call on SCHEDULE now (or at --at), overrides applied."""
    from sladesk.services import oncall
    from sladesk.store import make_sessions, reading

    instant = _instant(at, "--at")
    engine = migrated_engine(database_url, data_dir)
    try:
        with reading(make_sessions(engine)) as session:
            stored = oncall.load_schedule(session, schedule)
            people = oncall.who_is_on_call(stored, instant)
            names = oncall.user_names(session, people)
    finally:
        engine.dispose()
    who = _who(people, names) if people else "nobody is on call"
    out.print(f"{schedule} at {_utc(instant)}: {who}", markup=False)


@app.command("next")
def next_shift(
    schedule: ScheduleArgument,
    after: Annotated[str | None, typer.Option("--after", metavar="INSTANT", help="Another instant than now.")] = None,
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Who is on call next on SCHEDULE after now (or --after), and from when to when."""
    from sladesk.services import oncall
    from sladesk.store import make_sessions, reading

    instant = _instant(after, "--after")
    engine = migrated_engine(database_url, data_dir)
    try:
        with reading(make_sessions(engine)) as session:
            stored = oncall.load_schedule(session, schedule)
            shift = oncall.next_on_call(stored, instant)
            names = oncall.user_names(session, shift.people if shift else ())
    finally:
        engine.dispose()
    if shift is None:
        out.print(f"{schedule} after {_utc(instant)}: nobody else is on call within 90 days", markup=False)
        return
    who = _who(shift.people, names)
    out.print(f"{schedule} next: {who} from {_utc(shift.start)} to {_utc(shift.end)}", markup=False)


@app.command("export")
def export(
    schedule: ScheduleArgument,
    start: Annotated[
        str | None, typer.Option("--from", metavar="INSTANT", help="The window's start (default: 7 days ago).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", metavar="INSTANT", help="The window's end (default: 60 days from now).")
    ] = None,
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print SCHEDULE's shifts as iCalendar, as its calendar feed gives them: ... export primary > primary.ics"""
    from sladesk.services.errors import InvalidFieldError
    from sladesk.services.oncall_feeds import FEED_AHEAD, FEED_PAST, schedule_calendar
    from sladesk.store import make_sessions, reading

    moment = datetime.now(UTC)
    first = _instant(start, "--from") if start is not None else moment - FEED_PAST
    last = _instant(end, "--to") if end is not None else moment + FEED_AHEAD
    if last <= first:
        raise InvalidFieldError("--to", "must be after --from")
    if last - first > timedelta(days=400):
        raise InvalidFieldError("--to", "the window is at most 400 days long")
    engine = migrated_engine(database_url, data_dir)
    try:
        with reading(make_sessions(engine)) as session:
            text = schedule_calendar(session, schedule, first, last)
    finally:
        engine.dispose()
    sys.stdout.buffer.write(text)
    sys.stdout.buffer.flush()
