"""Events + policy + ticket facts -> the state of every metric at an instant (SEMANTICS.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sladesk.clock import Calendar
from sladesk.policy import ClockRule, Policy, SeveritySpec
from sladesk.sla.events import Event, TicketFacts
from sladesk.sla.history import History, StatusSpan, build_history


class MetricState(StrEnum):
    MET = "met"
    BREACHED = "breached"
    RUNNING = "running"
    PAUSED = "paused"
    NONE = "none"  # this severity has no target for the metric
    NOT_STARTED = "not_started"  # the event that starts the clock has not happened


@dataclass(frozen=True)
class Pause:
    start: datetime
    end: datetime | None
    status: str


@dataclass(frozen=True)
class MetricReport:
    """One metric's clock at `now`, with what the explanation needs to retrace it."""

    metric_id: str
    rule: ClockRule
    state: MetricState
    started_at: datetime | None
    stopped_at: datetime | None
    stop_reason: str | None
    due: datetime | None
    goal: datetime | None
    warning_at: datetime | None
    counted_seconds: int
    remaining_seconds: int | None
    percent_used: float | None
    excused: str | None
    cycle: int
    pauses: tuple[Pause, ...]
    segments: tuple[tuple[datetime, datetime], ...]  # counted stretches up to the stop or now
    tail_from: datetime | None  # where counting goes on after the known history, if it does

    @property
    def calendar(self) -> Calendar:
        return self.rule.calendar


@dataclass(frozen=True)
class ReplayReport:
    policy: Policy
    history: History
    metrics: dict[str, MetricReport]

    @property
    def severity(self) -> SeveritySpec:
        return self.history.severity

    @property
    def now(self) -> datetime:
        return self.history.now

    def to_json(self) -> dict[str, Any]:
        """The `sladesk sla replay` output of DESIGN.md."""
        return {
            "policy": self.policy.id,
            "severity": self.severity.code,
            "status": self.history.status,
            "now": self._instant(self.now),
            "metrics": {metric_id: self._metric_json(m) for metric_id, m in self.metrics.items()},
        }

    def _metric_json(self, report: MetricReport) -> dict[str, Any]:
        return {
            "state": report.state.value,
            "due": self._instant(report.due),
            "goal": self._instant(report.goal),
            "started_at": self._instant(report.started_at),
            "stopped_at": self._instant(report.stopped_at),
            "counted_seconds": report.counted_seconds,
            "remaining_seconds": report.remaining_seconds,
            "percent_used": report.percent_used,
            "calendar": report.rule.calendar_id,
            "warning_at": self._instant(report.warning_at),
            "excused": report.excused,
            "cycle": report.cycle,
        }

    def _instant(self, instant: datetime | None) -> str | None:
        return instant.astimezone(self.policy.tz).isoformat() if instant is not None else None


def replay(policy: Policy, ticket: TicketFacts, events: Sequence[Event], now: datetime) -> ReplayReport:
    """The state of every metric of the policy for this ticket at `now`."""
    history = build_history(policy, ticket, events, now)
    severity = history.severity
    reports: dict[str, MetricReport] = {}
    for metric_id in _in_start_order(policy, severity):
        reports[metric_id] = _metric_report(policy.clock_rule(severity, metric_id), history, reports, policy)
    return ReplayReport(policy, history, {m: reports[m] for m in policy.metric_ids})


def _in_start_order(policy: Policy, severity: SeveritySpec) -> list[str]:
    """Metrics ordered so that one started by another's stop comes after it."""
    ordered: list[str] = []
    remaining = list(policy.metric_ids)
    while remaining:
        for metric_id in remaining:
            start = policy.clock_rule(severity, metric_id).start
            if start == "opened" or start in ordered:
                ordered.append(metric_id)
                remaining.remove(metric_id)
                break
        else:
            ordered.extend(remaining)  # a start cycle: checks reject it, keep going safely
            break
    return ordered


def _metric_report(rule: ClockRule, history: History, done: dict[str, MetricReport], policy: Policy) -> MetricReport:
    now = history.now
    if rule.start == "opened":
        base: datetime | None = history.opened_at
    else:
        base = done[rule.start].stopped_at if rule.start in done else None
    if base is None:
        return _not_started(rule)
    cycle_start, stopped_at, stop_reason, cycle = _cycle(rule, history, base, policy)
    end = stopped_at or now
    pauses = tuple(
        Pause(max(span.start, cycle_start), _clip_end(span, end, stopped_at is not None), span.status)
        for span in history.status_spans
        if span.status in rule.pause_statuses and _overlaps(span, cycle_start, end)
    )
    segments = _segments(cycle_start, end, pauses)
    calendar = rule.calendar
    counted = sum((calendar.between(a, b) for a, b in segments), timedelta())
    paused_now = stopped_at is None and bool(pauses) and pauses[-1].end is None
    tail_from = None if paused_now else end

    def reached(target: timedelta | None) -> datetime | None:
        return _instant_reaching(target, calendar, cycle_start, segments, tail_from)

    due, goal = reached(rule.due), reached(rule.goal)
    fraction = policy.spec.warning_fraction
    warning_at = reached(rule.due * fraction) if rule.due is not None and fraction else None
    state = _state(rule, due, stopped_at, now, paused_now)
    target_seconds = int(rule.due.total_seconds()) if rule.due is not None else None
    counted_seconds = int(counted.total_seconds())
    remaining = None
    if target_seconds is not None and stopped_at is None:
        remaining = max(target_seconds - counted_seconds, 0)
    percent = round(counted_seconds / target_seconds * 100, 1) if target_seconds else None
    excused = history.outside_incident if state is MetricState.BREACHED else None
    return MetricReport(
        metric_id=rule.metric_id,
        rule=rule,
        state=state,
        started_at=cycle_start,
        stopped_at=stopped_at,
        stop_reason=stop_reason,
        due=due,
        goal=goal,
        warning_at=warning_at,
        counted_seconds=counted_seconds,
        remaining_seconds=remaining,
        percent_used=percent,
        excused=excused,
        cycle=cycle,
        pauses=pauses,
        segments=tuple(segments),
        tail_from=tail_from,
    )


