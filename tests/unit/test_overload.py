"""The overload notice: which tickets wait on support and how much of their target they used, when the desk
counts as overloaded, the notice's words, and the policy field's checks at their lines.

Sourcegraph: first response due 24 h (86,400 s) of calendar time in UTC for p1 and p2, the Cloud tier's
24 h tracked as an aim; its notice looks at the schedule `sourcegraph-support` and counts 3 tickets at or past
50% as overloaded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sladesk.errors import PolicyError
from sladesk.policy import builtin_source, load_policy, policy_from_text
from sladesk.policy.model import DEFAULT_OVERLOAD_TEXT, OverloadNoticeSpec, StatusKind
from sladesk.policy.words import rules_in_words
from sladesk.sla import ClockInstants, ClockReading, MetricState, TicketFacts, replay
from sladesk.sla.events import NoticeEvent, event_of, parse_events
from sladesk.sla.overload import WaitingTicket, arrival_words, notice_text, overload_notices, share_waited

RULE = OverloadNoticeSpec.model_validate(
    {"schedule": "support", "when": {"waiting_past": "50%", "at_least": 3}, "text": "Help at {arrival}."}
)
MONDAY_3PM_UTC = datetime.fromisoformat("2026-11-30T15:00:00+00:00")


def share(policy_id: str, severity: str, events: list[dict], now: str, tier: str | None = None, metrics=()):
    policy = load_policy(policy_id)
    report = replay(policy, TicketFacts(severity, tier), parse_events(events), datetime.fromisoformat(now))
    kind = policy.status(report.history.status).kind
    return share_waited(kind, [(m.instants, m.reading) for m in report.metrics.values()], metrics)


OPENED = {"at": "2026-11-25T10:00:00Z", "type": "opened", "by": "agent"}


def test_a_p2_unanswered_for_12_of_its_24_hours_has_used_half_its_target():
    # 10:00 to 22:00 is 43,200 of 86,400 seconds
    assert share("sourcegraph", "p2", [OPENED], "2026-11-25T22:00:00Z") == 0.5


def test_a_breached_p1_waits_past_its_whole_target():
    # 10:00 to 16:00 the next day is 30 h: 108,000 / 86,400
    assert share("sourcegraph", "p1", [OPENED], "2026-11-26T16:00:00Z") == 1.25


def test_a_ticket_answered_or_awaiting_the_customer_or_without_a_target_is_not_waiting():
    answered = [OPENED, {"at": "2026-11-25T11:00:00Z", "type": "reply", "by": "agent"}]
    assert share("sourcegraph", "p2", answered, "2026-11-25T22:00:00Z") is None
    awaiting = [OPENED, {"at": "2026-11-25T11:00:00Z", "type": "status", "to": "awaiting_customer"}]
    assert share("sourcegraph", "p2", awaiting, "2026-11-25T22:00:00Z") is None  # the ball is in their court
    assert share("sourcegraph", "p3", [OPENED], "2026-11-25T22:00:00Z") is None  # internal work: no target


def test_a_cloud_ticket_with_nothing_due_nor_aimed_at_is_not_waiting_on_a_target():
    assert share("sourcegraph", "p2", [OPENED], "2026-11-25T16:00:00Z", tier="cloud") is None


def test_an_informational_aim_counts_as_the_target():
    # an aim of 2 h (nothing due) with 1 h counted: half of it used
    started = datetime.fromisoformat("2026-11-25T10:00:00+00:00")
    aim = ClockInstants(
        metric_id="resolution",
        calendar_id="elapsed",
        target_seconds=None,
        goal_seconds=7200,
        started_at=started,
        stopped_at=None,
        stop_reason=None,
        stop_cancels=False,
        due=None,
        goal=None,
        warning_at=None,
        counted=timedelta(hours=1),
        counting_from=None,
        paused_since=None,
        excuse=None,
        cycle=1,
    )
    reading = ClockReading(MetricState.NONE, 3600, None, None, None, False, None)
    assert share_waited(StatusKind.OPEN, [(aim, reading)]) == 0.5
    assert share_waited(StatusKind.WAITING, [(aim, reading)]) is None


def test_the_rule_can_look_at_some_clocks_only():
    # Choozle S1 opened Mon 7 Dec 2026 09:00 Denver; at 10:00 the 2 h response has used 1 h of 2 and the
    # 1 business day (24 h in the business week) resolution 1 h of 24
    opened = [{"at": "2026-12-07T09:00:00-07:00", "type": "opened"}]
    assert share("choozle", "S1", opened, "2026-12-07T10:00:00-07:00") == 0.5
    assert share("choozle", "S1", opened, "2026-12-07T10:00:00-07:00", metrics=("resolution",)) == 1 / 24


def waiting(*shares: float, noticed: tuple[int, ...] = ()) -> list[WaitingTicket]:
    return [WaitingTicket(index, value, index in noticed) for index, value in enumerate(shares, start=1)]


def test_with_nobody_on_shift_every_waiting_ticket_not_told_yet_is_told():
    decision = overload_notices(RULE, waiting(0.1, 0.2, 0.9, noticed=(2,)), on_shift=False, arrival=MONDAY_3PM_UTC)
    assert (decision.cause, decision.arrival, decision.tickets) == ("nobody_on_shift", MONDAY_3PM_UTC, (1, 3))


def test_three_tickets_at_or_past_half_their_target_overload_a_staffed_desk():
    # 0.5 counts (at the share), 0.49 does not: three at or past it, so all four waiting tickets are told
    decision = overload_notices(RULE, waiting(0.5, 0.49, 0.75, 1.2), on_shift=True, arrival=MONDAY_3PM_UTC)
    assert (decision.cause, decision.tickets, decision.past_share) == ("load", (1, 2, 3, 4), 3)


def test_two_tickets_past_half_are_the_usual_load():
    decision = overload_notices(RULE, waiting(0.5, 0.49, 0.75), on_shift=True, arrival=MONDAY_3PM_UTC)
    assert (decision.cause, decision.tickets, decision.past_share) == (None, (), 2)


def test_without_a_load_rule_only_an_empty_shift_overloads_the_desk():
    rule = OverloadNoticeSpec(schedule="support")
    assert overload_notices(rule, waiting(1.0, 1.0, 1.0, 1.0), on_shift=True, arrival=MONDAY_3PM_UTC).cause is None
    assert overload_notices(rule, waiting(0.0), on_shift=False, arrival=MONDAY_3PM_UTC).tickets == (1,)


def test_without_a_next_shift_nobody_is_promised_help():
    decision = overload_notices(RULE, waiting(0.9), on_shift=False, arrival=None)
    assert (decision.cause, decision.tickets) == ("nobody_on_shift", ())


def test_the_arrival_is_written_in_the_readers_zone():
    assert (
        arrival_words(MONDAY_3PM_UTC, ZoneInfo("America/Chicago"))
        == "09:00 on Monday 30 November 2026 (America/Chicago)"
    )
    assert arrival_words(MONDAY_3PM_UTC, ZoneInfo("Asia/Kolkata")) == "20:30 on Monday 30 November 2026 (Asia/Kolkata)"
    assert notice_text(RULE, MONDAY_3PM_UTC, ZoneInfo("UTC")) == "Help at 15:00 on Monday 30 November 2026 (UTC)."


def test_the_default_text_says_when_help_arrives():
    assert notice_text(OverloadNoticeSpec(schedule="support"), MONDAY_3PM_UTC, ZoneInfo("Europe/Paris")) == (
        DEFAULT_OVERLOAD_TEXT.replace("{arrival}", "16:00 on Monday 30 November 2026 (Europe/Paris)")
    )


def test_the_notice_event_reads_as_its_text_and_moves_no_clock():
    event = event_of(
        "overload_notice",
        datetime.fromisoformat("2026-11-30T03:00:00+00:00"),
        {"arrival": "2026-11-30T15:00:00+00:00", "cause": "nobody_on_shift", "text": "Help at 15:00.", "notified": []},
    )
    assert isinstance(event, NoticeEvent) and event.public
    assert event.describe() == "Help at 15:00"  # the email adds the full stop
    policy = load_policy("sourcegraph")
    events = [*parse_events([{"at": "2026-11-30T01:00:00Z", "type": "opened"}]), event]
    report = replay(policy, TicketFacts("p2"), events, datetime.fromisoformat("2026-11-30T04:00:00+00:00"))
    first = report.metrics["first_response"]
    assert (first.state, first.counted_seconds, first.due) == (
        "running",
        3 * 3600,
        datetime.fromisoformat("2026-12-01T01:00:00+00:00"),
    )


def test_sourcegraph_says_its_notice_in_words():
    lines = rules_in_words(load_policy("sourcegraph"), MONDAY_3PM_UTC)
    assert lines[-1] == (
        "When nobody is on shift in the on-call schedule sourcegraph-support, or at least 3 waiting tickets have"
        " used 50% or more of a running target, each ticket waiting on support is told once when the next shift"
        ' starts: "We have an unusually large amount of work right now, so it may take us longer than usual to'
        ' answer. Team members arriving at {arrival} will be able to help you."'
    )


def problems_with(block: str) -> tuple[int, list[str]]:
    """Sourcegraph's policy with its `overload_notice` block replaced: the block's first line and the problems."""
    source = builtin_source("sourcegraph")
    start = source.index("overload_notice:\n")
    end = source.index("\ntiers:\n")
    with pytest.raises(PolicyError) as raised:
        policy_from_text(source[:start] + block + source[end:], "sourcegraph.yaml")
    return source.count("\n", 0, start) + 1, [str(problem) for problem in raised.value.problems]


def test_bad_values_of_the_notice_are_reported_at_their_lines():
    block = "overload_notice:\n  schedule: Sourcegraph Support\n  when:\n    waiting_past: 150%\n    at_least: 0\n"
    first, problems = problems_with(block)
    assert problems == [
        f"sourcegraph.yaml:{first + 1}: overload_notice.schedule: 'Sourcegraph Support' is not a schedule id:"
        " use 1 to 64 lower-case letters, digits, - and _",
        f"sourcegraph.yaml:{first + 3}: overload_notice.when.waiting_past: '150%': a share of the target is above"
        " 0% and at most 100%",
        f"sourcegraph.yaml:{first + 4}: overload_notice.when.at_least: Input should be greater than or equal to 1",
    ]


def test_the_clocks_the_load_looks_at_are_metrics_of_the_policy():
    block = "overload_notice:\n  schedule: sourcegraph-support\n  when: {waiting_past: 0.5, metrics: [resolution]}\n"
    first, problems = problems_with(block)
    assert problems == [
        f"sourcegraph.yaml:{first + 2}: overload_notice.when.metrics[0]: unknown metric 'resolution'"
        " (known: first_response)"
    ]


def test_the_text_must_say_when_help_arrives_and_nothing_else():
    block = "overload_notice:\n  schedule: sourcegraph-support\n  text: Help comes soon.\n  sheddule: x\n"
    first, problems = problems_with(block)
    assert problems == [
        f"sourcegraph.yaml:{first + 2}: overload_notice.text: the text must say when help arrives:"
        " put {arrival} in it",
        f"sourcegraph.yaml:{first + 3}: overload_notice.sheddule: unknown field 'sheddule'",
    ]
    block = "overload_notice:\n  schedule: sourcegraph-support\n  text: Help at {arrival}, {name}.\n"
    assert problems_with(block)[1] == [
        f"sourcegraph.yaml:{first + 2}: overload_notice.text: unknown placeholder {{name}}:"
        " the text knows only {arrival}",
    ]
