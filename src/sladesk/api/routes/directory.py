"""/api/v1/organisations and /api/v1/users: the directory (admins), who am I, and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.directory_schemas import (
    IssuedTokenOut,
    OrganisationCreate,
    OrganisationOut,
    OrganisationPage,
    OrganisationUpdate,
    TokenCreate,
    TokenOut,
    UserCreate,
    UserOut,
    UserPage,
    UserUpdate,
)
from sladesk.api.paging import Cursor, decode_cursor, encode_cursor
from sladesk.services import Role, accounts, create_organisation, create_user, update_organisation, update_user
from sladesk.services.accounts import MAX_ID
from sladesk.store import reading, transaction

router = APIRouter(prefix="/api/v1", tags=["directory"])

Limit = Annotated[int, Query(ge=1, le=200)]


@router.post("/organisations", status_code=201, response_model=OrganisationOut)
def add_organisation(
    body: OrganisationCreate, actor: CurrentActor, sessions: Sessions, request: Request, response: Response
) -> OrganisationOut:
    """A new organisation under a policy, built-in or uploaded (admins only); 409 if the name is taken."""
    with transaction(sessions) as session:
        organisation = create_organisation(
            session,
            actor,
            name=body.name,
            policy_id=body.policy_id,
            tier=body.tier,
            timezone=body.timezone,
            now=request.app.state.clock(),
        )
    response.headers["Location"] = f"/api/v1/organisations/{organisation.id}"
    return OrganisationOut.of(organisation)


@router.get("/organisations", response_model=OrganisationPage)
def list_organisations(
    actor: CurrentActor, sessions: Sessions, cursor: Cursor = None, limit: Limit = 50
) -> OrganisationPage:
    """Organisations in the order they were created, a page at a time (admins only)."""
    accounts.require_admin(actor)  # before the cursor is read, so that others learn nothing from its errors
    with reading(sessions) as session:
        rows = accounts.list_organisations(session, actor, after=decode_cursor("o", cursor), limit=limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor("o", page[-1].id) if len(rows) > limit else None
    return OrganisationPage(items=[OrganisationOut.of(row) for row in page], next_cursor=next_cursor)


@router.get("/organisations/{organisation_id}", response_model=OrganisationOut)
def read_organisation(organisation_id: int, actor: CurrentActor, sessions: Sessions) -> OrganisationOut:
    """One organisation (admins only)."""
    with reading(sessions) as session:
        return OrganisationOut.of(accounts.get_organisation(session, actor, organisation_id))


@router.patch("/organisations/{organisation_id}", response_model=OrganisationOut)
def change_organisation(
    organisation_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: OrganisationUpdate,
    actor: CurrentActor,
    sessions: Sessions,
) -> OrganisationOut:
    """Rename an organisation, or move it to another policy, tier or time zone (admins only).

    Tickets opened before keep the policy version they were opened under; new ones follow the change.
    """
    with transaction(sessions) as session:
        return OrganisationOut.of(update_organisation(session, actor, organisation_id, body.changes()))


@router.post("/users", status_code=201, response_model=UserOut)
def add_user(
    body: UserCreate, actor: CurrentActor, sessions: Sessions, request: Request, response: Response
) -> UserOut:
    """A new customer (of an organisation), agent or admin (admins only); 409 if the email is taken."""
    with transaction(sessions) as session:
        user = create_user(
            session,
            actor,
            email=body.email,
            name=body.name,
            role=body.role,
            organisation_id=body.organisation_id,
            password=body.password,
            support_contact=body.support_contact,
            now=request.app.state.clock(),
        )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserOut.of(user)


@router.get("/users", response_model=UserPage)
def list_users(
    actor: CurrentActor,
    sessions: Sessions,
    role: Annotated[Role | None, Query(description="Only users with this role")] = None,
    organisation_id: Annotated[int | None, Query(description="Only users of this organisation")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> UserPage:
    """Users in the order they were created, a page at a time (admins only)."""
    accounts.require_admin(actor)
    after = decode_cursor("u", cursor)
    with reading(sessions) as session:
        rows = accounts.list_users(
            session, actor, role=role, organisation_id=organisation_id, after=after, limit=limit + 1
        )
    page = rows[:limit]
    next_cursor = encode_cursor("u", page[-1].id) if len(rows) > limit else None
    return UserPage(items=[UserOut.of(row) for row in page], next_cursor=next_cursor)


@router.get("/users/me", response_model=UserOut)
def read_me(actor: CurrentActor, sessions: Sessions) -> UserOut:
    """The caller: any authenticated user, whatever the role."""
    with reading(sessions) as session:
        return UserOut.of(accounts.current_user(session, actor))


@router.get("/users/{user_id}", response_model=UserOut)
def read_user(user_id: int, actor: CurrentActor, sessions: Sessions) -> UserOut:
    """One user (admins only)."""
    with reading(sessions) as session:
        return UserOut.of(accounts.get_user(session, actor, user_id))


@router.patch("/users/{user_id}", response_model=UserOut)
def change_user(
    user_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: UserUpdate, actor: CurrentActor, sessions: Sessions
) -> UserOut:
    """Rename a user or deactivate one (admins): its history stays, its tokens stop working; mark a customer
    as a support contact of its organisation (`support_contact`).

    Users may set their own `timezone` and `quiet_hours` (notification emails wait until quiet hours end).
    """
    with transaction(sessions) as session:
        return UserOut.of(update_user(session, actor, user_id, body.changes()))


@router.post("/users/{user_id}/tokens", status_code=201, response_model=IssuedTokenOut)
def add_token(
    user_id: int, body: TokenCreate, actor: CurrentActor, sessions: Sessions, request: Request
) -> IssuedTokenOut:
    """A new API token (admins, or the user for themself); its secret is in this answer and nowhere else.

    With `expires_at` it stops signing in then (a request with it answers 401); the user's expired tokens are
    removed. A customer holds at most 10 tokens, staff 100: one more answers 409.
    """
    with transaction(sessions) as session:
        issued = accounts.issue_token_for(
            session, actor, user_id, body.name, now=request.app.state.clock(), expires_at=body.expires_at
        )
    return IssuedTokenOut(**TokenOut.of(issued.token).model_dump(), token=issued.secret)


@router.get("/users/{user_id}/tokens", response_model=list[TokenOut])
def list_tokens(user_id: int, actor: CurrentActor, sessions: Sessions) -> list[TokenOut]:
    """The user's tokens by name and creation time, never their secrets (admins, or the user for themself)."""
    with reading(sessions) as session:
        return [TokenOut.of(row) for row in accounts.list_tokens(session, actor, user_id)]


@router.delete("/users/{user_id}/tokens/{token_id}", status_code=204)
def revoke_token(user_id: int, token_id: int, actor: CurrentActor, sessions: Sessions) -> Response:
    """Revoke a token: it authenticates no more (admins, or the user for themself)."""
    with transaction(sessions) as session:
        accounts.revoke_token(session, actor, user_id, token_id)
    return Response(status_code=204)
