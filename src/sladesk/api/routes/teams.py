"""/api/v1 routes for teams and their members, and for moving a ticket to a team's queue."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, Response
from pydantic import BaseModel, Field

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.schemas import MAX_ID, Body, Instant
from sladesk.services import InvalidFieldError, Role
from sladesk.services.teams import TeamView, add_member, create_team, get_team, list_teams, remove_member, rename_team
from sladesk.services.tickets import change_team, visible_version
from sladesk.store import reading, transaction

router = APIRouter(prefix="/api/v1", tags=["teams"])

Slug = Annotated[str, Path(min_length=1, max_length=64, description="The team's id, as policies name it: tech_ops")]
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
TicketId = Annotated[int, Path(ge=1, le=MAX_ID, description="A ticket id")]
_VERSION = re.compile(r"[0-9]{1,18}")


class TeamCreate(Body):
    slug: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="The id policies' routing rules name (lower-case letters, digits and _)",
    )
    name: str = Field(min_length=1, max_length=200)


class TeamUpdate(Body):
    name: str = Field(min_length=1, max_length=200)


class MemberOut(BaseModel):
    id: int
    name: str
    email: str
    role: Role


class TeamOut(BaseModel):
    slug: str
    name: str
    created_at: Instant
    members: list[MemberOut]

    @classmethod
    def of(cls, view: TeamView) -> TeamOut:
        return cls(
            slug=view.slug,
            name=view.name,
            created_at=view.created_at,
            members=[MemberOut(id=u.id, name=u.name, email=u.email, role=Role(u.role)) for u in view.members],
        )


class TicketTeamChange(Body):
    team: str | None = Field(description="The team's slug, or null to take the ticket out of every team")
    reason: str | None = Field(default=None, max_length=2000, description="Why it moves; kept in its history")


class TicketTeamOut(BaseModel):
    ticket_id: int
    team: str | None
    version: int = Field(description="The ticket's version after the move (its ETag)")


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


@router.post("/teams", status_code=201, response_model=TeamOut)
def add_team(
    body: TeamCreate, actor: CurrentActor, sessions: Sessions, request: Request, response: Response
) -> TeamOut:
    """A new team (admins only); 409 when its slug is taken."""
    with transaction(sessions) as session:
        team = create_team(session, actor, body.slug, body.name, now=_now(request))
        created = TeamOut.of(TeamView(team.id, team.slug, team.name, team.created_at, ()))
    response.headers["Location"] = f"/api/v1/teams/{created.slug}"
    return created


@router.get("/teams", response_model=list[TeamOut])
def teams(actor: CurrentActor, sessions: Sessions) -> list[TeamOut]:
    """Every team with its members, by name (agents and admins)."""
    with reading(sessions) as session:
        return [TeamOut.of(view) for view in list_teams(session, actor)]


@router.get("/teams/{slug}", response_model=TeamOut)
def read_team(slug: Slug, actor: CurrentActor, sessions: Sessions) -> TeamOut:
    """One team with its members (agents and admins)."""
    with reading(sessions) as session:
        return TeamOut.of(get_team(session, actor, slug))


@router.patch("/teams/{slug}", response_model=TeamOut)
def change_team_name(slug: Slug, body: TeamUpdate, actor: CurrentActor, sessions: Sessions) -> TeamOut:
    """Rename a team (admins only); its slug, which policies name, stays."""
    with transaction(sessions) as session:
        rename_team(session, actor, slug, body.name)
        return TeamOut.of(get_team(session, actor, slug))


@router.put("/teams/{slug}/members/{user_id}", response_model=TeamOut)
def put_member(slug: Slug, user_id: UserId, actor: CurrentActor, sessions: Sessions, response: Response) -> TeamOut:
    """Put an active agent or admin in the team (admins only): 201 when added, 200 when already a member."""
    with transaction(sessions) as session:
        view, added = add_member(session, actor, slug, user_id)
    response.status_code = 201 if added else 200
    return TeamOut.of(view)


@router.delete("/teams/{slug}/members/{user_id}", response_model=TeamOut)
def delete_member(slug: Slug, user_id: UserId, actor: CurrentActor, sessions: Sessions) -> TeamOut:
    """Take a user out of the team (admins only); 404 when they are not in it."""
    with transaction(sessions) as session:
        return TeamOut.of(remove_member(session, actor, slug, user_id))


@router.put("/tickets/{ticket_id}/team", response_model=TicketTeamOut)
def move_ticket(
    ticket_id: TicketId,
    body: TicketTeamChange,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> TicketTeamOut:
    """Move the ticket to a team's queue, or out of every team with `team: null` (agents and admins).

    If-Match (the ticket's version) is optional: with it, a ticket changed since answers 412.
    """
    version = _version(if_match) if if_match is not None else None
    with transaction(sessions) as session:
        change = change_team(
            session, actor, ticket_id, body.team, body.reason, expected_version=version, now=_now(request)
        )
        moved = TicketTeamOut(ticket_id=ticket_id, team=body.team, version=visible_version(change.ticket, actor))
    response.headers["ETag"] = f'"{moved.version}"'
    return moved


def _version(value: str) -> int:
    text = value.strip().removeprefix("W/").strip('"')
    if not _VERSION.fullmatch(text):
        shown = value if len(value) <= 40 else f"{value[:40]}..."
        raise InvalidFieldError("If-Match", f'{shown!r} is not a ticket version such as "3"')
    return int(text)