def _not_started(rule: ClockRule) -> MetricReport:
    return MetricReport(
        metric_id=rule.metric_id,
        rule=rule,
        state=MetricState.NONE if rule.due is None else MetricState.NOT_STARTED,
        started_at=None,
        stopped_at=None,
        stop_reason=None,
        due=None,
        goal=None,
        warning_at=None,
        counted_seconds=0,
        remaining_seconds=int(rule.due.total_seconds()) if rule.due is not None else None,
        percent_used=0.0 if rule.due else None,
        excused=None,
        cycle=1,
        pauses=(),
        segments=(),
        tail_from=None,
    )


def _cycle(
    rule: ClockRule, history: History, base: datetime, policy: Policy
) -> tuple[datetime, datetime | None, str | None, int]:
    """The current cycle's start, its stop (if stopped by `now`) and why, and the cycle number."""
    finishes = [span.start for span in history.status_spans if span.start >= base and policy.is_finished(span.status)]
    finished_at_base = policy.is_finished(_status_at(history.status_spans, base))
    if rule.metric.stop == "first_agent_reply":
        reply = history.first_agent_reply
        candidates = [(t, "first public reply by an agent") for t in ([reply] if reply and reply >= base else [])]
        candidates += [(t, "the ticket was resolved or closed") for t in finishes[:1]]
        if finished_at_base:
            candidates.append((base, "the ticket was already resolved or closed"))
        if candidates:
            first_stop, first_reason = min(candidates, key=lambda c: c[0])
            return base, first_stop, first_reason, 1
        return base, None, None, 1
    # resolution: stops when the ticket is resolved or closed; reopening starts a new cycle
    cycle_start, cycle = base, 1
    stop: datetime | None = base if finished_at_base else None
    reason: str | None = "the ticket was already resolved or closed" if finished_at_base else None
    for span in history.status_spans:
        if span.start <= base:
            continue
        finished = policy.is_finished(span.status)
        if stop is None and finished:
            stop, reason = span.start, f"status became {span.status!r}"
        elif stop is not None and not finished:
            cycle_start, stop, reason, cycle = span.start, None, None, cycle + 1
    return cycle_start, stop, reason, cycle


def _status_at(spans: Sequence[StatusSpan], instant: datetime) -> str:
    current = spans[0].status
    for span in spans:
        if span.start <= instant:
            current = span.status
    return current


def _overlaps(span: StatusSpan, start: datetime, end: datetime) -> bool:
    return span.start <= end and (span.end is None or span.end > start)


def _clip_end(span: StatusSpan, end: datetime, stopped: bool) -> datetime | None:
    """A pause ends when its status does, or at the clock's stop; None while it goes on at `now`."""
    if span.end is not None and span.end <= end:
        return span.end
    return end if stopped else None


def _segments(start: datetime, end: datetime, pauses: Sequence[Pause]) -> list[tuple[datetime, datetime]]:
    segments: list[tuple[datetime, datetime]] = []
    cursor = start
    for pause in pauses:
        if pause.start > cursor:
            segments.append((cursor, min(pause.start, end)))
        cursor = max(cursor, pause.end if pause.end is not None else end)
    if cursor < end:
        segments.append((cursor, end))
    return segments


def _instant_reaching(
    target: timedelta | None,
    calendar: Calendar,
    start: datetime,
    segments: Sequence[tuple[datetime, datetime]],
    tail_from: datetime | None,
) -> datetime | None:
    """When counted time reaches `target`: inside a known stretch, or by counting on from `tail_from`."""
    if target is None:
        return None
    if target <= timedelta():
        return start
    counted = timedelta()
    for a, b in segments:
        worked = calendar.between(a, b)
        if counted + worked >= target:
            return calendar.add(a, target - counted)
        counted += worked
    return calendar.add(tail_from, target - counted) if tail_from is not None else None


def _state(
    rule: ClockRule, due: datetime | None, stopped_at: datetime | None, now: datetime, paused_now: bool
) -> MetricState:
    if rule.due is None:
        return MetricState.NONE
    if stopped_at is not None:
        assert due is not None
        return MetricState.MET if stopped_at <= due else MetricState.BREACHED
    if due is not None and now > due:
        return MetricState.BREACHED
    return MetricState.PAUSED if paused_now else MetricState.RUNNING
