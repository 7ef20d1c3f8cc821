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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sladesk.errors import SladeskError
from sladesk.policy import Policy
from sladesk.reports.model import AttainmentRow, ClockOutcome, Dimension, Outcome, Period
from sladesk.sla import ClockInstants, Event, MetricReport, ReplayReport, TicketFacts, replay
from sladesk.sla.events import OpenedEvent, SeverityEvent, TriagedEvent

_JUDGED = (Outcome.MET, Outcome.BREACHED, Outcome.EXCUSED)


@dataclass(frozen=True)
class TicketHistory:
    """One ticket as a what-if needs it: its history and facts, the policy it ran under, and where it sits."""

    ticket_id: int
    policy: Policy  # the version the ticket was opened under
    facts: TicketFacts
    events: tuple[Event, ...]
    organisation_id: int
    team_id: int | None = None
    assignee_id: int | None = None


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
    dues: tuple[tuple[str, datetime | None, datetime | None], ...]  # (metric, due before, due after)


@dataclass(frozen=True)
class WhatIfRow:
    """One group's figures for one metric, under the ticket's own policy and under the candidate."""

    metric: str
    group: tuple[tuple[Dimension, str | None], ...]
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


def compare_ticket(
    ticket: TicketHistory, candidate: Policy, period: Period, *, now: datetime
) -> Comparison | NotComparable | None:
    """The ticket's clocks that the period's attainment report counts, as they were and under the candidate.

    Both replays read the ticket's whole history up to `now` and judge each clock at the period's end. None
    when the period's report counts none of its clocks; `NotComparable` when the candidate refuses it.
    """
    if ticket.events[0].at >= period.end:
        return None
    try:
        actual_report = replay(ticket.policy, ticket.facts, ticket.events, now)
    except SladeskError as error:
        return NotComparable(ticket.ticket_id, f"its own policy {_version(ticket.policy)} refuses its history: {error}")
    actual = {o.metric: o for o in outcomes_of(actual_report, ticket, period.end, now) if counts_in(o, period)}
    if not actual:
        return None
    try:
        facts, events = by_rank(ticket.policy, candidate, ticket.facts, ticket.events)
        candidate_report = replay(candidate, facts, events, now)
    except SladeskError as error:
        return NotComparable(ticket.ticket_id, str(error))
    judged = {o.metric: o for o in outcomes_of(candidate_report, ticket, period.end, now)}
    metrics = list(actual) + [m for m in judged if m not in actual and m not in actual_report.metrics]
    before: list[ClockOutcome] = []
    after: list[ClockOutcome] = []
    dues: list[tuple[str, datetime | None, datetime | None]] = []
    for metric in metrics:
        mine = actual.get(metric) or _no_target(ticket, metric, actual_report)
        theirs = judged.get(metric) or _no_target(ticket, metric, actual_report)
        # grouped as the ticket's own report groups it, so that the two sides stand in the same rows
        theirs = replace(theirs, severity=mine.severity, policy_id=mine.policy_id, policy_version=mine.policy_version)
        before.append(mine)
        after.append(theirs)
        dues.append((metric, _due(actual_report, metric), _due(candidate_report, metric)))
    return Comparison(ticket.ticket_id, tuple(before), tuple(after), tuple(dues))


