"""Replaying many ticket histories at once, over arrays, for reports and what-if runs over whole desks.

`replay_many` gives, for every ticket and metric of a policy, what `sladesk.sla.replay` gives one ticket
at a time (the clock's state, counted working seconds, due, goal, stop and an earlier breach), for the
common shapes of history: an opening, public replies, status changes (pauses per the metric's pause
statuses, a stop at the first resolve or close), severity changes (the new target from the original
start, a breach under the earlier severity kept) and outside-incident marks. Each step is one numpy pass
over all events or all status spans, and business time comes from the calendars' bulk arithmetic.

Any other shape falls back: the result names those tickets, and the caller replays them one at a time
(`replay`) and says so. Falling back are histories with other event types (triage, resolution path,
tier or category changes), a reopened ticket, a history the policy would refuse (a transition it does
not allow, an update to a closed ticket, events out of order), instants with fractions of a second, and
metrics other than a due or goal from the opening counted on a calendar (releases, elapsed time from the
next opening, informational aims, a clock started by another one's stop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from sladesk.clock import Calendar
from sladesk.errors import SladeskError
from sladesk.policy import ClockRule, Policy
from sladesk.policy.policy import Situation
from sladesk.reports.model import Outcome
from sladesk.sla.events import Event
from sladesk.sla.replay import MetricReport
from sladesk.sla.state import MetricState

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
SmallArray = npt.NDArray[np.int8]

MICROS = 1_000_000
NO_INSTANT = np.iinfo(np.int64).min  # in an instant column: none (no due, not stopped, no earlier breach)
_NEVER = np.iinfo(np.int64).max  # internal: an instant later than any other
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)

STATES: tuple[MetricState, ...] = tuple(MetricState)  # `state` codes index this tuple
OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)  # `outcome` codes index this tuple


class Kind(IntEnum):
    """What an event is to the clocks (`kind_of` maps a stored event to one)."""

    OPENED = 0
    AGENT_REPLY = 1  # a public reply by an agent
    CUSTOMER_REPLY = 2  # a public reply by the customer
    STATUS = 3  # value: the status's index in the policy's statuses
    SEVERITY = 4  # value: the new severity's rank
    INCIDENT_SET = 5  # marked as caused by an outside incident
    INCIDENT_CLEARED = 6
    PUBLIC_ATTACHMENT = 7  # moves no clock, but a closed ticket may refuse it
    QUIET = 8  # moves no clock: notes, assignments, teams, pins, notices, timers' records...
    OTHER = 9  # a shape the bulk replay leaves to the one-at-a-time replay


_OTHER_TYPES = frozenset({"triaged", "path", "tier", "category"})


def kind_of(policy: Policy, event_type: str, data: Mapping[str, Any]) -> tuple[Kind, int]:
    """A stored event (its type and data) as the bulk replay reads it: its kind and value."""
    if event_type == "opened":
        spec = policy.spec
        refused = spec.opening.requires_support_contact and data.get("by") == "customer"
        if (refused and data.get("support_contact") is False) or spec.severity_assignment.by == "support":
            return Kind.OTHER, 0  # refused, or opened into triage
        return Kind.OPENED, 0
    if event_type in ("reply", "attachment"):
        if not data.get("public", True):
            return Kind.QUIET, 0
        if event_type == "attachment":
            return Kind.PUBLIC_ATTACHMENT, 0
        return (Kind.AGENT_REPLY, 0) if data.get("by") == "agent" else (Kind.CUSTOMER_REPLY, 0)
    if event_type == "status":
        ids = [status.id for status in policy.spec.statuses]
        return (Kind.STATUS, ids.index(data["to"])) if data.get("to") in ids else (Kind.OTHER, 0)
    if event_type == "severity":
        try:
            return Kind.SEVERITY, policy.severity(data["to"]).rank
        except (SladeskError, KeyError):
            return Kind.OTHER, 0
    if event_type == "outside_incident":
        return (Kind.INCIDENT_SET, 0) if data.get("set", True) else (Kind.INCIDENT_CLEARED, 0)
    if event_type in _OTHER_TYPES:
        return Kind.OTHER, 0
    return Kind.QUIET, 0


def kind_of_event(policy: Policy, event: Event) -> tuple[Kind, int]:
    """`kind_of` for a typed event."""
    return kind_of(policy, event.type, {"by": event.by, **event.data()})


@dataclass(frozen=True)
class Histories:
    """Many tickets' histories as columns. Events are grouped by ticket (each ticket's in order) and
    `event_ticket` holds each event's ticket as an index into `ticket_ids`; every ticket has events.

    `severity` is each ticket's severity rank at opening (-1 for one the policy does not know), and
    `situation` indexes `situations`, the (category, tier) pairs the tickets were opened with.
    """

    ticket_ids: IntArray
    severity: IntArray
    event_ticket: IntArray
    kind: SmallArray
    at_us: IntArray  # epoch microseconds
    value: IntArray  # the status index or severity rank, per `Kind`
    situation: IntArray | None = None
    situations: tuple[tuple[str | None, str | None], ...] = ((None, None),)

    @classmethod
    def of_events(
        cls,
        policy: Policy,
        tickets: Sequence[tuple[int, int | str, Sequence[Event]]],
        situations: Sequence[tuple[str | None, str | None]] = (),
    ) -> Histories:
        """Columns from typed events: (ticket id, severity at opening, events) per ticket, and each one's
        (category, tier) when `situations` gives them."""
        ranks = []
        for _, severity, _ in tickets:
            try:
                ranks.append(policy.severity(severity).rank)
            except SladeskError:
                ranks.append(-1)
        pairs = list(dict.fromkeys(situations)) or [(None, None)]
        kinds = [kind_of_event(policy, event) for _, _, events in tickets for event in events]
        return cls(
            ticket_ids=np.array([ticket_id for ticket_id, _, _ in tickets], dtype=np.int64),
            severity=np.array(ranks, dtype=np.int64),
            event_ticket=np.repeat(np.arange(len(tickets), dtype=np.int64), [len(e) for _, _, e in tickets]),
            kind=np.array([kind for kind, _ in kinds], dtype=np.int8),
            at_us=np.array([_micros(e.at) for _, _, events in tickets for e in events], dtype=np.int64).reshape(-1),
            value=np.array([value for _, value in kinds], dtype=np.int64),
            situation=np.array([pairs.index(s) for s in situations], dtype=np.int64) if situations else None,
            situations=tuple(pairs),
        )


@dataclass(frozen=True)
class BulkReplay:
    """Per ticket (rows, as `ticket_ids`) and metric (columns, as `metrics`): what the replay fixed at `now`.

    Rows of tickets in `fell_back` hold nothing meaningful: replay those one at a time. Instants are epoch
    microseconds, `NO_INSTANT` where there is none.
    """

    ticket_ids: IntArray
    metrics: tuple[str, ...]
    fell_back: BoolArray  # [tickets]
    severity: IntArray  # [tickets] the severity rank in force at `now`
    excused: BoolArray  # [tickets] marked as caused by an outside incident at `now`
    state: SmallArray  # index into STATES
    outcome: SmallArray  # index into OUTCOMES: how a report whose period ends at `now` counts the clock
    counted_seconds: IntArray
    target_seconds: IntArray  # -1: no target
    due_us: IntArray
    goal_us: IntArray
    goal_met: SmallArray  # 1 met, 0 missed, -1 not decided or no goal
    stopped_us: IntArray
    stop_cancels: BoolArray  # stopped by a resolve or close, not by its own event (cancelled if in time)
    earlier_breach_us: IntArray  # a due that passed under a severity since changed
    earlier_breach_severity: IntArray  # that severity's rank, -1 if none

    @property
    def fallback_ids(self) -> IntArray:
        """The tickets the bulk replay left to the one-at-a-time replay."""
        return self.ticket_ids[self.fell_back]


def outcome_of(metric: MetricReport) -> Outcome:
    """How a report counts one replayed clock: a breach under an earlier severity stays a breach, an
    excused breach is counted apart, and a clock neither stopped nor yet due is still running."""
    state = metric.state
    if state is MetricState.NONE or metric.rule.informational:
        return Outcome.NO_TARGET
    if state is MetricState.NOT_STARTED:
        return Outcome.NOT_STARTED
    if state is MetricState.BREACHED or metric.instants.earlier_breach_at is not None:
        return Outcome.EXCUSED if metric.instants.excuse is not None else Outcome.BREACHED
    if state is MetricState.MET:
        return Outcome.MET
    if state is MetricState.CANCELLED:
        return Outcome.CANCELLED
    return Outcome.RUNNING


def replay_many(policy: Policy, histories: Histories, now: datetime) -> BulkReplay:
    """Every covered ticket's clocks at `now` under `policy`, equal to replaying each one alone."""
    now_us = _micros(now)
    count = len(histories.ticket_ids)
    metrics = policy.metric_ids
    tables = _RuleTables(policy, histories.situations)
    fell_back, before, after = _uncovered(policy, histories, tables, now_us)
    kept = ~fell_back[histories.event_ticket]
    tickets = np.flatnonzero(~fell_back)
    result = _empty(histories.ticket_ids, metrics, fell_back)
    if len(tickets) == 0 or len(metrics) == 0:
        return result
    renumber = np.full(count, -1, dtype=np.int64)
    renumber[tickets] = np.arange(len(tickets))
    event_ticket = renumber[histories.event_ticket[kept]]
    situation = histories.situation[tickets] if histories.situation is not None else np.zeros(len(tickets), np.int64)
    columns = _Columns(
        policy,
        event_ticket,
        histories.kind[kept],
        histories.at_us[kept] // MICROS,
        histories.value[kept],
        before[kept],
        after[kept],
        histories.severity[tickets],
        situation,
        now_us // MICROS,
    )
    result.severity[tickets] = columns.severity_now
    result.excused[tickets] = columns.excused
    for column, metric_id in enumerate(metrics):
        clocks = _metric_clocks(columns, tables, metric_id)
        for name, values in clocks.items():
            getattr(result, name)[tickets, column] = values
    return result


