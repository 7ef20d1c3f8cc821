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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np

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
from sladesk.reports.bulk import NO_INSTANT, OUTCOMES, BoolArray, BulkReplay, IntArray, SmallArray
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
        mine = actual.get(metric) or _no_target(ticket.labels, metric, actual_report.severity.code)
        theirs = judged.get(metric) or _no_target(ticket.labels, metric, actual_report.severity.code)
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
    keys = sorted(set(actual) | set(judged), key=lambda key: (key[0], group_sort_key(key[1])))
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
        exclusions=_exclusions(len(refused)),
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


def _empty(metric: str, group: Group) -> AttainmentRow:
    return AttainmentRow(metric, group, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def _no_target(labels: TicketLabels, metric: str, severity: str) -> ClockOutcome:
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


def _exclusions(not_comparable: int) -> tuple[str, ...]:
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


# Many tickets at once: the bulk replay's clocks as the one-at-a-time comparison gives them.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BulkClocks:
    """Every clock of a bulk replay (`reports.bulk.replay_many`) as a report counts it at a period's end: the
    fields of `reports.outcomes.clock_outcome`, per ticket (rows) and metric (columns), as arrays.

    Instants are epoch microseconds (`NO_INSTANT`: none); -1 stands for none in `counted_seconds`,
    `target_seconds` and `goal_met` (else 0 missed, 1 met). Rows the bulk replay left alone (`fell_back`) hold
    nothing meaningful.
    """

    ticket_ids: IntArray
    metrics: tuple[str, ...]
    fell_back: BoolArray
    opened: BoolArray  # [tickets] opened before the period's end (a ticket opened later has no outcomes)
    severity_now: IntArray  # [tickets] the rank in force at `now`
    outcome: SmallArray  # index into OUTCOMES
    at_us: IntArray
    severity: IntArray  # the rank the outcome was reached under
    counted_seconds: IntArray
    target_seconds: IntArray
    goal_met: SmallArray
    stopped_us: IntArray
    stop_cancels: BoolArray
    due_us: IntArray
    excused: BoolArray  # [tickets] a breach is excused

    def counts_in(self, period: Period) -> BoolArray:
        """[tickets, metrics] whether each clock belongs to the period (`attainment.counts_in`)."""
        start, end = _micros(period.start), _micros(period.end)
        decided = self.at_us != NO_INSTANT
        counts: BoolArray = self.opened[:, None] & (~decided | ((self.at_us >= start) & (self.at_us < end)))
        return counts


def bulk_clocks(bulk: BulkReplay, opened_us: IntArray, end: datetime, now: datetime) -> BulkClocks:
    """Each clock of `bulk` (replayed at `now`) as `outcomes_of` counts it at `end`; `opened_us` is each
    ticket's opening. Every clock the bulk replay covers starts at the opening."""
    end_us, now_us = _micros(end), _micros(now)

    def passed(instant: IntArray) -> BoolArray:
        found: BoolArray = (instant != NO_INSTANT) & (instant < end_us) & (instant < now_us)
        return found

    stopped = (bulk.stopped_us != NO_INSTANT) & (bulk.stopped_us < end_us) & (bulk.stopped_us <= now_us)
    earlier = passed(bulk.earlier_breach_us)
    has_target = bulk.target_seconds >= 0
    due_known = bulk.due_us != NO_INSTANT
    in_time = stopped & due_known & (bulk.stopped_us <= bulk.due_us)
    code = {outcome: OUTCOMES.index(outcome) for outcome in Outcome}
    breach = np.where(bulk.excused[:, None], code[Outcome.EXCUSED], code[Outcome.BREACHED]).astype(np.int8)
    breach = np.broadcast_to(breach, bulk.state.shape)
    running = np.full(bulk.state.shape, code[Outcome.RUNNING], dtype=np.int8)
    no_instant = np.full(bulk.state.shape, NO_INSTANT, dtype=np.int64)
    met = np.where(bulk.stop_cancels, code[Outcome.CANCELLED], code[Outcome.MET]).astype(np.int8)
    # the rules of `outcomes._outcome`, the first that applies
    outcome = np.select(
        [earlier, ~has_target, stopped & in_time, stopped, passed(bulk.due_us)],
        [breach, np.full_like(running, code[Outcome.NO_TARGET]), met, breach, breach],
        running,
    ).astype(np.int8)
    at_us = np.select(
        [earlier, ~has_target, stopped & in_time, stopped, passed(bulk.due_us)],
        [
            bulk.earlier_breach_us,
            np.where(stopped, bulk.stopped_us, NO_INSTANT),
            bulk.stopped_us,
            bulk.due_us,
            bulk.due_us,
        ],
        no_instant,
    )
    goal_known = bulk.goal_us != NO_INSTANT
    goal_met = np.full(bulk.state.shape, -1, dtype=np.int8)
    goal_met[~stopped & passed(bulk.goal_us)] = 0
    goal_met[stopped & goal_known & (bulk.stopped_us > bulk.goal_us)] = 0
    goal_met[stopped & goal_known & (bulk.stopped_us <= bulk.goal_us) & ~bulk.stop_cancels] = 1
    now_rank = np.broadcast_to(bulk.severity[:, None], bulk.state.shape)
    use_earlier = earlier & (bulk.earlier_breach_severity >= 0)
    return BulkClocks(
        ticket_ids=bulk.ticket_ids,
        metrics=bulk.metrics,
        fell_back=bulk.fell_back,
        opened=opened_us < end_us,
        severity_now=bulk.severity,
        outcome=outcome,
        at_us=at_us,
        severity=np.where(use_earlier, bulk.earlier_breach_severity, now_rank),
        counted_seconds=np.where(stopped, bulk.counted_seconds, -1),
        target_seconds=bulk.target_seconds,
        goal_met=goal_met,
        stopped_us=np.where(stopped, bulk.stopped_us, NO_INSTANT),
        stop_cancels=stopped & bulk.stop_cancels,
        due_us=bulk.due_us,
        excused=bulk.excused,
    )


def compare_bulk(
    actual: BulkClocks,
    candidate: BulkClocks,
    own: Policy,
    under: Policy,
    labels: Sequence[TicketLabels],
    excuses: Sequence[str | None],
    period: Period,
) -> dict[int, Comparison | None]:
    """What `compare_ticket` gives each ticket both bulk replays covered (rows in the same order in both,
    `labels` and `excuses` too): the ticket's own policy `own` on the actual side, `under` the candidate."""
    assert list(actual.ticket_ids) == list(candidate.ticket_ids) == [label.ticket_id for label in labels]
    counting = actual.counts_in(period)
    covered = ~actual.fell_back & ~candidate.fell_back
    wanted = np.flatnonzero(covered)
    found: dict[int, Comparison | None] = {int(actual.ticket_ids[row]): None for row in wanted}
    own_codes = {severity.rank: severity.code for severity in own.severities}
    candidate_only = [m for m in candidate.metrics if m not in actual.metrics]
    candidate_column = {metric: column for column, metric in enumerate(candidate.metrics)}
    for row in wanted[counting[wanted].any(axis=1)].tolist():
        ticket = labels[row]
        excuse = excuses[row]
        code_now = own_codes[int(actual.severity_now[row])]
        before: list[ClockOutcome] = []
        after: list[ClockOutcome] = []
        dues: list[tuple[datetime | None, datetime | None]] = []
        metrics = [(c, m) for c, m in enumerate(actual.metrics) if counting[row, c]]
        for column, metric in [*metrics, *((None, m) for m in candidate_only)]:
            if column is None:
                mine = _no_target(ticket, metric, code_now)
            else:
                mine = _bulk_outcome(actual, row, column, ticket, own_codes, excuse)
            theirs_column = candidate_column.get(metric)
            if theirs_column is None:
                theirs = _no_target(ticket, metric, mine.severity)
                due_after = None
            else:
                theirs = _bulk_outcome(candidate, row, theirs_column, ticket, None, excuse, mine.severity)
                due_after = _instant(int(candidate.due_us[row, theirs_column]))
            before.append(mine)
            after.append(theirs)
            due_before = _instant(int(actual.due_us[row, column])) if column is not None else None
            dues.append((due_before, due_after))
        found[ticket.ticket_id] = Comparison(ticket.ticket_id, tuple(before), tuple(after), tuple(dues))
    return found


def _bulk_outcome(
    clocks: BulkClocks,
    row: int,
    column: int,
    labels: TicketLabels,
    codes: dict[int, str] | None,
    excuse: str | None,
    severity: str | None = None,
) -> ClockOutcome:
    """One clock of `clocks` as `clock_outcome` gives it, under the severity `codes` name (or `severity`)."""
    outcome = OUTCOMES[int(clocks.outcome[row, column])]
    counted = int(clocks.counted_seconds[row, column])
    target = int(clocks.target_seconds[row, column])
    goal = int(clocks.goal_met[row, column])
    if severity is None:
        assert codes is not None
        severity = codes[int(clocks.severity[row, column])]
    return ClockOutcome(
        ticket_id=labels.ticket_id,
        metric=clocks.metrics[column],
        outcome=outcome,
        at=_instant(int(clocks.at_us[row, column])),
        severity=severity,
        tier=labels.tier,
        organisation_id=labels.organisation_id,
        team_id=labels.team_id,
        assignee_id=labels.assignee_id,
        policy_id=labels.policy_id,
        policy_version=labels.policy_version,
        counted_seconds=None if counted < 0 else counted,
        target_seconds=None if target < 0 else target,
        goal_met=None if goal < 0 else goal == 1,
        excuse=excuse if outcome is Outcome.EXCUSED else None,
        stopped_at=_instant(int(clocks.stopped_us[row, column])),
        stop_cancels=bool(clocks.stop_cancels[row, column]),
    )


def _instant(micros: int) -> datetime | None:
    return None if micros == NO_INSTANT else _EPOCH + timedelta(microseconds=micros)


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)
