"""The customer portal: the organisation's requests, submitting a new one, following and answering one.

A request is opened, answered and given files through the same use cases as the API (`open_ticket`, `reply`,
`add_attachment`), each form in one transaction: a request refused for one field, or one file, keeps nothing.
Instants are shown in the customer's own time zone, else in their policy's, and the page says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from sladesk.api.routes.triage import triage_out
from sladesk.api.schemas import MAX_ID
from sladesk.services import ConflictError, InvalidFieldError, open_ticket, reply
from sladesk.services.actors import Actor
from sladesk.services.attachments import ALLOWED_CONTENT_TYPES, MAX_ATTACHMENT_BYTES, add_attachment
from sladesk.services.portal_views import RequestForm, organisation_policy, request_form, request_page, request_rows
from sladesk.services.signin import Visitor
from sladesk.store import reading, transaction
from sladesk.store.engine import attachments_dir
from sladesk.triage import Suggestion, quoted_match, suggest_severity
from sladesk.web.pages import (
    CheckedForm,
    Customer,
    attachment_download,
    field,
    now_of,
    page_router,
    redirect,
    render,
    sessions_of,
    visitor_or_none,
    zone_of,
)

PAGE_SIZE = 50
MAX_SUBJECT = 300  # a suggestion reads what a request may hold: the limits of `open_ticket`
MAX_DESCRIPTION = 100_000
ACCEPTED_FILES = ",".join(sorted(ALLOWED_CONTENT_TYPES))

TicketId = Annotated[int, Path(ge=1, le=MAX_ID)]
AttachmentId = Annotated[int, Path(ge=1, le=MAX_ID)]

router = page_router()


@dataclass(frozen=True)
class Upload:
    """A file sent with a form, and the form field it came in (where a refusal of it is shown)."""

    input_name: str
    file: UploadFile


@router.get("/portal")
def requests(
    request: Request, visitor: Customer, after: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None
) -> HTMLResponse:
    now = now_of(request)
    with reading(sessions_of(request)) as session:
        rows, last_id = request_rows(session, visitor.actor, now, after=after, limit=PAGE_SIZE)
        policy_zone = organisation_policy(session, visitor.actor).spec.timezone
    zone = zone_of(visitor, policy_zone)
    context = {"title": "My requests", "rows": rows, "next_after": last_id, "zone": zone, **_zone_words(visitor, zone)}
    return render(request, "portal/requests.html", context)


@router.get("/portal/new")
def new_request(
    request: Request, visitor: Customer, follow_up_of: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None
) -> HTMLResponse:
    """The form; `follow_up_of` links the new request to an earlier one (a closed request that cannot reopen)."""
    with reading(sessions_of(request)) as session:
        form = request_form(session, visitor.actor)
    return _form_page(request, form, {"follow_up_of": str(follow_up_of)} if follow_up_of else {}, {})


@router.post("/portal/new", response_model=None)
def submit_request(request: Request, visitor: Customer, form: CheckedForm) -> Response:
    try:
        return _submit(request, visitor, form)
    finally:
        _close_files(form)


@router.post("/portal/new/suggestion", response_model=None)
def suggest(request: Request, visitor: Customer, form: CheckedForm) -> Response:
    """A severity suggested from the subject and description typed so far; nothing is stored or submitted.

    The portal's script asks with `Accept: application/json` and gets the API's triage answer; without the
    script the form comes back with what was typed and the suggestion beside the severities. A
    `choose_severity` button of that page sends the form back with that severity chosen.
    """
    try:
        return _suggest(request, visitor, form)
    finally:
        _close_files(form)


def _suggest(request: Request, visitor: Visitor, form: FormData) -> Response:
    wants_json = "application/json" in request.headers.get("accept", "")
    typed = {name: value for name, value in form.multi_items() if isinstance(value, str) and name != "csrf"}
    chosen = typed.pop("choose_severity", "")
    subject, description = typed.get("subject", ""), typed.get("description", "")
    errors = _suggestion_problems(subject, description)
    with reading(sessions_of(request)) as session:
        asked = request_form(session, visitor.actor)
        policy = organisation_policy(session, visitor.actor)
    if errors:
        if wants_json:
            name, message = next(iter(errors.items()))
            return JSONResponse({"field": name, "detail": message}, status_code=422)
        return _form_page(request, asked, typed, errors, status_code=422)
    suggestion = suggest_severity(policy, subject, description)
    if wants_json:
        return JSONResponse(triage_out(policy, suggestion).model_dump(mode="json"))
    if chosen and any(severity.code == chosen for severity in asked.severities):
        typed["severity"] = chosen
    files_dropped = any(isinstance(value, UploadFile) and value.filename for _, value in form.multi_items())
    return _form_page(request, asked, typed, {}, suggestion=_suggestion_words(suggestion, files_dropped))


def _suggestion_problems(subject: str, description: str) -> dict[str, str]:
    """What keeps a suggestion from being made, by field: no text at all, or more than a request may hold."""
    if len(subject) > MAX_SUBJECT:
        return {"subject": f"The subject is {len(subject)} characters long; a request's is {MAX_SUBJECT} at most."}
    if len(description) > MAX_DESCRIPTION:
        return {"description": f"The description is {len(description)} characters long; {MAX_DESCRIPTION} at most."}
    if not subject.strip() and not description.strip():
        return {"description": "Write a subject or a description first, then ask for a suggestion."}
    return {}


@dataclass(frozen=True)
class SuggestionWords:
    """A suggestion as the form shows it: the level, the words it matched, and whether files must be chosen again."""

    code: str | None
    label: str
    because: str
    files_dropped: bool


def _suggestion_words(suggestion: Suggestion, files_dropped: bool) -> SuggestionWords:
    severity = suggestion.severity
    if severity is None:
        return SuggestionWords(None, "", suggestion.reasons[0], files_dropped)
    candidate = next(c for c in suggestion.candidates if c.code == severity.code)
    return SuggestionWords(severity.code, f"{severity.code} - {severity.name}", quoted_match(candidate), files_dropped)


def _submit(request: Request, visitor: Visitor, form: FormData) -> Response:
    sessions = sessions_of(request)
    with reading(sessions) as session:
        asked = request_form(session, visitor.actor)
    typed = {name: value for name, value in form.multi_items() if isinstance(value, str) and name != "csrf"}
    zone = zone_of(visitor, asked.timezone)
    answers = {f.id: _answer(form, f"intake.{f.id}", f.type, zone) for f in asked.intake}
    errors = _missing(asked, typed, answers)
    follow_up_of = typed.get("follow_up_of", "")
    if follow_up_of and not (follow_up_of.isascii() and follow_up_of.isdigit() and 0 < int(follow_up_of) <= MAX_ID):
        errors["follow_up_of"] = f"{follow_up_of!r} is not a request number."
    uploads = [Upload(f"file.{f.id}", file) for f in asked.file_fields for file in _files(form, f"file.{f.id}")]
    uploads += [Upload("files", file) for file in _files(form, "files")]
    if not errors:
        now = now_of(request)
        try:
            with transaction(sessions) as session:
                change = open_ticket(
                    session,
                    visitor.actor,
                    subject=typed.get("subject", ""),
                    description=typed.get("description", ""),
                    severity=typed.get("severity", ""),
                    category=typed.get("category") or None,
                    intake={key: value for key, value in answers.items() if value is not None},
                    follow_up_of=int(follow_up_of) if follow_up_of else None,
                    now=now,
                )
                ticket_id = change.ticket.id
                _attach(session, visitor.actor, ticket_id, uploads, request, now)
        except InvalidFieldError as error:
            errors = {error.field: _message(error)}
    if errors:
        if uploads:
            errors.setdefault("files", "Nothing was submitted: please choose your files again.")
        return _form_page(request, asked, typed, errors, status_code=422)
    return redirect(f"/portal/tickets/{ticket_id}", done=f"Request #{ticket_id} submitted. We will answer here.")


@router.get("/portal/tickets/{ticket_id}")
def request_detail(request: Request, visitor: Customer, ticket_id: TicketId) -> HTMLResponse:
    return _request_page(request, visitor, ticket_id, "", {})


@router.post("/portal/tickets/{ticket_id}/reply", response_model=None)
def reply_to_request(request: Request, visitor: Customer, form: CheckedForm, ticket_id: TicketId) -> Response:
    try:
        return _reply(request, visitor, form, ticket_id)
    finally:
        _close_files(form)


def _reply(request: Request, visitor: Visitor, form: FormData, ticket_id: int) -> Response:
    body = field(form, "body")
    uploads = [Upload("files", file) for file in _files(form, "files")]
    if not body.strip() and not uploads:
        return _request_page(request, visitor, ticket_id, body, {"body": "Write a reply or attach a file."}, 422)
    now = now_of(request)
    try:
        with transaction(sessions_of(request)) as session:
            if body.strip():
                reply(session, visitor.actor, ticket_id, body, now=now)
            _attach(session, visitor.actor, ticket_id, uploads, request, now)
    except InvalidFieldError as error:
        name = "files" if error.field == "files" else "body"
        errors = {name: _message(error)}
        if uploads and name != "files":
            errors["files"] = "Nothing was sent: please choose your files again."
        return _request_page(request, visitor, ticket_id, body, errors, 422)
    except ConflictError as error:
        return _request_page(request, visitor, ticket_id, body, {"body": str(error)}, 409)
    sent = "Reply sent." if body.strip() else f"{len(uploads)} file{'s' if len(uploads) != 1 else ''} attached."
    return redirect(f"/portal/tickets/{ticket_id}", done=sent)


@router.get("/portal/tickets/{ticket_id}/attachments/{attachment_id}", response_class=FileResponse)
def download(request: Request, visitor: Customer, ticket_id: TicketId, attachment_id: AttachmentId) -> FileResponse:
    """The file as a download with its stored media type: never shown inline by the browser."""
    return attachment_download(request, visitor.actor, ticket_id, attachment_id)


def _request_page(
    request: Request, visitor: Visitor, ticket_id: int, body: str, errors: dict[str, str], status_code: int = 200
) -> HTMLResponse:
    now = now_of(request)
    with reading(sessions_of(request)) as session:
        page = request_page(session, visitor.actor, ticket_id, now)
    zone = zone_of(visitor, page.policy_timezone)
    context = {
        "title": f"Request #{ticket_id}",
        "page": page,
        "ticket": page.ticket,
        "zone": zone,
        "body": body,
        "errors": errors,
        "accepted_files": ACCEPTED_FILES,
        "max_megabytes": MAX_ATTACHMENT_BYTES // (1024 * 1024),
        **_zone_words(visitor, zone),
    }
    return render(request, "portal/request.html", context, status_code=status_code)


def _form_page(
    request: Request,
    form: RequestForm,
    typed: dict[str, str],
    errors: dict[str, str],
    *,
    status_code: int = 200,
    suggestion: SuggestionWords | None = None,
) -> HTMLResponse:
    context = {
        "suggestion": suggestion,
        "title": "Submit a request",
        "form": form,
        "zone_name": zone_of(visitor_or_none(request), form.timezone).key,
        "typed": typed,
        "errors": errors,
        "accepted_files": ACCEPTED_FILES,
        "max_megabytes": MAX_ATTACHMENT_BYTES // (1024 * 1024),
    }
    return render(request, "portal/new.html", context, status_code=status_code)


def _zone_words(visitor: Visitor, zone: ZoneInfo) -> dict[str, Any]:
    """The zone instants are shown in, and whose it is."""
    try:
        own = ZoneInfo(visitor.timezone) if visitor.timezone else None
    except (ZoneInfoNotFoundError, ValueError):  # a zone this machine does not know: the policy's is used
        own = None
    whose = "your time zone" if own is not None and own.key == zone.key else "your support policy's time zone"
    return {"zone_name": zone.key, "zone_whose": whose}


def _answer(form: FormData, name: str, kind: str, zone: ZoneInfo) -> str | None:
    """An intake answer as typed (long text kept as it is), or None when left blank.

    A date and time without an offset (what a browser's date-and-time field sends) is the customer's wall
    time, so it is kept with the offset of the zone the portal shows them.
    """
    value = field(form, name)
    if not value.strip():
        return None
    if kind == "long_text":
        return value
    value = value.strip()
    if kind == "datetime":
        try:
            written = datetime.fromisoformat(value)
        except ValueError:
            return value  # refused by the policy's check, with the reason
        if written.tzinfo is None:
            return written.replace(tzinfo=zone).isoformat()
    return value


def _missing(asked: RequestForm, typed: dict[str, str], answers: dict[str, str | None]) -> dict[str, str]:
    """Every required field left blank, each named, so the customer sees them all at once."""
    errors = {}
    if not typed.get("subject", "").strip():
        errors["subject"] = "Give your request a subject."
    if not typed.get("description", "").strip():
        errors["description"] = "Describe what happened."
    if not typed.get("severity"):
        errors["severity"] = "Choose a severity; when in doubt, choose the more severe."
    for intake in asked.intake:
        if intake.required and answers.get(intake.id) is None:
            errors[f"intake.{intake.id}"] = f"{intake.label} is required."
    return errors


def _files(form: FormData, name: str) -> list[UploadFile]:
    """The files chosen in one file input (a browser sends an empty, unnamed part when none is)."""
    return [value for value in form.getlist(name) if isinstance(value, UploadFile) and value.filename]


def _close_files(form: FormData) -> None:
    """Let go of the uploads' temporary files (the form was read by a dependency, which does not close it)."""
    for _, value in form.multi_items():
        if isinstance(value, UploadFile):
            value.file.close()


def _attach(
    session: Session, actor: Actor, ticket_id: int, uploads: list[Upload], request: Request, now: datetime
) -> None:
    """Add each upload to the ticket; a refused file is named in the error of the input it came from."""
    storage = attachments_dir(request.app.state.attachments_dir)
    for upload in uploads:
        name = upload.file.filename or ""
        if upload.file.size is not None and upload.file.size > MAX_ATTACHMENT_BYTES:
            raise InvalidFieldError(upload.input_name, f"{name}: larger than the limit of {MAX_ATTACHMENT_BYTES} bytes")
        try:
            add_attachment(
                session,
                actor,
                ticket_id,
                filename=name,
                content_type=upload.file.content_type or "application/octet-stream",
                data=upload.file.file,
                storage=storage,
                now=now,
            )
        except InvalidFieldError as error:
            if error.field != "file":
                raise
            raise InvalidFieldError(upload.input_name, f"{name}: {_message(error)}") from None


def _message(error: InvalidFieldError) -> str:
    """The refusal without the field's name in front (the page shows it next to the field)."""
    return str(error).removeprefix(f"{error.field}: ")
