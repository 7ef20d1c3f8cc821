"""The shape of an on-call schedule and its overrides: pydantic models with `extra="forbid"`.

Pydantic rather than dataclasses plus a parser because a schedule will arrive as YAML or as
an API body: validating against these models reports every problem at once with its field's
location (`layers.1.rotation`), as the policy file does, and the frozen models are hashable,
so a schedule's compiled form can be cached.

Layer times (`start`, `end`, `handoff`) are local wall times in the schedule's zone, because
hand-offs follow the clock on the wall; override times are instants (aware date-times),
because an override is "from this moment to that one", whatever the zone of whoever types it.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    model_validator,
)

from sladesk.clock.weekly import WallRange, parse_range, parse_weekdays
from sladesk.errors import CalendarError, SladeskError
from sladesk.oncall.rotation_length import RotationLength, parse_rotation


class ScheduleError(SladeskError):
    """A schedule query that cannot be answered as asked (a naive instant, an empty window)."""


_IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _identifier(value: Any) -> str:
    text = str(value)
    if not _IDENTIFIER.match(text):
        raise ValueError(f"{text!r} is not a valid id: use 1 to 64 lower-case letters, digits, - and _")
    return text


def _zone_name(value: Any) -> str:
    name = str(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long to be a file
        raise ValueError(f"unknown time zone {name!r} (use an IANA name like America/New_York)") from None
    return name


def _rotation(value: Any) -> str:
    try:
        parse_rotation(str(value))
    except CalendarError as error:
        raise ValueError(str(error)) from None
    return str(value)


def _weekdays(value: Any) -> str:
    try:
        parse_weekdays(str(value))
    except CalendarError as error:
        raise ValueError(str(error)) from None
    return str(value)


def _hours(value: Any) -> str:
    try:
        parse_range(str(value))
    except CalendarError as error:
        raise ValueError(str(error)) from None
    return str(value)


def _local_minute(value: datetime | None, field: str) -> None:
    """Layer times are local wall times on whole minutes (an offset would say another zone)."""
    if value is None:
        return
    if value.tzinfo is not None:
        raise ValueError(f"`{field}` is a local date-time in the schedule's zone: write it without an offset")
    if value.second or value.microsecond:
        raise ValueError(f"`{field}` must fall on a whole minute")


def _at_least_one(what: str) -> AfterValidator:
    """A non-empty check that runs after the items (not `min_length`), so that a list whose only
    item is wrong is reported at that item and not also as empty."""

    def check(value: tuple[Any, ...]) -> tuple[Any, ...]:
        if not value:
            raise ValueError(f"give at least one {what}")
        return value

    return AfterValidator(check)


Identifier = Annotated[str, BeforeValidator(_identifier)]
ZoneName = Annotated[str, BeforeValidator(_zone_name)]
RotationText = Annotated[str, BeforeValidator(_rotation)]
WeekdaysText = Annotated[str, BeforeValidator(_weekdays)]
HoursText = Annotated[str, BeforeValidator(_hours)]
UserId = Annotated[StrictInt, Field(ge=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Restriction(_Model):
    """Weekday time ranges during which a layer applies, such as `mon-fri` `09:00-17:00`.

    A range whose end is before its start runs past midnight into the next day
    (`22:00-06:00` on `fri` is Friday night until Saturday 06:00).
    """

    days: WeekdaysText = "daily"
    hours: HoursText

    @property
    def weekdays(self) -> frozenset[int]:
        """The weekdays the range starts on, Monday 0."""
        return frozenset(parse_weekdays(self.days))

    @property
    def wall_range(self) -> WallRange:
        """Minutes after local midnight; the end past 1440 when the range runs past midnight."""
        return parse_range(self.hours)


class Layer(_Model):
    """A rotation over an ordered list of people, from a first hand-off at `start`.

    `rotation` is `hourly`, `daily`, `weekly`, or a custom length: hours and minutes (`12h`,
    `90m`) count real elapsed time; days and weeks (`3 days`, `2 weeks`) count local calendar
    days and hand off at the `handoff` wall time (the time of `start` unless given).
    """

    id: Identifier
    start: datetime
    rotation: RotationText
    handoff: time | None = None
    people: Annotated[tuple[UserId, ...], _at_least_one("person (a user id)")]
    restrictions: tuple[Restriction, ...] = ()
    end: datetime | None = None

    @property
    def length(self) -> RotationLength:
        """The rotation length, elapsed or in calendar days."""
        return parse_rotation(self.rotation)

    @model_validator(mode="after")
    def _times_agree(self) -> Layer:
        _local_minute(self.start, "start")
        _local_minute(self.end, "end")
        if self.end is not None and self.end <= self.start:
            raise ValueError("`end` must be after `start`")
        if self.handoff is not None:
            if self.handoff.tzinfo is not None:
                raise ValueError("`handoff` is a local time in the schedule's zone: write it without an offset")
            if self.handoff.second or self.handoff.microsecond:
                raise ValueError("`handoff` must fall on a whole minute")
            if not self.length.days:
                raise ValueError(
                    f"`handoff` applies to rotations in days or weeks; "
                    f"{self.rotation!r} counts elapsed time from `start`"
                )
        return self


class Schedule(_Model):
    """An IANA time zone and ordered layers; a later layer overrides earlier ones where it has someone."""

    id: Identifier
    timezone: ZoneName
    layers: Annotated[tuple[Layer, ...], _at_least_one("layer")]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @model_validator(mode="after")
    def _layer_ids_unique(self) -> Schedule:
        seen: set[str] = set()
        for layer in self.layers:
            if layer.id in seen:
                raise ValueError(f"two layers have the id {layer.id!r}: each layer needs its own")
            seen.add(layer.id)
        return self


class _OverrideBase(_Model):
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _end_after_start(self) -> _OverrideBase:
        if self.end <= self.start:
            raise ValueError("`end` must be after `start`")
        return self


class AddOverride(_OverrideBase):
    """`user` is on call from `start` to `end` in addition to whoever else is."""

    kind: Literal["add"] = "add"
    user: UserId


class RemoveOverride(_OverrideBase):
    """`user` is not on call from `start` to `end`, whatever the layers say."""

    kind: Literal["remove"] = "remove"
    user: UserId


class ReplaceOverride(_OverrideBase):
    """From `start` to `end`, whenever `user` would be on call, `by` is instead."""

    kind: Literal["replace"] = "replace"
    user: UserId
    by: UserId

    @model_validator(mode="after")
    def _two_people(self) -> ReplaceOverride:
        if self.user == self.by:
            raise ValueError("`by` must be someone other than `user`")
        return self


Override = Annotated[AddOverride | RemoveOverride | ReplaceOverride, Field(discriminator="kind")]
