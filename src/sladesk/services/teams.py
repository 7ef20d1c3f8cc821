"""Teams of agents, each with its own queue: creating and renaming them, their members, and the team a policy's
routing rules send a new ticket to.

A team's `slug` is the id a policy's `teams` and `routing` name (`tech_ops`). Admins manage teams and their
members; agents and admins read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sladesk.policy import Policy
from sladesk.services.actors import Actor, Role, require_admin, require_staff
from sladesk.services.errors import ConflictError, InvalidFieldError, NotFoundError
from sladesk.store.tables import Team, TeamMember, User

SLUG = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class TeamView:
    """A team with its members (agents and admins), in name order."""

    id: int
    slug: str
    name: str
    created_at: datetime
    members: tuple[User, ...]


def check_slug(slug: str) -> str:
    """The slug if it can name a team (lower-case letters, digits and _, starting with a letter, 64 at most)."""
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise InvalidFieldError("slug", f"{slug!r} is not a team id: use lower-case letters, digits and _ (64 at most)")
    if slug == "mine":
        raise InvalidFieldError("slug", "'mine' is kept for the queue filter that means my own teams: choose another")
    return slug


def check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidFieldError("name", "give the team a name")
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise InvalidFieldError("name", f"at most {MAX_NAME_LENGTH} characters")
    return name.strip()


def create_team(session: Session, actor: Actor | None, slug: str, name: str, *, now: datetime) -> Team:
    """A new team (admins; `actor` None is the operator); 409 when the slug is taken."""
    if actor is not None:
        require_admin(actor, "manage teams and their members")
    slug, name = check_slug(slug), check_name(name)
    if session.scalar(select(Team.id).where(Team.slug == slug)) is not None:
        raise ConflictError(f"a team {slug!r} exists already")
    team = Team(slug=slug, name=name, created_at=now)
    try:
        with session.begin_nested():
            session.add(team)
    except IntegrityError:  # the same slug, stored by a concurrent request since the check above
        raise ConflictError(f"a team {slug!r} exists already") from None
    return team


def rename_team(session: Session, actor: Actor, slug: str, name: str) -> Team:
    require_admin(actor, "manage teams and their members")
    name = check_name(name)
    team = _team(session, slug, for_update=True)
    team.name = name
    return team


def get_team(session: Session, actor: Actor, slug: str) -> TeamView:
    """The team and its members (staff)."""
    require_staff(actor, "see teams")
    return _view(session, _team(session, slug))


def list_teams(session: Session, actor: Actor) -> list[TeamView]:
    """Every team of the desk with its members, by name (staff)."""
    require_staff(actor, "see teams")
    teams = list(session.scalars(select(Team).order_by(Team.name, Team.id)))
    members = _members(session, [team.id for team in teams])
    return [_as_view(team, members.get(team.id, [])) for team in teams]


def add_member(session: Session, actor: Actor, slug: str, user_id: int) -> tuple[TeamView, bool]:
    """Put an active agent or admin in the team (admins); whether they were not a member before."""
    require_admin(actor, "manage teams and their members")
    team = _team(session, slug, for_update=True)
    user = session.get(User, user_id)
    if user is None or not user.active or user.role == Role.CUSTOMER.value:
        raise InvalidFieldError("user_id", f"no active agent or admin {user_id}: teams are of agents and admins")
    known = session.get(TeamMember, (team.id, user.id))
    if known is None:
        try:
            with session.begin_nested():
                session.add(TeamMember(team_id=team.id, user_id=user.id))
        except IntegrityError:  # added by a concurrent request meanwhile: it is a member either way
            return _view(session, team), False
    return _view(session, team), known is None


def remove_member(session: Session, actor: Actor, slug: str, user_id: int) -> TeamView:
    """Take a user out of the team (admins); 404 when they are not in it."""
    require_admin(actor, "manage teams and their members")
    team = _team(session, slug, for_update=True)
    removed = session.execute(
        delete(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user_id),
        execution_options={"synchronize_session": False},
    )
    if not getattr(removed, "rowcount", 0):
        raise NotFoundError(f"user {user_id} is not a member of team {slug!r}")
    return _view(session, team)


def team_by_slug(session: Session, slug: str) -> Team | None:
    return session.scalar(select(Team).where(Team.slug == slug))


def routed_team_row(session: Session, policy: Policy, slug: str, now: datetime) -> Team:
    """The desk's team `slug`, which the policy's routing sent a new ticket to.

    A team the desk does not have yet is created under the name the policy gives it, so a routed ticket
    always lands in a queue.
    """
    team = team_by_slug(session, slug)
    if team is not None:
        return team
    named = next((t.name for t in policy.spec.teams if t.id == slug), None)
    try:
        return create_team(session, None, slug, named or slug.replace("_", " ").title(), now=now)
    except ConflictError:  # created by a concurrent opening since the look-up
        return session.scalars(select(Team).where(Team.slug == slug)).one()


def _team(session: Session, slug: str, *, for_update: bool = False) -> Team:
    query = select(Team).where(Team.slug == slug)
    team = session.scalar(query.with_for_update() if for_update else query)
    if team is None:
        raise NotFoundError(f"no team {slug!r}")
    return team


def _members(session: Session, team_ids: list[int]) -> dict[int, list[User]]:
    if not team_ids:
        return {}
    rows = session.execute(
        select(TeamMember.team_id, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id.in_(team_ids))
        .order_by(User.name, User.id)
    )
    found: dict[int, list[User]] = {}
    for team_id, user in rows:
        found.setdefault(team_id, []).append(user)
    return found


def _view(session: Session, team: Team) -> TeamView:
    return _as_view(team, _members(session, [team.id]).get(team.id, []))


def _as_view(team: Team, members: list[User]) -> TeamView:
    return TeamView(team.id, team.slug, team.name, team.created_at, tuple(members))
