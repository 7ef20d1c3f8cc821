"""SLA reports for staff: attainment and working times over a period, from the desk's store.

`attainment_report` and `times_report` aggregate in the database: each stored clock is classified at the
period's end by CASE expressions over its instants (the rules of `sladesk.reports.outcomes`), grouped and
counted there, so a desk of a million tickets is read in one pass. The tickets behind each count come from
a second query, the first `tickets_per_cell` of each cell by id (None: all of them). `attainment_by_replay`
and `times_by_replay` compute the same reports by replaying every ticket's history: the reference the SQL is
tested against (docs/reports.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, literal, literal_column, null, or_, select
from sqlalchemy.orm import Session

from sladesk.reports.attainment import (
    ID_DIMENSIONS,
    AttainmentCell,
    Group,
    attainment,
    attainment_from_cells,
    policy_version_label,
)
from sladesk.reports.model import (
    DIMENSIONS,
    AttainmentReport,
    ClockOutcome,
    Dimension,
    ExcusedBreach,
    Outcome,
    Period,
    TicketLabels,
    TimesReport,
)
from sladesk.reports.outcomes import outcomes_of
from sladesk.reports.times import TimesCell, common_target, nearest_rank, times, times_from_cells
from sladesk.services.actors import Actor, require_staff
from sladesk.services.clocks import load_events, replay_events, ticket_policy
from sladesk.services.errors import InvalidFieldError
from sladesk.services.policies import policy_at
from sladesk.store.tables import Organisation, SlaClock, Team, Ticket, User

TICKETS_PER_CELL = 100

# a clock's goal as the SQL reads it: met or missed by its stop, or passed while it has not stopped
_GOAL_MISSED, _GOAL_MET, _GOAL_PASSED = 0, 1, 2

# What the attainment query counts per group, one slot each: the outcomes of clocks counted under the
# ticket's severity (0-6), breaches under an earlier severity (7, 8), and goals met and missed by decided
# clocks under the ticket's severity (9, 10) and under an earlier one (11, 12).
_SLOT_OUTCOMES = (*Outcome, Outcome.BREACHED, Outcome.EXCUSED)
_SLOTS = len(_SLOT_OUTCOMES) + 4
_SLOT_DIGITS = 12  # a slot holds up to 10**12 - 1 clocks

# nearest rank as PostgreSQL's percentile_disc computes it: ceil(fraction x n) in floating point, so the
# fraction is taken a hair below p/100, which gives the exact rank for any count below 10**8
_PERCENTILE_SLACK = 1e-9


def attainment_report(
    session: Session,
    actor: Actor,
    period: Period,
    *,
    by: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    now: datetime,
    tickets_per_cell: int | None = TICKETS_PER_CELL,
) -> AttainmentReport:
    """Attainment per metric and group over `period`, counted in SQL from the stored clocks; staff only."""
    require_staff(actor, "read SLA reports")
    dimensions = _check(period, by, tickets_per_cell)
    raw = _raw_columns(dimensions)
    classified = _classified(session, period, now, dimensions, metrics=metrics).subquery()
    in_period = or_(classified.c.at.is_(None), classified.c.at >= period.start)
    group_keys = [classified.c.metric, *(classified.c[name] for name in raw)]
    tallies = _tallies(session, classified, in_period, group_keys)
    codes = _SeverityCodes(session)
    tickets = _attainment_tickets(session, classified, in_period, raw, tickets_per_cell)
    cells = []
    for (metric, *values), tally in tallies.items():
        columns = dict(zip(raw, values, strict=True))
        for earlier, (goal_met, goal_missed) in ((0, tally[9:11]), (1, tally[11:13])):
            group = _group_of_raw(dimensions, columns, bool(earlier), codes)
            for slot, outcome in enumerate(_SLOT_OUTCOMES):
                count = tally[slot]
                if not count or (slot >= len(Outcome)) != bool(earlier):
                    continue
                ids = tuple(tickets.get((metric, *values, earlier, outcome.value), ()))
                cells.append(AttainmentCell(metric, group, outcome, count, goal_met, goal_missed, ids))
                goal_met = goal_missed = 0  # a part's goals are counted once, with its first outcome
    excused_only = _classified(session, period, now, (), metrics=metrics, where=[SlaClock.excuse.is_not(None)])
    found = excused_only.subquery()
    excused = [
        ExcusedBreach(ticket_id, metric, at, excuse or "")
        for ticket_id, metric, at, excuse in session.execute(
            select(found.c.ticket_id, found.c.metric, found.c.at, found.c.excuse).where(
                found.c.outcome == Outcome.EXCUSED.value, found.c.at >= period.start
            )
        )
    ]
    groups = [cell.group for cell in cells]
    return attainment_from_cells(period, dimensions, cells, excused, _names(session, groups), tickets_per_cell)


def attainment_by_replay(
    session: Session,
    actor: Actor,
    period: Period,
    *,
    by: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    now: datetime,
    tickets_per_cell: int | None = TICKETS_PER_CELL,
) -> AttainmentReport:
    """The same report as `attainment_report`, from every ticket's history replayed under its pinned policy."""
    require_staff(actor, "read SLA reports")
    dimensions = _check(period, by, tickets_per_cell)
    report = attainment(
        _replayed_outcomes(session, period, now), period, dimensions, metrics=metrics, tickets_per_cell=tickets_per_cell
    )
    return replace(report, names=_names(session, [row.group for row in report.rows]))


