"""Events + policy + ticket facts -> the state of every metric at an instant (docs/clocks.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sladesk.clock import Calendar
from sladesk.policy import ClockRule, Policy, SeveritySpec
from sladesk.policy.policy import Situation
from sladesk.sla.events import CategoryEvent, Event, PathEvent, SeverityEvent, TicketFacts, TierEvent, TriagedEvent
from sladesk.sla.history import History, StatusSpan, build_history
from sladesk.sla.state import ClockInstants, ClockReading, MetricState, read_clock


@dataclass(frozen=True)
class Pause:
    start: datetime
    end: datetime | None
    status: str


@dataclass(frozen=True)
class MetricReport:
    """One metric's clock at `now`: the instants the events fixed, how they read at `now`, and what the
    explanation needs to retrace them."""

    rule: ClockRule
    instants: ClockInstants
    reading: ClockReading
    pauses: tuple[Pause, ...]
    segments: tuple[tuple[datetime, datetime], ...]  # counted stretches up to the stop or now
    tail_from: datetime | None  # where counting goes on after the known history, if it does

    @property
    def metric_id(self) -> str:
        return self.rule.metric_id

    @property
    def calendar(self) -> Calendar:
        return self.rule.calendar

    @property
    def state(self) -> MetricState:
        return self.reading.state

    @property
    def started_at(self) -> datetime | None:
        return self.instants.started_at

    @property
    def stopped_at(self) -> datetime | None:
        return self.instants.stopped_at

    @property
    def stop_reason(self) -> str | None:
        return self.instants.stop_reason

    @property
    def due(self) -> datetime | None:
        return self.instants.due

    @property
    def goal(self) -> datetime | None:
        return self.instants.goal

    @property
    def warning_at(self) -> datetime | None:
        return self.instants.warning_at

    @property
    def cycle(self) -> int:
        return self.instants.cycle

    @property
    def counted_seconds(self) -> int:
        return self.reading.counted_seconds

    @property
    def remaining_seconds(self) -> int | None:
        return self.reading.remaining_seconds

    @property
    def percent_used(self) -> float | None:
        return self.reading.percent_used

    @property
    def excused(self) -> str | None:
        return self.reading.excused


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
        """The `sladesk sla replay` output of docs/clocks.md."""
        return {
            "policy": self.policy.id,
            "severity": self.severity.code,
            "status": self.history.status,
            "now": self._instant(self.now),
            "metrics": {metric_id: self._metric_json(m) for metric_id, m in self.metrics.items()},
            **({"path": self.history.path} if self.history.path else {}),
            **(
                {
                    "awaiting_triage": self.history.awaiting_triage,
                    "requested_severity": self.history.requested_severity.code,
                }
                if self.history.requested_severity is not None
                else {}
            ),
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
            "goal_met": report.reading.goal_met,
            **({"informational": True} if report.rule.informational else {}),
            **({"target_case": report.rule.case} if report.rule.case else {}),
            **(
                {"earlier_breach": {"due": self._instant(due), "severity": report.instants.earlier_breach_severity}}
                if (due := report.instants.earlier_breach_at) is not None
                else {}
            ),
        }

    def _instant(self, instant: datetime | None) -> str | None:
        return instant.astimezone(self.policy.tz).isoformat() if instant is not None else None


def replay(policy: Policy, ticket: TicketFacts, events: Sequence[Event], now: datetime) -> ReplayReport:
    """The state of every metric of the policy for this ticket at `now`.

    A breach reached under the severity in force at that moment stays history: each clock says when
    it fell due under an earlier severity, even if a later change would have met the new target.
    """
    report = _replay_once(policy, ticket, events, now)
    earlier = _earlier_breaches(policy, ticket, events, now)
    if not earlier:
        return report
    metrics = {
        metric_id: replace(
            metric,
            instants=replace(
                metric.instants,
                earlier_breach_at=earlier[metric_id][0],
                earlier_breach_severity=earlier[metric_id][1],
            ),
        )
        if metric_id in earlier
        else metric
        for metric_id, metric in report.metrics.items()
    }
    return ReplayReport(report.policy, report.history, metrics)


def _replay_once(policy: Policy, ticket: TicketFacts, events: Sequence[Event], now: datetime) -> ReplayReport:
    history = build_history(policy, ticket, events, now)
    severity = history.severity
    situation = Situation(history.category, history.tier, history.path)
    reports: dict[str, MetricReport] = {}
    for metric_id in _in_start_order(policy, severity, situation):
        rule = policy.clock_rule(severity, metric_id, situation)
        reports[metric_id] = _metric_report(rule, history, reports, policy)
    return ReplayReport(policy, history, {m: reports[m] for m in policy.metric_ids})


def _earlier_breaches(
    policy: Policy, ticket: TicketFacts, events: Sequence[Event], now: datetime
) -> dict[str, tuple[datetime, str]]:
    """For each metric, the first due instant that passed under a severity (or category, tier or resolution
    path) later changed: when, and under which severity."""
    found: dict[str, tuple[datetime, str]] = {}
    for index, event in enumerate(events):
        if not isinstance(event, _TARGET_CHANGES) or event.at > now or index == 0:
            continue
        before = _replay_once(policy, ticket, events[:index], event.at)
        for metric_id, metric in before.metrics.items():
            if metric.state is MetricState.BREACHED and metric.due is not None and metric_id not in found:
                found[metric_id] = (metric.due, before.severity.code)
    return found


_TARGET_CHANGES = (SeverityEvent, TriagedEvent, CategoryEvent, TierEvent, PathEvent)


def _in_start_order(policy: Policy, severity: SeveritySpec, situation: Situation) -> list[str]:
    """Metrics ordered so that one started by another's stop comes after it."""
    ordered: list[str] = []
    remaining = list(policy.metric_ids)
    while remaining:
        for metric_id in remaining:
            start = policy.clock_rule(severity, metric_id, situation).start
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
        return _not_started(rule, now)
    cycle_start, stopped_at, stop_reason, cycle = _cycle(rule, history, base, policy)
    end = stopped_at or now
    pauses = tuple(
        Pause(max(span.start, cycle_start), _clip_end(span, end, stopped_at is not None), span.status)
        for span in history.status_spans
        if span.status in rule.pause_statuses and _overlaps(span, cycle_start, end)
    )
    count_from = _count_from(rule, cycle_start)
    segments = _segments(count_from, end, pauses) if count_from < end else []
    calendar = rule.calendar
    counted = sum((calendar.between(a, b) for a, b in segments), timedelta())
    paused_since = pauses[-1].start if stopped_at is None and pauses and pauses[-1].end is None else None
    tail_from = None if paused_since is not None else max(end, count_from)
    due_span, goal_span = rule.due, rule.goal
    if rule.releases is not None:
        releases = policy.releases_after(cycle_start, rule.releases)
        release_span = releases[-1] - count_from if len(releases) == rule.releases else None
        due_span, goal_span = (None, release_span) if rule.informational else (release_span, rule.goal)

    def reached(target: timedelta | None) -> datetime | None:
        return _instant_reaching(target, calendar, count_from, segments, tail_from)

    fraction = policy.spec.warning_fraction
    instants = ClockInstants(
        metric_id=rule.metric_id,
        calendar_id=rule.calendar_id,
        target_seconds=_seconds(due_span),
        goal_seconds=_seconds(goal_span),
        started_at=cycle_start,
        stopped_at=stopped_at,
        stop_reason=stop_reason,
        stop_cancels=_stopped_by_finishing(rule, history, stopped_at),
        due=reached(due_span),
        goal=reached(goal_span),
        warning_at=reached(due_span * fraction) if due_span is not None and fraction else None,
        counted=counted,
        counting_from=None if stopped_at is not None or paused_since is not None else max(now, count_from),
        paused_since=paused_since,
        excuse=history.outside_incident,
        cycle=cycle,
        earlier_breach_at=None,
        earlier_breach_severity=None,
    )
    return MetricReport(
        rule=rule,
        instants=instants,
        reading=read_clock(instants, calendar, now),
        pauses=pauses,
        segments=tuple(segments),
        tail_from=tail_from,
    )


