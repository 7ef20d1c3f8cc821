"""Read models of the customer portal: the request form an organisation's policy asks for, and requests in its words.

Customers read statuses and severities by the names their policy gives them ("Awaiting your reply"), never by
the ids the desk keeps, and see only what `views` lets them see (no internal notes, no internal files).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.errors import SladeskError
from sladesk.policy import Policy
from sladesk.policy.model import IntakeFieldSpec, NamedSpec, StatusKind
from sladesk.policy.words import calendar_name
from sladesk.services.actors import Actor, Role
from sladesk.services.attachments import list_attachments
from sladesk.services.contacts import NotASupportContactError, check_may_open
from sladesk.services.errors import ForbiddenError, NotFoundError
from sladesk.services.policies import current_policy, policy_at
from sladesk.services.tickets import closed_refusal
from sladesk.services.views import ClockView, CommentView, TicketFilters, TicketView, conversation, ticket_page
from sladesk.services.views import ticket_view as read_ticket_view
from sladesk.store.tables import Organisation, Ticket, User

FIRST_RESPONSE = "first_response"


@dataclass(frozen=True)
class SeverityGuide:
    """One severity as a customer chooses it: its definition, examples and targets in words."""

    code: str
    label: str  # "Sev1: Severity Level 1", or just "S1 (High)" when the name says the code
    definition: str
    examples: tuple[str, ...]
    targets: tuple[str, ...]  # "Time to first response: 4h (Alleo support hours)"


@dataclass(frozen=True)
class RequestForm:
    """What the organisation's current policy asks of a new request."""

    policy_name: str
    timezone: str
    severities: tuple[SeverityGuide, ...]
    categories: tuple[NamedSpec, ...]
    intake: tuple[IntakeFieldSpec, ...]  # answered in words (every type but attachment)
    file_fields: tuple[IntakeFieldSpec, ...]  # the attachment fields: files added to the ticket
    refusal: str | None = None  # why this customer may not open a request (not a support contact), said up front


@dataclass(frozen=True)
class RequestRow:
    """A request in the portal's list."""

    ticket: TicketView
    status_name: str
    severity_label: str
    first_response: ClockView | None


@dataclass(frozen=True)
class NamedClock:
    """A clock other than first response (resolution, next response), under its name in the policy."""

    name: str
    clock: ClockView


@dataclass(frozen=True)
class Message:
    """A public comment with its author's name and whether the author is on the support team."""

    comment: CommentView
    author_name: str
    from_support: bool


@dataclass(frozen=True)
class FileView:
    id: int
    filename: str
    content_type: str
    size_bytes: int
    uploaded_by: str
    created_at: datetime


@dataclass(frozen=True)
class IntakeAnswer:
    label: str
    answer: str
    instant: datetime | None  # a date-and-time answer that names its offset, to show in the reader's zone


@dataclass(frozen=True)
class RequestPage:
    """One request as its customer sees it at `now`."""

    ticket: TicketView
    status_name: str
    status_description: str | None
    severity_label: str
    requested_label: str | None  # the severity the customer chose, when support has set another since
    category_name: str | None
    answers: tuple[IntakeAnswer, ...]
    policy_timezone: str
    first_response: ClockView | None
    other_clocks: tuple[NamedClock, ...]
    messages: tuple[Message, ...]
    files: tuple[FileView, ...]
    no_reopen: str | None  # closed for good: the policy's word on what to do instead (open a new request)
    closed_hint: str | None = None  # closed under a policy that takes no updates on closed tickets: its hint
    awaiting_triage: bool = False  # support has not confirmed the severity yet


def organisation_policy(session: Session, actor: Actor) -> Policy:
    """The current policy of the customer's organisation: the one a new request opens under."""
    if actor.role is not Role.CUSTOMER or actor.organisation_id is None:
        raise ForbiddenError("the portal is for customers of an organisation")
    organisation = session.get(Organisation, actor.organisation_id)
    if organisation is None:
        raise NotFoundError(f"no organisation {actor.organisation_id}")
    return current_policy(session, organisation.policy_id)


def request_form(session: Session, actor: Actor) -> RequestForm:
    """The fields, severities (with their guide) and categories a customer's new request is asked for."""
    policy = organisation_policy(session, actor)
    refusal = None
    organisation = session.get(Organisation, actor.organisation_id)
    requester = session.get(User, actor.user_id)
    if organisation is not None and requester is not None:
        try:
            check_may_open(session, policy, organisation, requester, on_behalf=False)
        except NotASupportContactError as error:
            refusal = str(error)
    return RequestForm(
        policy_name=policy.name,
        timezone=policy.spec.timezone,
        severities=tuple(_guide(policy, severity.rank) for severity in policy.severities),
        categories=policy.spec.categories,
        intake=tuple(f for f in policy.spec.intake if f.type != "attachment"),
        file_fields=tuple(f for f in policy.spec.intake if f.type == "attachment"),
        refusal=refusal,
    )


