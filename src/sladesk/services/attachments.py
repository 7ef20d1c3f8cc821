"""Attachments: files kept in the data directory by checksum, listed and served only to who may see them.

An upload is streamed to a temporary file (`.upload-*`) in the attachments directory and moved to its
checksum's name once its transaction commits. `sweep_orphan_files` keeps the directory tidy after a crash
or a failed move: see there.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from sladesk.services.actors import Actor
from sladesk.services.errors import InvalidFieldError, NotFoundError
from sladesk.services.tickets import Change, change_ticket, get_ticket
from sladesk.sla.events import AttachmentEvent
from sladesk.store.tables import Attachment, Ticket

# Explicit bidi embeddings, overrides and isolates: they make "invoice\u202efdp.exe" read as "invoiceexe.pdf".
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ORPHAN_FILE_GRACE = timedelta(hours=1)  # far longer than any upload's transaction takes to commit
_CHUNK_BYTES = 64 * 1024
_TEMPORARY_PREFIX = ".upload-"
_STORED_NAME = re.compile(r"([0-9a-f]{2})/\1[0-9a-f]{62}")
_SWEEP_BATCH = 500  # stored names looked up in one query
log = logging.getLogger("sladesk.attachments")
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
    data: bytes | BinaryIO,
    storage: Path,
    public: bool = True,
    now: datetime | None = None,
) -> Change:
    """Check the file (size, type, content), keep it by its SHA-256, and record it on the ticket.

    Nothing is written before the ticket and the actor's access to it are checked. The content is streamed to a
    temporary file in `storage`, which becomes the stored file only once the session's transaction commits; if
    it does not, the temporary file is removed and nothing is kept.
    """
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
    if isinstance(data, bytes | bytearray) and len(data) > MAX_ATTACHMENT_BYTES:
        raise InvalidFieldError("file", f"{len(data)} bytes is over the limit of {MAX_ATTACHMENT_BYTES} bytes")
    if not public and not actor.is_staff:
        raise InvalidFieldError("public", "customers' attachments are always public")
    content = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data

    def change(ticket: Ticket, at: datetime) -> AttachmentEvent:
        # The ticket is found, visible to the actor and locked: only now is anything written.
        staged = _stage(session, content, media_type, storage)
        row = Attachment(
            ticket_id=ticket.id,
            uploaded_by_id=actor.user_id,
            filename=name,
            content_type=media_type,
            size_bytes=staged.size_bytes,
            sha256=staged.sha256,
            stored_name=staged.stored_name,
            public=public,
            created_at=at,
        )
        session.add(row)
        session.flush()  # the attachment's id, which its event names
        return AttachmentEvent(
            at=at, attachment_id=row.id, filename=name, size_bytes=staged.size_bytes, public_file=public
        )

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
        log.error("attachment %d of ticket %d has no file %s in %s", attachment_id, ticket_id, row.stored_name, storage)
        raise NotFoundError(
            f"the file of attachment {attachment_id} is missing from the desk's data directory; "
            "the desk's log says which, and the file can be uploaded again"
        )
    return StoredFile(row, path)


@dataclass(frozen=True)
class SweptFiles:
    """What `sweep_orphan_files` did: files removed, and uploads moved into place for their attachments."""

    removed: int
    restored: int


def sweep_orphan_files(
    session: Session, storage: Path, now: datetime, older_than: timedelta = ORPHAN_FILE_GRACE
) -> SweptFiles:
    """Tidy the attachments directory `storage` of files last written more than `older_than` before `now`.

    - A temporary upload whose attachment is stored but whose file is not (the process died between the
      commit and the move, or the move failed) is moved into place: the attachment can be downloaded again.
    - Any other temporary upload (its transaction never committed) is removed.
    - A stored file that no attachment names is removed.

    Younger files are left alone: one may belong to a transaction still committing. Files the desk did not
    name are never touched.
    """
    if not storage.is_dir():
        return SweptFiles(0, 0)
    cutoff = (now - older_than).timestamp()
    removed = restored = 0
    for temporary in storage.glob(f"{_TEMPORARY_PREFIX}*"):
        if not _older(temporary, cutoff):
            continue
        stored_name = _stored_name(_sha256_of(temporary))
        final = storage / stored_name
        if not final.is_file() and _named(session, [stored_name]):
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, final)
            log.warning("moved the upload %s into place as %s, for the attachments that name it", temporary, final)
            restored += 1
        else:
            temporary.unlink(missing_ok=True)
            removed += 1
    for batch in _batches(_stored_files(storage, cutoff), _SWEEP_BATCH):
        named = _named(session, list(batch))
        for stored_name, path in batch.items():
            # Looked at again: an upload of the same content since the lookup refreshes its time (see `place`).
            if stored_name not in named and _older(path, cutoff):
                path.unlink(missing_ok=True)
                removed += 1
    return SweptFiles(removed, restored)


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.is_file() and path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def _stored_files(storage: Path, cutoff: float) -> Iterator[tuple[str, Path]]:
    for path in storage.glob("??/*"):
        stored_name = path.relative_to(storage).as_posix()
        if _STORED_NAME.fullmatch(stored_name) and _older(path, cutoff):
            yield stored_name, path


def _batches(files: Iterator[tuple[str, Path]], size: int) -> Iterator[dict[str, Path]]:
    batch: dict[str, Path] = {}
    for stored_name, path in files:
        batch[stored_name] = path
        if len(batch) == size:
            yield batch
            batch = {}
    if batch:
        yield batch


def _named(session: Session, stored_names: list[str]) -> set[str]:
    """Those of `stored_names` that some attachment names."""
    query = select(Attachment.stored_name).where(Attachment.stored_name.in_(stored_names)).distinct()
    return set(session.scalars(query))


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _stored_name(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}"


@dataclass
class _StagedFile:
    """An upload in a temporary file of the attachments directory, waiting for its transaction to end."""

    temporary: Path
    final: Path
    stored_name: str
    sha256: str
    size_bytes: int
    done: bool = False

    def place(self) -> None:
        """The transaction committed: keep the file by its checksum (the same content is stored once).

        A move that fails cannot undo the commit: it is logged and the temporary file is kept, for
        `sweep_orphan_files` to move into place; until then the attachment's download answers 404.
        """
        if self.done:
            return
        self.done = True
        try:
            if self.final.is_file():
                os.utime(self.final)  # named again just now: not an orphan for the sweep's grace period
            else:
                self.final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.temporary, self.final)
        except OSError as error:
            log.error(
                "an attachment is stored but its file %s could not be put in place (%s); %s keeps the content "
                "until sweep_orphan_files moves it",
                self.final,
                error,
                self.temporary,
            )
            return
        self.temporary.unlink(missing_ok=True)

    def discard(self) -> None:
        """The transaction ended without committing: keep nothing."""
        if not self.done:
            self.done = True
            self.temporary.unlink(missing_ok=True)


def _stage(session: Session, content: BinaryIO, media_type: str, storage: Path) -> _StagedFile:
    """Stream `content` to a temporary file in `storage`, checked as it goes; placed when the session commits."""
    first = content.read(_CHUNK_BYTES)
    if not first:
        raise InvalidFieldError("file", "the file is empty")
    signatures = ALLOWED_CONTENT_TYPES[media_type]
    if signatures and not any(first.startswith(signature) for signature in signatures):
        raise InvalidFieldError("file", f"the content is not {media_type}")
    storage.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=storage, prefix=_TEMPORARY_PREFIX)
    temporary = Path(name)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(handle, "wb") as file:
            chunk = first
            while chunk:
                size += len(chunk)
                if size > MAX_ATTACHMENT_BYTES:
                    raise InvalidFieldError("file", f"over the limit of {MAX_ATTACHMENT_BYTES} bytes")
                digest.update(chunk)
                file.write(chunk)
                chunk = content.read(_CHUNK_BYTES)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sha256 = digest.hexdigest()
    stored_name = _stored_name(sha256)
    staged = _StagedFile(temporary, storage / stored_name, stored_name, sha256, size)

    def committed(_: Session) -> None:
        staged.place()

    def ended(_: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # the outermost transaction: committed (placed by now) or not
            staged.discard()

    event.listen(session, "after_commit", committed)
    event.listen(session, "after_transaction_end", ended)
    return staged
