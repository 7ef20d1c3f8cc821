"""Mail to the desk: a new ticket, a reply on one, or a refusal; every message is kept with what became of it.

`receive_mail` runs in its caller's unit of work, like every use case: the SMTP receiver and the IMAP poller
open one per message and acknowledge the message only once it committed. Each message leaves one
`inbound_messages` row with its outcome:

- `opened`: a new ticket of the sender's organisation, from its subject and text;
- `replied`: a public reply on the ticket the mail names (`[#id]` in the subject, or a desk Message-ID it
  answers), through `services.tickets.reply`, so the SLA clocks move as for a reply on the web; or, from
  staff, a reply whose first line is `ACK` or `RESOLVE`, which acknowledges or resolves the ticket's on-call
  incident instead (`services.incident_links`; refused, with an answer, when there is nothing to do);
- `refused`: not from an active user of the desk (an unknown sender gets one polite reply a day at most), a
  reply on a ticket closed under a policy that takes no updates on closed tickets, or a new ticket from someone
  who is not a support contact where the policy asks for one (both answered with the policy's words);
- `ignored`: sent by a machine (an auto-reply, a bounce, a list), by the desk itself, or holding nothing new;
- `quarantined`: not a mail the desk can read, or one it could not act on; kept whole for an admin.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sladesk.errors import SladeskError
from sladesk.mail.parse import MailAttachment, MalformedMessageError, ParsedMessage, parse_message
from sladesk.mail.quotes import latest_reply
from sladesk.mail.reference import ticket_reference
from sladesk.policy.model import IntakeFieldSpec, StatusKind
from sladesk.services.actors import Actor, Role
from sladesk.services.attachments import add_attachment
from sladesk.services.clocks import ticket_policy
from sladesk.services.contacts import NotASupportContactError
from sladesk.services.errors import ConflictError, InvalidFieldError, NotFoundError
from sladesk.services.incident_links import Action, act_on_incident, done_words, reply_action
from sladesk.services.outbox import enqueue
from sladesk.services.policies import pin_policy
from sladesk.services.record import record_change
from sladesk.services.tickets import ClosedTicketError, Opening, closed_refusal, get_ticket, prepare_opening, reply
from sladesk.store.tables import InboundMessage, Organisation, Ticket, User

# An unknown address gets the polite reply at most once in this long, however often it writes.
POLITE_REPLY_INTERVAL = timedelta(hours=24)
SUBJECT_MAX_LENGTH = 300
TEXT_MAX_LENGTH = 100_000
_THREADABLE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
# How many merges a reply follows to the ticket that lives on (a merged ticket's target may be merged too).
_MERGE_HOPS = 10


class Outcome(StrEnum):
    OPENED = "opened"
    REPLIED = "replied"
    REFUSED = "refused"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class InboundResult:
    """What became of one mail: its `inbound_messages` row, the outcome, why, and the ticket it went to.

    `duplicate` is True when the Message-ID had been received before: nothing was stored again, and the
    outcome is the earlier one.
    """

    inbound_id: int
    outcome: Outcome
    reason: str | None
    ticket_id: int | None
    duplicate: bool = False


def receive_mail(
    session: Session,
    raw: bytes,
    *,
    source: str,
    now: datetime,
    desk_address: str | Iterable[str],
    mail_domain: str | None = None,
    attachments_dir: Path | None = None,
) -> InboundResult:
    """Act on one received mail and keep it with its outcome, in the caller's unit of work.

    `source` names the receiver (`smtp`, `imap`); `desk_address` is the desk's own address or addresses (mail
    from them is a loop); `mail_domain` is the domain of the desk's Message-IDs (None: any domain counts
    when a reply is matched to its ticket); attachments are kept in `attachments_dir` (None: `attachments`
    in the configured data directory).
    """
    desk_addresses = {desk_address.lower()} if isinstance(desk_address, str) else {a.lower() for a in desk_address}
    try:
        message = parse_message(raw)
    except MalformedMessageError as error:
        _serialise(session, error.message_id, error.sender)
        earlier = _earlier(session, error.message_id)
        if earlier is not None:
            return earlier
        row = _keep(
            session,
            raw,
            source=source,
            now=now,
            outcome=Outcome.QUARANTINED,
            reason=error.reason,
            message_id=error.message_id,
            sender=error.sender,
            subject=error.subject,
        )
        return _result(row)
    _serialise(session, message.message_id, message.sender)
    earlier = _earlier(session, message.message_id)
    if earlier is not None:
        return earlier
    row = _keep(
        session,
        raw,
        source=source,
        now=now,
        outcome=Outcome.IGNORED,
        reason=None,
        message_id=message.message_id,
        sender=message.sender,
        subject=message.subject,
    )
    _act(session, row, message, now, desk_addresses, mail_domain, attachments_dir)
    return _result(row)


def quarantine(session: Session, raw: bytes, *, source: str, now: datetime, reason: str) -> InboundResult:
    """Keep a mail the desk could not act on (`receive_mail` failed on it) for an admin to read."""
    row = _keep(
        session, raw, source=source, now=now, outcome=Outcome.QUARANTINED, reason=reason[:10_000], message_id=None
    )
    return _result(row)


def list_inbound(session: Session, *, outcome: Outcome | None = None, limit: int = 50) -> list[InboundMessage]:
    """The latest received mail, newest first; only those with `outcome` when it is given."""
    query = select(InboundMessage).order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()).limit(limit)
    if outcome is not None:
        query = query.where(InboundMessage.outcome == outcome.value)
    return list(session.scalars(query))


def _act(
    session: Session,
    row: InboundMessage,
    message: ParsedMessage,
    now: datetime,
    desk_addresses: set[str],
    mail_domain: str | None,
    attachments_dir: Path | None,
) -> None:
    """Decide what the mail is and do it, recording the outcome on `row`."""
    if message.automatic_reason is not None:
        _decide(row, Outcome.IGNORED, f"sent automatically: {message.automatic_reason}")
        return
    if message.sender in desk_addresses:
        _decide(row, Outcome.IGNORED, "sent by the desk itself")
        return
    user = session.scalar(select(User).where(User.email == message.sender, User.active.is_(True)))
    if user is None:
        _refuse_unknown_sender(session, row, message, now, desk_addresses, mail_domain)
        return
    actor = Actor(user.id, Role(user.role), user.organisation_id)
    try:
        # A use case that refuses the mail undoes its own writes here, and the mail goes to the quarantine.
        with session.begin_nested():
            _file(session, row, actor, message, now, mail_domain, attachments_dir)
    except NotASupportContactError as error:
        _answer_refusal(session, row, message, now, desk_addresses, mail_domain, str(error))
    except ClosedTicketError as error:
        text = (
            f"{error.hint}\n\nYour message has not been added to ticket #{error.ticket_id}. To send it, open a "
            f"follow-up request on our support portal at {error.portal_url} (it links to ticket #{error.ticket_id})."
        )
        _answer_refusal(session, row, message, now, desk_addresses, mail_domain, text, error.ticket_id)
    except IncidentCommandRefusedError as error:
        text = (
            f"Your {error.action.upper()} changed nothing: {error.reason}.\n\n"
            f"Nothing was added to ticket #{error.ticket_id}."
        )
        _answer_refusal(session, row, message, now, desk_addresses, mail_domain, text, error.ticket_id)
    except SladeskError as error:
        _decide(row, Outcome.QUARANTINED, f"could not be filed: {error}")


def _file(
    session: Session,
    row: InboundMessage,
    actor: Actor,
    message: ParsedMessage,
    now: datetime,
    mail_domain: str | None,
    attachments_dir: Path | None,
) -> None:
    """A known user's mail: a reply on the ticket it names, else a new ticket (customers only)."""
    notes: list[str] = []
    reference = ticket_reference(message, domain=mail_domain)
    ticket = _named_ticket(session, actor, reference, notes) if reference is not None else None
    if ticket is not None and _is_closed(session, ticket):
        if actor.is_staff:
            _decide(row, Outcome.REFUSED, f"ticket #{ticket.id} is closed; agents answer open tickets by mail")
            return
        refusal = closed_refusal(session, ticket)
        if refusal is not None:
            raise refusal
        notes.append(f"ticket #{ticket.id} is closed: opened a follow-up")
        ticket_id = _open(session, actor, message, now, notes, follow_up_of=ticket.id)
        outcome = Outcome.OPENED
    elif ticket is not None:
        action = reply_action(latest_reply(message.text)) if actor.is_staff else None
        if action is not None:
            _act_on_incident(session, row, actor, ticket.id, action, now)
            return
        text = _clip(latest_reply(message.text), TEXT_MAX_LENGTH, notes, "the reply")
        if not text.strip() and not message.attachments:
            _decide(row, Outcome.IGNORED, "the reply holds no new text", ticket.id)
            return
        if text.strip():
            reply(session, actor, ticket.id, text, public=True, now=now)
        ticket_id, outcome = ticket.id, Outcome.REPLIED
    elif actor.is_staff:
        _decide(row, Outcome.REFUSED, "agents answer tickets by mail; this mail names no ticket of the desk")
        return
    else:
        ticket_id = _open(session, actor, message, now, notes, follow_up_of=None)
        outcome = Outcome.OPENED
    _attach(session, actor, ticket_id, message.attachments, now, attachments_dir, notes)
    _decide(row, outcome, "; ".join(notes) or None, ticket_id)