def _count_from(rule: ClockRule, cycle_start: datetime) -> datetime:
    """Where counting begins: the cycle's start, or for elapsed time from the next opening, that opening."""
    if rule.opening_calendar is None:
        return cycle_start
    return rule.opening_calendar.add(cycle_start, timedelta())


def _seconds(duration: timedelta | None) -> int | None:
    return int(duration.total_seconds()) if duration is not None else None


def _stopped_by_finishing(rule: ClockRule, history: History, stopped_at: datetime | None) -> bool:
    """First response stopped by a resolve or close rather than by a public reply (cancelled if in time)."""
    return rule.metric.stop == "first_agent_reply" and stopped_at not in (None, history.first_agent_reply)


def _not_started(rule: ClockRule, now: datetime) -> MetricReport:
    instants = ClockInstants(
        metric_id=rule.metric_id,
        calendar_id=rule.calendar_id,
        target_seconds=_seconds(rule.due),
        goal_seconds=_seconds(rule.goal),
        started_at=None,
        stopped_at=None,
        stop_reason=None,
        stop_cancels=False,
        due=None,
        goal=None,
        warning_at=None,
        counted=timedelta(),
        counting_from=None,
        paused_since=None,
        excuse=None,
        cycle=1,
        earlier_breach_at=None,
        earlier_breach_severity=None,
    )
    reading = read_clock(instants, rule.calendar, now)
    return MetricReport(rule=rule, instants=instants, reading=reading, pauses=(), segments=(), tail_from=None)


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
        return calendar.add(start, timedelta())  # at once from a working instant, else at the next one
    counted = timedelta()
    for a, b in segments:
        worked = calendar.between(a, b)
        if counted + worked >= target:
            return calendar.add(a, target - counted)
        counted += worked
    return calendar.add(tail_from, target - counted) if tail_from is not None else None