def times_report(
    session: Session,
    actor: Actor,
    period: Period,
    *,
    by: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    now: datetime,
    tickets_per_cell: int | None = TICKETS_PER_CELL,
) -> TimesReport:
    """p50, p90 and max working time to the stop per metric and group over `period`; staff only.

    On PostgreSQL the percentiles are computed in SQL (`percentile_disc`); on SQLite, which has none, from
    the fetched working times.
    """
    require_staff(actor, "read SLA reports")
    dimensions = _check(period, by, tickets_per_cell)
    stopped_in_period = [
        SlaClock.stopped_at >= period.start,
        SlaClock.stopped_at < period.end,
        SlaClock.stopped_at <= now,
        SlaClock.stop_cancels.is_(False),
    ]
    classified = _classified(
        session, period, now, dimensions, metrics=metrics, labelled=True, where=stopped_in_period
    ).subquery()
    stopped = classified.c.stopped_at.is_not(None)
    keys = [classified.c.metric, *(classified.c[d] for d in dimensions)]
    seconds, target = classified.c.counted_seconds, classified.c.target_seconds
    cells: list[TimesCell] = []
    if session.get_bind().dialect.name == "postgresql":
        tickets = _times_tickets(session, classified, dimensions, tickets_per_cell)
        for row in session.execute(
            select(
                *keys,
                func.count(),
                func.percentile_disc(0.5 - _PERCENTILE_SLACK).within_group(seconds),
                func.percentile_disc(0.9 - _PERCENTILE_SLACK).within_group(seconds),
                func.max(seconds),
                func.count(target),
                func.min(target),
                func.max(target),
            )
            .where(stopped)
            .group_by(*keys)
        ):
            metric, group = row[0], _group(dimensions, row[1 : 1 + len(dimensions)])
            count, p50, p90, most, targets, low, high = row[1 + len(dimensions) :]
            cells.append(
                TimesCell(
                    metric=metric,
                    group=group,
                    count=count,
                    p50_seconds=float(p50),
                    p90_seconds=float(p90),
                    max_seconds=int(most),
                    target_seconds=low if targets == count and low == high else None,
                    tickets=tuple(tickets.get((metric, group), ())),
                )
            )
    else:
        found: dict[tuple[str, Group], list[tuple[int, int | None, int]]] = defaultdict(list)
        for row in session.execute(select(*keys, seconds, target, classified.c.ticket_id).where(stopped)):
            metric, group = row[0], _group(dimensions, row[1 : 1 + len(dimensions)])
            found[metric, group].append((row[-3], row[-2], row[-1]))
        for (metric, group), members in found.items():
            values = sorted(value for value, _, _ in members)
            ids = sorted(ticket_id for _, _, ticket_id in members)
            cells.append(
                TimesCell(
                    metric=metric,
                    group=group,
                    count=len(values),
                    p50_seconds=float(nearest_rank(values, 50) or 0),
                    p90_seconds=float(nearest_rank(values, 90) or 0),
                    max_seconds=values[-1],
                    target_seconds=common_target(member_target for _, member_target, _ in members),
                    tickets=tuple(ids if tickets_per_cell is None else ids[:tickets_per_cell]),
                )
            )
    return times_from_cells(period, dimensions, cells, _names(session, [cell.group for cell in cells]))


