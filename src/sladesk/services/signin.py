"""Signing in to the web pages: sessions kept in the store, failed attempts counted, passwords reset by link.

A session's cookie holds a random secret; the store keeps only its sha256, so a copy of the database
signs no one in. Each session has its own CSRF token, which every form sends back. Sessions end when
signed out, after `IDLE_LIMIT` without a request, after `SESSION_LIFETIME` in any case, and all at once
when the password is reset or the user is deactivated.

Failed sign-ins are counted per account and per client address over `FAILURE_WINDOW`: past
`MAX_FAILURES_PER_ACCOUNT` (or `MAX_FAILURES_PER_ADDRESS`) the next attempt is refused, even with the
right password, until the oldest failure in the window has aged out. Whether an email address has an
account is never revealed: an unknown address costs the same password check and gets the same answer.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from sladesk.errors import SladeskError
from sladesk.services.actors import Actor, Role
from sladesk.services.errors import InvalidFieldError
from sladesk.services.outbox import enqueue
from sladesk.store.tables import PasswordReset, SignInFailure, User, WebSession

SESSION_LIFETIME = timedelta(days=14)
IDLE_LIMIT = timedelta(hours=12)
SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per session
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
RESET_LIFETIME = timedelta(hours=1)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000

_hasher = PasswordHasher()
_UNKNOWN_ACCOUNT_HASH = _hasher.hash(secrets.token_urlsafe(16))  # checked against when no account matches


class TooManyAttemptsError(SladeskError):
    """Too many failed sign-ins lately for this account or address; `retry_after` says when to try again."""

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        minutes = max(1, -(-int(retry_after.total_seconds()) // 60))
        super().__init__(
            f"too many failed sign-ins; try again in {minutes} minute{'s' if minutes != 1 else ''}, "
            "or reset your password"
        )


@dataclass(frozen=True)
class SignedIn:
    """A new session: `secret` goes in the cookie, never in the store."""

    secret: str
    csrf_token: str
    actor: Actor
    expires_at: datetime


@dataclass(frozen=True)
class Visitor:
    """The person behind a session cookie, as the pages need them."""

    session_id: int
    actor: Actor
    csrf_token: str
    name: str
    email: str
    timezone: str | None
    seen_due: bool = False  # the session's last activity is older than SEEN_EVERY: `record_seen` it

    @property
    def role(self) -> Role:
        return self.actor.role


def sign_in(session: Session, email: str, password: str, address: str, now: datetime) -> SignedIn | None:
    """A session for the account with this email and password; None when they do not match.

    Raises `TooManyAttemptsError` while the account or the address is over its limit of failures.
    """
    email = email.strip().lower()
    address = address[:64]
    _check_attempts(session, email, address, now)
    user = session.scalar(select(User).where(User.email == email)) if email else None
    usable = user is not None and user.active and user.password_hash is not None
    stored_hash = user.password_hash if usable and user is not None else _UNKNOWN_ACCOUNT_HASH
    matches = _password_matches(stored_hash or _UNKNOWN_ACCOUNT_HASH, password[:MAX_PASSWORD_LENGTH])
    if not (matches and usable and user is not None):
        session.add(SignInFailure(email=email[:320], address=address, at=now))
        return None
    session.execute(delete(SignInFailure).where(SignInFailure.email == email))
    return _open_session(session, user, now)


def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_attempts(session: Session, email: str, address: str, now: datetime) -> None:
    since = now - FAILURE_WINDOW
    for column, value, limit in (
        (SignInFailure.email, email, MAX_FAILURES_PER_ACCOUNT),
        (SignInFailure.address, address, MAX_FAILURES_PER_ADDRESS),
    ):
        recent = select(SignInFailure.at).where(column == value, SignInFailure.at > since)
        count = session.scalar(select(func.count()).select_from(recent.subquery())) or 0
        if count >= limit:
            # Refused until enough failures age out of the window to bring the count under the limit.
            times = list(session.scalars(recent.order_by(SignInFailure.at.desc()).limit(limit)))
            raise TooManyAttemptsError(times[-1] + FAILURE_WINDOW - now)


def _open_session(session: Session, user: User, now: datetime) -> SignedIn:
    secret, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = now + SESSION_LIFETIME
    session.add(
        WebSession(
            token_hash=_digest(secret),
            user_id=user.id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    return SignedIn(secret, csrf_token, Actor(user.id, Role(user.role), user.organisation_id), expires_at)


def visitor_for(session: Session, secret: str, now: datetime) -> Visitor | None:
    """Who holds this session cookie now; None if it is unknown, ended, idle too long or the user is inactive.

    Only reads: a caller that counts the request as activity calls `record_seen` when `seen_due` says so.
    """
    if not secret or len(secret) > 100:
        return None
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == _digest(secret))
    ).one_or_none()
    if row is None:
        return None
    web_session, user = row
    if not user.active or now >= web_session.expires_at or now - web_session.last_seen_at >= IDLE_LIMIT:
        return None
    return Visitor(
        session_id=web_session.id,
        actor=Actor(user.id, Role(user.role), user.organisation_id),
        csrf_token=web_session.csrf_token,
        name=user.name,
        email=user.email,
        timezone=user.timezone,
        seen_due=now - web_session.last_seen_at >= SEEN_EVERY,
    )


def record_seen(session: Session, session_id: int, now: datetime) -> None:
    """The session was active at `now` (its idle limit counts from here)."""
    session.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now))


def sign_out(session: Session, secret: str) -> None:
    """End the session with this cookie (nothing if there is none)."""
    session.execute(delete(WebSession).where(WebSession.token_hash == _digest(secret)))


def request_password_reset(session: Session, email: str, link_base: str, now: datetime) -> None:
    """Email a one-time link to reset the password of the active account with this email; nothing otherwise.

    `link_base` is the address of the reset page; the link adds the token as `?token=...`.
    """
    user = session.scalar(select(User).where(User.email == email.strip().lower(), User.active.is_(True)))
    if user is None:
        return
    secret = secrets.token_urlsafe(32)
    reset = PasswordReset(token_hash=_digest(secret), user_id=user.id, created_at=now, expires_at=now + RESET_LIFETIME)
    session.add(reset)
    session.flush()
    link = f"{link_base}?token={secret}"
    text = (
        f"Hello {user.name},\n\n"
        "Someone asked to reset the password of your support desk account. To choose a new password, "
        f"open this link within the hour:\n\n{link}\n\n"
        "If it was not you, ignore this message: your password stays as it is.\n"
    )
    enqueue(
        session,
        "email",
        {
            "to": [user.email],
            "subject": "Reset your password",
            "text": text,
            "message_id": f"<password-reset-{reset.id}@sladesk.invalid>",
            "headers": {"Auto-Submitted": "auto-generated"},
        },
        idempotency_key=f"password-reset-{reset.id}",
        now=now,
    )


def reset_password(session: Session, secret: str, new_password: str, now: datetime) -> SignedIn:
    """Set a new password with a reset link's token; every other session of the account ends, and a new one starts."""
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _digest(secret or "")))
    if reset is None or reset.used_at is not None or now >= reset.expires_at:
        raise InvalidFieldError("token", "this reset link is unknown, used or expired; ask for a new one")
    user = session.get_one(User, reset.user_id)
    if not user.active:
        raise InvalidFieldError("token", "this account is deactivated; ask an admin")
    check_password(new_password)
    user.password_hash = _hasher.hash(new_password)
    reset.used_at = now
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.execute(delete(SignInFailure).where(SignInFailure.email == user.email))
    return _open_session(session, user, now)


def check_password(password: str) -> None:
    """Refuse a password too short to resist guessing or too long to hash."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidFieldError("password", f"use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidFieldError("password", f"use at most {MAX_PASSWORD_LENGTH} characters")


def forget_sign_ins(session: Session, now: datetime) -> int:
    """Delete ended sessions, old failures and used or expired reset links; how many rows went."""
    removed = 0
    for statement in (
        delete(WebSession).where((WebSession.expires_at <= now) | (WebSession.last_seen_at <= now - IDLE_LIMIT)),
        delete(SignInFailure).where(SignInFailure.at <= now - FAILURE_WINDOW),
        delete(PasswordReset).where(PasswordReset.expires_at <= now),
    ):
        removed += session.execute(statement).rowcount or 0  # type: ignore[attr-defined]
    return removed


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