def what_if(
    comparisons: Iterable[Comparison | NotComparable | None],
    period: Period,
    by: Sequence[Dimension],
    candidate: str,
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
    actual = attainment_rows([o for c in compared for o in c.actual], dimensions)
    judged = attainment_rows([o for c in compared for o in c.candidate], dimensions)
    keys = sorted(set(actual) | set(judged), key=_row_order)
    rows = tuple(
        WhatIfRow(
            metric,
            group,
            actual.get((metric, group)) or _empty(metric, group),
            judged.get((metric, group)) or _empty(metric, group),
        )
        for metric, group in keys
    )
    changes = tuple(
        OutcomeChange(c.ticket_id, b.metric, b.outcome, a.outcome, due_before, due_after)
        for c in compared
        for b, a, (_, due_before, due_after) in zip(c.actual, c.candidate, c.dues, strict=True)
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
        exclusions=_exclusions(len(refused)),
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


def outcomes_of(report: ReplayReport, ticket: TicketHistory, end: datetime, now: datetime) -> list[ClockOutcome]:
    """Each metric's clock of the replay as the attainment report counts it at `end` (or at `now`, if sooner)."""
    return [_outcome(metric, report, ticket, end, now) for metric in report.metrics.values()]


def counts_in(outcome: ClockOutcome, period: Period) -> bool:
    """Whether the period's attainment report counts the clock: decided within it, or still open at its end."""
    return outcome.at is None or period.start <= outcome.at < period.end


def attainment_rows(
    outcomes: Sequence[ClockOutcome], by: tuple[Dimension, ...]
) -> dict[tuple[str, tuple[tuple[Dimension, str | None], ...]], AttainmentRow]:
    """The clocks counted per metric and group of `by` (one whole-desk group when `by` is empty)."""
    grouped: dict[tuple[str, tuple[tuple[Dimension, str | None], ...]], list[ClockOutcome]] = {}
    for outcome in outcomes:
        group = tuple((dimension, _value(outcome, dimension)) for dimension in by)
        grouped.setdefault((outcome.metric, group), []).append(outcome)
    return {key: _row(key[0], key[1], clocks) for key, clocks in grouped.items()}


def _row(metric: str, group: tuple[tuple[Dimension, str | None], ...], clocks: list[ClockOutcome]) -> AttainmentRow:
    tickets: dict[Outcome, list[int]] = {}
    for clock in clocks:
        tickets.setdefault(clock.outcome, []).append(clock.ticket_id)

    def count(outcome: Outcome) -> int:
        return len(tickets.get(outcome, ()))

    judged = [c for c in clocks if c.outcome in _JUDGED]
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
        goal_met=sum(1 for c in judged if c.goal_met is True),
        goal_missed=sum(1 for c in judged if c.goal_met is False),
        tickets={outcome: tuple(sorted(ids)) for outcome, ids in tickets.items()},
    )


def _empty(metric: str, group: tuple[tuple[Dimension, str | None], ...]) -> AttainmentRow:
    return AttainmentRow(metric, group, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def _value(outcome: ClockOutcome, dimension: Dimension) -> str | None:
    if dimension == "severity":
        return outcome.severity
    if dimension == "tier":
        return outcome.tier
    if dimension == "organisation":
        return str(outcome.organisation_id)
    if dimension == "team":
        return str(outcome.team_id) if outcome.team_id is not None else None
    if dimension == "assignee":
        return str(outcome.assignee_id) if outcome.assignee_id is not None else None
    return f"{outcome.policy_id} v{outcome.policy_version}"


def _row_order(key: tuple[str, tuple[tuple[Dimension, str | None], ...]]) -> tuple[str, tuple[tuple[str, str], ...]]:
    metric, group = key
    return metric, tuple((dimension, value or "") for dimension, value in group)


def _outcome(
    metric: MetricReport, report: ReplayReport, ticket: TicketHistory, end: datetime, now: datetime
) -> ClockOutcome:
    """The attainment report's rules: a stop before `end` decides met, cancelled or breached; a due instant
    passed before it is a breach, counted at that due (or at an earlier severity's due); else still open."""
    clock = metric.instants
    stopped = _passed(clock.stopped_at, end, now, inclusive=True)
    earlier = _passed(clock.earlier_breach_at, end, now)
    breach = Outcome.EXCUSED if clock.excuse is not None else Outcome.BREACHED
    at: datetime | None = None
    if earlier:
        outcome, at = breach, clock.earlier_breach_at
    elif clock.target_seconds is None or metric.rule.informational:
        outcome, at = Outcome.NO_TARGET, clock.stopped_at if stopped else None
    elif clock.started_at is None or clock.started_at >= end:
        outcome = Outcome.NOT_STARTED
    elif stopped and clock.due is not None and clock.stopped_at is not None and clock.stopped_at <= clock.due:
        outcome, at = (Outcome.CANCELLED if clock.stop_cancels else Outcome.MET), clock.stopped_at
    elif stopped or _passed(clock.due, end, now):
        outcome, at = breach, clock.due
    else:
        outcome = Outcome.RUNNING
    return ClockOutcome(
        ticket_id=ticket.ticket_id,
        metric=clock.metric_id,
        outcome=outcome,
        at=at,
        severity=clock.earlier_breach_severity if earlier and clock.earlier_breach_severity else report.severity.code,
        tier=report.history.tier,
        organisation_id=ticket.organisation_id,
        team_id=ticket.team_id,
        assignee_id=ticket.assignee_id,
        policy_id=report.policy.id,
        policy_version=report.policy.version,
        counted_seconds=int(clock.counted.total_seconds()) if stopped else None,
        target_seconds=clock.target_seconds,
        goal_met=_goal_met(clock, stopped, end, now),
        excuse=clock.excuse if outcome is Outcome.EXCUSED else None,
    )


def _passed(instant: datetime | None, end: datetime, now: datetime, *, inclusive: bool = False) -> bool:
    """An instant reached before the period's end and by `now` (a due passes strictly after it; a stop at `now`
    has happened)."""
    if instant is None or instant >= end:
        return False
    return instant <= now if inclusive else instant < now


def _goal_met(clock: ClockInstants, stopped: bool, end: datetime, now: datetime) -> bool | None:
    if clock.goal_seconds is None or clock.started_at is None or clock.started_at >= end:
        return None
    if stopped and clock.stopped_at is not None:
        if clock.goal is None:
            return None
        if clock.stopped_at <= clock.goal:
            return None if clock.stop_cancels else True
        return False
    return False if _passed(clock.goal, end, now) else None


def _no_target(ticket: TicketHistory, metric: str, report: ReplayReport) -> ClockOutcome:
    """A metric one side's policy does not define: no target there."""
    return ClockOutcome(
        ticket_id=ticket.ticket_id,
        metric=metric,
        outcome=Outcome.NO_TARGET,
        at=None,
        severity=report.severity.code,
        tier=report.history.tier,
        organisation_id=ticket.organisation_id,
        team_id=ticket.team_id,
        assignee_id=ticket.assignee_id,
        policy_id=report.policy.id,
        policy_version=report.policy.version,
        counted_seconds=None,
        target_seconds=None,
        goal_met=None,
    )


def _due(report: ReplayReport, metric: str) -> datetime | None:
    found = report.metrics.get(metric)
    return found.instants.due if found is not None else None


def _version(policy: Policy) -> str:
    return f"{policy.id}@{policy.version}"


def _exclusions(not_comparable: int) -> tuple[str, ...]:
    notes = [
        "Both sides judge the same clocks: those the period's attainment report counts under each ticket's "
        "own policy, and the candidate's clock of the same metric, wherever the candidate puts its stop or due.",
        "Attainment is met / (met + breached + excused); cancelled, running, no-target and not-started clocks "
        "are left out and counted beside.",
        "Severities are matched by rank: a ticket keeps its severity's rank under the candidate.",
    ]
    if not_comparable:
        tickets = (
            "1 ticket whose history the candidate refuses is"
            if not_comparable == 1
            else (f"{not_comparable} tickets whose history the candidate refuses are")
        )
        notes.append(f"{tickets} listed as not comparable, with the reason, and left out of both sides' figures.")
    return tuple(notes)