def times_by_replay(
    session: Session,
    actor: Actor,
    period: Period,
    *,
    by: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    now: datetime,
    tickets_per_cell: int | None = TICKETS_PER_CELL,
) -> TimesReport:
    """The same report as `times_report`, from every ticket's history replayed under its pinned policy."""
    require_staff(actor, "read SLA reports")
    dimensions = _check(period, by, tickets_per_cell)
    report = times(
        _replayed_outcomes(session, period, now), period, dimensions, metrics=metrics, tickets_per_cell=tickets_per_cell
    )
    cells = [
        TimesCell(r.metric, r.group, r.count, r.p50_seconds, r.p90_seconds, r.max_seconds, r.target_seconds, r.tickets)
        for r in report.rows
    ]
    return times_from_cells(period, dimensions, cells, _names(session, [row.group for row in report.rows]))


def tickets_behind(
    session: Session,
    actor: Actor,
    period: Period,
    *,
    metric: str,
    group: Sequence[tuple[str, str | None]] = (),
    outcome: Outcome,
    now: datetime,
    limit: int | None = TICKETS_PER_CELL,
) -> list[int]:
    """The ids of the tickets behind one count of an attainment report, the first `limit` by id.

    For a report asked for without its tickets (`tickets_per_cell=0`), as on a large desk: one cell's
    tickets are read in ticket order and the reading stops at `limit`.
    """
    require_staff(actor, "read SLA reports")
    dimensions = _check(period, [dimension for dimension, _ in group], limit)
    classified = _classified(session, period, now, dimensions, metrics=[metric], labelled=True).subquery()
    conditions = [
        classified.c.outcome == outcome.value,
        or_(classified.c.at.is_(None), classified.c.at >= period.start),
    ]
    for dimension, (_, value) in zip(dimensions, group, strict=True):
        column = classified.c[dimension]
        conditions.append(column.is_(None) if value is None else cast(column, String) == value)
    statement = select(classified.c.ticket_id).where(*conditions).order_by(classified.c.ticket_id)
    return list(session.scalars(statement if limit is None else statement.limit(limit)))


def replayed_outcomes(session: Session, actor: Actor, period: Period, *, now: datetime) -> list[ClockOutcome]:
    """Every clock of every ticket opened before the period's end, replayed and classified at that end."""
    require_staff(actor, "read SLA reports")
    _check(period, (), None)
    return _replayed_outcomes(session, period, now)


def _replayed_outcomes(session: Session, period: Period, now: datetime) -> list[ClockOutcome]:
    outcomes: list[ClockOutcome] = []
    for ticket in session.scalars(select(Ticket).where(Ticket.opened_at < period.end).order_by(Ticket.id)):
        report = replay_events(ticket_policy(session, ticket), load_events(session, ticket.id), now)
        labels = TicketLabels(
            ticket_id=ticket.id,
            organisation_id=ticket.organisation_id,
            team_id=ticket.team_id,
            assignee_id=ticket.assignee_id,
            tier=ticket.tier,
            policy_id=ticket.policy_id,
            policy_version=ticket.policy_version,
        )
        outcomes.extend(outcomes_of(report, labels, period.end, now))
    return outcomes


