"""The agent console: the one work queue with the number-one item first, saved views, and the ticket page.

Every action form carries the ticket version the agent read. The use case refuses a change made at an
older version (`StaleVersionError`); the page then answers 409 with what other people changed since, and
stores nothing, so two agents never overwrite each other silently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Path, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from sladesk.errors import SladeskError
from sladesk.services import (
    ConflictError,
    InvalidFieldError,
    StaleVersionError,
    assign,
    change_category,
    change_severity,
    change_status,
    change_tier,
    merge_duplicate,
    reply,
    set_outside_incident,
)
from sladesk.services.attachments import ALLOWED_CONTENT_TYPES, MAX_ATTACHMENT_BYTES, add_attachment
from sladesk.services.clocks import ticket_policy
from sladesk.services.console_views import (
    COMMS_LABELS,
    QueueFilters,
    console_queue,
    console_ticket,
    delete_view,
    event_floor,
    organisation_choices,
    queue_mark,
    save_view,
    saved_views,
    team_choices,
)
from sladesk.services.incidents import acknowledge_incident, resolve_incident
from sladesk.services.pins import pin_ticket, unpin_ticket
from sladesk.services.signin import Visitor
from sladesk.services.tickets import change_path, confirm_severity, mark_believed_resolved, post_comms_update
from sladesk.services.views import HistoryEntry
from sladesk.services.worklog import MAX_MINUTES, TimeLogFilters, log_time, minutes_by_work, time_logs
from sladesk.store import reading, transaction
from sladesk.store.engine import attachments_dir
from sladesk.store.tables import Ticket
from sladesk.web.format import local_time
from sladesk.web.pages import (
    CheckedForm,
    Staff,
    attachment_download,
    field,
    now_of,
    page_router,
    redirect,
    render,
    sessions_of,
    zone_of,
)

QUEUE_LENGTH = 100
# What the reply and note forms' file inputs accept (the drop zone the portal uses too).
_FILE_LIMITS = {
    "accepted_files": ",".join(sorted(ALLOWED_CONTENT_TYPES)),
    "max_megabytes": MAX_ATTACHMENT_BYTES // (1024 * 1024),
    "intake": None,
    "errors": {},
}
MAX_ID = 2**31 - 1

TicketId = Annotated[int, Path(ge=1, le=MAX_ID)]
ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]

router = page_router()


@router.get("/queue")
def queue(request: Request, visitor: Staff) -> HTMLResponse:
    filters = QueueFilters.of(dict(request.query_params))
    now = now_of(request)
    with reading(sessions_of(request)) as session:
        rows = console_queue(session, visitor.actor, filters, now, QUEUE_LENGTH)
        views = saved_views(session, visitor.actor)
        organisations = organisation_choices(session)
        teams = team_choices(session)
        floor = event_floor(session)
        live_since = f"{floor}:{queue_mark(session, floor)}"  # the stream starts from what this page shows
    return render(
        request,
        "queue.html",
        {
            "title": "Queue",
            "items": rows,
            "filters": filters,
            "views": views,
            "organisations": organisations,
            "teams": teams,
            "query_of": _query_of,
            "live_since": live_since,
        },
    )


def _query_of(filters: QueueFilters) -> str:
    values = filters.query()
    return f"?{urlencode(values)}" if values else ""


@router.post("/queue/views")
def save_queue_view(request: Request, visitor: Staff, form: CheckedForm) -> Response:
    names = ("severity", "organisation", "assignee", "state", "team")
    filters = QueueFilters.of({name: field(form, name) for name in names})
    with transaction(sessions_of(request)) as session:
        saved = save_view(session, visitor.actor, field(form, "name"), filters, now_of(request))
    return redirect(f"/queue{_query_of(filters)}", done=f"Saved the view “{saved.name}”.")


@router.post("/queue/views/{view_id}/delete")
def delete_queue_view(request: Request, visitor: Staff, form: CheckedForm, view_id: ItemId) -> Response:
    with transaction(sessions_of(request)) as session:
        name = delete_view(session, visitor.actor, view_id)
    return redirect("/queue", done=f"Deleted the view “{name}”.")


@router.get("/tickets/{ticket_id}")
def ticket_page(request: Request, visitor: Staff, ticket_id: TicketId) -> HTMLResponse:
    with reading(sessions_of(request)) as session:
        page = console_ticket(session, visitor.actor, ticket_id, now_of(request))
    context = {
        "title": f"#{ticket_id} {page.ticket.subject}",
        "page": page,
        "zone": zone_of(visitor, page.zone),
        "incident": incident_panel(page.history),
    }
    return render(request, "console/ticket.html", context | _FILE_LIMITS)


@dataclass(frozen=True)
class IncidentPanel:
    """The ticket's on-call incident as its history tells it: its state in words, and its pages so far."""

    started_at: datetime
    escalation_policy: str | None
    state: str  # Triggered, Acknowledged, Resolved
    by: str | None  # who acknowledged (the latest) or resolved it
    at: datetime | None  # when
    pages: list[HistoryEntry]
    note: str | None  # why nobody is paged, when the desk said so at the start

    @property
    def resolved(self) -> bool:
        return self.state == "Resolved"