def _empty(ticket_ids: IntArray, metrics: tuple[str, ...], fell_back: BoolArray) -> BulkReplay:
    shape = (len(ticket_ids), len(metrics))
    return BulkReplay(
        ticket_ids=ticket_ids,
        metrics=metrics,
        fell_back=fell_back,
        severity=np.full(len(ticket_ids), -1, dtype=np.int64),
        excused=np.zeros(len(ticket_ids), dtype=np.bool_),
        state=np.zeros(shape, dtype=np.int8),
        outcome=np.zeros(shape, dtype=np.int8),
        counted_seconds=np.zeros(shape, dtype=np.int64),
        target_seconds=np.full(shape, -1, dtype=np.int64),
        due_us=np.full(shape, NO_INSTANT, dtype=np.int64),
        goal_us=np.full(shape, NO_INSTANT, dtype=np.int64),
        goal_met=np.full(shape, -1, dtype=np.int8),
        stopped_us=np.full(shape, NO_INSTANT, dtype=np.int64),
        stop_cancels=np.zeros(shape, dtype=np.bool_),
        earlier_breach_us=np.full(shape, NO_INSTANT, dtype=np.int64),
        earlier_breach_severity=np.full(shape, -1, dtype=np.int64),
    )


class _RuleTables:
    """Each metric's clock rule per (situation, severity rank), as arrays, and which pairs are covered."""

    def __init__(self, policy: Policy, situations: Sequence[tuple[str | None, str | None]]) -> None:
        ranks = [severity.rank for severity in policy.spec.severities]
        width = max(ranks) + 1
        shape = (len(situations), width)
        self.covered = np.zeros(shape, dtype=np.bool_)
        self.due: dict[str, IntArray] = {}
        self.goal: dict[str, IntArray] = {}
        self.calendar_index: dict[str, IntArray] = {}
        self.calendars: dict[str, list[Calendar]] = {}
        self.pauses: dict[str, frozenset[str]] = {}
        self.stops = {metric_id: spec.stop for metric_id, spec in policy.spec.metrics.items()}
        rules: dict[tuple[int, int], dict[str, ClockRule]] = {}
        for row, (category, tier) in enumerate(situations):
            if not _known_situation(policy, category, tier):
                continue
            for rank in ranks:
                severity = policy.severity(rank)
                try:
                    found = {
                        m: policy.clock_rule(severity, m, Situation(category, tier, None)) for m in policy.metric_ids
                    }
                except SladeskError:
                    continue
                if all(_covered_rule(rule) for rule in found.values()):
                    rules[row, rank] = found
                    self.covered[row, rank] = True
        for metric_id in policy.metric_ids:
            due = np.full(shape, -1, dtype=np.int64)
            goal = np.full(shape, -1, dtype=np.int64)
            calendar_index = np.zeros(shape, dtype=np.int64)
            calendars: list[Calendar] = []
            for (row, rank), found in rules.items():
                rule = found[metric_id]
                due[row, rank] = _whole_seconds(rule.due)
                goal[row, rank] = _whole_seconds(rule.goal)
                if rule.calendar not in calendars:
                    calendars.append(rule.calendar)
                calendar_index[row, rank] = calendars.index(rule.calendar)
            self.due[metric_id], self.goal[metric_id] = due, goal
            self.calendar_index[metric_id], self.calendars[metric_id] = calendar_index, calendars
            self.pauses[metric_id] = frozenset(policy.spec.metrics[metric_id].pause_statuses)