def _check(period: Period, by: Sequence[str], tickets_per_cell: int | None) -> tuple[Dimension, ...]:
    if period.start.tzinfo is None or period.end.tzinfo is None:
        raise InvalidFieldError("period", "give the period's start and end with a UTC offset")
    if period.start >= period.end:
        raise InvalidFieldError("period", f"the period must end after it starts ({period.start} to {period.end})")
    dimensions: list[Dimension] = []
    for name in by:
        dimension = next((d for d in DIMENSIONS if d == name), None)
        if dimension is None:
            raise InvalidFieldError("by", f"no dimension {name!r} (known: {', '.join(DIMENSIONS)})")
        if dimension in dimensions:
            raise InvalidFieldError("by", f"{name!r} is given twice")
        dimensions.append(dimension)
    if tickets_per_cell is not None and tickets_per_cell < 0:
        raise InvalidFieldError("tickets_per_cell", "give 0 or more")
    return tuple(dimensions)


def _classified(
    session: Session,
    period: Period,
    now: datetime,
    dimensions: Sequence[Dimension],
    *,
    metrics: Sequence[str] | None = None,
    labelled: bool = False,
    where: Sequence[ColumnElement[bool]] = (),
) -> Select[Any]:
    """Each stored clock of a ticket opened before the period's end, classified at that end.

    Its group comes as the ticket's plain columns (`_raw_columns`), or with `labelled` as one label per
    dimension (the severity's code worked out in SQL).
    """
    clock = SlaClock  # each row carries its ticket's labels: no join with tickets
    end = period.end
    breach = case((clock.excuse.is_not(None), literal(Outcome.EXCUSED.value)), else_=literal(Outcome.BREACHED.value))
    earlier = and_(clock.earlier_breach_at.is_not(None), clock.earlier_breach_at < end, clock.earlier_breach_at < now)
    stopped = and_(clock.stopped_at.is_not(None), clock.stopped_at < end, clock.stopped_at <= now)
    started = and_(clock.started_at.is_not(None), clock.started_at < end)
    due_passed = and_(clock.due_at.is_not(None), clock.due_at < end, clock.due_at < now)
    in_time = clock.stopped_at <= clock.due_at
    outcome = case(
        (earlier, breach),
        (clock.target_seconds.is_(None), literal(Outcome.NO_TARGET.value)),
        (~started, literal(Outcome.NOT_STARTED.value)),
        (and_(stopped, in_time, clock.stop_cancels.is_(True)), literal(Outcome.CANCELLED.value)),
        (and_(stopped, in_time), literal(Outcome.MET.value)),
        (stopped, breach),
        (due_passed, breach),
        else_=literal(Outcome.RUNNING.value),
    )
    at = case(
        (earlier, clock.earlier_breach_at),
        (and_(clock.target_seconds.is_(None), stopped), clock.stopped_at),
        (clock.target_seconds.is_(None), null()),
        (~started, null()),
        (and_(stopped, in_time), clock.stopped_at),
        (stopped, clock.due_at),
        (due_passed, clock.due_at),
        else_=null(),
    )
    goal_passed = and_(clock.goal_at.is_not(None), clock.goal_at < end, clock.goal_at < now)
    goal = case(
        (or_(clock.goal_seconds.is_(None), ~started), null()),
        (and_(stopped, clock.goal_at.is_(None)), null()),
        (and_(stopped, clock.stopped_at <= clock.goal_at, clock.stop_cancels.is_(True)), null()),
        (and_(stopped, clock.stopped_at <= clock.goal_at), literal(_GOAL_MET)),
        (stopped, literal(_GOAL_MISSED)),
        (goal_passed, literal(_GOAL_PASSED)),
        else_=null(),
    )
    breach_slot = case((clock.excuse.is_not(None), 2), else_=1)  # Outcome's order: breached, excused
    outcome_slot = case(
        (earlier, len(Outcome) + breach_slot - 1),
        (clock.target_seconds.is_(None), _slot(Outcome.NO_TARGET)),
        (~started, _slot(Outcome.NOT_STARTED)),
        (and_(stopped, in_time, clock.stop_cancels.is_(True)), _slot(Outcome.CANCELLED)),
        (and_(stopped, in_time), _slot(Outcome.MET)),
        (stopped, breach_slot),
        (due_passed, breach_slot),
        else_=_slot(Outcome.RUNNING),
    )
    # a goal counts for a decided clock: any stopped one, or one breached while still running
    judged_running = or_(earlier, due_passed)
    part = case((earlier, 2), else_=0)
    goal_slot = case(
        {
            _GOAL_MET: len(_SLOT_OUTCOMES) + part,
            _GOAL_MISSED: len(_SLOT_OUTCOMES) + 1 + part,
            _GOAL_PASSED: case((judged_running, len(_SLOT_OUTCOMES) + 1 + part), else_=null()),
        },
        value=goal,
        else_=null(),
    )
    tally = _tally(period.start, earlier, stopped, started, due_passed, in_time, goal_passed)
    groups: list[Any]
    if labelled:
        labels: dict[Dimension, Any] = {
            "tier": clock.tier,
            "organisation": clock.organisation_id,
            "team": clock.team_id,
            "assignee": clock.assignee_id,
            "policy_version": clock.policy_id.concat(" v").concat(cast(clock.policy_version, String)),
        }
        if "severity" in dimensions:
            labels["severity"] = case(
                (and_(earlier, clock.earlier_breach_severity.is_not(None)), clock.earlier_breach_severity),
                *_severity_branches(session),
                else_=cast(clock.severity_rank, String),
            )
        groups = [labels[d].label(d) for d in dimensions]
    else:
        columns = {
            "policy_id": clock.policy_id,
            "policy_version": clock.policy_version,
            "severity_rank": clock.severity_rank,
            "earlier_breach_severity": clock.earlier_breach_severity,
            "tier": clock.tier,
            "organisation_id": clock.organisation_id,
            "team_id": clock.team_id,
            "assignee_id": clock.assignee_id,
        }
        groups = [columns[name].label(name) for name in _raw_columns(dimensions)]
    statement = select(
        clock.ticket_id,
        clock.metric,
        outcome.label("outcome"),
        at.label("at"),
        goal.label("goal"),
        case((earlier, 1), else_=0).label("earlier"),
        outcome_slot.label("outcome_slot"),
        goal_slot.label("goal_slot"),
        tally.label("tally"),
        clock.excuse,
        case((stopped, clock.stopped_at), else_=null()).label("stopped_at"),
        clock.stop_cancels,
        (clock.counted_microseconds // 1_000_000).label("counted_seconds"),
        clock.target_seconds,
        *groups,
    ).where(clock.opened_at < end, *where)
    if metrics is not None:
        statement = statement.where(clock.metric.in_(list(metrics)))
    return statement


def _tallies(
    session: Session, classified: Any, where: ColumnElement[bool], keys: Sequence[Any]
) -> dict[tuple[Any, ...], list[int]]:
    """The slot counts of each group of `keys`.

    On PostgreSQL each clock adds 10**(12 x slot) for its outcome and its goal to one NUMERIC sum per
    group: the groups are plain columns, which the planner estimates well and aggregates in parallel
    workers, and each clock is classified once. SQLite groups on the slots themselves.
    """
    outcome_slot, goal_slot = classified.c.outcome_slot, classified.c.goal_slot
    found: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * _SLOTS)
    if session.get_bind().dialect.name == "postgresql":
        for row in session.execute(select(*keys, func.sum(classified.c.tally)).group_by(*keys)):
            total = int(row[-1])
            for slot in range(_SLOTS):
                total, found[tuple(row[:-1])][slot] = divmod(total, 10**_SLOT_DIGITS)
        return found
    for row in session.execute(
        select(*keys, outcome_slot, goal_slot, func.count()).where(where).group_by(*keys, outcome_slot, goal_slot)
    ):
        counts = found[tuple(row[:-3])]
        counts[row[-3]] += row[-1]
        if row[-2] is not None:
            counts[row[-2]] += row[-1]
    return found


