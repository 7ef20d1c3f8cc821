"""The reports API: attainment, times, what-if and forecast, as JSON or as CSV (staff only).

Each report answers JSON, or CSV with the columns `sladesk report --csv` writes when the request asks for
`?format=csv` or sends `Accept: text/csv`. A period is given as `from` and `to` (instants with an offset;
`to` excluded) and defaults to the calendar month before the request's, in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.report_schemas import AttainmentOut, CountTicketsOut, ForecastOut, TimesOut, WhatIfIn, WhatIfOut
from sladesk.api.routes.tickets import request_now
from sladesk.reports.model import Outcome, Period
from sladesk.reports.tables import (
    Table,
    attainment_table,
    forecast_table,
    previous_month,
    times_table,
    whatif_changes_table,
    whatif_table,
)
from sladesk.services import reports as report_services
from sladesk.services.errors import InvalidFieldError
from sladesk.services.forecast import forecast_report
from sladesk.services.whatif import Candidate, whatif_report
from sladesk.store import reading

router = APIRouter(tags=["reports"])
PREFIX = "/api/v1/reports"
CSV_TYPE = "text/csv; charset=utf-8"
FIRST_YEAR, LAST_YEAR = 1970, 9998

From = Annotated[
    AwareDatetime | None,
    Query(alias="from", description="The period's start, with an offset (default: the first of last month, UTC)"),
]
To = Annotated[
    AwareDatetime | None,
    Query(alias="to", description="The period's end, excluded (default: the first of this month, UTC)"),
]
By = Annotated[
    list[str],
    Query(
        max_length=6,
        description="Group by these dimensions (repeat, or comma-separate): severity, tier, organisation, team, "
        "assignee, policy_version",
    ),
]
Metric = Annotated[list[str], Query(max_length=20, description="Only these metrics (repeatable; default: all)")]
Format = Annotated[Literal["json", "csv"] | None, Query(description="csv for CSV (as `Accept: text/csv` asks)")]
GroupValue = Annotated[
    str | None,
    Query(max_length=200, description="The group's value in this dimension, as the report shows it (empty: none)"),
]
MAX_TICKETS = 10_000
CSV_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The report, as JSON or CSV"}
}


def _period(start: datetime | None, end: datetime | None, now: datetime) -> Period:
    last_month, this_month = previous_month(now)
    period = Period(_within_years(start, "from") or last_month, _within_years(end, "to") or this_month)
    if period.start >= period.end:
        raise InvalidFieldError("to", "the period must end after it starts")
    return period


def _within_years(instant: datetime | None, field: str) -> datetime | None:
    """The instant, if it falls in the years a desk can hold (1970 to 9998, in UTC)."""
    if instant is None:
        return None
    try:
        year = instant.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidFieldError(field, f"give an instant between the years {FIRST_YEAR} and {LAST_YEAR}")
    return instant


def _by(values: list[str]) -> tuple[str, ...]:
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def _wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    accepted = [part.split(";")[0].strip() for part in request.headers.get("accept", "").split(",")]
    return "text/csv" in accepted and "application/json" not in accepted


def _csv(table: Table, name: str) -> Response:
    return Response(
        table.csv(), media_type=CSV_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}.csv"'}
    )


@router.get(f"{PREFIX}/attainment", response_model=AttainmentOut, responses=CSV_RESPONSE)
def attainment(
    request: Request,
    actor: CurrentActor,
    sessions: Sessions,
    start: From = None,
    end: To = None,
    by: By = [],  # noqa: B006 (FastAPI copies a query list's default)
    metric: Metric = [],  # noqa: B006
    format: Format = None,
    tickets_per_cell: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_TICKETS,
            description="How many tickets behind each count to list, the first by id (0: none; on a large desk "
            "ask for none and read one count's tickets from /api/v1/reports/attainment/tickets)",
        ),
    ] = report_services.TICKETS_PER_CELL,
) -> AttainmentOut | Response:
    """SLA attainment per metric and group over the period, every count beside it, with the tickets behind
    each count and what the figures leave out (agents and admins)."""
    now = request_now(request)
    period = _period(start, end, now)
    with reading(sessions) as session:
        report = report_services.attainment_report(
            session, actor, period, by=_by(by), metrics=metric or None, now=now, tickets_per_cell=tickets_per_cell
        )
    if _wants_csv(request, format):
        return _csv(attainment_table(report), "attainment")
    return AttainmentOut.of(report)


@router.get(f"{PREFIX}/attainment/tickets", response_model=CountTicketsOut)
def attainment_tickets(
    request: Request,
    actor: CurrentActor,
    sessions: Sessions,
    metric: Annotated[str, Query(max_length=64, description="The count's metric")],
    outcome: Annotated[Outcome, Query(description="The count's outcome")],
    start: From = None,
    end: To = None,
    severity: GroupValue = None,
    tier: GroupValue = None,
    organisation: GroupValue = None,
    team: GroupValue = None,
    assignee: GroupValue = None,
    policy_version: GroupValue = None,
    limit: Annotated[int, Query(ge=1, le=MAX_TICKETS, description="At most this many, the first by id")] = 100,
) -> CountTicketsOut:
    """The tickets behind one count of the attainment report: its metric, outcome and group (each dimension
    the report was grouped by, as the report shows its value; empty for a group with no value)."""
    now = request_now(request)
    period = _period(start, end, now)
    values = {
        "severity": severity,
        "tier": tier,
        "organisation": organisation,
        "team": team,
        "assignee": assignee,
        "policy_version": policy_version,
    }
    group = tuple((dimension, value or None) for dimension, value in values.items() if value is not None)
    with reading(sessions) as session:
        ids = report_services.tickets_behind(
            session, actor, period, metric=metric, group=group, outcome=outcome, now=now, limit=limit + 1
        )
    return CountTicketsOut(tickets=ids[:limit], more=len(ids) > limit)


@router.get(f"{PREFIX}/times", response_model=TimesOut, responses=CSV_RESPONSE)
def times(
    request: Request,
    actor: CurrentActor,
    sessions: Sessions,
    start: From = None,
    end: To = None,
    by: By = [],  # noqa: B006
    metric: Metric = [],  # noqa: B006
    format: Format = None,
) -> TimesOut | Response:
    """p50, p90 and max working time to the stop per metric and group, beside the target (agents and admins)."""
    now = request_now(request)
    period = _period(start, end, now)
    with reading(sessions) as session:
        report = report_services.times_report(session, actor, period, by=_by(by), metrics=metric or None, now=now)
    if _wants_csv(request, format):
        return _csv(times_table(report), "times")
    return TimesOut.of(report)


@router.get(f"{PREFIX}/forecast", response_model=ForecastOut, responses=CSV_RESPONSE)
def forecast(
    request: Request, actor: CurrentActor, sessions: Sessions, format: Format = None
) -> ForecastOut | Response:
    """The running clocks of open tickets that will breach at the current pace, and why (agents and admins)."""
    now = request_now(request)
    with reading(sessions) as session:
        report = forecast_report(session, actor, now=now)
    if _wants_csv(request, format):
        return _csv(forecast_table(report), "forecast")
    return ForecastOut.of(report)


@router.post(f"{PREFIX}/whatif", response_model=WhatIfOut, responses=CSV_RESPONSE)
def whatif(
    body: WhatIfIn,
    request: Request,
    actor: CurrentActor,
    sessions: Sessions,
    format: Format = None,
    changes: Annotated[bool, Query(description="With csv: the changed outcomes instead of the rows")] = False,
) -> WhatIfOut | Response:
    """The period's tickets replayed under a candidate policy, beside what they got: attainment both ways and
    every changed outcome (agents and admins; nothing is stored)."""
    now = request_now(request)
    period = _period(body.start, body.end, now)
    candidate = Candidate(
        version=body.candidate.version, draft=body.candidate.draft, overrides=tuple(body.candidate.overrides)
    )
    with reading(sessions) as session:
        report = whatif_report(
            session,
            actor,
            period,
            candidate,
            policy_id=body.policy_id,
            by=_by(body.by),
            now=now,
        )
    if _wants_csv(request, format):
        return _csv(whatif_changes_table(report) if changes else whatif_table(report), "whatif")
    return WhatIfOut.of(report)
