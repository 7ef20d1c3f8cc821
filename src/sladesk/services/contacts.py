"""Support contacts: the people of an organisation who may open tickets where its policy asks for them.

Alleo's policy says "the identified Support Contact(s) should submit a support ticket": with
`opening.requires_support_contact`, a ticket is opened only for a requester marked `support_contact`, and the
refusal names the organisation's active support contacts, so the customer knows whom to ask.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.policy import Policy
from sladesk.services.errors import ForbiddenError
from sladesk.store.tables import Organisation, User


class NotASupportContactError(ForbiddenError):
    """The requester is not a support contact of an organisation whose policy lets only those open tickets."""


def support_contacts(session: Session, organisation_id: int) -> list[User]:
    """The organisation's active support contacts, by name."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.organisation_id == organisation_id,
                User.support_contact.is_(True),
                User.active.is_(True),
            )
            .order_by(User.name, User.id)
        )
    )


def check_may_open(
    session: Session, policy: Policy, organisation: Organisation, requester: User, *, on_behalf: bool
) -> None:
    """Return if `requester` may have a ticket opened under `policy`; else NotASupportContactError, whose
    message names the organisation's support contacts and gives the policy's hint.

    `on_behalf` is True when staff open the ticket for the requester (the message then names them).
    """
    if not policy.spec.opening.requires_support_contact or requester.support_contact:
        return
    raise NotASupportContactError(refusal_text(session, policy, organisation, requester, on_behalf=on_behalf))


def refusal_text(
    session: Session, policy: Policy, organisation: Organisation, requester: User, *, on_behalf: bool
) -> str:
    """Why `requester` may not open a ticket, in words: who may, and the policy's hint."""
    contacts = support_contacts(session, organisation.id)
    named = ", ".join(f"{user.name} <{user.email}>" for user in contacts)
    if on_behalf:
        head = f"{requester.name} <{requester.email}> is not a support contact of {organisation.name}. "
        who = (
            f"Only its support contacts can open tickets: {named}."
            if contacts
            else ("Only its support contacts can open tickets, and it has none yet: an admin marks them.")
        )
    else:
        head = ""
        who = (
            f"Only your support contacts can open tickets: {named}."
            if contacts
            else (
                "Only your support contacts can open tickets, and your organisation has none yet: "
                "ask your administrator or our support team to name one."
            )
        )
    hint = policy.spec.opening.hint
    return head + who + (f" {hint.strip()}" if hint and hint.strip() else "")