def _tally(
    start: datetime,
    earlier: ColumnElement[bool],
    stopped: ColumnElement[bool],
    started: ColumnElement[bool],
    due_passed: ColumnElement[bool],
    in_time: ColumnElement[bool],
    goal_passed: ColumnElement[bool],
) -> ColumnElement[Any]:
    """What one clock adds to its group's sum on PostgreSQL: 10**(12 x slot) for its outcome and for its goal,
    or 0 for a clock decided before the period's start.

    The same classification as `outcome_slot`, `goal_slot` and the period filter on `at` together, written
    as one CASE whose branches hold the period and goal tests they need: each clock runs through one
    branch, where the three separate expressions would each run the whole classification again.
    """
    clock = SlaClock
    zero: ColumnElement[Any] = literal_column("0")

    def weight(slot: int) -> ColumnElement[Any]:
        return literal_column(f"1e{_SLOT_DIGITS * slot}")

    def goal(part: int, passed_counts: bool) -> ColumnElement[Any]:
        met, missed = len(_SLOT_OUTCOMES) + part, len(_SLOT_OUTCOMES) + 1 + part
        decided = and_(stopped, clock.goal_at.is_not(None))
        branches: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = [
            (or_(clock.goal_seconds.is_(None), ~started), zero),
            (and_(decided, clock.stopped_at <= clock.goal_at, clock.stop_cancels.is_(True)), zero),
            (and_(decided, clock.stopped_at <= clock.goal_at), weight(met)),
            (decided, weight(missed)),
        ]
        if passed_counts:
            branches.append((and_(~stopped, goal_passed), weight(missed)))
        return case(*branches, else_=zero)

    def breach(slot: int) -> ColumnElement[Any]:
        return case((clock.excuse.is_not(None), weight(slot + 1)), else_=weight(slot))

    def since_start(instant: Any, counted: ColumnElement[Any]) -> ColumnElement[Any]:
        # as the period filter reads `at`: counted unless decided before the start (an instant of NULL counts)
        return case((instant < start, zero), else_=counted)

    return case(
        (earlier, since_start(clock.earlier_breach_at, breach(len(Outcome)) + goal(2, True))),
        (
            clock.target_seconds.is_(None),
            case(
                (and_(stopped, clock.stopped_at < start), zero),
                else_=weight(_slot(Outcome.NO_TARGET)) + goal(0, False),
            ),
        ),
        (~started, weight(_slot(Outcome.NOT_STARTED))),
        (
            and_(stopped, in_time, clock.stop_cancels.is_(True)),
            since_start(clock.stopped_at, weight(_slot(Outcome.CANCELLED)) + goal(0, False)),
        ),
        (and_(stopped, in_time), since_start(clock.stopped_at, weight(_slot(Outcome.MET)) + goal(0, False))),
        (stopped, since_start(clock.due_at, breach(_slot(Outcome.BREACHED)) + goal(0, False))),
        (due_passed, since_start(clock.due_at, breach(_slot(Outcome.BREACHED)) + goal(0, True))),
        else_=weight(_slot(Outcome.RUNNING)) + goal(0, False),
    )


