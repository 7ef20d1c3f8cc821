"""What the reports hold: each clock's outcome in a period, and the figures built from them.

A report is computed twice over: in SQL from the stored clock instants (fast, for the desk), and in
Python from replayed histories (the reference, and the what-if). Both produce these types, so a test can
compare them field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

Dimension = Literal["severity", "tier", "organisation", "team", "assignee", "policy_version"]
DIMENSIONS: tuple[Dimension, ...] = ("severity", "tier", "organisation", "team", "assignee", "policy_version")


class Outcome(StrEnum):
    """How one clock counts in an attainment report (docs/reports.md says when each applies)."""

    MET = "met"
    BREACHED = "breached"
    EXCUSED = "excused"  # breached, but the ticket was caused by an outside incident
    CANCELLED = "cancelled"  # stopped by a resolve or close before due, with no reply: left out
    RUNNING = "running"  # not stopped and not yet due at the report's end: left out
    NO_TARGET = "no_target"  # the severity has no target for the metric (or an informational one): left out
    NOT_STARTED = "not_started"  # its starting event has not happened: left out


@dataclass(frozen=True)
class Period:
    """[start, end): a clock counts in the period if it stopped, or its due instant passed, within it."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class ClockOutcome:
    """One ticket's clock for one metric, as a report counts it."""

    ticket_id: int
    metric: str
    outcome: Outcome
    at: datetime | None  # the instant that puts it in a period: the stop, the breach (due passing), or None
    severity: str  # the severity in force when the outcome was reached (a breach under an earlier severity)
    tier: str | None
    organisation_id: int
    team_id: int | None
    assignee_id: int | None
    policy_id: str
    policy_version: int
    counted_seconds: int | None  # working seconds counted to the stop (None while running)
    target_seconds: int | None
    goal_met: bool | None  # None: no goal, or not stopped
    excuse: str | None = None
    stopped_at: datetime | None = None  # the stop, when it came before the period's end (times count these)
    stop_cancels: bool = False  # stopped by a resolve or close, not by the metric's own event


@dataclass(frozen=True)
class TicketLabels:
    """What a report groups a ticket's clocks by, besides its severity: the ticket's columns as they are."""

    ticket_id: int
    organisation_id: int
    team_id: int | None
    assignee_id: int | None
    tier: str | None
    policy_id: str
    policy_version: int


@dataclass(frozen=True)
class ExcusedBreach:
    """A breach excused by an outside incident, listed with its reason beside the figures."""

    ticket_id: int
    metric: str
    at: datetime  # the due instant that passed
    reason: str


@dataclass(frozen=True)
class AttainmentRow:
    """One group's figures for one metric; `tickets` names the tickets behind each count."""

    metric: str
    group: tuple[tuple[Dimension, str | None], ...]  # e.g. (("severity", "Sev1"),); () for the whole desk
    met: int
    breached: int  # breaches not excused
    excused: int
    cancelled: int
    running: int
    no_target: int
    not_started: int
    goal_met: int
    goal_missed: int
    tickets: dict[Outcome, tuple[int, ...]] = field(default_factory=dict)

    @property
    def attainment(self) -> float | None:
        """met / (met + breached + excused): excused breaches count as breaches."""
        judged = self.met + self.breached + self.excused
        return self.met / judged if judged else None

    @property
    def attainment_excused(self) -> float | None:
        """(met + excused) / (met + breached + excused): excused breaches count as met."""
        judged = self.met + self.breached + self.excused
        return (self.met + self.excused) / judged if judged else None

    @property
    def goal_attainment(self) -> float | None:
        judged = self.goal_met + self.goal_missed
        return self.goal_met / judged if judged else None


@dataclass(frozen=True)
class AttainmentReport:
    period: Period
    by: tuple[Dimension, ...]
    rows: tuple[AttainmentRow, ...]
    exclusions: tuple[str, ...]  # what the figures leave out, in words, stated with the report
    excused: tuple[ExcusedBreach, ...] = ()
    # the name behind a group's value, where the value is an id: ("organisation", "3") -> "Acme"
    names: dict[tuple[Dimension, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class TimesRow:
    """Working time to the stop for one group and metric, over the clocks that stopped in the period."""

    metric: str
    group: tuple[tuple[Dimension, str | None], ...]
    count: int
    p50_seconds: float | None
    p90_seconds: float | None
    max_seconds: int | None
    target_seconds: int | None  # the target, when every clock in the group has the same one
    tickets: tuple[int, ...] = ()


@dataclass(frozen=True)
class TimesReport:
    period: Period
    by: tuple[Dimension, ...]
    rows: tuple[TimesRow, ...]
    exclusions: tuple[str, ...]
    names: dict[tuple[Dimension, str], str] = field(default_factory=dict)


def group_label(group: tuple[tuple[Dimension, str | None], ...], names: dict[tuple[Dimension, str], str]) -> str:
    """A group as a surface shows it: `severity Sev1, organisation Acme (3)`; `whole desk` for ()."""
    if not group:
        return "whole desk"
    parts = []
    for dimension, value in group:
        if value is None:
            parts.append(f"{dimension} none")
        elif (dimension, value) in names:
            parts.append(f"{dimension} {names[dimension, value]} ({value})")
        else:
            parts.append(f"{dimension} {value}")
    return ", ".join(parts)
