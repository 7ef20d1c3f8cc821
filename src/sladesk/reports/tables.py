"""Reports as tables of plain values: the columns every surface shows and the CSV every surface offers.

The terminal, the API's CSV and the dashboard's downloads all write the same columns from these tables,
so a figure reads the same wherever it is taken from. A cell holds the value itself (a count, a fraction,
seconds, ticket ids); `Column.kind` says how a surface shows it and how CSV writes it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sladesk.reports.breach_timeline import BreachTimeline
from sladesk.reports.forecast import Forecast
from sladesk.reports.model import AttainmentReport, Dimension, TimesReport
from sladesk.reports.whatif import WhatIfReport

Kind = Literal["text", "count", "percent", "seconds", "instant", "tickets"]
Cell = str | int | float | datetime | tuple[int, ...] | None


@dataclass(frozen=True)
class Column:
    name: str  # the CSV header and the JSON key: `attainment_percent`, `p50_seconds`
    title: str  # the heading a person reads: `Attainment`, `p50`
    kind: Kind = "text"


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def csv(self) -> str:
        """The table as CSV: a header of column names, percentages to one decimal, seconds whole, instants in
        UTC, ticket ids separated by spaces, and an empty cell for none."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([column.name for column in self.columns])
        for row in self.rows:
            writer.writerow([csv_value(column, value) for column, value in zip(self.columns, row, strict=True)])
        return buffer.getvalue()


def csv_value(column: Column, value: Cell) -> str:
    if value is None:
        return ""
    if column.kind == "percent" and isinstance(value, float):
        return f"{value * 100:.1f}"
    if column.kind == "seconds" and isinstance(value, int | float):
        return str(round(value))
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, tuple):
        return " ".join(str(ticket_id) for ticket_id in value)
    return str(value)


