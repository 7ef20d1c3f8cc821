"""Clock outcomes at a period's end, from replayed histories with instants worked out by hand.

Alleo: Sev1 first response 4 working hours in Mon-Fri 08:00-17:00 America/New_York (EST, UTC-5 in
December), Sev3 2 business days (18 h). A Sev1 opened Mon 7 Dec 2026 09:00 is due at 13:00.
Sourcegraph: p1 first response due 24 h, goal 2 h, calendar time; its Cloud tier's target is
informational with no aim (no due, no goal).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sladesk.policy import load_policy
from sladesk.reports.model import ClockOutcome, Outcome, TicketLabels
from sladesk.reports.outcomes import outcomes_of
from sladesk.sla import TicketFacts, replay
from sladesk.sla.events import parse_events

LABELS = TicketLabels(
    ticket_id=7, organisation_id=3, team_id=None, assignee_id=12, tier=None, policy_id="alleo", policy_version=2
)
NOW = "2026-12-15T12:00:00-05:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def first_response(
    events: list[Any], end: str, *, policy: str = "alleo", severity: int = 1, tier: str | None = None
) -> ClockOutcome:
    report = replay(load_policy(policy), TicketFacts(severity, tier), parse_events(events), at(NOW))
    [outcome] = [o for o in outcomes_of(report, LABELS, at(end), at(NOW)) if o.metric == "first_response"]
    return outcome


OPENED = {"at": "2026-12-07T09:00:00-05:00", "type": "opened"}


def reply(instant: str) -> dict:
    return {"at": instant, "type": "reply", "by": "agent"}


def test_a_reply_before_due_is_met_at_the_reply_with_its_working_time():
    outcome = first_response([OPENED, reply("2026-12-07T10:30:00-05:00")], "2026-12-14T00:00:00-05:00")
    assert (outcome.outcome, outcome.at, outcome.counted_seconds) == (Outcome.MET, at("2026-12-07T10:30-05:00"), 5400)
    assert (outcome.severity, outcome.target_seconds, outcome.stopped_at) == ("Sev1", 14400, outcome.at)
    assert (outcome.ticket_id, outcome.organisation_id, outcome.assignee_id, outcome.policy_version) == (7, 3, 12, 2)


def test_a_reply_after_the_periods_end_leaves_the_clock_running_in_that_period():
    outcome = first_response([OPENED, reply("2026-12-07T10:30:00-05:00")], "2026-12-07T10:00:00-05:00")
    assert (outcome.outcome, outcome.at, outcome.counted_seconds, outcome.stopped_at) == (
        Outcome.RUNNING,
        None,
        None,
        None,
    )


def test_a_due_instant_breaches_only_once_it_has_passed():
    assert first_response([OPENED], "2026-12-07T13:00:00-05:00").outcome is Outcome.RUNNING
    breached = first_response([OPENED], "2026-12-07T13:00:01-05:00")
    assert (breached.outcome, breached.at) == (Outcome.BREACHED, at("2026-12-07T13:00-05:00"))


def test_a_late_reply_is_a_breach_at_the_due_instant_whichever_period_end_reads_it():
    events = [OPENED, reply("2026-12-07T14:00:00-05:00")]
    before_reply = first_response(events, "2026-12-07T13:30:00-05:00")
    after_reply = first_response(events, "2026-12-14T00:00:00-05:00")
    assert (before_reply.outcome, before_reply.at, before_reply.counted_seconds) == (
        Outcome.BREACHED,
        at("2026-12-07T13:00-05:00"),
        None,
    )
    assert (after_reply.outcome, after_reply.at, after_reply.counted_seconds) == (
        Outcome.BREACHED,
        at("2026-12-07T13:00-05:00"),
        18000,
    )


def test_closing_before_any_reply_cancels_in_time_and_breaches_late():
    closed = {"at": "2026-12-07T10:00:00-05:00", "type": "status", "to": "closed"}
    cancelled = first_response([OPENED, closed], "2026-12-14T00:00:00-05:00")
    assert (cancelled.outcome, cancelled.at, cancelled.stop_cancels) == (
        Outcome.CANCELLED,
        at("2026-12-07T10:00-05:00"),
        True,
    )
    late = first_response([OPENED, {**closed, "at": "2026-12-07T15:00:00-05:00"}], "2026-12-14T00:00:00-05:00")
    assert (late.outcome, late.at, late.stop_cancels) == (Outcome.BREACHED, at("2026-12-07T13:00-05:00"), True)


def test_a_breach_before_a_downgrade_counts_under_the_earlier_severity():
    events = [
        OPENED,
        {"at": "2026-12-08T09:00:00-05:00", "type": "severity", "to": 3, "reason": "a question"},
        reply("2026-12-08T10:00:00-05:00"),  # Sev3 is due Wed 9 Dec 09:00: met under Sev3
    ]
    counted = first_response(events, "2026-12-14T00:00:00-05:00")
    assert (counted.outcome, counted.at, counted.severity) == (Outcome.BREACHED, at("2026-12-07T13:00-05:00"), "Sev1")
    assert (counted.counted_seconds, counted.target_seconds) == (36000, 64800)
    earlier = first_response(events, "2026-12-07T12:00:00-05:00")  # before the Sev1 due passed
    assert (earlier.outcome, earlier.severity) == (Outcome.RUNNING, "Sev3")


def test_a_breach_of_a_ticket_caused_by_an_outside_incident_is_excused_with_its_reason():
    events = [
        OPENED,
        {"at": "2026-12-07T09:30:00-05:00", "type": "outside_incident", "set": True, "reason": "Cloud outage"},
        reply("2026-12-07T14:00:00-05:00"),
    ]
    outcome = first_response(events, "2026-12-14T00:00:00-05:00")
    assert (outcome.outcome, outcome.at, outcome.excuse) == (
        Outcome.EXCUSED,
        at("2026-12-07T13:00-05:00"),
        "Cloud outage",
    )


def test_a_ticket_opened_after_the_periods_end_has_no_outcomes():
    report = replay(load_policy("alleo"), TicketFacts(1), parse_events([OPENED]), at(NOW))
    assert outcomes_of(report, LABELS, at("2026-12-07T09:00:00-05:00"), at(NOW)) == []


def test_a_goal_is_met_by_a_reply_within_it_and_missed_by_a_later_one():
    opened = {"at": "2026-12-07T09:00:00Z", "type": "opened"}
    end = "2026-12-14T00:00:00Z"
    within = first_response([opened, reply("2026-12-07T10:59:00Z")], end, policy="sourcegraph", tier="enterprise")
    late = first_response([opened, reply("2026-12-07T12:00:00Z")], end, policy="sourcegraph", tier="enterprise")
    unanswered = first_response([opened], "2026-12-07T12:00:00Z", policy="sourcegraph", tier="enterprise")
    assert (within.outcome, within.goal_met) == (Outcome.MET, True)
    assert (late.outcome, late.goal_met, late.counted_seconds) == (Outcome.MET, False, 10800)
    assert (unanswered.outcome, unanswered.goal_met) == (Outcome.RUNNING, False)


def test_an_informational_target_counts_as_no_target_at_its_stop():
    opened = {"at": "2026-12-07T09:00:00Z", "type": "opened"}
    events = [opened, reply("2026-12-08T09:00:00Z")]
    answered = first_response(events, "2026-12-14T00:00:00Z", policy="sourcegraph", tier="cloud")
    assert (answered.outcome, answered.at, answered.counted_seconds) == (
        Outcome.NO_TARGET,
        at("2026-12-08T09:00:00Z"),
        86400,
    )
    waiting = first_response(events, "2026-12-08T00:00:00Z", policy="sourcegraph", tier="cloud")
    assert (waiting.outcome, waiting.at) == (Outcome.NO_TARGET, None)