def _act_on_incident(
    session: Session, row: InboundMessage, actor: Actor, ticket_id: int, action: Action, now: datetime
) -> None:
    """A staff member's `ACK` or `RESOLVE`: the ticket's incident changes instead of a reply being added."""
    try:
        act_on_incident(session, actor, ticket_id, action, now)
    except ConflictError as error:
        raise IncidentCommandRefusedError(ticket_id, action, str(error)) from None
    _decide(row, Outcome.REPLIED, f"{action.upper()}: the on-call incident is {done_words(action)}", ticket_id)


class IncidentCommandRefusedError(SladeskError):
    """A staff member's `ACK` or `RESOLVE` that the ticket's incident cannot take (none, or done already)."""

    def __init__(self, ticket_id: int, action: Action, reason: str) -> None:
        super().__init__(reason)
        self.ticket_id, self.action, self.reason = ticket_id, action, reason


def _named_ticket(session: Session, actor: Actor, reference: int, notes: list[str]) -> Ticket | None:
    """The ticket the mail names, if the sender may see it; a merged one leads to the ticket it went into."""
    try:
        ticket = get_ticket(session, actor, reference)
        for _ in range(_MERGE_HOPS):
            if ticket.merged_into_id is None:
                break
            ticket = get_ticket(session, actor, ticket.merged_into_id)
    except NotFoundError:
        notes.append(f"the mail names ticket #{reference}, which is not one of the sender's")
        return None
    if ticket.id != reference:
        notes.append(f"ticket #{reference} was merged into #{ticket.id}")
    return ticket


