"""Organisations, users and API tokens: who may use the desk, under which policy."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sladesk.errors import SladeskError
from sladesk.policy import Policy
from sladesk.services.actors import Actor, Role
from sladesk.services.errors import ConflictError, ForbiddenError, InvalidFieldError, NotFoundError
from sladesk.services.notifications import check_quiet_hours
from sladesk.services.policies import current_policy
from sladesk.store.tables import ApiToken, Organisation, User

_hasher = PasswordHasher()
TOKEN_PREFIX = "sld_"
MAX_TOKEN_LIFETIME = timedelta(days=5 * 365)  # the furthest expiry a token may be given


def create_organisation(
    session: Session,
    actor: Actor | None,
    *,
    name: str,
    policy_id: str,
    tier: str | None = None,
    timezone: str | None = None,
    now: datetime | None = None,
) -> Organisation:
    """An organisation served under a policy; `actor` None is the operator setting the desk up."""
    _require_admin(actor)
    policy = _policy_with_tier(session, policy_id, tier)
    if session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise ConflictError(f"an organisation named {name!r} exists already")
    organisation = Organisation(
        name=name, policy_id=policy.id, tier=tier, timezone=timezone, created_at=now or datetime.now(UTC)
    )
    session.add(organisation)
    try:
        session.flush()  # its id, for what the caller does next
    except IntegrityError:  # the same name, stored by a concurrent request since the check above
        raise ConflictError(f"an organisation named {name!r} exists already") from None
    return organisation


def update_organisation(
    session: Session,
    actor: Actor | None,
    organisation_id: int,
    changes: Mapping[str, Any],
) -> Organisation:
    """Rename an organisation or move it to another policy or tier; tickets opened before keep their rules.

    `changes` holds only the fields to change (name, policy_id, tier, timezone).
    """
    _require_admin(actor)
    unknown = set(changes) - {"name", "policy_id", "tier", "timezone"}
    if unknown:
        raise InvalidFieldError(sorted(unknown)[0], "unknown field")
    organisation = session.get(Organisation, organisation_id, with_for_update=True)
    if organisation is None:
        raise NotFoundError(f"no organisation {organisation_id}")
    if "name" in changes and changes["name"] != organisation.name:
        if session.scalar(select(Organisation.id).where(Organisation.name == changes["name"])) is not None:
            raise ConflictError(f"an organisation named {changes['name']!r} exists already")
        organisation.name = changes["name"]
        try:
            session.flush()
        except IntegrityError:  # the name, taken by a concurrent request since the check above
            raise ConflictError(f"an organisation named {changes['name']!r} exists already") from None
    policy_id = changes.get("policy_id", organisation.policy_id)
    tier = changes.get("tier", organisation.tier)
    organisation.policy_id = _policy_with_tier(session, policy_id, tier).id
    organisation.tier = tier
    if "timezone" in changes:
        organisation.timezone = changes["timezone"]
    return organisation


def update_user(session: Session, actor: Actor | None, user_id: int, changes: Mapping[str, Any]) -> User:
    """Rename a user, or deactivate (and reactivate) one: a deactivated user stays in every history it is
    part of, but its password signs in no more and its API tokens are revoked (deleted), so reactivating it
    revives none of them: it needs a new one. `changes` holds name, active, timezone, quiet_hours, role,
    organisation_id (see `_change_role`) and support_contact (a customer who may open tickets where the
    organisation's policy lets only support contacts do so; staff are never support contacts).

    Users set their own time zone and quiet hours; everything else is for admins.
    """
    own = {"timezone", "quiet_hours"}
    if not (actor is not None and actor.user_id == user_id and set(changes) <= own):
        _require_admin(actor)
    unknown = set(changes) - {"name", "active", "role", "organisation_id", "support_contact"} - own
    if unknown:
        raise InvalidFieldError(sorted(unknown)[0], "unknown field")
    if changes.get("quiet_hours") is not None:
        try:
            changes = {**changes, "quiet_hours": check_quiet_hours(str(changes["quiet_hours"]))}
        except ValueError as error:
            raise InvalidFieldError("quiet_hours", str(error)) from None
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    if "active" in changes:
        if not changes["active"] and actor is not None and actor.user_id == user.id:
            raise ConflictError("admins cannot deactivate themselves; another admin can")
        user.active = bool(changes["active"])
        if not user.active:
            revoke_tokens(session, user.id)
    if "name" in changes:
        user.name = changes["name"]
    for field in own & set(changes):
        setattr(user, field, changes[field])
    if "role" in changes or "organisation_id" in changes:
        _change_role(session, user, changes)
        if user.role != Role.CUSTOMER.value:
            user.support_contact = False  # staff open tickets for anyone; only a customer is a support contact
    if "support_contact" in changes:
        user.support_contact = _support_contact(Role(user.role), changes["support_contact"])
    return user


def _support_contact(role: Role, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidFieldError("support_contact", "must be true or false")
    if value and role is not Role.CUSTOMER:
        raise InvalidFieldError("support_contact", "only customers are support contacts of their organisation")
    return value


def _change_role(session: Session, user: User, changes: Mapping[str, Any]) -> None:
    """Agent and admin trade places freely; a customer belongs to an organisation and staff to none, so a
    change between customer and staff names the organisation (`organisation_id`, null when becoming staff).

    The last active admin stays an admin: someone must be able to manage the desk.
    """
    try:
        role = Role(changes.get("role", user.role))
    except ValueError:
        raise InvalidFieldError("role", "must be customer, agent or admin") from None
    was_customer = user.role == Role.CUSTOMER.value
    becomes_customer = role is Role.CUSTOMER
    if was_customer != becomes_customer and "organisation_id" not in changes:
        if becomes_customer:
            raise InvalidFieldError("organisation_id", "a customer belongs to an organisation: name it")
        raise InvalidFieldError("organisation_id", "staff belong to no organisation: set it to none")
    organisation_id = changes.get("organisation_id", user.organisation_id)
    if becomes_customer:
        if organisation_id is None:
            raise InvalidFieldError("organisation_id", "a customer belongs to an organisation: name it")
        if session.get(Organisation, organisation_id) is None:
            raise InvalidFieldError("organisation_id", f"no organisation {organisation_id}")
    elif organisation_id is not None:
        raise InvalidFieldError("organisation_id", "staff belong to no organisation: set it to none")
    if user.role == Role.ADMIN.value and role is not Role.ADMIN and user.active:
        other_admins = session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id)
        )
        if not other_admins:
            raise ConflictError("the last active admin stays an admin: make another user admin first")
    user.role = role.value
    user.organisation_id = organisation_id


def _policy_with_tier(session: Session, policy_id: str, tier: str | None) -> Policy:
    try:
        policy = current_policy(session, policy_id)
    except SladeskError as error:
        raise InvalidFieldError("policy_id", str(error)) from None
    try:
        policy.tier_rank(tier)
    except SladeskError as error:
        raise InvalidFieldError("tier", str(error)) from None
    return policy


def create_user(
    session: Session,
    actor: Actor | None,
    *,
    email: str,
    name: str,
    role: Role,
    organisation_id: int | None = None,
    password: str | None = None,
    support_contact: bool = False,
    now: datetime | None = None,
) -> User:
    """A customer (of an organisation), an agent or an admin; the password is kept as an argon2 hash.

    `support_contact` marks a customer who may open tickets where the organisation's policy lets only its
    support contacts do so.
    """
    _require_admin(actor)
    support_contact = _support_contact(role, support_contact)
    if role is Role.CUSTOMER and organisation_id is None:
        raise InvalidFieldError("organisation_id", "a customer belongs to an organisation")
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        raise InvalidFieldError("organisation_id", f"no organisation {organisation_id}")
    if session.scalar(select(User.id).where(User.email == email.lower())) is not None:
        raise ConflictError(f"a user with email {email!r} exists already")
    user = User(
        email=email.lower(),
        name=name,
        role=role.value,
        organisation_id=organisation_id,
        password_hash=_hasher.hash(password) if password else None,
        support_contact=support_contact,
        created_at=now or datetime.now(UTC),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # the same email, stored by a concurrent request since the check above
        raise ConflictError(f"a user with email {email!r} exists already") from None
    return user


def bootstrap_admin(session: Session, *, email: str, name: str, now: datetime | None = None) -> tuple[User, bool]:
    """The admin with this email, created if there is none and reactivated if deactivated.

    This is how an operator gets into a new desk, or back into one.

    Returns the user and whether it was created; an existing user who is not an admin is refused.
    """
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise InvalidFieldError("email", f"{email!r} is not an email address")
    existing = session.scalar(select(User).where(User.email == email.lower()))
    if existing is None:
        return create_user(session, None, email=email, name=name, role=Role.ADMIN, now=now), True
    if existing.role != Role.ADMIN.value:
        raise ConflictError(f"{email} is a user already, as {existing.role}, not as admin")
    if not existing.active:  # the operator's way back in
        existing = update_user(session, None, existing.id, {"active": True})
    return existing, False


def issue_token(
    session: Session, user_id: int, name: str, now: datetime | None = None, expires_at: datetime | None = None
) -> str:
    """A new API token for the user, valid until revoked or until `expires_at` (at most `MAX_TOKEN_LIFETIME`
    after `now`); the secret is returned once and only its hash is stored.
    """
    now = now or datetime.now(UTC)
    check_token_expiry(expires_at, now)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    if session.get(User, user_id) is None:
        raise NotFoundError(f"no user {user_id}")
    session.add(ApiToken(user_id=user_id, name=name, token_hash=_digest(secret), created_at=now, expires_at=expires_at))
    return secret


def check_token_expiry(expires_at: datetime | None, now: datetime) -> None:
    """Return if `expires_at` is no expiry, or an instant after `now` and at most `MAX_TOKEN_LIFETIME` after it."""
    if expires_at is None:
        return
    if expires_at.utcoffset() is None:
        raise InvalidFieldError("expires_at", "give a UTC offset, e.g. 2027-01-31T00:00:00Z")
    if expires_at <= now:
        raise InvalidFieldError("expires_at", f"must be in the future (it is {_utc_text(now)} now)")
    if expires_at > now + MAX_TOKEN_LIFETIME:
        latest = _utc_text(now + MAX_TOKEN_LIFETIME)
        raise InvalidFieldError(
            "expires_at", f"must be at most {MAX_TOKEN_LIFETIME.days} days (five years) from now, {latest}"
        )


def revoke_tokens(session: Session, user_id: int) -> None:
    """Delete every API token of the user, so that none authenticates again."""
    session.execute(
        delete(ApiToken).where(ApiToken.user_id == user_id), execution_options={"synchronize_session": False}
    )


# Built once: every API request runs it, and a ready statement skips building and keying it again.
_ACTOR_BY_TOKEN = (
    select(
        ApiToken.id.label("token_id"),
        ApiToken.last_used_at,
        ApiToken.expires_at,
        User.id,
        User.role,
        User.organisation_id,
    )
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), User.active.is_(True))
)
TOKEN_USE_RESOLUTION = timedelta(minutes=5)  # how stale a token's last use may be shown


def actor_for_token(session: Session, secret: str, now: datetime | None = None) -> Actor | None:
    """The actor a bearer token stands for at `now`, or None for an unknown or expired token or a deactivated user."""
    holder = token_holder(session, secret)
    if holder is None or holder.expired(now or datetime.now(UTC)):
        return None
    return holder.actor


@dataclass(frozen=True)
class TokenHolder:
    """Who a token signs in, when the token was last recorded as used, and when it expires (None: never)."""

    actor: Actor
    token_id: int
    last_used_at: datetime | None
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        """Whether the token signs in no more at `now`: it expires at `expires_at` exactly."""
        return self.expires_at is not None and now >= self.expires_at

    def use_due(self, now: datetime) -> bool:
        """Whether this use should be recorded: at most once per `TOKEN_USE_RESOLUTION`, so most requests only read."""
        return self.last_used_at is None or now - self.last_used_at >= TOKEN_USE_RESOLUTION


def token_holder(session: Session, secret: str) -> TokenHolder | None:
    """Who the token signs in, expired or not (ask `expired`); None for an unknown token or a deactivated user."""
    row = session.execute(_ACTOR_BY_TOKEN, {"token_hash": _digest(secret)}).one_or_none()
    if row is None:
        return None
    actor = Actor(row.id, Role(row.role), row.organisation_id)
    return TokenHolder(actor, row.token_id, row.last_used_at, row.expires_at)


def record_token_use(session: Session, token_id: int, now: datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def actor_for_password(session: Session, email: str, password: str) -> Actor | None:
    user = session.scalar(select(User).where(User.email == email.lower()))
    if user is None or user.password_hash is None or not user.active:
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except VerificationError:
        return None
    return _actor(user)


def actor_of(session: Session, user_id: int) -> Actor:
    return _actor(session.get_one(User, user_id))


def _actor(user: User) -> Actor:
    return Actor(user.id, Role(user.role), user.organisation_id)


def _utc_text(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_admin(actor: Actor | None) -> None:
    if actor is not None and actor.role is not Role.ADMIN:
        raise ForbiddenError("only admins manage organisations and users")