def request_rows(
    session: Session, actor: Actor, now: datetime, *, after: int | None, limit: int
) -> tuple[list[RequestRow], int | None]:
    """The requests the actor may see, the newest first, a page at a time, with statuses and severities in their
    policy's words."""
    page = ticket_page(session, actor, TicketFilters(), now, after=after, limit=limit, newest_first=True)
    rows = []
    for view in page.items:
        policy = policy_at(session, view.policy_id, view.policy_version)
        rows.append(
            RequestRow(
                ticket=view,
                status_name=_status_name(policy, view.status),
                severity_label=_severity_label(policy, view.severity),
                first_response=_clock(view, FIRST_RESPONSE),
            )
        )
    return rows, page.last_id


def request_page(session: Session, actor: Actor, ticket_id: int, now: datetime) -> RequestPage:
    """The request, its public conversation and files, with its words from the policy it was opened under."""
    view = read_ticket_view(session, actor, ticket_id, now)
    policy = policy_at(session, view.policy_id, view.policy_version)
    comments = conversation(session, actor, ticket_id)
    attachments = list_attachments(session, actor, ticket_id)
    people = _people(session, {c.author_id for c in comments} | {a.uploaded_by_id for a in attachments})
    try:
        status = policy.status(view.status)
        status_name, status_description = status.name, status.description
        closed_for_good = status.kind is StatusKind.CLOSED and status.id not in policy.spec.reopen.allowed_from
    except SladeskError:
        status_name, status_description, closed_for_good = view.status, None, False
    fields = {f.id: f for f in policy.spec.intake}
    categories = {c.id: c.name for c in policy.spec.categories}
    row = session.get_one(Ticket, ticket_id)
    refusal = closed_refusal(session, row)
    return RequestPage(
        ticket=view,
        status_name=status_name,
        status_description=status_description,
        severity_label=_severity_label(policy, view.severity),
        requested_label=(
            _severity_label(policy, view.requested_severity)
            if view.requested_severity is not None and view.requested_severity != view.severity
            else None
        ),
        category_name=categories.get(view.category, view.category) if view.category else None,
        answers=tuple(
            _answer(fields.get(key), key, str(value)) for key, value in view.intake.items() if value not in (None, "")
        ),
        policy_timezone=policy.spec.timezone,
        first_response=_clock(view, FIRST_RESPONSE),
        other_clocks=tuple(
            NamedClock(
                policy.spec.metrics[clock.metric].name if clock.metric in policy.spec.metrics else clock.metric, clock
            )
            for clock in view.clocks
            if clock.metric != FIRST_RESPONSE and clock.instants.target_seconds is not None
        ),
        messages=tuple(
            Message(comment, *people.get(comment.author_id, ("a former user", False))) for comment in comments
        ),
        files=tuple(
            FileView(
                id=row.id,
                filename=row.filename,
                content_type=row.content_type,
                size_bytes=row.size_bytes,
                uploaded_by=people.get(row.uploaded_by_id, ("a former user", False))[0],
                created_at=row.created_at,
            )
            for row in attachments
        ),
        no_reopen=(policy.spec.reopen.otherwise or "This request is closed.") if closed_for_good else None,
        closed_hint=refusal.hint if refusal is not None else None,
        awaiting_triage=bool(row.awaiting_triage),
    )


def _guide(policy: Policy, rank: int) -> SeverityGuide:
    severity = policy.severity(rank)
    targets = []
    for metric_id in policy.metric_ids:
        rule = policy.clock_rule(severity, metric_id)
        if rule.due_words:
            # a target in elapsed time or release versions says where it counts in its own words
            plain = rule.opening_calendar is None and rule.releases is None
            where = f" ({calendar_name(policy, rule.calendar_id)})" if plain else ""
            targets.append(f"{rule.metric.name}: {rule.due_words}{where}")
    label = _severity_label(policy, rank)
    return SeverityGuide(severity.code, label, severity.definition, severity.examples, tuple(targets))


def _severity_label(policy: Policy, rank: int) -> str:
    severity = policy.severity(rank)
    return severity.name if severity.code in severity.name else f"{severity.code}: {severity.name}"


def _answer(spec: IntakeFieldSpec | None, key: str, value: str) -> IntakeAnswer:
    instant = None
    if spec is not None and spec.type == "datetime":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        instant = parsed if parsed is not None and parsed.tzinfo is not None else None
    return IntakeAnswer(spec.label if spec is not None else key, value, instant)


def _status_name(policy: Policy, status_id: str) -> str:
    try:
        return policy.status(status_id).name
    except SladeskError:  # a status a later version dropped: its id is all there is
        return status_id


def _clock(view: TicketView, metric_id: str) -> ClockView | None:
    return next((clock for clock in view.clocks if clock.metric == metric_id), None)


def _people(session: Session, user_ids: set[int]) -> dict[int, tuple[str, bool]]:
    """Each user's name and whether they are on the support team (an agent or an admin)."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.name, User.role).where(User.id.in_(user_ids)))
    return {user_id: (name, Role(role) is not Role.CUSTOMER) for user_id, name, role in rows}