def _known_situation(policy: Policy, category: str | None, tier: str | None) -> bool:
    categories = [c.id for c in policy.spec.categories]
    tiers = [t.id for t in policy.spec.tiers]
    return (category is None or not categories or category in categories) and (
        tier is None or not tiers or tier in tiers
    )


def _covered_rule(rule: ClockRule) -> bool:
    """A due or goal from the opening, counted on a calendar, in whole seconds."""
    whole = all(span is None or span.microseconds == 0 for span in (rule.due, rule.goal))
    plain = rule.releases is None and rule.opening_calendar is None and not rule.informational
    return whole and plain and rule.start == "opened"


def _whole_seconds(span: Any) -> int:
    return -1 if span is None else int(span.total_seconds())


def _micros(instant: datetime) -> int:
    """An aware instant as exact epoch microseconds."""
    return (instant - _EPOCH) // _ONE_MICROSECOND


def _first_of_groups(group: IntArray, size: int) -> IntArray:
    """The index of each group's first element (groups contiguous, each non-empty), for `reduceat`."""
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    assert len(starts) == size, "every ticket has events"
    return starts


def _uncovered(
    policy: Policy, histories: Histories, tables: _RuleTables, now_us: int
) -> tuple[BoolArray, IntArray, IntArray]:
    """The tickets whose histories the bulk replay leaves to the one-at-a-time replay, and each event's
    status before and after it."""
    count = len(histories.ticket_ids)
    ticket, kind, at, value = histories.event_ticket, histories.kind, histories.at_us, histories.value
    none = np.zeros(len(ticket), dtype=np.int64)
    if count == 0:
        return np.zeros(0, dtype=np.bool_), none, none
    if now_us % MICROS or len(ticket) == 0 or policy.spec.customer_reply.to in policy.spec.customer_reply.moves_from:
        return np.ones(count, dtype=np.bool_), none, none
    first = _first_of_groups(ticket, count)
    is_first = np.zeros(len(ticket), dtype=np.bool_)
    is_first[first] = True
    bad = (kind == Kind.OTHER) | (at % MICROS != 0) | (is_first != (kind == Kind.OPENED))
    bad[1:] |= ~is_first[1:] & (at[1:] < at[:-1])
    fell_back = np.zeros(count, dtype=np.bool_)
    np.logical_or.at(fell_back, ticket[bad], True)
    fell_back |= at[first] > now_us
    # severities: the one at opening and every change must have covered rules in the ticket's situation
    situation = histories.situation if histories.situation is not None else np.zeros(count, dtype=np.int64)
    width = tables.covered.shape[1]
    ranks = histories.severity
    known = (ranks >= 0) & (ranks < width)
    fell_back |= ~known
    fell_back[known] |= ~tables.covered[situation[known], ranks[known]]
    changes = kind == Kind.SEVERITY
    change_rank = value[changes]
    change_ticket = ticket[changes]
    inside = (change_rank >= 0) & (change_rank < width)
    np.logical_or.at(fell_back, change_ticket[~inside], True)
    uncovered = ~tables.covered[situation[change_ticket[inside]], change_rank[inside]]
    np.logical_or.at(fell_back, change_ticket[inside][uncovered], True)
    # statuses: every move allowed, no reopening, no public update to a ticket that refuses them
    statuses = _StatusTables(policy)
    before, after = _statuses(statuses, ticket, kind, value, first)
    moved = after != before
    refused = ((kind == Kind.STATUS) & ~statuses.allowed[before, after]) | (
        moved & statuses.finished[before] & ~statuses.finished[after]
    )
    updates = (kind == Kind.AGENT_REPLY) | (kind == Kind.CUSTOMER_REPLY) | (kind == Kind.PUBLIC_ATTACHMENT)
    refused |= updates & statuses.refuses_updates[before]
    np.logical_or.at(fell_back, ticket[refused], True)
    return fell_back, before, after


