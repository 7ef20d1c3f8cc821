"""How a mail names its ticket: `[#<id>]` in the subject, or a desk Message-ID it answers.

The desk's own mail carries both: the subject `[#<ticket id>] <subject>` and Message-IDs
`<ticket-<ticket id>-<unique part>@<mail domain>>`, so a reply finds its ticket whether the customer's
mail program keeps the subject, the `In-Reply-To` header or only `References`.
"""

from __future__ import annotations

import re

from sladesk.mail.parse import ParsedMessage

_SUBJECT_REFERENCE = re.compile(r"\[#(\d{1,18})\]")
_MESSAGE_ID_REFERENCE = re.compile(r"^<ticket-(\d{1,18})-[^@<>\s]+@([^<>\s]+)>$", re.IGNORECASE)


def ticket_subject(ticket_id: int, subject: str) -> str:
    """The subject of the desk's mail about a ticket: `[#123] Export fails`."""
    return f"[#{ticket_id}] {subject}"


def ticket_message_id(ticket_id: int, unique: str, domain: str) -> str:
    """A Message-ID of the desk's mail about a ticket; `unique` tells it from the ticket's other mail (an event id)."""
    return f"<ticket-{ticket_id}-{unique}@{domain}>"


def ticket_reference(message: ParsedMessage, *, domain: str | None = None) -> int | None:
    """The ticket the mail answers: `[#id]` in its subject, else a desk Message-ID in `In-Reply-To` or
    `References` (the latest first). With `domain`, only Message-IDs of that domain count.
    """
    in_subject = _SUBJECT_REFERENCE.search(message.subject)
    if in_subject:
        return int(in_subject.group(1))
    for message_id in (*message.in_reply_to, *reversed(message.references)):
        found = _MESSAGE_ID_REFERENCE.match(message_id)
        if found and (domain is None or found.group(2).lower() == domain.lower()):
            return int(found.group(1))
    return None
