"""What the reports API answers and accepts: attainment, times, what-if and forecast as JSON documents."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sladesk.api.schemas import Body
from sladesk.reports.forecast import Forecast
from sladesk.reports.model import AttainmentReport, AttainmentRow, Dimension, Period, TimesReport
from sladesk.reports.whatif import WhatIfReport


class PeriodOut(BaseModel):
    start: datetime = Field(description="The period's first instant (included)")
    end: datetime = Field(description="The period's end (excluded)")

    @classmethod
    def of(cls, period: Period) -> PeriodOut:
        return cls(start=period.start, end=period.end)


def _group(group: tuple[tuple[Dimension, str | None], ...]) -> dict[str, str | None]:
    return dict(group)


class AttainmentRowOut(BaseModel):
    metric: str
    group: dict[str, str | None] = Field(description="The row's value of each `by` dimension ({} for the whole desk)")
    attainment: float | None = Field(description="met / (met + breached + excused); null when nothing was judged")
    attainment_excused: float | None = Field(description="(met + excused) / (met + breached + excused)")
    goal_attainment: float | None = Field(description="Clocks within their goal among those judged against one")
    met: int
    breached: int = Field(description="Breaches not excused")
    excused: int = Field(description="Breaches excused by an outside incident")
    cancelled: int
    running: int
    no_target: int
    not_started: int
    goal_met: int
    goal_missed: int
    tickets: dict[str, list[int]] = Field(description="The tickets behind each outcome's count (the first 100)")

    @classmethod
    def of(cls, row: AttainmentRow) -> AttainmentRowOut:
        return cls(
            metric=row.metric,
            group=_group(row.group),
            attainment=row.attainment,
            attainment_excused=row.attainment_excused,
            goal_attainment=row.goal_attainment,
            met=row.met,
            breached=row.breached,
            excused=row.excused,
            cancelled=row.cancelled,
            running=row.running,
            no_target=row.no_target,
            not_started=row.not_started,
            goal_met=row.goal_met,
            goal_missed=row.goal_missed,
            tickets={outcome.value: list(ids) for outcome, ids in row.tickets.items()},
        )


class ExcusedOut(BaseModel):
    ticket_id: int
    metric: str
    at: datetime = Field(description="The due instant that passed")
    reason: str


class AttainmentOut(BaseModel):
    period: PeriodOut
    by: list[str]
    rows: list[AttainmentRowOut]
    excused: list[ExcusedOut] = Field(description="Excused breaches with their reasons")
    exclusions: list[str] = Field(description="What the figures leave out, in words")
    names: dict[str, dict[str, str]] = Field(description="The name of each id a group holds, per dimension")

    @classmethod
    def of(cls, report: AttainmentReport) -> AttainmentOut:
        return cls(
            period=PeriodOut.of(report.period),
            by=list(report.by),
            rows=[AttainmentRowOut.of(row) for row in report.rows],
            excused=[
                ExcusedOut(ticket_id=e.ticket_id, metric=e.metric, at=e.at, reason=e.reason) for e in report.excused
            ],
            exclusions=list(report.exclusions),
            names=_names(report.names),
        )


def _names(names: dict[tuple[Dimension, str], str]) -> dict[str, dict[str, str]]:
    shown: dict[str, dict[str, str]] = {}
    for (dimension, value), name in names.items():
        shown.setdefault(dimension, {})[value] = name
    return shown


class CountTicketsOut(BaseModel):
    tickets: list[int] = Field(description="The tickets behind the count, by id")
    more: bool = Field(description="True when the count holds more tickets than the limit let through")


class TimesRowOut(BaseModel):
    metric: str
    group: dict[str, str | None]
    count: int = Field(description="Clocks that stopped by their own event in the period")
    p50_seconds: float | None
    p90_seconds: float | None
    max_seconds: int | None
    target_seconds: int | None = Field(description="The target, when every clock in the row has the same one")
    tickets: list[int]


class TimesOut(BaseModel):
    period: PeriodOut
    by: list[str]
    rows: list[TimesRowOut]
    exclusions: list[str]
    names: dict[str, dict[str, str]]

    @classmethod
    def of(cls, report: TimesReport) -> TimesOut:
        return cls(
            period=PeriodOut.of(report.period),
            by=list(report.by),
            rows=[
                TimesRowOut(
                    metric=row.metric,
                    group=_group(row.group),
                    count=row.count,
                    p50_seconds=row.p50_seconds,
                    p90_seconds=row.p90_seconds,
                    max_seconds=row.max_seconds,
                    target_seconds=row.target_seconds,
                    tickets=list(row.tickets),
                )
                for row in report.rows
            ],
            exclusions=list(report.exclusions),
            names=_names(report.names),
        )


class CandidateIn(Body):
    version: str | None = Field(
        None, max_length=80, description="A stored or built-in policy version: `alleo` (its current) or `alleo@2`"
    )
    draft: str | None = Field(None, max_length=1_000_000, description="A draft policy's YAML text, never stored")
    overrides: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="`PATH=VALUE` changes on top, e.g. `severities.Sev1.targets.first_response.due=2h`",
    )


class WhatIfIn(Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: AwareDatetime | None = Field(None, alias="from", description="The period's start (default: last month's)")
    end: AwareDatetime | None = Field(None, alias="to", description="The period's end, excluded")
    candidate: CandidateIn
    policy_id: str | None = Field(
        None, max_length=64, description="Replay the tickets opened under this policy (default: the candidate's id)"
    )
    by: list[str] = Field(default_factory=list, max_length=6, description="Dimensions to group by")


class WhatIfSideOut(BaseModel):
    attainment: float | None
    met: int
    breached: int
    excused: int


class WhatIfRowOut(BaseModel):
    metric: str
    group: dict[str, str | None]
    actual: WhatIfSideOut = Field(description="Under each ticket's own policy version")
    candidate: WhatIfSideOut = Field(description="Under the candidate")
    more_breaches: int


class ChangeOut(BaseModel):
    ticket_id: int
    metric: str
    before: str
    after: str
    due_before: datetime | None
    due_after: datetime | None


class NotComparedOut(BaseModel):
    ticket_id: int
    reason: str


class WhatIfOut(BaseModel):
    period: PeriodOut
    by: list[str]
    candidate: str = Field(description="The candidate in words: `alleo@2 with 1 change`")
    compared: int
    rows: list[WhatIfRowOut]
    changes: list[ChangeOut]
    not_compared: list[NotComparedOut]
    exclusions: list[str]

    @classmethod
    def of(cls, report: WhatIfReport) -> WhatIfOut:
        def side(row: AttainmentRow) -> WhatIfSideOut:
            return WhatIfSideOut(attainment=row.attainment, met=row.met, breached=row.breached, excused=row.excused)

        return cls(
            period=PeriodOut.of(report.period),
            by=list(report.by),
            candidate=report.candidate,
            compared=report.compared,
            rows=[
                WhatIfRowOut(
                    metric=row.metric,
                    group=_group(row.group),
                    actual=side(row.actual),
                    candidate=side(row.candidate),
                    more_breaches=row.more_breaches,
                )
                for row in report.rows
            ],
            changes=[
                ChangeOut(
                    ticket_id=c.ticket_id,
                    metric=c.metric,
                    before=c.before.value,
                    after=c.after.value,
                    due_before=c.before_due,
                    due_after=c.after_due,
                )
                for c in report.changes
            ],
            not_compared=[NotComparedOut(ticket_id=n.ticket_id, reason=n.reason) for n in report.not_comparable],
            exclusions=list(report.exclusions),
        )


class ReasonOut(BaseModel):
    kind: str
    text: str


class ForecastRowOut(BaseModel):
    ticket_id: int
    policy_id: str
    severity: str
    metric: str
    due: datetime
    remaining_seconds: int
    reasons: list[ReasonOut]


class ForecastOut(BaseModel):
    now: datetime
    rows: list[ForecastRowOut] = Field(description="Clocks forecast to breach, by due instant")
    running: int = Field(description="Running clocks judged")
    paused: int = Field(description="Paused clocks, left out: they cannot breach while paused")

    @classmethod
    def of(cls, report: Forecast) -> ForecastOut:
        return cls(
            now=report.now,
            rows=[
                ForecastRowOut(
                    ticket_id=row.ticket_id,
                    policy_id=row.policy_id,
                    severity=row.severity,
                    metric=row.metric,
                    due=row.due,
                    remaining_seconds=row.remaining_seconds,
                    reasons=[ReasonOut(kind=str(reason.kind), text=reason.text) for reason in row.reasons],
                )
                for row in report.rows
            ],
            running=report.running,
            paused=report.paused,
        )