@dataclass(frozen=True, eq=False)
class _StatusTables:
    initial: int
    allowed: BoolArray  # [from, to]
    finished: BoolArray
    refuses_updates: BoolArray
    moves_from: BoolArray  # a customer reply moves the ticket from these
    customer_to: int  # ...to this (-1: it moves nothing)

    def __init__(self, policy: Policy) -> None:
        from sladesk.sla.history import refuses_updates

        ids = [status.id for status in policy.spec.statuses]
        rule = policy.spec.customer_reply
        allowed = np.array([[policy.can_move(a, b) for b in ids] for a in ids], dtype=np.bool_)
        object.__setattr__(self, "initial", ids.index(policy.initial_status))
        object.__setattr__(self, "allowed", allowed)
        object.__setattr__(self, "finished", np.array([policy.is_finished(s) for s in ids], dtype=np.bool_))
        object.__setattr__(self, "refuses_updates", np.array([refuses_updates(policy, s) for s in ids], np.bool_))
        object.__setattr__(self, "moves_from", np.array([s in rule.moves_from for s in ids], dtype=np.bool_))
        object.__setattr__(self, "customer_to", ids.index(rule.to) if rule.to in ids else -1)


def _statuses(
    tables: _StatusTables, ticket: IntArray, kind: SmallArray, value: IntArray, first: IntArray
) -> tuple[IntArray, IntArray]:
    """Each event's status before and after it: status events set it, and a customer's reply moves it where
    the policy says (only the first reply after the status was set can, as it leaves those statuses)."""
    size = len(ticket)
    index = np.arange(size, dtype=np.int64)
    start_of = first[ticket]  # each event's ticket's first event
    explicit = kind == Kind.STATUS
    last_explicit = np.maximum.accumulate(np.where(explicit, index, -1))
    segment_start = np.maximum(last_explicit, start_of)
    segment_status = np.where(explicit[segment_start], value[segment_start], tables.initial)
    customer = kind == Kind.CUSTOMER_REPLY
    replies_so_far = np.cumsum(customer)
    first_in_segment = customer & (replies_so_far - replies_so_far[segment_start] == 1)
    moves = np.zeros(size, dtype=np.bool_)
    if tables.customer_to >= 0:
        moves = first_in_segment & tables.moves_from[segment_status]
    setter = explicit | moves
    set_to = np.where(explicit, value, tables.customer_to)
    last_setter = np.maximum.accumulate(np.where(setter, index, -1))
    after = np.where(last_setter >= start_of, set_to[np.maximum(last_setter, 0)], tables.initial)
    before = np.empty_like(after)
    before[0] = tables.initial
    before[1:] = after[:-1]
    before[first] = tables.initial
    return before.astype(np.int64), after.astype(np.int64)


