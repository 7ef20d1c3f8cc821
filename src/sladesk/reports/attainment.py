"""Attainment: met / (met + breached) per metric and group, with what it leaves out counted beside.

Both ways of computing a report end here: the replay turns clock outcomes into cells with `cells_of`, the
desk's SQL aggregates its cells in the database, and `attainment_from_cells` builds the same rows, order
and words from either (docs/reports.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sladesk.reports.model import (
    AttainmentReport,
    AttainmentRow,
    ClockOutcome,
    Dimension,
    ExcusedBreach,
    Outcome,
    Period,
)

Group = tuple[tuple[Dimension, str | None], ...]

ID_DIMENSIONS: frozenset[Dimension] = frozenset({"organisation", "team", "assignee"})

ATTAINMENT_TERMS = (
    "Attainment is met / (met + breached + excused) over the clocks that stopped, or whose due instant "
    "passed, in the period; the excused figure counts breaches excused by an outside incident as met.",
    "A breach reached under an earlier severity counts under that severity, even if a later change of "
    "severity would have met the new target.",
)


@dataclass(frozen=True)
class AttainmentCell:
    """How many clocks of one metric and group had one outcome, and the first of their tickets by id."""

    metric: str
    group: Group
    outcome: Outcome
    count: int
    goal_met: int
    goal_missed: int
    tickets: tuple[int, ...]


def group_of(outcome: ClockOutcome, by: Sequence[Dimension]) -> Group:
    """The values of `by` for one clock outcome, as strings (ids included) or None."""
    values: dict[Dimension, str | None] = {
        "severity": outcome.severity,
        "tier": outcome.tier,
        "organisation": str(outcome.organisation_id),
        "team": None if outcome.team_id is None else str(outcome.team_id),
        "assignee": None if outcome.assignee_id is None else str(outcome.assignee_id),
        "policy_version": policy_version_label(outcome.policy_id, outcome.policy_version),
    }
    return tuple((dimension, values[dimension]) for dimension in by)


def policy_version_label(policy_id: str, version: int) -> str:
    return f"{policy_id} v{version}"


def counts_in(outcome: ClockOutcome, period: Period) -> bool:
    """Whether the outcome belongs to the period: decided within it, or still open at its end."""
    return outcome.at is None or period.start <= outcome.at < period.end


def cells_of(
    outcomes: Iterable[ClockOutcome],
    period: Period,
    by: Sequence[Dimension],
    metrics: Sequence[str] | None = None,
    tickets_per_cell: int | None = None,
) -> list[AttainmentCell]:
    """The outcomes of the period counted per metric, group and outcome."""
    found: dict[tuple[str, Group, Outcome], list[ClockOutcome]] = defaultdict(list)
    for outcome in outcomes:
        if counts_in(outcome, period) and (metrics is None or outcome.metric in metrics):
            found[outcome.metric, group_of(outcome, by), outcome.outcome].append(outcome)
    cells = []
    for (metric, group, kind), members in found.items():
        tickets = sorted(member.ticket_id for member in members)
        decided = [member for member in members if member.at is not None]
        cells.append(
            AttainmentCell(
                metric=metric,
                group=group,
                outcome=kind,
                count=len(members),
                goal_met=sum(1 for member in decided if member.goal_met is True),
                goal_missed=sum(1 for member in decided if member.goal_met is False),
                tickets=tuple(tickets if tickets_per_cell is None else tickets[:tickets_per_cell]),
            )
        )
    return cells


def attainment(
    outcomes: Iterable[ClockOutcome],
    period: Period,
    by: Sequence[Dimension] = (),
    *,
    metrics: Sequence[str] | None = None,
    tickets_per_cell: int | None = None,
) -> AttainmentReport:
    """Attainment per metric for each group of `by` (the whole desk when empty), from classified outcomes."""
    kept = list(outcomes)
    excused = [
        ExcusedBreach(o.ticket_id, o.metric, o.at, o.excuse or "")
        for o in kept
        if o.outcome is Outcome.EXCUSED and o.at is not None and counts_in(o, period)
        if metrics is None or o.metric in metrics
    ]
    return attainment_from_cells(period, by, cells_of(kept, period, by, metrics, tickets_per_cell), excused)


def attainment_from_cells(
    period: Period,
    by: Sequence[Dimension],
    cells: Iterable[AttainmentCell],
    excused: Iterable[ExcusedBreach],
    names: dict[tuple[Dimension, str], str] | None = None,
    tickets_per_cell: int | None = None,
) -> AttainmentReport:
    """The report's rows (by metric, then group) and its exclusions in words, from counted cells."""
    merged: dict[tuple[str, Group], dict[Outcome, AttainmentCell]] = defaultdict(dict)
    for cell in cells:
        row = merged[cell.metric, cell.group]
        if cell.outcome in row:  # the same label from two raw groups (a severity code in two policy versions)
            earlier = row[cell.outcome]
            tickets = sorted(earlier.tickets + cell.tickets)
            cell = AttainmentCell(
                cell.metric,
                cell.group,
                cell.outcome,
                earlier.count + cell.count,
                earlier.goal_met + cell.goal_met,
                earlier.goal_missed + cell.goal_missed,
                tuple(tickets if tickets_per_cell is None else tickets[:tickets_per_cell]),
            )
        row[cell.outcome] = cell
    rows = [_row(metric, group, found) for (metric, group), found in merged.items()]
    rows.sort(key=lambda row: (row.metric, group_sort_key(row.group)))
    return AttainmentReport(
        period=period,
        by=tuple(by),
        rows=tuple(rows),
        exclusions=_exclusions(rows),
        excused=tuple(sorted(excused, key=lambda e: (e.metric, e.ticket_id))),
        names=dict(names or {}),
    )


def group_sort_key(group: Group) -> tuple[tuple[bool, int, str], ...]:
    """Groups in a stable order: by each value, ids as numbers, no value last."""
    return tuple(
        (value is None, int(value) if value is not None and dimension in ID_DIMENSIONS else 0, value or "")
        for dimension, value in group
    )


def _row(metric: str, group: Group, found: dict[Outcome, AttainmentCell]) -> AttainmentRow:
    def count(outcome: Outcome) -> int:
        return found[outcome].count if outcome in found else 0

    return AttainmentRow(
        metric=metric,
        group=group,
        met=count(Outcome.MET),
        breached=count(Outcome.BREACHED),
        excused=count(Outcome.EXCUSED),
        cancelled=count(Outcome.CANCELLED),
        running=count(Outcome.RUNNING),
        no_target=count(Outcome.NO_TARGET),
        not_started=count(Outcome.NOT_STARTED),
        goal_met=sum(cell.goal_met for cell in found.values()),
        goal_missed=sum(cell.goal_missed for cell in found.values()),
        tickets={outcome: found[outcome].tickets for outcome in Outcome if outcome in found},
    )


def _exclusions(rows: Sequence[AttainmentRow]) -> tuple[str, ...]:
    """What the figures leave out, per metric over all groups, in words."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        total = totals[row.metric]
        for index, count in enumerate((row.cancelled, row.running, row.no_target, row.not_started)):
            total[index] += count
    words = list(ATTAINMENT_TERMS)
    for metric in sorted(totals):
        cancelled, running, no_target, not_started = totals[metric]
        words.append(
            f"{metric}: left out and counted beside: {cancelled} cancelled (resolved or closed in time "
            f"without a reply), {running} still running and not yet due at the period's end, {no_target} "
            f"without a due target (none, or only an informational goal), {not_started} not started."
        )
    return tuple(words)