def _slot(outcome: Outcome) -> int:
    return list(Outcome).index(outcome)


def _raw_columns(dimensions: Sequence[Dimension]) -> list[str]:
    """The ticket and clock columns a grouping by `dimensions` needs, each once."""
    needs: dict[Dimension, tuple[str, ...]] = {
        "severity": ("policy_id", "policy_version", "severity_rank", "earlier_breach_severity"),
        "tier": ("tier",),
        "organisation": ("organisation_id",),
        "team": ("team_id",),
        "assignee": ("assignee_id",),
        "policy_version": ("policy_id", "policy_version"),
    }
    names: list[str] = []
    for dimension in dimensions:
        names.extend(name for name in needs[dimension] if name not in names)
    return names


class _SeverityCodes:
    """Severity codes by policy version and rank, read from the policies as they are needed."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._codes: dict[tuple[str, int], dict[int, str]] = {}

    def code(self, policy_id: str, version: int, rank: int) -> str:
        if (policy_id, version) not in self._codes:
            policy = policy_at(self._session, policy_id, version)
            self._codes[policy_id, version] = {severity.rank: severity.code for severity in policy.severities}
        return self._codes[policy_id, version].get(rank, str(rank))


def _group_of_raw(
    dimensions: Sequence[Dimension], values: dict[str, Any], earlier: bool, codes: _SeverityCodes
) -> Group:
    """A group's labels from its plain columns; `earlier`: counted under the severity of an earlier breach."""

    def label(dimension: Dimension) -> str | None:
        if dimension == "severity":
            if earlier and values["earlier_breach_severity"] is not None:
                return str(values["earlier_breach_severity"])
            return codes.code(values["policy_id"], values["policy_version"], values["severity_rank"])
        if dimension == "policy_version":
            return policy_version_label(values["policy_id"], values["policy_version"])
        value = values[f"{dimension}_id" if dimension in ID_DIMENSIONS else dimension]
        return None if value is None else str(value)

    return tuple((dimension, label(dimension)) for dimension in dimensions)