class _Columns:
    """The covered tickets' histories up to `now` (seconds), with the facts every metric reads."""

    def __init__(
        self,
        policy: Policy,
        ticket: IntArray,
        kind: SmallArray,
        at: IntArray,
        value: IntArray,
        before: IntArray,
        after: IntArray,
        severity_at_opening: IntArray,
        situation: IntArray,
        now: int,
    ) -> None:
        count = len(severity_at_opening)
        statuses = _StatusTables(policy)
        upto = at <= now  # later events were checked, but the replay stops at `now`
        ticket, at, value, before, after = (c[upto] for c in (ticket, at, value, before, after))
        kind = kind[upto]
        first = _first_of_groups(ticket, count)  # the opening is never after `now` here
        size = len(ticket)
        index = np.arange(size, dtype=np.int64)
        self.count, self.now, self.situation = count, now, situation
        self.opened = at[first]
        # status spans: one from the opening, one from each event that changed the status
        changed = after != before
        changed[first] = True
        spans = np.flatnonzero(changed)
        self.span_ticket = ticket[spans]
        self.span_start = at[spans]
        self.span_status = np.where(np.isin(spans, first), statuses.initial, after[spans])
        self.span_end = np.full(len(spans), _NEVER, dtype=np.int64)
        same = self.span_ticket[1:] == self.span_ticket[:-1]
        self.span_end[:-1][same] = self.span_start[1:][same]
        self.status_ids = [status.id for status in policy.spec.statuses]
        last_span = np.r_[np.flatnonzero(~same), len(spans) - 1]
        self.status_now = self.span_status[last_span]
        self.first_agent_reply = np.minimum.reduceat(np.where(kind == Kind.AGENT_REPLY, at, _NEVER), first)
        finishing = changed & statuses.finished[after]
        finishing[first] = False
        self.first_finish = np.minimum.reduceat(np.where(finishing, at, _NEVER), first)
        # severities: at opening, before each change, and at `now`
        changes = kind == Kind.SEVERITY
        last_change = np.maximum.accumulate(np.where(changes, index, -1))
        start_of = first[ticket]
        previous = np.r_[-1, last_change[:-1]]
        before_change = np.where(previous >= start_of, value[np.maximum(previous, 0)], severity_at_opening[ticket])
        self.change_ticket = ticket[changes]
        self.change_at = at[changes]
        self.change_prior = before_change[changes]
        latest = np.maximum.reduceat(np.where(changes, index, -1), first)
        self.severity_now = np.where(latest >= 0, value[np.maximum(latest, 0)], severity_at_opening)
        marks = (kind == Kind.INCIDENT_SET) | (kind == Kind.INCIDENT_CLEARED)
        last_mark = np.maximum.reduceat(np.where(marks, index, -1), first)
        self.excused = (last_mark >= 0) & (kind[np.maximum(last_mark, 0)] == Kind.INCIDENT_SET)