def incident_panel(history: Sequence[HistoryEntry]) -> IncidentPanel | None:
    """The incident panel of a ticket page, or None when no incident started."""
    started = next((e for e in history if e.type == "incident" and e.data.get("action") == "triggered"), None)
    if started is None:
        return None
    state, by, at = "Triggered", None, None
    for entry in history:
        if entry.type != "incident" or entry.sequence <= started.sequence or state == "Resolved":
            continue
        if entry.data.get("action") == "acknowledged":
            state, by, at = "Acknowledged", entry.actor_name or "the desk", entry.at
        elif entry.data.get("action") == "resolved":
            state, by, at = "Resolved", entry.actor_name or "the desk", entry.at
    return IncidentPanel(
        started_at=started.at,
        escalation_policy=started.data.get("escalation_policy"),
        state=state,
        by=by,
        at=at,
        pages=[entry for entry in history if entry.type == "page"],
        note=started.data.get("reason"),
    )


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}")
def attachment(request: Request, visitor: Staff, ticket_id: TicketId, attachment_id: ItemId) -> FileResponse:
    """A ticket's file, as a download (never rendered inline)."""
    return attachment_download(request, visitor.actor, ticket_id, attachment_id)


# The actions: each reads the version the form was rendered at and calls the API's use case.

Action = Callable[[Session, int], str]  # (session, version) -> the confirmation to show


def _act(request: Request, visitor: Visitor, ticket_id: int, form: CheckedForm, action: Action) -> Response:
    version = _version(field(form, "version"))
    try:
        with transaction(sessions_of(request)) as session:
            done = action(session, version)
    except StaleVersionError:
        return _conflict(request, visitor, ticket_id, version, form)
    except (InvalidFieldError, ConflictError) as problem:
        return _refused(request, visitor, ticket_id, form, problem)
    return redirect(f"/tickets/{ticket_id}", done=done)


def _refused(
    request: Request, visitor: Visitor, ticket_id: int, form: CheckedForm, problem: SladeskError
) -> HTMLResponse:
    """The ticket page again, with the problem above the actions and the text the agent wrote kept (422 or 409)."""
    with reading(sessions_of(request)) as session:
        page = console_ticket(session, visitor.actor, ticket_id, now_of(request))
    context = {
        "title": f"#{ticket_id} {page.ticket.subject}",
        "page": page,
        "zone": zone_of(visitor, page.zone),
        "incident": incident_panel(page.history),
        "problem": str(problem),
        "kept": {
            "action": request.url.path.rsplit("/", 1)[-1],
            "body": field(form, "body") or field(form, "note"),
        },
    }
    status = 409 if isinstance(problem, ConflictError) else 422
    return render(request, "console/ticket.html", context | _FILE_LIMITS, status_code=status)


