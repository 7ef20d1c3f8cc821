"""What-if: a period's tickets replayed under a candidate policy, beside what they got under their own.

Each ticket keeps its history and its facts; only the rules change. Severity travels by rank (a ticket
opened as Sev1, rank 1, is the candidate's rank-1 severity whatever its code). A history the candidate
refuses (a reply on a closed ticket under `closed: refused`, a status or tier it lacks, a severity rank it
does not have) is no error: the ticket is listed as not comparable, with the reason, and left out of both
sides' figures.

Both sides judge the same clocks: those of the ticket's own policy that the period's attainment report
counts (decided within the period, or still open at its end), and the candidate's clock of the same metric
for that ticket, wherever the candidate puts its stop or due. A metric only the candidate defines is judged
on the candidate's side alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sladesk.errors import SladeskError
from sladesk.policy import Policy
from sladesk.reports.attainment import (
    ATTAINMENT_TERMS,
    AttainmentCell,
    Group,
    attainment_from_cells,
    counts_in,
    group_of,
    group_sort_key,
)
from sladesk.reports.model import AttainmentRow, ClockOutcome, Dimension, Outcome, Period, TicketLabels
from sladesk.reports.outcomes import outcomes_of
from sladesk.sla import Event, ReplayReport, TicketFacts, replay
from sladesk.sla.events import OpenedEvent, SeverityEvent, TriagedEvent


@dataclass(frozen=True)
class TicketHistory:
    """One ticket as a what-if needs it: its history and facts, the policy it ran under, and what a report
    groups it by."""

    policy: Policy  # the version the ticket was opened under
    facts: TicketFacts
    events: tuple[Event, ...]
    labels: TicketLabels

    @property
    def ticket_id(self) -> int:
        return self.labels.ticket_id


@dataclass(frozen=True)
class OutcomeChange:
    """A clock whose outcome the candidate changes: what it was and would be, and its due under each."""

    ticket_id: int
    metric: str
    before: Outcome
    after: Outcome
    before_due: datetime | None
    after_due: datetime | None


@dataclass(frozen=True)
class NotComparable:
    """A ticket whose history the candidate refuses, and why (in the candidate's words)."""

    ticket_id: int
    reason: str


@dataclass(frozen=True)
class Comparison:
    """One ticket's clocks that count in the period, as they were and as the candidate would judge them."""

    ticket_id: int
    actual: tuple[ClockOutcome, ...]
    candidate: tuple[ClockOutcome, ...]
    dues: tuple[tuple[datetime | None, datetime | None], ...]  # each clock's due before and after


@dataclass(frozen=True)
class WhatIfRow:
    """One group's figures for one metric, under the tickets' own policies and under the candidate."""

    metric: str
    group: Group
    actual: AttainmentRow
    candidate: AttainmentRow

    @property
    def more_breaches(self) -> int:
        """How many more clocks the candidate breaches (excused ones included); negative for fewer."""
        return (self.candidate.breached + self.candidate.excused) - (self.actual.breached + self.actual.excused)


@dataclass(frozen=True)
class WhatIfReport:
    period: Period
    by: tuple[Dimension, ...]
    candidate: str  # the candidate in words: `alleo@2`, `alleo@2 with 1 change`, `draft policy alleo@3`
    rows: tuple[WhatIfRow, ...]
    changes: tuple[OutcomeChange, ...]
    not_comparable: tuple[NotComparable, ...]
    compared: int  # tickets compared
    exclusions: tuple[str, ...]
    # the name behind a group's value, where the value is an id: ("organisation", "3") -> "Acme"
    names: dict[tuple[Dimension, str], str] = field(default_factory=dict)


def compare_ticket(
    ticket: TicketHistory, candidate: Policy, period: Period, *, now: datetime
) -> Comparison | NotComparable | None:
    """The ticket's clocks that the period's attainment report counts, as they were and under the candidate.

    Both replays read the ticket's whole history up to `now` and judge each clock at the period's end, as the
    attainment report does. None when that report counts none of its clocks; `NotComparable` when the
    candidate refuses its history.
    """
    try:
        actual_report = replay(ticket.policy, ticket.facts, ticket.events, now)
    except SladeskError as error:
        return NotComparable(ticket.ticket_id, f"its own policy {_version(ticket.policy)} refuses its history: {error}")
    actual = {o.metric: o for o in outcomes_of(actual_report, ticket.labels, period.end, now) if counts_in(o, period)}
    if not actual:
        return None
    try:
        facts, events = by_rank(ticket.policy, candidate, ticket.facts, ticket.events)
        candidate_report = replay(candidate, facts, events, now)
    except SladeskError as error:
        return NotComparable(ticket.ticket_id, str(error))
    judged = {o.metric: o for o in outcomes_of(candidate_report, ticket.labels, period.end, now)}
    metrics = list(actual) + [m for m in judged if m not in actual and m not in actual_report.metrics]
    before: list[ClockOutcome] = []
    after: list[ClockOutcome] = []
    dues: list[tuple[datetime | None, datetime | None]] = []
    for metric in metrics:
        mine = actual.get(metric) or no_target_outcome(ticket.labels, metric, actual_report.severity.code)
        theirs = judged.get(metric) or no_target_outcome(ticket.labels, metric, actual_report.severity.code)
        # grouped under the ticket's own severity code, so that the two sides stand in the same rows
        before.append(mine)
        after.append(replace(theirs, severity=mine.severity))
        dues.append((_due(actual_report, metric), _due(candidate_report, metric)))
    return Comparison(ticket.ticket_id, tuple(before), tuple(after), tuple(dues))


def what_if(
    comparisons: Iterable[Comparison | NotComparable | None],
    period: Period,
    by: Sequence[Dimension],
    candidate: str,
    names: dict[tuple[Dimension, str], str] | None = None,
) -> WhatIfReport:
    """Attainment under the tickets' own policies and under the candidate, side by side, with every change."""
    compared: list[Comparison] = []
    refused: list[NotComparable] = []
    for item in comparisons:
        if isinstance(item, Comparison):
            compared.append(item)
        elif isinstance(item, NotComparable):
            refused.append(item)
    dimensions = tuple(by)
    actual = _rows([o for c in compared for o in c.actual], period, dimensions)
    judged = _rows([o for c in compared for o in c.candidate], period, dimensions)
    rows = side_by_side(actual, judged)
    changes = tuple(
        OutcomeChange(c.ticket_id, b.metric, b.outcome, a.outcome, due_before, due_after)
        for c in compared
        for b, a, (due_before, due_after) in zip(c.actual, c.candidate, c.dues, strict=True)
        if b.outcome is not a.outcome
    )
    return WhatIfReport(
        period=period,
        by=dimensions,
        candidate=candidate,
        rows=rows,
        changes=changes,
        not_comparable=tuple(refused),
        compared=len(compared),
        exclusions=whatif_exclusions(len(refused)),
        names=dict(names or {}),
    )


def by_rank(
    policy: Policy, candidate: Policy, facts: TicketFacts, events: Sequence[Event]
) -> tuple[TicketFacts, tuple[Event, ...]]:
    """The ticket's facts and events with every severity given as its rank, checked against the candidate.

    A rank the candidate does not have makes the ticket not comparable (an `SladeskError` naming it).
    """

    def rank(value: int | str) -> int:
        severity = policy.severity(value)
        if all(s.rank != severity.rank for s in candidate.severities):
            known = ", ".join(f"{s.rank} ({s.code})" for s in candidate.severities)
            raise SladeskError(
                f"the candidate has no severity of rank {severity.rank} (the ticket's {severity.code}; known: {known})"
            )
        return severity.rank

    ranked: list[Event] = []
    for event in events:
        if isinstance(event, OpenedEvent) and event.severity is not None:
            ranked.append(event.model_copy(update={"severity": rank(event.severity)}))
        elif isinstance(event, SeverityEvent):
            ranked.append(event.model_copy(update={"to": rank(event.to)}))
        elif isinstance(event, TriagedEvent):
            ranked.append(event.model_copy(update={"severity": rank(event.severity)}))
        else:
            ranked.append(event)
    return replace(facts, severity=rank(facts.severity)), tuple(ranked)


def _rows(
    outcomes: Sequence[ClockOutcome], period: Period, by: tuple[Dimension, ...]
) -> dict[tuple[str, Group], AttainmentRow]:
    """Every given clock counted per metric and group, as the attainment report counts its own (a candidate's
    clock counts wherever its stop or due falls: it is one of the period's clocks judged again)."""
    found: dict[tuple[str, Group, Outcome], list[ClockOutcome]] = defaultdict(list)
    for outcome in outcomes:
        found[outcome.metric, group_of(outcome, by), outcome.outcome].append(outcome)
    cells = [
        AttainmentCell(
            metric=metric,
            group=group,
            outcome=kind,
            count=len(members),
            goal_met=sum(1 for m in members if m.at is not None and m.goal_met is True),
            goal_missed=sum(1 for m in members if m.at is not None and m.goal_met is False),
            tickets=tuple(sorted(m.ticket_id for m in members)),
        )
        for (metric, group, kind), members in found.items()
    ]
    report = attainment_from_cells(period, by, cells, ())
    return {(row.metric, row.group): row for row in report.rows}


def side_by_side(
    actual: Mapping[tuple[str, Group], AttainmentRow], judged: Mapping[tuple[str, Group], AttainmentRow]
) -> tuple[WhatIfRow, ...]:
    """One row per metric and group either side has, by metric then group, an empty side where it has none."""
    keys = sorted(set(actual) | set(judged), key=lambda key: (key[0], group_sort_key(key[1])))
    return tuple(
        WhatIfRow(
            metric,
            group,
            actual.get((metric, group)) or empty_row(metric, group),
            judged.get((metric, group)) or empty_row(metric, group),
        )
        for metric, group in keys
    )


def empty_row(metric: str, group: Group) -> AttainmentRow:
    return AttainmentRow(metric, group, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def no_target_outcome(labels: TicketLabels, metric: str, severity: str) -> ClockOutcome:
    """A metric one side's policy does not define: no target there (under the ticket's `severity` now)."""
    return ClockOutcome(
        ticket_id=labels.ticket_id,
        metric=metric,
        outcome=Outcome.NO_TARGET,
        at=None,
        severity=severity,
        tier=labels.tier,
        organisation_id=labels.organisation_id,
        team_id=labels.team_id,
        assignee_id=labels.assignee_id,
        policy_id=labels.policy_id,
        policy_version=labels.policy_version,
        counted_seconds=None,
        target_seconds=None,
        goal_met=None,
    )


def _due(report: ReplayReport, metric: str) -> datetime | None:
    found = report.metrics.get(metric)
    return found.instants.due if found is not None else None


def _version(policy: Policy) -> str:
    return f"{policy.id}@{policy.version}"


def whatif_exclusions(not_comparable: int) -> tuple[str, ...]:
    notes = [
        *ATTAINMENT_TERMS,
        "Both sides judge the same clocks: those the period's attainment report counts under each ticket's "
        "own policy, and the candidate's clock of the same metric, wherever the candidate puts its stop or due.",
        "Cancelled, running, no-target and not-started clocks are left out of attainment and counted beside.",
        "Severities are matched by rank: a ticket keeps its severity's rank under the candidate.",
    ]
    if not_comparable:
        tickets = (
            "1 ticket whose history the candidate refuses is"
            if not_comparable == 1
            else f"{not_comparable} tickets whose history the candidate refuses are"
        )
        notes.append(f"{tickets} listed as not comparable, with the reason, and left out of both sides' figures.")
    return tuple(notes)