def _is_closed(session: Session, ticket: Ticket) -> bool:
    return ticket_policy(session, ticket).status(ticket.status).kind is StatusKind.CLOSED


def _open(
    session: Session,
    actor: Actor,
    message: ParsedMessage,
    now: datetime,
    notes: list[str],
    *,
    follow_up_of: int | None,
) -> int:
    """A new ticket from the mail, at the policy's least severe level, for support to triage.

    A mail cannot answer the policy's intake questions. Required ones get stand-in answers only so that
    the opening's checks pass; the stand-ins are removed before the ticket is recorded, so the ticket
    holds no answer the customer did not give, and the unanswered questions are noted.
    """
    assert actor.organisation_id is not None  # a customer belongs to an organisation
    organisation = session.get_one(Organisation, actor.organisation_id)
    policy = pin_policy(session, organisation.policy_id)
    required = [field for field in policy.spec.intake if field.required]
    stand_ins = {field.id: _stand_in(field, now) for field in required}
    if required:
        notes.append("not answered by mail: " + ", ".join(field.label for field in required))
    subject = message.subject.strip() or "(no subject)"
    if len(subject) > SUBJECT_MAX_LENGTH:
        subject = subject[: SUBJECT_MAX_LENGTH - 1] + "…"
    text = _clip(message.text.strip(), TEXT_MAX_LENGTH, notes, "the text") or "(The mail had no text.)"
    opening = Opening(
        organisation_id=organisation.id,
        requester_id=actor.user_id,
        subject=subject,
        description=text,
        severity=policy.severities[-1].rank,
        opened_at=now,
        intake={key: value for key, value in stand_ins.items() if value is not None},
        follow_up_of=follow_up_of,
    )
    requester = session.get_one(User, actor.user_id)
    ticket, event, policy = prepare_opening(session, actor, opening, organisation, requester=requester)
    ticket.intake = {key: value for key, value in ticket.intake.items() if key not in stand_ins}
    ticket.requested_severity_rank = None  # the mail suggested no severity
    return record_change(session, ticket, event, actor_id=actor.user_id, prior=[], policy=policy).event.ticket_id


