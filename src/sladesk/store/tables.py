"""The SQL schema: one SQLAlchemy 2 model per table, the same on SQLite and PostgreSQL.

Instants are stored as timezone-aware UTC (`UtcDateTime`), so SQLite, which keeps no zone,
gives back the same aware datetimes as PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive ones are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes cannot be stored: give a UTC offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


class PolicyVersion(Base):
    """One version of a policy's YAML, as uploaded by an admin or as shipped for a built-in.

    Rows are never changed: a ticket keeps the (policy id, version) it was opened under, and its SLA is
    always computed from that version's text.
    """

    __tablename__ = "policy_versions"

    policy_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)  # a snapshot of the shipped file
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[str | None] = mapped_column(String(64))
    policy_id: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # customer, agent, admin
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False: kept for history, signs in no more
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name; None: the policy's
    quiet_hours: Mapped[str | None] = mapped_column(String(32))  # "22:00-07:00" in `timezone`: notifications wait
    support_contact: Mapped[bool] = mapped_column(Boolean, default=False)  # may open tickets where a policy asks
    # pages: [{"after": "5m", "channel": "pagerduty", "to": <routing key>}, ...]; None: one email at once
    notification_rules: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the secret
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # None: valid until revoked


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_open_queue", "status", "severity_rank", "next_due_at"),
        # the work queue's order (docs/clocks.md), read a page at a time
        Index("ix_tickets_queue_order", "is_open", "severity_rank", "tier_rank", "next_due_at", "opened_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    severity_rank: Mapped[int]  # assigned by support; the SLA follows this one
    tier: Mapped[str | None] = mapped_column(String(64))  # the organisation's tier when it opened, or as changed
    tier_rank: Mapped[int | None]  # the ticket's tier in its policy's order (1 first); None if unranked
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)  # not in a resolved or closed status
    requested_severity_rank: Mapped[int | None]  # what the requester suggested
    category: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(64))
    policy_id: Mapped[str] = mapped_column(String(200))
    policy_version: Mapped[int]
    intake: Mapped[dict[str, Any]]
    outside_incident: Mapped[bool] = mapped_column(Boolean, default=False)
    outside_incident_reason: Mapped[str | None] = mapped_column(Text)
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)  # one more for every event; If-Match compares it
    # what customers see: one more only for events they see, so an internal note leaves no trace for them
    public_version: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    public_updated_at: Mapped[datetime]
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)  # earliest due of a counting clock
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)  # next warning, goal or due to act on
    awaiting_triage: Mapped[bool] = mapped_column(Boolean, default=False)  # support has not confirmed the severity
    path: Mapped[str | None] = mapped_column(String(64))  # the resolution path staff marked (`release`, `hotfix`)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)  # routed or assigned team
    pinned_at: Mapped[datetime | None]  # a staff pin puts the ticket above its computed place until `pinned_until`
    pinned_until: Mapped[datetime | None] = mapped_column(index=True)  # the queue reads pins in force by range
    pin_reason: Mapped[str | None] = mapped_column(Text)
    pinned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Team(Base):
    """A group of agents with its own queue; `slug` is the id a policy's routing rules name."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class TimeLog(Base):
    """Time an agent spent: on a ticket (customer work) or on internal work (no ticket)."""

    __tablename__ = "time_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    work: Mapped[str] = mapped_column(String(16))  # customer or internal
    minutes: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    worked_on: Mapped[date] = mapped_column(index=True)
    logged_at: Mapped[datetime]