def _severity_branches(session: Session) -> list[tuple[ColumnElement[bool], str]]:
    """A CASE branch per severity of every policy version a ticket is pinned to: its rank -> its code."""
    branches: list[tuple[ColumnElement[bool], str]] = []
    pinned = session.execute(select(Ticket.policy_id, Ticket.policy_version).distinct()).all()
    for policy_id, version in sorted(pinned):
        for severity in policy_at(session, policy_id, version).severities:
            condition = and_(
                SlaClock.policy_id == policy_id,
                SlaClock.policy_version == version,
                SlaClock.severity_rank == severity.rank,
            )
            branches.append((condition, severity.code))
    return branches


def _first_tickets(
    session: Session, classified: Any, where: ColumnElement[bool], keys: Sequence[Any], limit: int | None
) -> list[Any]:
    """(keys..., ticket id) of the first `limit` tickets by id of each cell of `keys` (None: all)."""
    if limit == 0:
        return []
    ticket_id = classified.c.ticket_id
    if limit is None:
        return list(session.execute(select(*keys, ticket_id).where(where).order_by(ticket_id)))
    ranked = (
        select(*keys, ticket_id, func.row_number().over(partition_by=keys, order_by=ticket_id).label("rank"))
        .where(where)
        .subquery()
    )
    return list(
        session.execute(
            select(*(ranked.c[key.name] for key in keys), ranked.c.ticket_id)
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.ticket_id)
        )
    )


def _attainment_tickets(
    session: Session, classified: Any, where: ColumnElement[bool], raw: Sequence[str], limit: int | None
) -> dict[tuple[Any, ...], list[int]]:
    """Ticket ids by (metric, plain columns..., earlier, outcome)."""
    keys = [classified.c.metric, *(classified.c[name] for name in raw), classified.c.earlier, classified.c.outcome]
    found: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row in _first_tickets(session, classified, where, keys, limit):
        found[tuple(row[:-1])].append(row[-1])
    return found


def _times_tickets(
    session: Session, classified: Any, dimensions: Sequence[Dimension], limit: int | None
) -> dict[tuple[str, Group], list[int]]:
    """Ticket ids by (metric, group) of the labelled clocks that stopped in the period."""
    keys = [classified.c.metric, *(classified.c[d] for d in dimensions)]
    found: dict[tuple[str, Group], list[int]] = defaultdict(list)
    for row in _first_tickets(session, classified, classified.c.stopped_at.is_not(None), keys, limit):
        found[row[0], _group(dimensions, row[1:-1])].append(row[-1])
    return found


def _group(dimensions: Sequence[Dimension], values: Sequence[Any]) -> Group:
    return tuple((d, None if v is None else str(v)) for d, v in zip(dimensions, values, strict=True))


def _names(session: Session, groups: Iterable[Group]) -> dict[tuple[Dimension, str], str]:
    """The names behind the organisation, team and assignee ids the groups show."""
    wanted: dict[Dimension, set[int]] = defaultdict(set)
    for group in groups:
        for dimension, value in group:
            if value is not None and dimension in ("organisation", "team", "assignee"):
                wanted[dimension].add(int(value))
    names: dict[tuple[Dimension, str], str] = {}
    tables: dict[Dimension, Any] = {"organisation": Organisation, "team": Team, "assignee": User}
    for dimension, ids in wanted.items():
        table = tables[dimension]
        for row_id, name in session.execute(select(table.id, table.name).where(table.id.in_(sorted(ids)))):
            names[dimension, str(row_id)] = name
    return names


__all__ = [
    "TICKETS_PER_CELL",
    "attainment_by_replay",
    "attainment_report",
    "replayed_outcomes",
    "tickets_behind",
    "times_by_replay",
    "times_report",
]
