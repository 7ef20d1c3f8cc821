"""How a deadline was reached, in words: each working range counted, each day skipped and why, each pause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sladesk.clock import format_duration
from sladesk.sla.replay import MetricReport, ReplayReport
from sladesk.sla.state import MetricState


@dataclass(frozen=True, order=True)
class _Line:
    at: datetime
    order: int
    text: str


def explain(report: ReplayReport, metric_id: str | None = None) -> str:
    """The explanation of one metric, or of every metric of the report."""
    chosen = [metric_id] if metric_id else list(report.metrics)
    return "\n\n".join("\n".join(explain_metric(report, m)) for m in chosen)


def explain_metric(report: ReplayReport, metric_id: str) -> list[str]:
    metric = report.metrics[metric_id]
    rule = metric.rule
    policy = report.policy
    severity = report.severity
    lines = [f"{policy.name} ({policy.id}), {severity.code} ({severity.name}), {rule.metric.name} [{metric_id}]"]
    calendar_text = f"calendar {rule.calendar_id!r}: {rule.calendar.describe()}"
    if rule.due_words is None:
        lines.append(f"No target for {severity.code}: time is counted but nothing is due. Counted on {calendar_text}.")
    else:
        goal = f", goal {rule.goal_words}" if rule.goal_words else ""
        lines.append(f"Target: {rule.due_words}{goal}, counted on {calendar_text}.")
    if rule.pause_statuses:
        lines.append(f"Pauses while the status is: {', '.join(rule.pause_statuses)}.")
    for change in report.history.severity_changes:
        why = f" ({change.reason})" if change.reason else ""
        lines.append(
            f"Severity became {change.severity.code} at {_when(change.at, report)}{why}; "
            f"its target applies from the clock's original start."
        )
    if metric.started_at is None:
        lines.append(f"Not started: this clock starts at the {rule.start.replace('_', ' ')}, which has not happened.")
        return lines
    lines.append(_verdict(report, metric))
    lines.extend(_walk(report, metric))
    return lines


def _walk(report: ReplayReport, metric: MetricReport) -> list[str]:
    assert metric.started_at is not None
    calendar = metric.calendar
    tz = calendar.tz
    start = metric.started_at
    now = report.now
    ends = [x for x in (metric.due, metric.stopped_at) if x is not None]
    walk_end = max(ends) if ends else now
    if metric.stopped_at is None and metric.due is not None and metric.due < now:
        walk_end = now
    items: list[_Line] = []
    origin = "opened" if metric.rule.start == "opened" else f"{metric.rule.start.replace('_', ' ')} stopped"
    if metric.cycle > 1:
        origin = f"ticket reopened (cycle {metric.cycle})"
    items.append(_Line(start, 0, f"{_when(start, report)}  clock starts ({origin})."))
    first_working = calendar.next_working_instant(start)
    if first_working != start:
        items.append(_Line(start, 1, f"  outside working time: counting begins {_when(first_working, report)}."))
    for pause in metric.pauses:
        items.append(_Line(pause.start, 2, f"{_when(pause.start, report)}  paused: status {pause.status!r}."))
        if pause.end is not None and pause.end != metric.stopped_at:
            items.append(_Line(pause.end, 2, f"{_when(pause.end, report)}  resumed."))
    if metric.stopped_at is not None:
        items.append(
            _Line(
                metric.stopped_at,
                3,
                f"{_when(metric.stopped_at, report)}  clock stops: {metric.stop_reason}"
                f" ({format_duration(timedelta(seconds=metric.counted_seconds))} counted).",
            )
        )
        if metric.due is not None and metric.due > metric.stopped_at:
            items.append(
                _Line(metric.stopped_at, 4, "  after the stop, counting is projected to show the due instant.")
            )
    if metric.stopped_at is None and start <= now <= walk_end:
        items.append(_Line(now, 5, f"{_when(now, report)}  now."))

    counted_spans = [*metric.segments]
    if metric.tail_from is not None:
        counted_spans.append((metric.tail_from, datetime.max.replace(tzinfo=tz)))
    target = metric.rule.due
    total = timedelta()
    day = start.astimezone(tz).date()
    last_day = walk_end.astimezone(tz).date()
    while day <= last_day:  # an explanation lists days; the engine itself never steps like this
        day_start = datetime.combine(day, time(), tz)
        day_end = datetime.combine(day + timedelta(days=1), time(), tz)
        window_start, window_end = max(day_start, start), min(day_end, walk_end)
        ranges = calendar.working_ranges(window_start, window_end) if window_start < window_end else []
        label = day_start.strftime("%a %d %b %Y")
        if not ranges:
            reason = calendar.day_off_reason(day)
            if reason:
                items.append(_Line(day_start, 6, f"{label}  skipped: {reason}."))
        for range_start, range_end in ranges:
            for piece_start, piece_end, counts in _split(range_start, range_end, counted_spans):
                span = f"{_clock(piece_start.astimezone(tz))}-{_clock(piece_end.astimezone(tz), end=True)}"
                if counts:
                    # each line shows what it adds to the running total in whole seconds, so the lines add
                    # up to the total even when the instants carry fractions of a second
                    before = timedelta(seconds=int(total.total_seconds()))
                    total += piece_end - piece_start
                    worked = timedelta(seconds=int(total.total_seconds())) - before
                    of = f" of {format_duration(target)}" if target is not None else ""
                    projected = metric.stopped_at is not None and piece_start >= metric.stopped_at
                    verb = "would count" if projected else "counts"
                    text = f"{label}  {span}  {verb} {format_duration(worked)}  ({format_duration(total)}{of})"
                else:
                    text = f"{label}  {span}  not counted (paused)"
                items.append(_Line(piece_start, 6, text))
        day += timedelta(days=1)
    for label_text, instant in (("warning", metric.warning_at), ("goal", metric.goal), ("due", metric.due)):
        if instant is not None:
            items.append(_Line(instant, 7, f"{_when(instant, report)}  {label_text} reached."))
    return [item.text for item in sorted(items)]


def _split(
    start: datetime, end: datetime, counted: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime, bool]]:
    """Cut a working range into the parts that count and the parts that do not."""
    pieces: list[tuple[datetime, datetime, bool]] = []
    cursor = start
    for a, b in counted:
        lo, hi = max(a, start), min(b, end)
        if lo >= hi:
            continue
        if lo > cursor:
            pieces.append((cursor, lo, False))
        pieces.append((lo, hi, True))
        cursor = hi
    if cursor < end:
        pieces.append((cursor, end, False))
    return pieces


def _verdict(report: ReplayReport, metric: MetricReport) -> str:
    counted = format_duration(timedelta(seconds=metric.counted_seconds))
    state = metric.state
    if state is MetricState.NONE:
        return f"No target: {counted} counted so far."
    due = _when(metric.due, report, full=True) if metric.due else "not known while paused"
    text = {
        MetricState.MET: f"Met: stopped at or before the due instant {due}.",
        MetricState.BREACHED: f"Breached: due {due}.",
        MetricState.RUNNING: f"Running: due {due}.",
        MetricState.PAUSED: f"Paused: due {due}.",
        MetricState.NOT_STARTED: "Not started.",
        MetricState.CANCELLED: (
            f"Cancelled: the ticket was resolved or closed before the due instant {due} with no public reply, "
            "so the clock is neither met nor breached."
        ),
    }[state]
    if metric.remaining_seconds is not None and state is not MetricState.BREACHED:
        text += f" {format_duration(timedelta(seconds=metric.remaining_seconds))} of working time remains."
    if metric.excused:
        text += f" The breach is excused: {metric.excused}."
    if metric.instants.earlier_breach_at is not None:
        when = _when(metric.instants.earlier_breach_at, report)
        severity = metric.instants.earlier_breach_severity
        text += f" It was breached under {severity}, due {when}, before the severity changed."
    if metric.reading.goal_met is not None and metric.goal is not None:
        verdict = "met" if metric.reading.goal_met else "missed"
        text += f" The goal ({_when(metric.goal, report)}) was {verdict}."
    return text + f" Counted {counted}."


def _when(instant: datetime | None, report: ReplayReport, full: bool = False) -> str:
    if instant is None:
        return "-"
    local = instant.astimezone(report.policy.tz)
    if full:
        return f"{local.strftime('%A %d %B %Y %H:%M %Z')} ({local.isoformat()})"
    return local.strftime("%a %d %b %Y %H:%M %Z")


def _clock(instant: datetime, end: bool = False) -> str:
    if end and instant.hour == 0 and instant.minute == 0 and instant.second == 0:
        return "24:00"
    return instant.strftime("%H:%M")