class TicketEvent(Base):
    """The append-only history: the SLA engine's input and the audit log."""

    __tablename__ = "ticket_events"
    __table_args__ = (UniqueConstraint("ticket_id", "sequence"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    sequence: Mapped[int]
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any]]


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("ticket_events.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    public: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(255))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class SlaClock(Base):
    """What a ticket's events fixed about one metric's clock: instants, and time counted by then.

    Nothing here depends on when it is read. Running or breached, remaining time and percentage are
    worked out for the reader's `now` (`sladesk.sla.read_clock`), and in SQL by comparing `due_at` with
    `now`, so a clock nobody touched reads breached the moment its due instant passes.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        # the excused breaches a report lists, read without a pass over every clock
        Index(
            "ix_sla_clocks_excused",
            "opened_at",
            postgresql_where=text("excuse IS NOT NULL"),
            sqlite_where=text("excuse IS NOT NULL"),
        ),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    calendar: Mapped[str] = mapped_column(String(64))
    target_seconds: Mapped[int | None]  # None: the ticket's severity has no target for this metric
    goal_seconds: Mapped[int | None]
    started_at: Mapped[datetime | None]  # None: the event that starts it has not happened
    stopped_at: Mapped[datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(String(200))
    stop_cancels: Mapped[bool] = mapped_column(Boolean, default=False)  # stopped by a resolve/close, not a reply
    due_at: Mapped[datetime | None] = mapped_column(index=True)  # None while paused short of the target
    goal_at: Mapped[datetime | None]
    warning_at: Mapped[datetime | None]
    counted_microseconds: Mapped[int] = mapped_column(BigInteger)  # working time counted by `counting_from`
    counting_from: Mapped[datetime | None]  # counting goes on from here; None when stopped or paused
    paused_since: Mapped[datetime | None]
    excuse: Mapped[str | None] = mapped_column(Text)  # an outside incident: a breach is reported excused
    cycle: Mapped[int]
    earlier_breach_at: Mapped[datetime | None]  # a due instant that passed under a severity since changed
    earlier_breach_severity: Mapped[str | None] = mapped_column(String(64))
    # The ticket's labels a report groups and filters by, as the ticket held them when this row was written
    # (with its last change, so they are its labels now): reports count clocks without reading tickets.
    opened_at: Mapped[datetime]
    policy_id: Mapped[str] = mapped_column(String(200))
    policy_version: Mapped[int]
    severity_rank: Mapped[int]
    tier: Mapped[str | None] = mapped_column(String(64))
    organisation_id: Mapped[int]
    team_id: Mapped[int | None]
    assignee_id: Mapped[int | None]


class Timer(Base):
    """An instant a ticket's clocks or rules act at: written with the change that causes it, fired once.

    `record_change` replaces a ticket's unfired timers in the same transaction as every event, so a timer
    that a later change made stale is gone before a worker can claim it. A worker claims due rows, acts,
    and sets `fired_at` only where it is still NULL (the fence).
    """

    __tablename__ = "timers"
    __table_args__ = (
        Index(
            "ix_timers_due",
            "due_at",
            postgresql_where=text("fired_at IS NULL"),
            sqlite_where=text("fired_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # warning, goal, due, close_notice, auto_close, comms_update
    metric: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime]
    ticket_version: Mapped[int]  # the ticket's version when the timer was written
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))  # acted, skipped: what the worker found


class OutboxMessage(Base):
    """A message to send (mail, webhook, chat, page), written in the same transaction as its cause.

    Delivered at least once with `idempotency_key`, so a receiver can drop a duplicate; retried with
    backoff, and `dead` after the last attempt, until an admin retries it.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "available_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # email, webhook, chat, pagerduty
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, dead, cancelled (a page's rule)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    available_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Subscription(Base):
    """An admin's subscription of an outside receiver to event types: a webhook, a chat room or PagerDuty."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # webhook, chat, pagerduty
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str | None] = mapped_column(String(200))  # webhook signing key, or PagerDuty routing key
    event_types: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class InboundMessage(Base):
    """A mail received for the desk and what became of it; a malformed one is kept here in quarantine."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    source: Mapped[str] = mapped_column(String(16))  # smtp, imap
    sender: Mapped[str | None] = mapped_column(String(320), index=True)
    subject: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(32))  # opened, replied, refused, ignored, quarantined
    reason: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    answered: Mapped[bool] = mapped_column(Boolean, default=False)  # an unknown sender got the polite reply
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(index=True)


class IdempotencyKey(Base):
    """A creating request already answered: the same key and body get the same answer again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_idempotency_keys_created_at", "created_at"),  # the hourly purge deletes the old ones by age
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]  # None while the first request is still being answered
    response: Mapped[dict[str, Any] | None]
    location: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]


class WebSession(Base):
    """A person signed in to the web pages: the cookie's secret (hashed), its CSRF token and its lifetime."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the cookie's secret
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class PasswordReset(Base):
    """A password-reset link sent by email: usable once, until it expires."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SignInFailure(Base):
    """A failed sign-in, counted per account and per address to slow down password guessing."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_email_at", "email", "at"),
        Index("ix_sign_in_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class SavedView(Base):
    """A set of queue filters an agent saved under a name, to find that part of the queue again."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    filters: Mapped[dict[str, Any]]  # the queue's query parameters: severity, organisation, assignee, state
    created_at: Mapped[datetime]


class OncallSchedule(Base):
    """An on-call schedule: its layers as validated `sladesk.oncall.Schedule` JSON, numbered by version."""

    __tablename__ = "oncall_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]]  # the Schedule model dumped as JSON (its `id` is the slug)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OncallOverride(Base):
    """A change to a schedule for a while: `add` puts `user_id` on call, `remove` takes `user_id` off, `replace`
    puts `user_id` on call wherever `replaces_user_id` would be."""

    __tablename__ = "oncall_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedules.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    replaces_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class EscalationPolicyRow(Base):
    """An escalation policy: its steps as JSON in the API's body shape, numbered by version."""

    __tablename__ = "escalation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CalendarFeedToken(Base):
    """The secret of a calendar feed URL (hashed): one schedule's shifts, or one person's across schedules."""

    __tablename__ = "calendar_feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_schedules.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the URL's secret
    created_at: Mapped[datetime]
