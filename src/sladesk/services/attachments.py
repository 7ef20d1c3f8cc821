"""Attachments: files kept in the data directory by checksum, listed and served only to who may see them."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.services.actors import Actor
from sladesk.services.errors import InvalidFieldError, NotFoundError
from sladesk.services.tickets import Change, change_ticket, get_ticket
from sladesk.sla.events import AttachmentEvent
from sladesk.store.tables import Attachment, Ticket

# Explicit bidi embeddings, overrides and isolates: they make "invoice\u202efdp.exe" read as "invoiceexe.pdf".
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ALLOWED_CONTENT_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04",),
    "video/mp4": (),
    "video/webm": (b"\x1a\x45\xdf\xa3",),
    "text/plain": (),
    "text/csv": (),
    "application/json": (),
}


@dataclass(frozen=True)
class StoredFile:
    row: Attachment
    path: Path


def add_attachment(
    session: Session,
    actor: Actor,
    ticket_id: int,
    *,
    filename: str,
    content_type: str,
    data: bytes,
    storage: Path,
    public: bool = True,
    now: datetime | None = None,
) -> Change:
    """Check the file (size, type, content), keep it by its SHA-256, and record it on the ticket."""
    name = Path(filename or "").name.strip()
    if not name or len(name) > 255:
        raise InvalidFieldError("file", "give the file a name of 1 to 255 characters")
    if any(ord(character) < 32 or ord(character) == 127 for character in name):
        raise InvalidFieldError("file", "the file name must not contain control characters")
    if not BIDI_CONTROLS.isdisjoint(name):
        raise InvalidFieldError("file", "the file name must not contain bidirectional control characters")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in ALLOWED_CONTENT_TYPES:
        allowed = ", ".join(sorted(ALLOWED_CONTENT_TYPES))
        raise InvalidFieldError("file", f"content type {media_type!r} is not accepted (accepted: {allowed})")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise InvalidFieldError("file", f"{len(data)} bytes is over the limit of {MAX_ATTACHMENT_BYTES} bytes")
    if not data:
        raise InvalidFieldError("file", "the file is empty")
    signatures = ALLOWED_CONTENT_TYPES[media_type]
    if signatures and not any(data.startswith(signature) for signature in signatures):
        raise InvalidFieldError("file", f"the content is not {media_type}")
    if not public and not actor.is_staff:
        raise InvalidFieldError("public", "customers' attachments are always public")
    digest = hashlib.sha256(data).hexdigest()
    stored_name = f"{digest[:2]}/{digest}"
    _write_once(storage / stored_name, data)

    row = Attachment(
        uploaded_by_id=actor.user_id,
        filename=name,
        content_type=media_type,
        size_bytes=len(data),
        sha256=digest,
        stored_name=stored_name,
        public=public,
    )

    def change(ticket: Ticket, at: datetime) -> AttachmentEvent:
        row.ticket_id, row.created_at = ticket.id, at
        session.add(row)
        session.flush()  # the attachment's id, which its event names
        return AttachmentEvent(at=at, attachment_id=row.id, filename=name, size_bytes=len(data), public_file=public)

    return change_ticket(session, actor, ticket_id, None, now, change)


def list_attachments(session: Session, actor: Actor, ticket_id: int) -> list[Attachment]:
    get_ticket(session, actor, ticket_id)
    query = select(Attachment).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)
    if not actor.is_staff:
        query = query.where(Attachment.public.is_(True))
    return list(session.scalars(query))


def open_attachment(session: Session, actor: Actor, ticket_id: int, attachment_id: int, storage: Path) -> StoredFile:
    """The attachment and its file, if the actor may see both; otherwise NotFound."""
    get_ticket(session, actor, ticket_id)
    row = session.get(Attachment, attachment_id)
    if row is None or row.ticket_id != ticket_id or (not row.public and not actor.is_staff):
        raise NotFoundError(f"no attachment {attachment_id} on ticket {ticket_id}")
    path = storage / row.stored_name
    if not path.is_file():
        raise NotFoundError(f"the file of attachment {attachment_id} is missing from the data directory")
    return StoredFile(row, path)


def _write_once(path: Path, data: bytes) -> None:
    """Write atomically (a temporary file renamed into place); the same content is stored once."""
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