def _metric_clocks(columns: _Columns, tables: _RuleTables, metric_id: str) -> dict[str, Any]:
    """One metric's clock for every covered ticket: the fields of `BulkReplay` for its column."""
    now = columns.now
    if tables.stops[metric_id] == "first_agent_reply":
        stop = np.minimum(columns.first_agent_reply, columns.first_finish)
        cancels = stop != columns.first_agent_reply
    else:
        stop = columns.first_finish
        cancels = np.zeros(columns.count, dtype=np.bool_)
    stopped = stop != _NEVER
    cancels &= stopped
    end = np.where(stopped, stop, now)
    pause = np.array([status in tables.pauses[metric_id] for status in columns.status_ids], dtype=np.bool_)
    paused = ~stopped & pause[columns.status_now]
    tail_from = np.where(paused, _NEVER, end)  # counting goes on past the known history from here
    # counted stretches: the spans outside pause statuses, cut at the clock's end
    counting = ~pause[columns.span_status]
    owner = columns.span_ticket[counting]
    a = columns.span_start[counting]
    b = np.minimum(columns.span_end[counting], end[owner])
    b = np.maximum(a, b)
    severity = columns.severity_now
    situation = columns.situation
    due_target = tables.due[metric_id][situation, severity]
    goal_target = tables.goal[metric_id][situation, severity]
    calendar_of = tables.calendar_index[metric_id][situation, severity]
    counted = np.zeros(columns.count, dtype=np.int64)
    due = np.full(columns.count, _NEVER, dtype=np.int64)
    goal = np.full(columns.count, _NEVER, dtype=np.int64)
    earlier = np.full(columns.count, _NEVER, dtype=np.int64)
    earlier_rank = np.full(columns.count, -1, dtype=np.int64)
    change_calendar = tables.calendar_index[metric_id][situation[columns.change_ticket], columns.change_prior]
    change_target = tables.due[metric_id][situation[columns.change_ticket], columns.change_prior]
    change_due = np.full(len(columns.change_ticket), _NEVER, dtype=np.int64)
    for number, calendar in enumerate(tables.calendars[metric_id]):
        stretches = _Stretches(calendar, owner, a, b, columns.count)
        mine = calendar_of == number
        counted[mine] = stretches.total[mine]
        tickets = np.flatnonzero(mine)
        due[tickets] = stretches.reach(tickets, due_target[tickets], columns.opened, tail_from)
        goal[tickets] = stretches.reach(tickets, goal_target[tickets], columns.opened, tail_from)
        asked = np.flatnonzero(change_calendar == number)
        change_due[asked] = stretches.reach(
            columns.change_ticket[asked], change_target[asked], columns.opened, tail_from
        )
    # a due that passed under the severity before a change: the first such change per ticket
    whose = columns.change_ticket
    breached_then = (
        (change_target >= 0)
        & (change_due != _NEVER)
        & (change_due < columns.change_at)
        & (~stopped[whose] | (stop[whose] > change_due))
    )
    hits = np.flatnonzero(breached_then)
    first_hit = hits[np.r_[True, whose[hits][1:] != whose[hits][:-1]]] if len(hits) else hits
    earlier[whose[first_hit]] = change_due[first_hit]
    earlier_rank[whose[first_hit]] = columns.change_prior[first_hit]
    has_target = due_target >= 0
    state = np.full(columns.count, STATES.index(MetricState.RUNNING), dtype=np.int8)
    state[paused] = STATES.index(MetricState.PAUSED)
    state[~stopped & (due != _NEVER) & (now > due)] = STATES.index(MetricState.BREACHED)
    in_time = stopped & (stop <= due)
    state[in_time & cancels] = STATES.index(MetricState.CANCELLED)
    state[in_time & ~cancels] = STATES.index(MetricState.MET)
    state[stopped & (stop > due)] = STATES.index(MetricState.BREACHED)
    state[~has_target] = STATES.index(MetricState.NONE)
    has_goal = goal_target >= 0
    goal_met = np.full(columns.count, -1, dtype=np.int8)
    goal_met[has_goal & stopped & (stop <= goal) & ~cancels] = 1
    goal_met[has_goal & stopped & (stop > goal)] = 0
    goal_met[has_goal & ~stopped & (goal != _NEVER) & (now > goal)] = 0
    outcome = _outcomes(state, earlier != _NEVER, columns.excused)
    return {
        "state": state,
        "outcome": outcome,
        "counted_seconds": counted,
        "target_seconds": due_target,
        "due_us": _instants(np.where(has_target, due, _NEVER)),
        "goal_us": _instants(np.where(has_goal, goal, _NEVER)),
        "goal_met": goal_met,
        "stopped_us": _instants(np.where(stopped, stop, _NEVER)),
        "stop_cancels": cancels,
        "earlier_breach_us": _instants(earlier),
        "earlier_breach_severity": earlier_rank,
    }


