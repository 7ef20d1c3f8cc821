"""What-if over many tickets at once: the bulk replay's clocks (`reports.bulk.replay_many`) on both sides,
compared and counted over arrays, giving the report `reports.whatif.what_if` gives from one comparison per
ticket.

`bulk_clocks` reads each clock of a bulk replay at a period's end as `reports.outcomes.clock_outcome` does;
`compare_bulk` gives the `ClockOutcome`s and `Comparison`s `compare_ticket` gives, ticket by ticket;
`bulk_pairs` gives the same comparisons as columns (one row per clock judged on both sides), which
`what_if_pairs` counts into the report together with the comparisons of tickets replayed one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
import numpy.typing as npt

from sladesk.errors import SladeskError
from sladesk.policy import Policy
from sladesk.policy.policy import Situation
from sladesk.reports.attainment import (
    AttainmentCell,
    Group,
    attainment_from_cells,
    policy_version_label,
)
from sladesk.reports.bulk import NO_INSTANT, OUTCOMES, BoolArray, BulkReplay, Histories, IntArray, SmallArray
from sladesk.reports.model import AttainmentRow, ClockOutcome, Dimension, Outcome, Period, TicketLabels
from sladesk.reports.whatif import (
    Comparison,
    NotComparable,
    OutcomeChange,
    WhatIfReport,
    no_target_outcome,
    side_by_side,
    whatif_exclusions,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BulkClocks:
    """Every clock of a bulk replay (`reports.bulk.replay_many`) as a report counts it at a period's end: the
    fields of `reports.outcomes.clock_outcome`, per ticket (rows) and metric (columns), as arrays.

    Instants are epoch microseconds (`NO_INSTANT`: none), each with its time zone; -1 stands for none in
    `counted_seconds`, `target_seconds` and `goal_met` (else 0 missed, 1 met). Rows the bulk replay left alone
    (`fell_back`) hold nothing meaningful.
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
    # the time zone each instant is given in, as the single replay gives it (an index into `zones`): a due
    # in its calendar's, a stop in UTC as events are stored
    zones: tuple[tzinfo, ...]
    due_zone: IntArray
    at_zone: IntArray

    def counts_in(self, period: Period) -> BoolArray:
        """[tickets, metrics] whether each clock belongs to the period (`attainment.counts_in`)."""
        start, end = _micros(period.start), _micros(period.end)
        decided = self.at_us != NO_INSTANT
        counts: BoolArray = self.opened[:, None] & (~decided | ((self.at_us >= start) & (self.at_us < end)))
        return counts


def bulk_clocks(policy: Policy, histories: Histories, bulk: BulkReplay, end: datetime, now: datetime) -> BulkClocks:
    """Each clock of `bulk` (`histories` replayed under `policy` at `now`) as `outcomes_of` counts it at
    `end`. Every clock the bulk replay covers starts at the opening."""
    end_us, now_us = _micros(end), _micros(now)
    first = np.searchsorted(histories.event_ticket, np.arange(len(histories.ticket_ids)), side="left")
    opened_us = histories.at_us[np.minimum(first, max(len(histories.at_us) - 1, 0))]
    zones: list[tzinfo] = [UTC]
    due_zone = _zones(policy, histories, bulk, bulk.severity[:, None], zones)
    earlier_zone = _zones(policy, histories, bulk, bulk.earlier_breach_severity, zones)

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
    at_zone = np.select(
        [earlier, ~has_target, stopped & in_time, stopped, passed(bulk.due_us)],
        [earlier_zone, 0, 0, due_zone, due_zone],
        0,
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
        zones=tuple(zones),
        due_zone=due_zone,
        at_zone=at_zone,
    )


