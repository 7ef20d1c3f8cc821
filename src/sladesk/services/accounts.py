"""Reading organisations and users (admins), and API tokens (admins, or a user for their own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import delete, func, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from sladesk.services.actors import Actor, Role
from sladesk.services.directory import _digest, check_token_expiry, issue_token
from sladesk.services.errors import ConflictError, ForbiddenError, NotFoundError
from sladesk.store.tables import ApiToken, Organisation, User

Row = TypeVar("Row", Organisation, User, ApiToken)
MAX_ID = 2**31 - 1  # the largest id every database holds (PostgreSQL integer); no row has a larger one
MAX_CUSTOMER_TOKENS = 10  # API tokens a customer may hold at once
MAX_STAFF_TOKENS = 100  # API tokens an agent or an admin may hold at once


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: its row and its secret, which is shown this once and never stored."""

    token: ApiToken
    secret: str


def require_admin(actor: Actor) -> None:
    """Return only if the actor is an admin; anyone else gets ForbiddenError, whatever they asked for."""
    if actor.role is not Role.ADMIN:
        raise ForbiddenError("only admins manage organisations and users")


def list_organisations(
    session: Session, actor: Actor, *, after: int | None = None, limit: int = 50
) -> list[Organisation]:
    """Up to `limit` organisations with an id above `after`, in id order (admins only)."""
    require_admin(actor)
    if not _storable(after):
        return []
    query = select(Organisation).order_by(Organisation.id).limit(limit)
    if after is not None:
        query = query.where(Organisation.id > after)
    return list(session.scalars(query))


def get_organisation(session: Session, actor: Actor, organisation_id: int) -> Organisation:
    """The organisation (admins only); NotFoundError if there is none with that id."""
    require_admin(actor)
    organisation = _get(session, Organisation, organisation_id)
    if organisation is None:
        raise NotFoundError(f"no organisation {organisation_id}")
    return organisation


def list_users(
    session: Session,
    actor: Actor,
    *,
    role: Role | None = None,
    organisation_id: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> list[User]:
    """Up to `limit` users with an id above `after`, in id order, optionally of one role or organisation."""
    require_admin(actor)
    if not (_storable(organisation_id) and _storable(after)):
        return []
    query = select(User).order_by(User.id).limit(limit)
    if role is not None:
        query = query.where(User.role == role.value)
    if organisation_id is not None:
        query = query.where(User.organisation_id == organisation_id)
    if after is not None:
        query = query.where(User.id > after)
    return list(session.scalars(query))


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    """The user (admins only); NotFoundError if there is none with that id."""
    require_admin(actor)
    user = _get(session, User, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    return user


def current_user(session: Session, actor: Actor) -> User:
    """The user the actor is, whatever their role."""
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFoundError(f"no user {actor.user_id}")
    return user


def issue_token_for(
    session: Session,
    actor: Actor,
    user_id: int,
    name: str,
    now: datetime | None = None,
    expires_at: datetime | None = None,
) -> IssuedToken:
    """A new API token for the user, issued by an admin or by the user themself, valid until revoked or until
    `expires_at` (InvalidFieldError unless it is after `now` and at most `MAX_TOKEN_LIFETIME` after it).

    Anyone else gets ForbiddenError before the id is looked up, so the answer does not tell whether it exists.
    The user's expired tokens, which sign in no more, are deleted first; a user still holding as many tokens as
    its role may (`MAX_CUSTOMER_TOKENS`, `MAX_STAFF_TOKENS`) gets ConflictError: it revokes one first.
    """
    _require_admin_or_self(actor, user_id)
    now = now or datetime.now(UTC)
    check_token_expiry(expires_at, now)
    # Locked, so that concurrent requests for the same user count its tokens one after the other.
    user = session.get(User, user_id, with_for_update=True) if _storable(user_id) else None
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    session.execute(
        delete(ApiToken).where(ApiToken.user_id == user_id, ApiToken.expires_at <= now),
        execution_options={"synchronize_session": False},
    )
    cap = MAX_CUSTOMER_TOKENS if user.role == Role.CUSTOMER.value else MAX_STAFF_TOKENS
    held = session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id)) or 0
    if held >= cap:
        raise ConflictError(f"user {user_id} holds {held} API tokens, the most a {user.role} may; revoke one first")
    secret = issue_token(session, user_id, name, now, expires_at)
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(secret))).one()
    return IssuedToken(token, secret)


def list_tokens(session: Session, actor: Actor, user_id: int) -> list[ApiToken]:
    """The user's API tokens in the order they were issued, expired ones included (for an admin or the user
    themself)."""
    _require_admin_or_self(actor, user_id)
    if _get(session, User, user_id) is None:
        raise NotFoundError(f"no user {user_id}")
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def revoke_token(session: Session, actor: Actor, user_id: int, token_id: int) -> None:
    """Delete the user's token, so that it authenticates no more; NotFoundError if the user has no such token."""
    _require_admin_or_self(actor, user_id)
    if _get(session, User, user_id) is None:
        raise NotFoundError(f"no user {user_id}")
    if not _storable(token_id):
        raise NotFoundError(f"user {user_id} has no token {token_id}")
    # One statement that says how many rows it deleted: a concurrent revocation of the same token deletes none.
    deleted = cast(
        "CursorResult[Any]",
        session.execute(
            delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id),
            execution_options={"synchronize_session": False},
        ),
    )
    if deleted.rowcount != 1:
        raise NotFoundError(f"user {user_id} has no token {token_id}")


def _require_admin_or_self(actor: Actor, user_id: int) -> None:
    if actor.role is not Role.ADMIN and actor.user_id != user_id:
        raise ForbiddenError("only admins manage other users")


def _storable(row_id: int | None) -> bool:
    return row_id is None or -MAX_ID - 1 <= row_id <= MAX_ID


def _get(session: Session, model: type[Row], row_id: int) -> Row | None:
    """The row with that id, or None, also for an id too large for any row (which the database would refuse)."""
    return session.get(model, row_id) if _storable(row_id) else None