def _version(text: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidFieldError("version", "reload the ticket: the form does not say which version it was read at")
    return int(text)


def _conflict(request: Request, visitor: Visitor, ticket_id: int, version: int, form: CheckedForm) -> HTMLResponse:
    """409: someone changed the ticket since `version`; say what, keep what the agent wrote, store nothing."""
    with reading(sessions_of(request)) as session:
        page = console_ticket(session, visitor.actor, ticket_id, now_of(request))
    changes = [entry for entry in page.history if entry.sequence > version]  # a staff version counts every event
    action = request.url.path.rsplit("/", 1)[-1]
    return render(
        request,
        "console/conflict.html",
        {
            "title": f"#{ticket_id} changed meanwhile",
            "page": page,
            "changes": changes,
            "action": action,
            "body": field(form, "body") or field(form, "note"),
            "channel": field(form, "channel"),
            "files_chosen": [f.filename for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename],
            "zone": zone_of(visitor, page.zone),
        }
        | _FILE_LIMITS,
        status_code=409,
    )


@router.post("/tickets/{ticket_id}/reply")
def reply_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    return _act(request, visitor, ticket_id, form, _writing(request, visitor, ticket_id, form, public=True))


@router.post("/tickets/{ticket_id}/note")
def note_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    return _act(request, visitor, ticket_id, form, _writing(request, visitor, ticket_id, form, public=False))


def _writing(request: Request, visitor: Visitor, ticket_id: int, form: CheckedForm, *, public: bool) -> Action:
    """A reply (public) or a note (internal) with the files chosen beside it, kept together or not at all.

    A file sent with a note is internal like the note; with a reply the customer sees it.
    """

    def action(session: Session, version: int) -> str:
        body = field(form, "body")
        files = [value for value in form.getlist("files") if isinstance(value, UploadFile) and value.filename]
        now = now_of(request)
        if body.strip() or not files:
            reply(session, visitor.actor, ticket_id, body, public=public, expected_version=version, now=now)
        storage = attachments_dir(request.app.state.attachments_dir)
        for upload in files:
            name = upload.filename or ""
            if upload.size is not None and upload.size > MAX_ATTACHMENT_BYTES:
                raise InvalidFieldError("files", f"{name} is larger than the limit of {MAX_ATTACHMENT_BYTES} bytes")
            try:
                add_attachment(
                    session,
                    visitor.actor,
                    ticket_id,
                    filename=name,
                    content_type=upload.content_type or "application/octet-stream",
                    data=upload.file,
                    storage=storage,
                    public=public,
                    now=now,
                )
            except InvalidFieldError as error:
                if error.field != "file":
                    raise
                reason = str(error).removeprefix("file: ")
                raise InvalidFieldError("files", f"{name} was refused: {reason}") from None
        attached = f" with {len(files)} file{'s' if len(files) != 1 else ''}" if files else ""
        if not body.strip():
            return f"{len(files)} file{'s' if len(files) != 1 else ''} attached{'' if public else ' (internal)'}."
        return f"Reply sent to the customer{attached}." if public else f"Internal note added{attached}."

    return action


@router.post("/tickets/{ticket_id}/status")
def status_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        status = field(form, "status")
        change = change_status(session, visitor.actor, ticket_id, status, expected_version=version, now=now_of(request))
        return f"Status changed to {ticket_policy(session, change.ticket).status(status).name}."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/severity")
def severity_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        reason = field(form, "reason").strip()
        if not reason:
            raise InvalidFieldError("reason", "say why the severity changes")
        severity = field(form, "severity").strip()
        to: int | str = int(severity) if severity.isascii() and severity.isdigit() and len(severity) < 6 else severity
        change = change_severity(
            session, visitor.actor, ticket_id, to, reason, expected_version=version, now=now_of(request)
        )
        severity_spec = ticket_policy(session, change.ticket).severity(change.ticket.severity_rank)
        return f"Severity changed to {severity_spec.code} ({severity_spec.name})."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/category")
def category_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        category = field(form, "category").strip() or None
        reason = _reason(form, "category")
        change_category(
            session, visitor.actor, ticket_id, category, reason, expected_version=version, now=now_of(request)
        )
        return f"Category changed to {category or 'none'}."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/tier")
def tier_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        tier = field(form, "tier").strip() or None
        reason = _reason(form, "tier")
        change_tier(session, visitor.actor, ticket_id, tier, reason, expected_version=version, now=now_of(request))
        return f"Tier changed to {tier or 'none'}."

    return _act(request, visitor, ticket_id, form, action)


def _reason(form: CheckedForm, what: str) -> str:
    reason = field(form, "reason").strip()
    if not reason:
        raise InvalidFieldError("reason", f"say why the {what} changes")
    return reason


@router.post("/tickets/{ticket_id}/assign")
def assign_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        chosen = field(form, "assignee").strip()
        if chosen == "me":
            assignee: int | None = visitor.actor.user_id
        elif not chosen:
            assignee = None
        elif chosen.isascii() and chosen.isdigit() and len(chosen) < 10:
            assignee = int(chosen)
        else:
            raise InvalidFieldError("assignee", "choose an agent")
        assign(session, visitor.actor, ticket_id, assignee, expected_version=version, now=now_of(request))
        if assignee is None:
            return "The ticket is now unassigned."
        return "Assigned to you." if assignee == visitor.actor.user_id else "Assigned."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/outside-incident")
def outside_incident_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        clear = field(form, "set") == "no"
        reason = None if clear else field(form, "reason").strip()
        if reason == "":
            raise InvalidFieldError("reason", "name the outside incident")
        set_outside_incident(session, visitor.actor, ticket_id, reason, expected_version=version, now=now_of(request))
        return "No longer marked as an outside incident." if clear else "Marked as caused by an outside incident."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/incident/acknowledge")
def acknowledge_incident_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        acknowledge_incident(session, visitor.actor, ticket_id, expected_version=version, now=now_of(request))
        return "On-call incident acknowledged: the steps waiting for an acknowledgement stop."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/incident/resolve")
def resolve_incident_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        resolve_incident(session, visitor.actor, ticket_id, expected_version=version, now=now_of(request))
        return "On-call incident resolved: nobody is paged for it any more."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/merge")
def merge_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        into = field(form, "into").strip().removeprefix("#")
        if not (into.isascii() and into.isdigit() and len(into) < 10):
            raise InvalidFieldError("into", "give the number of the ticket to merge into")
        merge_duplicate(session, visitor.actor, ticket_id, int(into), expected_version=version, now=now_of(request))
        return f"Merged into #{int(into)} and closed."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/comms")
def comms_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        channel = field(form, "channel")
        if channel not in COMMS_LABELS:
            raise InvalidFieldError("channel", "choose the internal update or the external status update")
        note = field(form, "note")
        post_comms_update(
            session,
            visitor.actor,
            ticket_id,
            "internal" if channel == "internal" else "external",
            note,
            expected_version=version,
            now=now_of(request),
        )
        return f"{COMMS_LABELS[channel]} recorded."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/believed-resolved")
def believed_resolved_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        believed = field(form, "set") != "no"
        reason = field(form, "reason").strip() or None
        mark_believed_resolved(
            session, visitor.actor, ticket_id, believed, reason, expected_version=version, now=now_of(request)
        )
        return "Marked as believed resolved." if believed else "No longer marked as believed resolved."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/triage")
def triage_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        severity = _severity_of(form)
        reason = field(form, "reason").strip() or None
        change = confirm_severity(
            session, visitor.actor, ticket_id, severity, reason, expected_version=version, now=now_of(request)
        )
        spec = ticket_policy(session, change.ticket).severity(change.ticket.severity_rank)
        return f"Severity confirmed as {spec.code} ({spec.name}): the ticket has left triage."

    return _act(request, visitor, ticket_id, form, action)


def _severity_of(form: CheckedForm) -> int | str:
    severity = field(form, "severity").strip()
    if not severity:
        raise InvalidFieldError("severity", "choose a severity")
    return int(severity) if severity.isascii() and severity.isdigit() and len(severity) < 6 else severity


@router.post("/tickets/{ticket_id}/path")
def path_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        path = field(form, "path").strip() or None
        reason = _reason(form, "resolution path")
        change_path(session, visitor.actor, ticket_id, path, reason, expected_version=version, now=now_of(request))
        if path is None:
            return "Resolution path cleared."
        names = {p.id: p.name for p in ticket_policy(session, session.get_one(Ticket, ticket_id)).spec.paths}
        return f"Resolution path changed to {names.get(path, path)}."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/pin")
def pin_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        ticket = session.get(Ticket, ticket_id)
        zone = zone_of(visitor, ticket_policy(session, ticket).spec.timezone if ticket is not None else None)
        until = _local_instant(field(form, "until"), zone)
        reason = field(form, "reason").strip()
        if not reason:
            raise InvalidFieldError("reason", "say why the ticket deviates from the queue's order")
        pin_ticket(session, visitor.actor, ticket_id, until, reason, expected_version=version, now=now_of(request))
        return f"Pinned to the top of the queue until {local_time(until, zone)}."

    return _act(request, visitor, ticket_id, form, action)


def _local_instant(text: str, zone: ZoneInfo) -> datetime:
    """A `datetime-local` field's value (or ISO 8601 with an offset) as an instant; a bare one is in `zone`."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text) if text else None
    except ValueError:
        value = None
    if value is None:
        raise InvalidFieldError("until", "give a date and time such as 2026-12-07T14:00")
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


@router.post("/tickets/{ticket_id}/unpin")
def unpin_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        reason = field(form, "reason").strip() or None
        unpin_ticket(session, visitor.actor, ticket_id, reason, expected_version=version, now=now_of(request))
        return "Pin lifted: the ticket is back at its place in the queue."

    return _act(request, visitor, ticket_id, form, action)


@router.post("/tickets/{ticket_id}/time")
def log_time_page(request: Request, visitor: Staff, ticket_id: TicketId, form: CheckedForm) -> Response:
    def action(session: Session, version: int) -> str:
        minutes = _minutes_of(form)
        worked_on = _day_of(field(form, "worked_on"), "worked_on") or _today(request, visitor)
        note = field(form, "note")
        log_time(session, visitor.actor, minutes, "customer", ticket_id, note, worked_on, now=now_of(request))
        return f"Logged {minutes} min on this ticket."

    return _act(request, visitor, ticket_id, form, action)


def _minutes_of(form: CheckedForm) -> int:
    text = field(form, "minutes").strip()
    if not (text.isascii() and text.isdigit() and len(text) < 6):
        raise InvalidFieldError("minutes", f"give a whole number of minutes from 1 to {MAX_MINUTES}")
    return int(text)


def _today(request: Request, visitor: Visitor) -> date:
    """Today in the agent's own time zone (UTC when they have none): the day a log is for unless they say."""
    return now_of(request).astimezone(zone_of(visitor)).date()


def _day_of(text: str, name: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidFieldError(name, f"{text[:40]!r} is not a date such as 2026-12-07") from None


# The agent's own time: the week's logs with totals per kind of work, and internal work logged here.


@router.get("/console/time")
def time_page(request: Request, visitor: Staff) -> HTMLResponse:
    zone = zone_of(visitor)
    today = _today(request, visitor)
    chosen = _day_of(request.query_params.get("week", ""), "week") or today
    monday = chosen - timedelta(days=chosen.weekday())
    sunday = monday + timedelta(days=6)
    filters = TimeLogFilters(user_id=visitor.actor.user_id, since=monday, until=sunday)
    with reading(sessions_of(request)) as session:
        logs = time_logs(session, visitor.actor, filters, limit=1000)
    totals = minutes_by_work(logs)
    context = {
        "title": "My time",
        "logs": logs,
        "totals": totals,
        "total": sum(totals.values()),
        "monday": monday,
        "sunday": sunday,
        "today": today,
        "previous_week": monday - timedelta(days=7),
        "next_week": monday + timedelta(days=7) if monday + timedelta(days=7) <= today else None,
        "max_minutes": MAX_MINUTES,
        "zone": zone,
    }
    return render(request, "console/time.html", context)


@router.post("/console/time")
def log_internal_time(request: Request, visitor: Staff, form: CheckedForm) -> Response:
    minutes = _minutes_of(form)
    worked_on = _day_of(field(form, "worked_on"), "worked_on") or _today(request, visitor)
    with transaction(sessions_of(request)) as session:
        line = log_time(
            session, visitor.actor, minutes, "internal", None, field(form, "note"), worked_on, now=now_of(request)
        )
    return redirect(f"/console/time?week={line.worked_on.isoformat()}", done=f"Logged {minutes} min of internal work.")
