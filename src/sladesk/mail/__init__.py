"""Mail in both directions' shared vocabulary, and the desk's inbound receivers.

`parse` turns bytes into a `ParsedMessage`; `quotes` finds the new text of a reply; `reference` finds the
ticket a mail names; `smtp` (aiosmtpd) and `imap` (imapclient) receive mail and file it through
`sladesk.services.inbound.receive_mail`; `settings` holds the inbound `SLADESK_*` settings.
"""

from sladesk.mail.parse import MailAttachment, MalformedMessageError, ParsedMessage, html_to_text, parse_message
from sladesk.mail.quotes import latest_reply
from sladesk.mail.reference import ticket_message_id, ticket_reference, ticket_subject

__all__ = [
    "MailAttachment",
    "MalformedMessageError",
    "ParsedMessage",
    "html_to_text",
    "latest_reply",
    "parse_message",
    "ticket_message_id",
    "ticket_reference",
    "ticket_subject",
]
