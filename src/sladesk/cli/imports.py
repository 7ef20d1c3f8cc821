"""sladesk import histories: closed (or still open) tickets with their whole histories, from a JSON lines file.

Every line is one ticket: its opening's fields and its later events (docs/import.md). The file is read and
checked whole, then imported in one transaction: a bad line stops the command (exit 2, naming the file, the
line and the field) and nothing is stored.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sladesk.cli.common import DatabaseUrlOption, DataDirOption, err, migrated_engine, out

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sladesk.services.actors import Actor
    from sladesk.services.errors import InvalidFieldError
    from sladesk.services.history_import import History, PastEvent

app = typer.Typer(help="Import a desk's past from another help desk.", no_args_is_help=True)

_OPENING_FIELDS = {
    "organisation_id",
    "requester_id",
    "subject",
    "description",
    "severity",
    "opened_at",
    "category",
    "intake",
    "follow_up_of",
}
_HISTORY_FIELD = re.compile(r"^histories\[(\d+)\]\.(?:opening\.)?(.*)$")


class _LineError(Exception):
    """A refused field of one line: the field as the line spells it, and why."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


@app.command("histories")
def histories(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE", help="JSON lines, one ticket a line: its opening and its events (- reads stdin)."
        ),
    ],
    as_user: Annotated[
        str,
        typer.Option("--as", metavar="EMAIL", help="The agent or admin who imports: the tickets are opened by them."),
    ],
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import tickets with their whole histories: each checked as the desk checks every change, none told to anyone.

    Each ticket's clocks, status and timers are what recording its events one by one would have stored.

    No message is sent for an imported past. A bad line stops the import: nothing is stored.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sladesk.services.errors import InvalidFieldError
    from sladesk.services.history_import import import_histories
    from sladesk.store import make_sessions, transaction

    name = "<stdin>" if file == "-" else file
    lines = _read_lines(file)
    parsed = []
    numbers = []
    for number, text in lines:
        try:
            parsed.append(_history(text))
        except _LineError as error:
            raise InvalidFieldError(f"{name}:{number}: {error.field}", error.message) from None
        numbers.append(number)
    if not parsed:
        out.print(f"{name} holds no tickets: nothing imported.", markup=False)
        return
    engine = migrated_engine(database_url, data_dir)
    columns = [TextColumn("importing histories"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    try:
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("tickets", total=len(parsed))
            with transaction(make_sessions(engine)) as session:
                actor = _importer(session, as_user)
                parsed = [_with_default_actors(history, actor.user_id) for history in parsed]
                try:
                    ids = import_histories(
                        session, actor, parsed, progress=lambda done: progress.update(task, completed=done)
                    )
                except InvalidFieldError as error:
                    raise _named(error, name, numbers) from None
    finally:
        engine.dispose()
    first, last = ids[0], ids[-1]
    span = f"ticket {first}" if len(ids) == 1 else f"tickets {first} to {last}"
    out.print(f"Imported {len(ids)} ticket{'s' if len(ids) != 1 else ''} from {name}: {span}.", markup=False)


def _read_lines(file: str) -> list[tuple[int, str]]:
    """The file's non-blank lines with their numbers (1 first)."""
    from sladesk.services.errors import InvalidFieldError

    try:
        text = sys.stdin.read() if file == "-" else Path(file).expanduser().read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidFieldError("FILE", f"cannot read {file}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidFieldError("FILE", f"{file} is not UTF-8 text") from None
    return [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _history(text: str) -> History:
    """One line as a history; a bad field raises _LineError naming it as the line spells it."""
    from sladesk.services.history_import import History
    from sladesk.services.tickets import Opening

    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise _LineError("line", f"not JSON: {error.msg} at column {error.colno}") from None
    if not isinstance(raw, dict):
        raise _LineError("line", "must be a JSON object with the opening's fields and its events")
    unknown = set(raw) - _OPENING_FIELDS - {"events"}
    if unknown:
        raise _LineError(sorted(unknown)[0], f"unknown field (known: {', '.join(sorted(_OPENING_FIELDS))}, events)")
    for field in ("organisation_id", "requester_id", "subject", "description", "severity", "opened_at"):
        if field not in raw:
            raise _LineError(field, "is missing")
    for field in ("organisation_id", "requester_id", "follow_up_of"):
        value = raw.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise _LineError(field, f"must be an id (a whole number), got {value!r}")
    for field in ("subject", "description", "category"):
        value = raw.get(field)
        if value is not None and not isinstance(value, str):
            raise _LineError(field, f"must be text, got {value!r}")
    severity = raw["severity"]
    if isinstance(severity, bool) or not isinstance(severity, int | str):
        raise _LineError("severity", f"must be a rank or a code, got {severity!r}")
    intake = raw.get("intake")
    if intake is not None and not isinstance(intake, Mapping):
        raise _LineError("intake", f"must map intake field ids to answers, got {intake!r}")
    events = raw.get("events", [])
    if not isinstance(events, list):
        raise _LineError("events", "must be a list of events")
    opening = Opening(
        organisation_id=raw["organisation_id"],
        requester_id=raw["requester_id"],
        subject=raw["subject"],
        description=raw["description"],
        severity=severity,
        opened_at=_instant(raw["opened_at"], "opened_at"),
        category=raw.get("category"),
        intake=intake,
        follow_up_of=raw.get("follow_up_of"),
    )
    return History(opening, [_event(item, f"events[{index}]") for index, item in enumerate(events)])


def _instant(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise _LineError(field, f"must be an ISO 8601 instant, got {value!r}")
    try:
        instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _LineError(field, f"{value!r} is not an ISO 8601 instant") from None
    if instant.utcoffset() is None:
        raise _LineError(field, f"{value!r} has no UTC offset (naive timestamps are refused)")
    return instant


_NO_ACTOR = 0  # the importer, filled in once the database says who that is


def _event(raw: Any, where: str) -> PastEvent:
    """One event of a line: its type's fields, `at` with an offset, and `actor_id` (who made it), if given."""
    from pydantic import ValidationError

    from sladesk.services.history_import import IMPORTED_TYPES, PastEvent
    from sladesk.sla.events import EVENT_ADAPTER

    if not isinstance(raw, dict):
        raise _LineError(where, f"must be an object with `at` and `type`, got {raw!r}")
    kind = raw.get("type")
    if kind not in IMPORTED_TYPES:
        raise _LineError(f"{where}.type", f"{kind!r} is not imported (imported: {', '.join(IMPORTED_TYPES)})")
    actor_id = raw.get("actor_id")
    if actor_id is not None and (isinstance(actor_id, bool) or not isinstance(actor_id, int)):
        raise _LineError(f"{where}.actor_id", f"must be a user id, got {actor_id!r}")
    fields = {key: value for key, value in raw.items() if key != "actor_id"}
    if "at" not in fields:
        raise _LineError(f"{where}.at", "is missing")
    fields["at"] = _instant(fields["at"], f"{where}.at")
    try:
        event = EVENT_ADAPTER.validate_python(fields)
    except ValidationError as error:
        problem = error.errors()[0]
        path = [str(part) for part in problem["loc"]]
        if path and path[0] == kind:
            path = path[1:]
        field = ".".join([where, *path]) if path else where
        raise _LineError(field, problem["msg"]) from None
    return PastEvent(event, _NO_ACTOR if actor_id is None else actor_id)


def _with_default_actors(history: History, importer: int) -> History:
    """Events given no `actor_id`: a customer's reply is the requester's, anything else the importer's."""
    from dataclasses import replace

    from sladesk.sla.events import ReplyEvent

    def actor(event: Any) -> int:
        if isinstance(event, ReplyEvent) and event.by == "customer":
            return history.opening.requester_id
        return importer

    events = [
        past if past.actor_id != _NO_ACTOR else replace(past, actor_id=actor(past.event)) for past in history.events
    ]
    return replace(history, events=events)


def _importer(session: Session, email: str) -> Actor:
    """The active agent or admin with this email, as the actor of the import."""
    from sqlalchemy import func, select

    from sladesk.services.actors import Actor, Role
    from sladesk.services.errors import InvalidFieldError
    from sladesk.store.tables import User

    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active or Role(user.role) is Role.CUSTOMER:
        raise InvalidFieldError("--as", f"no active agent or admin {email}")
    return Actor(user.id, Role(user.role), user.organisation_id)


def _named(error: InvalidFieldError, name: str, numbers: list[int]) -> InvalidFieldError:
    """A refusal of `histories[i]...` as the file, line and field of the line that holds history i."""
    from sladesk.services.errors import InvalidFieldError as Invalid

    match = _HISTORY_FIELD.match(error.field)
    if match is None:
        return error
    message = str(error).removeprefix(f"{error.field}: ")
    return Invalid(f"{name}:{numbers[int(match.group(1))]}: {match.group(2)}", message)
