"""/api/v1/tickets/{id}/attachments: upload, list and download files, with the same visibility as comments."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.schemas import MAX_ID
from sladesk.services.attachments import MAX_ATTACHMENT_BYTES, add_attachment, list_attachments, open_attachment
from sladesk.services.errors import InvalidFieldError
from sladesk.sla import event_of
from sladesk.sla.events import AttachmentEvent
from sladesk.store import transaction
from sladesk.store.engine import attachments_dir
from sladesk.store.tables import Attachment

TicketId = Annotated[int, PathParameter(ge=1, le=MAX_ID, description="A ticket id")]
AttachmentId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]

router = APIRouter(prefix="/api/v1/tickets/{ticket_id}/attachments", tags=["attachments"])


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    public: bool
    uploaded_by_id: int
    created_at: datetime

    @classmethod
    def of(cls, row: Attachment) -> AttachmentOut:
        return cls(
            id=row.id,
            filename=row.filename,
            content_type=row.content_type,
            size_bytes=row.size_bytes,
            sha256=row.sha256,
            public=row.public,
            uploaded_by_id=row.uploaded_by_id,
            created_at=row.created_at,
        )


def _storage(request: Request) -> Path:
    return attachments_dir(request.app.state.attachments_dir)


@router.post("", status_code=201, response_model=AttachmentOut)
async def upload(
    ticket_id: TicketId,
    file: Annotated[UploadFile, File(description=f"At most {MAX_ATTACHMENT_BYTES} bytes")],
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    public: Annotated[bool, Form()] = True,
) -> AttachmentOut:
    """Attach a file to the ticket (internal ones, `public=false`, only for staff)."""
    if file.size is not None and file.size > MAX_ATTACHMENT_BYTES:
        raise InvalidFieldError("file", f"over the limit of {MAX_ATTACHMENT_BYTES} bytes")

    def store() -> AttachmentOut:
        with transaction(sessions) as session:
            change = add_attachment(
                session,
                actor,
                ticket_id,
                filename=file.filename or "",
                content_type=file.content_type or "application/octet-stream",
                data=file.file,  # streamed to disk only once the ticket and access are checked
                storage=_storage(request),
                public=public,
                now=request.app.state.clock(),
            )
            attached = event_of(change.event.type, change.event.at, change.event.data)
            assert isinstance(attached, AttachmentEvent)
            return AttachmentOut.of(session.get_one(Attachment, attached.attachment_id))

    return await run_in_threadpool(store)


@router.get("", response_model=list[AttachmentOut])
def attachments(ticket_id: TicketId, actor: CurrentActor, sessions: Sessions) -> list[AttachmentOut]:
    with sessions() as session:
        return [AttachmentOut.of(row) for row in list_attachments(session, actor, ticket_id)]


@router.get("/{attachment_id}", response_class=FileResponse)
def download(
    ticket_id: TicketId, attachment_id: AttachmentId, actor: CurrentActor, sessions: Sessions, request: Request
) -> FileResponse:
    """The file itself, as a download (never rendered inline by the browser)."""
    with sessions() as session:
        stored = open_attachment(session, actor, ticket_id, attachment_id, _storage(request))
    return FileResponse(
        stored.path,
        media_type=stored.row.content_type,
        filename=stored.row.filename,
        headers={"X-Content-Type-Options": "nosniff", "ETag": f'"{stored.row.sha256}"'},
    )
