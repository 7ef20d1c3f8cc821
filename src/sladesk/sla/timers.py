"""The instants at which a ticket's clocks and rules must act, worked out from its history.

`plan_timers` is pure: the store keeps what it returns as timer rows, written with the change that caused
them, and a worker that claims a due row checks it against a fresh plan before acting, so a timer that a
later event made stale never acts.

Kinds:
- `warning`, `goal_missed`, `breached`: a counting clock reaches its warning, goal or due instant
  (`subject` is the metric);
- `close_notice`, `auto_close`: the policy's auto-close rule tells the customer, then moves the ticket;
- `comms_overdue`: a required internal or external update is overdue (`subject` is the channel);
- `notify`: a notification rule's `after` has passed since a moment, the clock still running (`subject` is
  `<moment>:<metric>:<rule index>`);
- `incident`, `page`: a paging severity starts the ticket's on-call incident (`subject` `start`), and each of
  its escalation steps falls due (`subject` `<round>:<step>`; `sladesk.sla.incidents`).
A moment already recorded in the history (an `sla`, `close_notice` or `comms` event for the same instant)
is not planned again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sladesk.policy import Policy
from sladesk.policy.model import AutoCloseSpec, Comms
from sladesk.sla.events import CloseNoticeEvent, CommsEvent, Event, NotifiedEvent, SlaEvent
from sladesk.sla.history import History
from sladesk.sla.incidents import START as INCIDENT_START
from sladesk.sla.incidents import page_times
from sladesk.sla.replay import ReplayReport

TimerKey = tuple[str, str | None, datetime]


@dataclass(frozen=True)
class PlannedTimer:
    kind: str
    subject: str | None  # the metric, or the comms channel
    at: datetime
    cycle: int = 1

    @property
    def key(self) -> TimerKey:
        return (self.kind, self.subject, self.at)


@dataclass(frozen=True)
class AutoClosePlan:
    """When an auto-close rule closes the ticket, and when the customer is told."""

    close_at: datetime
    notice_at: datetime | None
    rule: AutoCloseSpec


def plan_timers(report: ReplayReport, events: Sequence[Event]) -> list[PlannedTimer]:
    """Every instant the ticket's clocks and rules will act at, as of the report's `now`, earliest first."""
    done = _recorded(events)
    planned: list[PlannedTimer] = []
    for metric in report.metrics.values():
        instants = metric.instants
        if instants.counting_from is None:
            continue  # stopped, paused or not started: nothing falls due until the next event
        for kind, at in (("warning", instants.warning_at), ("goal_missed", instants.goal), ("breached", instants.due)):
            if kind == "warning" and instants.due is not None and instants.due <= report.now:
                continue  # already due: the breach says more than a warning could
            if at is not None and (kind, metric.metric_id, at) not in done:
                planned.append(PlannedTimer(kind, metric.metric_id, at, instants.cycle))
    closing = auto_close_plan(report.policy, report.history)
    if closing is not None:
        if closing.notice_at is not None and ("close_notice", None, closing.close_at) not in done:
            planned.append(PlannedTimer("close_notice", None, closing.notice_at))
        planned.append(PlannedTimer("auto_close", None, closing.close_at))
    for channel, due in comms_due(report.policy, report.history).items():
        if ("comms_overdue", channel, due) not in done:
            planned.append(PlannedTimer("comms_overdue", channel, due))
    planned += [timer for timer in delayed_notifications(report, events) if timer.key not in done]
    for subject, at in page_times(report, events):
        planned.append(PlannedTimer("incident" if subject == INCIDENT_START else "page", subject, at))
    return sorted(planned, key=lambda timer: (timer.at, timer.kind, timer.subject or ""))


def auto_close_plan(policy: Policy, history: History) -> AutoClosePlan | None:
    """The policy's auto-close for the ticket as it stands, or None when the rule does not apply now.

    The wait counts on the rule's calendar from the latest of: entering the status, support's "believed
    resolved" note (when the rule requires it) and the customer's last public reply.
    """
    rule = policy.spec.auto_close
    if rule is None or history.status not in rule.from_statuses:
        return None
    since = history.status_spans[-1].start
    if rule.requires == "believed_resolved":
        if history.believed_resolved_at is None:
            return None
        since = max(since, history.believed_resolved_at)
    if history.last_customer_reply is not None:
        since = max(since, history.last_customer_reply)
    calendar = policy.calendar(rule.calendar)
    wait = rule.after.on(calendar)
    close_at = calendar.add(since, wait)
    notice_at = None
    if rule.notice_before is not None:
        notice_at = calendar.add(since, max(wait - rule.notice_before.on(calendar), timedelta()))
    return AutoClosePlan(close_at, notice_at, rule)


def comms_due(policy: Policy, history: History) -> dict[str, datetime]:
    """For each communication the ticket's severity requires, when its next update is due (open tickets only).

    The count starts when the severity took effect and restarts at every update or reminder on that channel.
    """
    severity = history.severity
    cadence = severity.comms_update
    if cadence is None or policy.is_finished(history.status):
        return {}
    since = history.severity_changes[-1].at if history.severity_changes else history.opened_at
    calendar = policy.calendar(cadence.calendar)
    every = cadence.every.on(calendar)
    due: dict[str, datetime] = {}
    for channel, level in (("internal", severity.internal_comms), ("external", severity.external_comms)):
        if level is not Comms.REQUIRED:
            continue
        latest = max([since, *(at for name, at in history.comms_updates if name == channel and at >= since)])
        due[channel] = calendar.add(latest, every)
    return due


def delayed_notifications(report: ReplayReport, events: Sequence[Event]) -> list[PlannedTimer]:
    """For each clock moment in the history, the notification rules with an `after` that are still to come:
    while the clock that reached the moment runs in the same cycle."""
    policy = report.policy
    severity = report.severity.code
    planned: list[PlannedTimer] = []
    for event in events:
        if not isinstance(event, SlaEvent):
            continue
        metric = report.metrics.get(event.metric)
        if metric is None or metric.instants.counting_from is None or metric.instants.cycle != event.cycle:
            continue  # stopped or paused since, or a new cycle: nothing is still late
        for index, rule in enumerate(policy.spec.notifications):
            if rule.after is None or not rule.applies(event.moment, event.metric, severity):
                continue
            at = metric.calendar.add(event.reached_at, rule.after.on(metric.calendar))
            planned.append(PlannedTimer("notify", f"{event.moment}:{event.metric}:{index}", at, event.cycle))
    return planned


def _recorded(events: Sequence[Event]) -> set[TimerKey]:
    """The moments the history already holds, keyed as `PlannedTimer.key` would name them."""
    keys: set[TimerKey] = set()
    for event in events:
        if isinstance(event, SlaEvent):
            keys.add((event.moment, event.metric, event.reached_at))
        elif isinstance(event, CloseNoticeEvent):
            keys.add(("close_notice", None, event.close_at))
        elif isinstance(event, CommsEvent) and event.action == "overdue" and event.due_at is not None:
            keys.add(("comms_overdue", event.channel, event.due_at))
        elif isinstance(event, NotifiedEvent):
            keys.add(("notify", f"{event.moment}:{event.metric}:{event.rule}", event.due_at))
    return keys
