"""People's own notification rules for pages: which channels reach them, and how long after the page.

A rule is `{"after": "5m", "channel": "pagerduty", "to": "<routing key>"}`; a person's rules are an ordered list
of them, at most `MAX_RULES`. When an escalation step pages someone, each of their rules sends one message at
the page's instant plus its `after` (`services.page_messages`), whatever their quiet hours. Someone without
rules gets one email at once (`DEFAULT_RULES`).

- `email`: to the person's own address; no `to`.
- `chat`: `to` is an incoming-webhook URL (Slack, Mattermost).
- `pagerduty`: `to` is the routing key of a PagerDuty Events API v2 integration; `url` another Events API
  endpoint (PagerDuty's EU service region), PagerDuty's own unless given.

The person themself or an admin reads and replaces them; customers are never paged and have none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, cast

from sqlalchemy.orm import Session

from sladesk.clock import parse_duration
from sladesk.errors import CalendarError
from sladesk.notify import DeliveryFailed
from sladesk.notify.http import checked_url
from sladesk.services.actors import Actor, Role
from sladesk.services.errors import ConflictError, ForbiddenError, InvalidFieldError, NotFoundError
from sladesk.store.tables import User

Channel = Literal["email", "chat", "pagerduty"]
CHANNELS: tuple[Channel, ...] = ("email", "chat", "pagerduty")
MAX_RULES = 10
MAX_AFTER = timedelta(hours=24)
ROUTING_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FIELDS = ("after", "channel", "to", "url")
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class NotificationRule:
    """One way a page reaches a person: a channel, `after` the page's instant."""

    after: timedelta
    channel: Channel
    to: str | None = None  # chat: the webhook URL; pagerduty: the routing key; email: none (their own address)
    url: str | None = None  # pagerduty only: the Events API endpoint; None: PagerDuty's own

    def stored(self) -> dict[str, Any]:
        """The rule as it is stored and shown: `after` written as `5m`, `1h 30m`, `0m`; unset fields left out."""
        value: dict[str, Any] = {"after": _written(self.after), "channel": self.channel}
        if self.to is not None:
            value["to"] = self.to
        if self.url is not None:
            value["url"] = self.url
        return value


DEFAULT_RULES = (NotificationRule(timedelta(), "email"),)


def check_rules(rules: Sequence[Mapping[str, Any]]) -> list[NotificationRule]:
    """The rules as given, in order, or InvalidFieldError naming the first field refused (`rules.2.to`)."""
    if len(rules) > MAX_RULES:
        raise InvalidFieldError("rules", f"at most {MAX_RULES} rules, not {len(rules)}")
    return [_check_rule(rule, f"rules.{index}") for index, rule in enumerate(rules)]


def _check_rule(rule: Mapping[str, Any], where: str) -> NotificationRule:
    for name in rule:
        if name not in FIELDS:
            raise InvalidFieldError(f"{where}.{name}", f"unknown field; a rule has {', '.join(FIELDS)}")
    after = _after(rule.get("after"), f"{where}.after")
    channel = rule.get("channel")
    if channel not in CHANNELS:
        shown = "missing" if channel is None else repr(channel)
        raise InvalidFieldError(f"{where}.channel", f"{shown}: a channel is one of {', '.join(CHANNELS)}")
    to, url = rule.get("to"), rule.get("url")
    if url is not None and channel != "pagerduty":
        raise InvalidFieldError(f"{where}.url", "only a pagerduty rule takes a url (its Events API endpoint)")
    if channel == "email":
        if to is not None:
            raise InvalidFieldError(f"{where}.to", "email goes to the person's own address: leave `to` out")
        return NotificationRule(after, "email")
    if not isinstance(to, str) or not to.strip():
        wanted = "the chat room's incoming-webhook URL" if channel == "chat" else "the integration's routing key"
        raise InvalidFieldError(f"{where}.to", f"required: {wanted}")
    if channel == "chat":
        return NotificationRule(after, "chat", _url(to, f"{where}.to"))
    if not ROUTING_KEY.match(to):
        raise InvalidFieldError(
            f"{where}.to", "a PagerDuty routing key is 1 to 64 letters, digits, '-' or '_' (the integration key)"
        )
    return NotificationRule(after, "pagerduty", to, None if url is None else _url(url, f"{where}.url"))


def _after(value: Any, field: str) -> timedelta:
    if not isinstance(value, str) or not value.strip():
        raise InvalidFieldError(field, "required: how long after the page, like 0m, 5m or 1h 30m")
    try:
        duration = parse_duration(value)
    except CalendarError as error:
        raise InvalidFieldError(field, str(error)) from None
    if duration.business_days:
        raise InvalidFieldError(field, f"{value!r}: pages count elapsed time; write minutes or hours, like 30m")
    after = timedelta(seconds=duration.seconds)
    if after > MAX_AFTER:
        raise InvalidFieldError(field, f"{value!r} is longer than {_written(MAX_AFTER)}")
    return after


def _url(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidFieldError(field, "must be an http or https URL")
    try:
        checked_url(value)
    except DeliveryFailed as failure:
        raise InvalidFieldError(field, failure.reason) from None
    return value


def _written(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return " ".join(parts) if parts else "0m"


def rules_of(user: User) -> list[NotificationRule]:
    """The person's rules as stored (checked when they were set), in order; none stored: none."""
    return [
        NotificationRule(
            timedelta(seconds=parse_duration(str(rule["after"])).seconds),
            cast(Channel, rule["channel"]),
            rule.get("to"),
            rule.get("url"),
        )
        for rule in user.notification_rules or []
    ]


def read_rules(session: Session, actor: Actor, user_id: int) -> list[NotificationRule]:
    """The person's rules (the person themself or an admin)."""
    return rules_of(_person(session, actor, user_id))


def replace_rules(
    session: Session, actor: Actor, user_id: int, rules: Sequence[Mapping[str, Any]]
) -> list[NotificationRule]:
    """Replace the person's rules with `rules` (the person themself or an admin); an empty list: one email at once.

    Pages already recorded keep the messages their rules queued then.
    """
    person = _person(session, actor, user_id, for_update=True)
    checked = check_rules(rules)
    person.notification_rules = [rule.stored() for rule in checked] or None
    return checked


def _person(session: Session, actor: Actor, user_id: int, *, for_update: bool = False) -> User:
    if actor.role is Role.CUSTOMER:
        raise ForbiddenError("customers are never paged, so they have no notification rules")
    if actor.role is not Role.ADMIN and actor.user_id != user_id:
        raise ForbiddenError("only admins manage other people's notification rules")
    user = session.get(User, user_id, with_for_update=for_update) if 1 <= user_id <= MAX_ID else None
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    if user.role == Role.CUSTOMER.value:
        raise ConflictError(f"user {user_id} is a customer: customers are never paged and have no notification rules")
    return user