def _zones(policy: Policy, histories: Histories, bulk: BulkReplay, ranks: IntArray, zones: list[tzinfo]) -> IntArray:
    """[tickets, metrics] the time zone (an index into `zones`, added to) of each metric's calendar for the
    ticket's situation at the severity of rank `ranks` ([tickets, 1] for all metrics alike, or [tickets,
    metrics]); UTC where there is none."""
    count, width = len(bulk.ticket_ids), max(s.rank for s in policy.severities) + 2
    situation = histories.situation if histories.situation is not None else np.zeros(count, dtype=np.int64)
    found = np.zeros((count, len(bulk.metrics)), dtype=np.int64)
    for column, metric in enumerate(bulk.metrics):
        rank = np.clip(ranks[:, min(column, ranks.shape[1] - 1)], -1, width - 2) + 1
        distinct, inverse = np.unique(situation * width + rank, return_inverse=True)
        codes = []
        for key in distinct.tolist():
            row, shifted = divmod(key, width)
            zone = _zone(policy, histories.situations[row], shifted - 1, metric)
            if zone not in zones:
                zones.append(zone)
            codes.append(zones.index(zone))
        found[:, column] = np.array(codes, dtype=np.int64)[inverse.reshape(-1)] if count else found[:, column]
    return found


def _zone(policy: Policy, situation: tuple[str | None, str | None], rank: int, metric: str) -> tzinfo:
    try:
        category, tier = situation
        rule = policy.clock_rule(policy.severity(rank), metric, Situation(category, tier, None))
    except SladeskError:
        return UTC
    return rule.calendar.tz


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
                mine = no_target_outcome(ticket, metric, code_now)
            else:
                mine = _bulk_outcome(actual, row, column, ticket, own_codes, excuse)
            theirs_column = candidate_column.get(metric)
            if theirs_column is None:
                theirs = no_target_outcome(ticket, metric, mine.severity)
                due_after = None
            else:
                theirs = _bulk_outcome(candidate, row, theirs_column, ticket, None, excuse, mine.severity)
                due_after = _due(candidate, row, theirs_column)
            before.append(mine)
            after.append(theirs)
            due_before = _due(actual, row, column) if column is not None else None
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
        at=_instant(int(clocks.at_us[row, column]), clocks.zones[int(clocks.at_zone[row, column])]),
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
        stopped_at=_instant(int(clocks.stopped_us[row, column]), UTC),
        stop_cancels=bool(clocks.stop_cancels[row, column]),
    )


def _due(clocks: BulkClocks, row: int, column: int) -> datetime | None:
    return _instant(int(clocks.due_us[row, column]), clocks.zones[int(clocks.due_zone[row, column])])


def _instant(micros: int, zone: tzinfo) -> datetime | None:
    """An instant in `zone`, built as the calendars build theirs."""
    if micros == NO_INSTANT:
        return None
    if micros % 1_000_000 == 0:
        return datetime.fromtimestamp(micros // 1_000_000, zone)
    return (_EPOCH + timedelta(microseconds=micros)).astimezone(zone)


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)


class _Vocabulary:
    """Distinct values (strings or None) numbered in the order first seen."""

    def __init__(self) -> None:
        self.values: list[str | None] = []
        self._index: dict[str | None, int] = {}

    def code(self, value: str | None) -> int:
        found = self._index.get(value)
        if found is None:
            found = self._index[value] = len(self.values)
            self.values.append(value)
        return found


_PAIR_COLUMNS = (
    "ticket_id",
    "metric",
    "severity",
    "tier",
    "organisation",
    "team",
    "assignee",
    "version",
    "before",
    "after",
    "before_goal",
    "after_goal",
    "before_due",
    "after_due",
    "before_zone",
    "after_zone",
)
_NO_TARGET = OUTCOMES.index(Outcome.NO_TARGET)


@dataclass(frozen=True)
class LabelColumns:
    """What a report groups tickets by besides severity, as columns (one row per ticket); -1: no team or
    assignee."""

    organisation_id: IntArray
    team_id: IntArray
    assignee_id: IntArray
    tier: Sequence[str | None]
    policy_id: str
    policy_version: int