def _instants(seconds: IntArray) -> IntArray:
    return np.where(seconds == _NEVER, NO_INSTANT, seconds * MICROS)


def _outcomes(state: SmallArray, earlier_breach: BoolArray, excused: BoolArray) -> SmallArray:
    codes = {s: STATES.index(s) for s in MetricState}
    outcome = np.full(len(state), OUTCOMES.index(Outcome.RUNNING), dtype=np.int8)
    outcome[state == codes[MetricState.MET]] = OUTCOMES.index(Outcome.MET)
    outcome[state == codes[MetricState.CANCELLED]] = OUTCOMES.index(Outcome.CANCELLED)
    breach = (state == codes[MetricState.BREACHED]) | (earlier_breach & (state != codes[MetricState.NONE]))
    outcome[breach & ~excused] = OUTCOMES.index(Outcome.BREACHED)
    outcome[breach & excused] = OUTCOMES.index(Outcome.EXCUSED)
    outcome[state == codes[MetricState.NONE]] = OUTCOMES.index(Outcome.NO_TARGET)
    return outcome


class _Stretches:
    """The counted stretches of every ticket's clock on one calendar, with running totals, so that the
    instant each ticket's counted time reaches a target is one search."""

    def __init__(self, calendar: Calendar, owner: IntArray, a: IntArray, b: IntArray, count: int) -> None:
        self.calendar, self.owner, self.a = calendar, owner, a
        worked = calendar.between_many(a, b) if len(a) else np.zeros(0, dtype=np.int64)
        self.through = np.cumsum(worked)  # counted time through each stretch, over all tickets in order
        self.total = np.bincount(owner, weights=worked, minlength=count).astype(np.int64)
        self.before = np.zeros(count, dtype=np.int64)  # counted time of the tickets before each one
        self.before[1:] = np.cumsum(self.total)[:-1]
        tickets = np.arange(count)
        last = np.searchsorted(owner, tickets, side="right") - 1  # each ticket's last stretch, -1 if none
        found = (last >= 0) & (owner[np.maximum(last, 0)] == tickets) if len(owner) else np.zeros(count, np.bool_)
        self.last = np.where(found, last, -1)

    def reach(self, tickets: IntArray, targets: IntArray, opened: IntArray, tail_from: IntArray) -> IntArray:
        """For each ticket, when its counted time reaches its target (seconds; -1 means no target):
        inside a stretch, by counting on from `tail_from` past the history, or never (paused)."""
        found = np.full(len(tickets), _NEVER, dtype=np.int64)
        positive = targets > 0
        zero = np.flatnonzero(targets == 0)
        if len(zero):
            found[zero] = self.calendar.add_many(opened[tickets[zero]], 0)
        wanted = np.flatnonzero(positive)
        owner = tickets[wanted]
        goal = self.before[owner] + targets[wanted]
        stretch = np.searchsorted(self.through, goal, side="left")
        inside = (stretch <= self.last[owner]) & (self.last[owner] >= 0)
        hit = wanted[inside]
        at_stretch = stretch[inside]
        if len(hit):
            counted_before = self.through[at_stretch] - self._worked(at_stretch) - self.before[owner[inside]]
            found[hit] = self.calendar.add_many(self.a[at_stretch], targets[hit] - counted_before)
        rest = wanted[~inside]
        tail = tail_from[tickets[rest]]
        going = tail != _NEVER
        if going.any():
            rest, tail = rest[going], tail[going]
            left = targets[rest] - self.total[tickets[rest]]
            found[rest] = self.calendar.add_many(tail, left)
        return found

    def _worked(self, stretch: IntArray) -> IntArray:
        previous = np.where(stretch > 0, self.through[np.maximum(stretch - 1, 0)], 0)
        return self.through[stretch] - previous
