"""A received mail as a value: who sent it, what it answers, its text and its files, and whether a machine sent it.

Only the standard library's `email` package reads the bytes (`email.policy.default`). A message that cannot
be read as a mail (no headers, no sender address, a multipart without its parts) raises
`MalformedMessageError`, which carries what could still be read of it, so the quarantine can show it.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.errors import (
    HeaderParseError,
    MessageDefect,
    MissingHeaderBodySeparatorDefect,
    MultipartInvariantViolationDefect,
    StartBoundaryNotFoundDefect,
)
from email.headerregistry import Address
from email.message import EmailMessage
from html.parser import HTMLParser

from sladesk.errors import SladeskError

# Defects after which the parts of the message cannot be told apart: its text and files would be guesses.
_FATAL_DEFECTS: tuple[type[MessageDefect], ...] = (
    StartBoundaryNotFoundDefect,
    MultipartInvariantViolationDefect,
)
# Values of `Precedence` that list servers and bulk senders set (RFC 3834 asks responders to stay quiet).
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class MalformedMessageError(SladeskError):
    """The bytes are not a mail the desk can act on; what could be read is kept for the quarantine."""

    def __init__(
        self, reason: str, *, message_id: str | None = None, sender: str | None = None, subject: str | None = None
    ) -> None:
        self.reason = reason
        self.message_id = message_id
        self.sender = sender
        self.subject = subject
        super().__init__(f"malformed message: {reason}")


@dataclass(frozen=True)
class MailAttachment:
    """One file sent with the mail, as its sender named and typed it."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMessage:
    """What the desk reads in a mail. Addresses are lower-cased; `text` is the whole plain-text body."""

    sender: str
    sender_name: str
    subject: str
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str
    attachments: tuple[MailAttachment, ...]
    automatic_reason: str | None  # why the mail looks sent by a machine; None: a person wrote it

    @property
    def automatic(self) -> bool:
        """An auto-reply, a bounce, a list or bulk mail: answering it could start a mail loop."""
        return self.automatic_reason is not None


def parse_message(raw: bytes) -> ParsedMessage:
    """The mail in `raw`, or `MalformedMessageError` saying why it cannot be read as one."""
    if not raw.strip():
        raise MalformedMessageError("the message is empty")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # what policy.default builds
    if not message.keys() or any(isinstance(d, MissingHeaderBodySeparatorDefect) for d in message.defects):
        raise MalformedMessageError("the message does not start with mail headers")
    message_id = _first_id(_header(message, "Message-ID"))
    subject = " ".join(_header(message, "Subject").split())
    try:
        sender, sender_name = _sender(message)
    except MalformedMessageError as error:
        raise MalformedMessageError(error.reason, message_id=message_id, subject=subject) from None
    fatal = [d for part in message.walk() for d in part.defects if isinstance(d, _FATAL_DEFECTS)]
    if fatal:
        raise MalformedMessageError(
            f"its multipart structure is broken ({type(fatal[0]).__name__})",
            message_id=message_id,
            sender=sender,
            subject=subject,
        )
    body = message.get_body(preferencelist=("plain", "html"))
    text = _text_of(body) if isinstance(body, EmailMessage) else ""
    return ParsedMessage(
        sender=sender,
        sender_name=sender_name,
        subject=subject,
        message_id=message_id,
        in_reply_to=tuple(_MESSAGE_ID.findall(_header(message, "In-Reply-To"))),
        references=tuple(_MESSAGE_ID.findall(_header(message, "References"))),
        text=text,
        attachments=tuple(_attachments(message, body)),
        automatic_reason=_automatic_reason(message, sender),
    )


def _header(message: EmailMessage, name: str) -> str:
    """The header's value as text ('' when absent); a value the header parser refuses is taken raw."""
    try:
        value = message.get(name)
    except (HeaderParseError, ValueError, IndexError):
        return ""
    return str(value) if value is not None else ""


def _first_id(value: str) -> str | None:
    found = _MESSAGE_ID.search(value)
    if found:
        return found.group()
    value = value.strip()
    return value[:998] or None


def _sender(message: EmailMessage) -> tuple[str, str]:
    """The From address (lower-cased) and its display name."""
    try:
        header = message.get("From")
        addresses: tuple[Address, ...] = header.addresses if header is not None else ()
    except (HeaderParseError, ValueError, IndexError, AttributeError):
        raise MalformedMessageError("its From header cannot be read") from None
    if not addresses:
        raise MalformedMessageError("it names no sender (no From address)")
    first = addresses[0]
    if not first.username or not first.domain:
        raise MalformedMessageError(f"its From address {first.addr_spec!r} is not a full address")
    return first.addr_spec.lower(), first.display_name


def _automatic_reason(message: EmailMessage, sender: str) -> str | None:
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if message.get(name) is not None:
            return f"{name} header"
    return_path = message.get("Return-Path")
    if return_path is not None and str(return_path).strip() in ("", "<>"):
        return "an empty return path (a bounce)"
    if sender.split("@")[0] == "mailer-daemon":
        return "sent by a mailer daemon"
    if message.get_content_type() == "multipart/report":
        return "a delivery or read report"
    return None


def _text_of(part: EmailMessage) -> str:
    """The part's text, line ends made `\\n`; HTML turned into plain text with its quotes marked `>`."""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown or lying charset: keep what can be read
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n").replace("\r", "\n")


def _attachments(message: EmailMessage, body: object) -> list[MailAttachment]:
    """Every leaf part that is a file: named, or marked as an attachment."""
    found = []
    for part in message.walk():
        if part is body or part.is_multipart() or not isinstance(part, EmailMessage):
            continue
        filename = part.get_filename()
        if filename is None and part.get_content_disposition() != "attachment":
            continue  # an alternative rendering of the body, not a file
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        found.append(MailAttachment(filename or "attachment", part.get_content_type(), data))
    return found


# Elements after which the text goes on on a new line.
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "hr"}
)


class _PlainText(HTMLParser):
    """HTML to the text a reader sees: blocks on their own lines, quotes (`<blockquote>`) prefixed by `> `."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self.hidden_depth += 1
        elif tag in _BLOCKS:
            self._break()
            if tag == "blockquote":
                self.quote_depth += 1
            elif tag == "li":
                self.current.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self.hidden_depth = max(0, self.hidden_depth - 1)
        elif tag in _BLOCKS:
            self._break()
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)

    def handle_data(self, data: str) -> None:
        if not self.hidden_depth:
            self.current.append(" ".join(data.split()) if data.strip() else (" " if data else ""))

    def _break(self) -> None:
        line = "".join(self.current).strip()
        self.current = []
        if line or (self.lines and self.lines[-1]):
            self.lines.append(("> " * self.quote_depth + line) if line else "")

    def text(self) -> str:
        self._break()
        return "\n".join(self.lines).strip() + "\n"


def html_to_text(html: str) -> str:
    """The plain text of an HTML mail body."""
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    return parser.text()
