"""Who is calling: a bearer API token in, an `Actor` out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException

from sladesk.services import Actor
from sladesk.services.directory import record_token_use, token_holder
from sladesk.store import reading, transaction

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer sld_...`")


async def sessions_of(request: Request) -> sessionmaker[Session]:
    """The app's session factory; async because it does no I/O (a sync dependency costs a worker thread hop)."""
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    sessions: Annotated[sessionmaker[Session], Depends(sessions_of)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "send an API token: Authorization: Bearer <token>")
    with reading(sessions) as session:
        holder = token_holder(session, credentials.credentials)
    if holder is None:
        raise HTTPException(401, "unknown or revoked API token")
    now = request.app.state.clock()
    if holder.expired(now):
        raise HTTPException(401, f"this API token expired at {holder.expires_at:%Y-%m-%dT%H:%M:%SZ}; use another one")
    if holder.use_due(now):  # a write only every few minutes per token; most requests only read
        with transaction(sessions) as session:
            record_token_use(session, holder.token_id, now)
    return holder.actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
Sessions = Annotated[sessionmaker[Session], Depends(sessions_of)]