def utc_text(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _group_columns(by: Sequence[Dimension]) -> tuple[Column, ...]:
    return tuple(Column(dimension, dimension.replace("_", " ").capitalize()) for dimension in by)


def _group_cells(
    group: tuple[tuple[Dimension, str | None], ...], names: dict[tuple[Dimension, str], str]
) -> tuple[Cell, ...]:
    return tuple(
        None if value is None else names.get((dimension, value), value) if dimension != "severity" else value
        for dimension, value in group
    )


ATTAINMENT_COLUMNS = (
    Column("attainment_percent", "Attainment", "percent"),
    Column("attainment_excused_percent", "Excused as met", "percent"),
    Column("met", "Met", "count"),
    Column("breached", "Breached", "count"),
    Column("excused", "Excused", "count"),
    Column("cancelled", "Cancelled", "count"),
    Column("running", "Running", "count"),
    Column("no_target", "No target", "count"),
    Column("not_started", "Not started", "count"),
    Column("goal_percent", "Goal met", "percent"),
    Column("goal_met", "Within goal", "count"),
    Column("goal_missed", "Past goal", "count"),
    Column("met_tickets", "Met tickets", "tickets"),
    Column("breached_tickets", "Breached tickets", "tickets"),
    Column("excused_tickets", "Excused tickets", "tickets"),
)


def attainment_table(report: AttainmentReport) -> Table:
    """One row per metric and group: attainment both ways, every count, and the tickets behind them."""
    from sladesk.reports.model import Outcome

    columns = (Column("metric", "Metric"), *_group_columns(report.by), *ATTAINMENT_COLUMNS)
    rows = tuple(
        (
            row.metric,
            *_group_cells(row.group, report.names),
            row.attainment,
            row.attainment_excused,
            row.met,
            row.breached,
            row.excused,
            row.cancelled,
            row.running,
            row.no_target,
            row.not_started,
            row.goal_attainment,
            row.goal_met,
            row.goal_missed,
            row.tickets.get(Outcome.MET, ()),
            row.tickets.get(Outcome.BREACHED, ()),
            row.tickets.get(Outcome.EXCUSED, ()),
        )
        for row in report.rows
    )
    return Table(columns, rows)


def times_table(report: TimesReport) -> Table:
    """One row per metric and group: how many clocks stopped, p50, p90 and max working time, and the target."""
    columns = (
        Column("metric", "Metric"),
        *_group_columns(report.by),
        Column("count", "Stopped", "count"),
        Column("p50_seconds", "p50", "seconds"),
        Column("p90_seconds", "p90", "seconds"),
        Column("max_seconds", "Max", "seconds"),
        Column("target_seconds", "Target", "seconds"),
        Column("tickets", "Tickets", "tickets"),
    )
    rows = tuple(
        (
            row.metric,
            *_group_cells(row.group, report.names),
            row.count,
            row.p50_seconds,
            row.p90_seconds,
            row.max_seconds,
            row.target_seconds,
            row.tickets,
        )
        for row in report.rows
    )
    return Table(columns, rows)


def whatif_table(report: WhatIfReport) -> Table:
    """One row per metric and group: attainment and breaches as they were and under the candidate."""
    columns = (
        Column("metric", "Metric"),
        *_group_columns(report.by),
        Column("actual_attainment_percent", "Attainment now", "percent"),
        Column("candidate_attainment_percent", "Attainment under the candidate", "percent"),
        Column("actual_met", "Met now", "count"),
        Column("candidate_met", "Met under the candidate", "count"),
        Column("actual_breached", "Breached now", "count"),
        Column("candidate_breached", "Breached under the candidate", "count"),
        Column("more_breaches", "More breaches", "count"),
    )
    rows = tuple(
        (
            row.metric,
            *_group_cells(row.group, {}),
            row.actual.attainment,
            row.candidate.attainment,
            row.actual.met,
            row.candidate.met,
            row.actual.breached + row.actual.excused,
            row.candidate.breached + row.candidate.excused,
            row.more_breaches,
        )
        for row in report.rows
    )
    return Table(columns, rows)


def whatif_changes_table(report: WhatIfReport) -> Table:
    """Every clock whose outcome the candidate changes, with its due instant both ways."""
    columns = (
        Column("ticket", "Ticket", "count"),
        Column("metric", "Metric"),
        Column("before", "Now"),
        Column("after", "Under the candidate"),
        Column("due_before", "Due now", "instant"),
        Column("due_after", "Due under the candidate", "instant"),
    )
    rows = tuple(
        (change.ticket_id, change.metric, change.before.value, change.after.value, change.before_due, change.after_due)
        for change in report.changes
    )
    return Table(columns, rows)


def forecast_table(report: Forecast) -> Table:
    """The clocks forecast to breach, by due instant, with their reasons in words."""
    columns = (
        Column("ticket", "Ticket", "count"),
        Column("policy", "Policy"),
        Column("severity", "Severity"),
        Column("metric", "Metric"),
        Column("due", "Due", "instant"),
        Column("remaining_seconds", "Working time left", "seconds"),
        Column("reasons", "Why"),
    )
    rows = tuple(
        (
            row.ticket_id,
            row.policy_id,
            row.severity,
            row.metric,
            row.due,
            row.remaining_seconds,
            " ".join(reason.text for reason in row.reasons),
        )
        for row in report.rows
    )
    return Table(columns, rows)


def breaches_table(timeline: BreachTimeline) -> Table:
    """Breaches reached per day or week: those counted as breaches, those excused, and their tickets."""
    columns = (
        Column("start", "From", "instant"),
        Column("end", "To", "instant"),
        Column("breached", "Breached", "count"),
        Column("excused", "Excused", "count"),
        Column("tickets", "Tickets", "tickets"),
    )
    rows = tuple(
        (
            bucket.start,
            bucket.end,
            sum(1 for breach in bucket.breaches if breach.excuse is None),
            sum(1 for breach in bucket.breaches if breach.excuse is not None),
            tuple(sorted({breach.ticket_id for breach in bucket.breaches})),
        )
        for bucket in timeline.buckets
    )
    return Table(columns, rows)


def display_value(column: Column, value: Cell) -> str:
    """A cell as a person reads it: `50.0%`, `1 h 00 min`, `2026-11-04T09:00:00Z`, `#1 #2`; `—` for none."""
    if value is None:
        return "—"
    if column.kind == "percent" and isinstance(value, float):
        return f"{value * 100:.1f}%"
    if column.kind == "seconds" and isinstance(value, int | float):
        return duration_text(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, tuple):
        return " ".join(f"#{ticket_id}" for ticket_id in value) or "—"
    return str(value)


def duration_text(seconds: float) -> str:
    """`27 h 00 min`, `45 min`, `30 s`: working time in hours and minutes (whole hours past a day)."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def previous_month(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month before `now`'s, in UTC: the period a report covers when none is given."""
    this_month = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    return last_month, this_month