def _stand_in(field: IntakeFieldSpec, now: datetime) -> str | None:
    """An answer the intake check accepts for `field`, never stored; None where none is accepted (files)."""
    stand_ins = {
        "text": "-",
        "long_text": "-",
        "email": "unanswered@example.invalid",
        "url": "-",
        "datetime": now.isoformat(),
        "choice": field.choices[0] if field.choices else None,
    }
    return stand_ins.get(field.type)


def _attach(
    session: Session,
    actor: Actor,
    ticket_id: int,
    attachments: Iterable[MailAttachment],
    now: datetime,
    attachments_dir: Path | None,
    notes: list[str],
) -> None:
    """Each file through the same checks as an upload; a refused file is noted and the rest kept."""
    storage: Path | None = attachments_dir
    for attachment in attachments:
        if storage is None:
            storage = _configured_attachments_dir()
        try:
            add_attachment(
                session,
                actor,
                ticket_id,
                filename=attachment.filename,
                content_type=_content_type(attachment),
                data=attachment.data,
                storage=storage,
                now=now,
            )
        except InvalidFieldError as error:
            notes.append(f"attachment {attachment.filename!r} refused: {error}")


def _content_type(attachment: MailAttachment) -> str:
    """The type the mail gave; for the generic `application/octet-stream`, the type its file name says."""
    if attachment.content_type != "application/octet-stream":
        return attachment.content_type
    guessed, _ = mimetypes.guess_type(attachment.filename)
    return guessed or attachment.content_type


def _configured_attachments_dir() -> Path:
    """Where the application keeps attachments when it is not told: `attachments` in the data directory."""
    from sladesk.store import data_dir

    return data_dir() / "attachments"


def _refuse_unknown_sender(
    session: Session,
    row: InboundMessage,
    message: ParsedMessage,
    now: datetime,
    desk_addresses: set[str],
    mail_domain: str | None,
) -> None:
    """No ticket; one polite reply per address in `POLITE_REPLY_INTERVAL`, marked as automatic (RFC 3834)."""
    answered_lately = session.scalar(
        select(InboundMessage.id)
        .where(
            InboundMessage.sender == message.sender,
            InboundMessage.answered.is_(True),
            InboundMessage.received_at > now - POLITE_REPLY_INTERVAL,
        )
        .limit(1)
    )
    if answered_lately is not None:
        _decide(row, Outcome.REFUSED, "not from a user of the desk; already answered within a day")
        return
    domain = mail_domain or next(iter(sorted(desk_addresses)), "sladesk.invalid").rpartition("@")[2]
    enqueue(
        session,
        "email",
        _polite_reply(row, message, domain),
        idempotency_key=f"inbound-refusal-{row.id}",
        now=now,
    )
    row.answered = True
    _decide(row, Outcome.REFUSED, "not from a user of the desk; answered with the polite reply")