class WhatIfPairs:
    """The comparisons of a what-if as columns: one row per clock judged on both sides (`Comparison`'s
    `actual[i]`, `candidate[i]` and `dues[i]`), in ticket order and each ticket's clocks in order, with the
    tickets that are not comparable beside. Filled from bulk replays (`add_bulk`) and from comparisons made
    one at a time (`add`), then counted into the report (`report`)."""

    def __init__(self) -> None:
        self._metrics = _Vocabulary()
        self._severities = _Vocabulary()
        self._tiers = _Vocabulary()
        self._versions = _Vocabulary()
        self._chunks: list[dict[str, npt.NDArray[Any]]] = []
        self._single: dict[str, list[int]] = {name: [] for name in _PAIR_COLUMNS}
        self._refused: list[NotComparable] = []
        self._zones: list[tzinfo | None] = []
        self.compared = 0

    def _zone(self, zone: tzinfo | None) -> int:
        if zone not in self._zones:
            self._zones.append(zone)
        return self._zones.index(zone)

    def add(self, item: Comparison | NotComparable | None) -> None:
        """One ticket compared one at a time (`compare_ticket`)."""
        if isinstance(item, NotComparable):
            self._refused.append(item)
            return
        if item is None:
            return
        self.compared += 1
        columns = self._single
        for mine, theirs, (due_before, due_after) in zip(item.actual, item.candidate, item.dues, strict=True):
            columns["ticket_id"].append(item.ticket_id)
            columns["metric"].append(self._metrics.code(mine.metric))
            columns["severity"].append(self._severities.code(mine.severity))
            columns["tier"].append(self._tiers.code(mine.tier))
            columns["organisation"].append(mine.organisation_id)
            columns["team"].append(-1 if mine.team_id is None else mine.team_id)
            columns["assignee"].append(-1 if mine.assignee_id is None else mine.assignee_id)
            columns["version"].append(self._versions.code(policy_version_label(mine.policy_id, mine.policy_version)))
            columns["before"].append(OUTCOMES.index(mine.outcome))
            columns["after"].append(OUTCOMES.index(theirs.outcome))
            columns["before_goal"].append(_goal_code(mine))
            columns["after_goal"].append(_goal_code(theirs))
            columns["before_due"].append(_micros_or_none(due_before))
            columns["after_due"].append(_micros_or_none(due_after))
            columns["before_zone"].append(self._zone(due_before.tzinfo if due_before is not None else UTC))
            columns["after_zone"].append(self._zone(due_after.tzinfo if due_after is not None else UTC))

    def add_bulk(
        self, actual: BulkClocks, candidate: BulkClocks, own: Policy, labels: LabelColumns, period: Period
    ) -> BoolArray:
        """Tickets replayed in bulk on both sides (rows alike in `actual`, `candidate` and `labels`): each one
        both replays covered is compared as `compare_ticket` compares it. Which rows were (the others are
        left to be compared one at a time)."""
        covered = ~actual.fell_back & ~candidate.fell_back
        counting = actual.counts_in(period) & covered[:, None]
        compared = counting.any(axis=1)
        self.compared += int(compared.sum())
        # the ticket's own clocks that count, in its policy's order; then the metrics only the candidate has
        rows, columns = np.nonzero(counting)
        theirs_of = np.array([_index(candidate.metrics, m) for m in actual.metrics] or [-1], dtype=np.int64)
        only = np.array([c for c, m in enumerate(candidate.metrics) if m not in actual.metrics], dtype=np.int64)
        compared_rows = np.flatnonzero(compared)
        extra_rows = np.repeat(compared_rows, len(only))
        extra_columns = np.tile(only, len(compared_rows))
        theirs = theirs_of[columns]
        has_theirs = theirs >= 0
        safe = np.maximum(theirs, 0)
        ranks = np.array([s.rank for s in own.severities])
        codes = np.full(max(int(ranks.max()) + 1, 1), -1, dtype=np.int64)
        for severity in own.severities:
            codes[severity.rank] = self._severities.code(severity.code)
        metric_codes = np.array([self._metrics.code(m) for m in actual.metrics] or [0], dtype=np.int64)
        extra_codes = np.array([self._metrics.code(m) for m in candidate.metrics] or [0], dtype=np.int64)
        all_rows = np.r_[rows, extra_rows]
        mine_zones = np.array([self._zone(zone) for zone in actual.zones], dtype=np.int64)
        their_zones = np.array([self._zone(zone) for zone in candidate.zones], dtype=np.int64)
        tiers = np.array([self._tiers.code(tier) for tier in labels.tier] or [0], dtype=np.int64)
        chunk: dict[str, npt.NDArray[Any]] = {
            "ticket_id": actual.ticket_ids[all_rows],
            "metric": np.r_[metric_codes[columns], extra_codes[extra_columns]],
            "severity": np.r_[codes[actual.severity[rows, columns]], codes[actual.severity_now[extra_rows]]],
            "tier": tiers[all_rows],
            "organisation": labels.organisation_id[all_rows],
            "team": labels.team_id[all_rows],
            "assignee": labels.assignee_id[all_rows],
            "version": np.full(
                len(all_rows),
                self._versions.code(policy_version_label(labels.policy_id, labels.policy_version)),
                dtype=np.int64,
            ),
            "before": np.r_[actual.outcome[rows, columns], np.full(len(extra_rows), _NO_TARGET, np.int8)],
            "after": np.r_[
                np.where(has_theirs, candidate.outcome[rows, safe], _NO_TARGET),
                candidate.outcome[extra_rows, extra_columns],
            ],
            "before_goal": np.r_[_goal_codes(actual, rows, columns), np.full(len(extra_rows), -1, np.int8)],
            "after_goal": np.r_[
                np.where(has_theirs, _goal_codes(candidate, rows, safe), -1),
                _goal_codes(candidate, extra_rows, extra_columns),
            ],
            "before_due": np.r_[actual.due_us[rows, columns], np.full(len(extra_rows), NO_INSTANT, np.int64)],
            "after_due": np.r_[
                np.where(has_theirs, candidate.due_us[rows, safe], NO_INSTANT),
                candidate.due_us[extra_rows, extra_columns],
            ],
            "before_zone": np.r_[
                mine_zones[actual.due_zone[rows, columns]], np.full(len(extra_rows), self._zone(UTC), np.int64)
            ],
            "after_zone": np.r_[
                np.where(has_theirs, their_zones[candidate.due_zone[rows, safe]], self._zone(UTC)),
                their_zones[candidate.due_zone[extra_rows, extra_columns]],
            ],
        }
        order = np.lexsort((np.r_[columns, len(actual.metrics) + extra_columns], all_rows))
        self._chunks.append({name: values[order] for name, values in chunk.items()})
        return covered

    def report(self, period: Period, by: Sequence[Dimension], candidate: str) -> WhatIfReport:
        """The what-if report, as `what_if` counts the same comparisons."""
        pairs = self._columns()
        dimensions = tuple(by)
        groups, group_of_pair = self._groups(pairs, dimensions)
        actual = self._rows(pairs, "before", groups, group_of_pair, period, dimensions)
        judged = self._rows(pairs, "after", groups, group_of_pair, period, dimensions)
        rows = side_by_side(actual, judged)
        changed = np.flatnonzero(pairs["before"] != pairs["after"])
        metrics, zones = self._metrics.values, self._zones
        names = ("ticket_id", "metric", "before", "after", "before_due", "after_due", "before_zone", "after_zone")
        changes = tuple(
            OutcomeChange(
                ticket,
                str(metrics[metric]),
                OUTCOMES[was],
                OUTCOMES[now],
                _instant(due_was, zones[zone_was] or UTC),
                _instant(due_now, zones[zone_now] or UTC),
            )
            for ticket, metric, was, now, due_was, due_now, zone_was, zone_now in zip(
                *(pairs[name][changed].tolist() for name in names), strict=True
            )
        )
        refused = tuple(sorted(self._refused, key=lambda item: item.ticket_id))
        return WhatIfReport(
            period=period,
            by=dimensions,
            candidate=candidate,
            rows=rows,
            changes=changes,
            not_comparable=refused,
            compared=self.compared,
            exclusions=whatif_exclusions(len(refused)),
        )

    def _columns(self) -> dict[str, npt.NDArray[Any]]:
        single = {name: np.array(values, dtype=np.int64) for name, values in self._single.items()}
        chunks = [*self._chunks, single]
        joined = {name: np.concatenate([chunk[name].astype(np.int64) for chunk in chunks]) for name in _PAIR_COLUMNS}
        order = np.argsort(joined["ticket_id"], kind="stable")  # each ticket's clocks stay in their order
        return {name: values[order] for name, values in joined.items()}

    def _groups(self, pairs: dict[str, npt.NDArray[Any]], by: tuple[Dimension, ...]) -> tuple[list[Group], IntArray]:
        """Each pair's group (as an index into the distinct groups)."""
        size = len(pairs["ticket_id"])
        if not by or not size:
            return [()], np.zeros(size, dtype=np.int64)
        column = {
            "severity": "severity",
            "tier": "tier",
            "organisation": "organisation",
            "team": "team",
            "assignee": "assignee",
            "policy_version": "version",
        }
        stacked = np.stack([pairs[column[d]] for d in by], axis=1)
        distinct, inverse = np.unique(stacked, axis=0, return_inverse=True)
        groups = [
            tuple((d, self._value(d, int(value))) for d, value in zip(by, row, strict=True))
            for row in distinct.tolist()
        ]
        return groups, inverse.reshape(-1).astype(np.int64)

    def _value(self, dimension: Dimension, value: int) -> str | None:
        if dimension == "severity":
            return self._severities.values[value]
        if dimension == "tier":
            return self._tiers.values[value]
        if dimension == "policy_version":
            return self._versions.values[value]
        return None if value < 0 else str(value)

    def _rows(
        self,
        pairs: dict[str, npt.NDArray[Any]],
        side: str,
        groups: list[Group],
        group_of_pair: IntArray,
        period: Period,
        by: tuple[Dimension, ...],
    ) -> dict[tuple[str, Group], AttainmentRow]:
        """One side's clocks counted per metric, group and outcome, as `whatif._rows` counts them."""
        outcome = pairs[side]
        goal = pairs[f"{side}_goal"]
        key = (pairs["metric"] * max(len(groups), 1) + group_of_pair) * len(OUTCOMES) + outcome
        order = np.lexsort((pairs["ticket_id"], key))
        key, tickets, goal = key[order], pairs["ticket_id"][order], goal[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, dtype=np.int64)
        ends = np.r_[starts[1:], len(key)] if len(key) else starts
        met = np.r_[0, np.cumsum(goal == 1)]
        missed = np.r_[0, np.cumsum(goal == 0)]
        cells = []
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            code = int(key[start])
            metric, rest = divmod(code, max(len(groups), 1) * len(OUTCOMES))
            group, kind = divmod(rest, len(OUTCOMES))
            cells.append(
                AttainmentCell(
                    metric=str(self._metrics.values[metric]),
                    group=groups[group],
                    outcome=OUTCOMES[kind],
                    count=end - start,
                    goal_met=int(met[end] - met[start]),
                    goal_missed=int(missed[end] - missed[start]),
                    tickets=tuple(tickets[start:end].tolist()),
                )
            )
        report = attainment_from_cells(period, by, cells, ())
        return {(row.metric, row.group): row for row in report.rows}


def _index(values: Sequence[str], value: str) -> int:
    return values.index(value) if value in values else -1


def _goal_codes(clocks: BulkClocks, rows: IntArray, columns: IntArray) -> SmallArray:
    """A clock's goal as a report counts it: 1 met, 0 missed, -1 neither (or not decided in a period)."""
    known = clocks.at_us[rows, columns] != NO_INSTANT
    codes: SmallArray = np.where(known, clocks.goal_met[rows, columns], -1).astype(np.int8)
    return codes


def _goal_code(outcome: ClockOutcome) -> int:
    if outcome.at is None or outcome.goal_met is None:
        return -1
    return 1 if outcome.goal_met else 0


def _micros_or_none(instant: datetime | None) -> int:
    return NO_INSTANT if instant is None else _micros(instant)