def _answer_refusal(
    session: Session,
    row: InboundMessage,
    message: ParsedMessage,
    now: datetime,
    desk_addresses: set[str],
    mail_domain: str | None,
    reason: str,
    ticket_id: int | None = None,
) -> None:
    """Refuse a known user's mail the policy does not take, answering them with why (and what to do instead)."""
    domain = mail_domain or next(iter(sorted(desk_addresses)), "sladesk.invalid").rpartition("@")[2]
    text = f"Hello,\n\n{reason}\n\nThis reply was sent automatically.\n"
    enqueue(session, "email", _answer(row, message, domain, text), idempotency_key=f"inbound-refusal-{row.id}", now=now)
    row.answered = True
    _decide(row, Outcome.REFUSED, reason.replace("\n\n", " "), ticket_id)


def _polite_reply(row: InboundMessage, message: ParsedMessage, domain: str) -> dict[str, Any]:
    return _answer(
        row,
        message,
        domain,
        "Hello,\n\n"
        "Thank you for writing to us. This address takes support requests only from the registered "
        "contacts of our customers, so your message has not been opened as a ticket.\n\n"
        "If your organisation is a customer, please write again from the address of your account, or "
        "ask your organisation's administrator to add you.\n\n"
        "This reply was sent automatically, at most once a day.\n",
    )


def _answer(row: InboundMessage, message: ParsedMessage, domain: str, text: str) -> dict[str, Any]:
    """The desk's automatic answer to a mail it did not take, threaded under it (RFC 3834)."""
    subject = message.subject or "your message"
    # Only a well-formed Message-ID threads the answer; a malformed one would make the mail unsendable.
    answers = message.message_id if message.message_id and _THREADABLE_ID.fullmatch(message.message_id) else None
    return {
        "to": [message.sender],
        "subject": subject if subject.lower().startswith("re:") else f"Re: {subject}",
        "text": text,
        "message_id": f"<inbound-{row.id}-refused@{domain}>",
        "in_reply_to": answers,
        "references": [answers] if answers else [],
        "headers": {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    }


def _serialise(session: Session, message_id: str | None, sender: str | None) -> None:
    """Take turns with any concurrent delivery of the same message or from the same sender.

    On PostgreSQL, transaction-scoped advisory locks (taken in one order, so never crossed) make the
    duplicate check and the once-a-day reply hold between two receivers; SQLite's writers already take
    turns for the whole unit of work.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({f"message-id {message_id}" if message_id else "", f"sender {sender}" if sender else ""}):
        if key:
            digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            session.execute(select(func.pg_advisory_xact_lock(digest)))


def _earlier(session: Session, message_id: str | None) -> InboundResult | None:
    """The outcome of the first mail received with this Message-ID, if there is one."""
    if message_id is None:
        return None
    earlier = session.scalar(
        select(InboundMessage).where(InboundMessage.message_id == message_id).order_by(InboundMessage.id).limit(1)
    )
    return None if earlier is None else _result(earlier, duplicate=True)


def _keep(
    session: Session,
    raw: bytes,
    *,
    source: str,
    now: datetime,
    outcome: Outcome,
    reason: str | None,
    message_id: str | None,
    sender: str | None = None,
    subject: str | None = None,
) -> InboundMessage:
    row = InboundMessage(
        message_id=message_id[:998] if message_id else None,
        source=source,
        sender=sender[:320] if sender else None,
        subject=subject,
        outcome=outcome.value,
        reason=reason,
        answered=False,
        raw=raw,
        received_at=now,
    )
    session.add(row)
    session.flush()  # its id, which the polite reply's Message-ID and idempotency key name
    return row


def _decide(row: InboundMessage, outcome: Outcome, reason: str | None, ticket_id: int | None = None) -> None:
    row.outcome, row.reason, row.ticket_id = outcome.value, reason, ticket_id


def _clip(text: str, limit: int, notes: list[str], what: str) -> str:
    if len(text) <= limit:
        return text
    notes.append(f"{what} was cut to {limit} characters")
    return text[: limit - 1] + "…"


def _result(row: InboundMessage, *, duplicate: bool = False) -> InboundResult:
    return InboundResult(row.id, Outcome(row.outcome), row.reason, row.ticket_id, duplicate)
