"""The breach forecast, open tickets by age, breaches over time and the time split, worked by hand.

Sourcegraph: first response due 24 h (86,400 s) of calendar time in UTC for p1 and p2, no pause; p3 has
no targets. Alleo: Mon-Fri 08:00-17:00 New York, Thanksgiving and the Friday after it off. Choozle's
resolution pauses while waiting on a partner.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from sladesk.policy import load_policy
from sladesk.reports.breach_timeline import (
    ClockBreach,
    ReportFieldError,
    breach_instant,
    breaches_over_time,
)
from sladesk.reports.forecast import Coverage, ReasonKind, RunningClock, StoppedClock, forecast
from sladesk.reports.model import Period
from sladesk.reports.open_age import AGE_BUCKETS, OpenTicket, open_by_age
from sladesk.reports.time_split import LoggedTime, SplitRow, internal_severities, time_split
from sladesk.sla import TicketFacts, replay
from sladesk.sla.events import parse_events


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


H = 3600
OPENED_10 = {"at": "2026-11-25T10:00:00Z", "type": "opened", "by": "agent"}


def clock(
    policy_id: str, severity: str, events: list[dict], now: str, *, ticket_id: int = 1, metric: str = "first_response"
) -> RunningClock:
    """The ticket's clock `metric` as its events leave it, replayed at `now`."""
    policy = load_policy(policy_id)
    report = replay(policy, TicketFacts(severity), parse_events(events), at(now))
    instants = report.metrics[metric].instants
    status = report.history.status
    return RunningClock(
        ticket_id=ticket_id,
        policy_id=policy_id,
        severity=severity,
        status=status,
        waiting=policy.status(status).kind == "waiting",
        instants=instants,
        calendar=policy.calendar(instants.calendar_id),
    )


def stopped(counted_hours: float, stopped_at: str = "2026-11-20T12:00:00Z", severity: str = "p2") -> StoppedClock:
    return StoppedClock("sourcegraph", severity, "first_response", int(counted_hours * H), at(stopped_at))


# stopped p2 first responses after 2 h, 11 h, 20 h, 26 h and 30 h of calendar time
HISTORY = [stopped(2), stopped(11), stopped(20), stopped(26), stopped(30)]


def test_a_clock_whose_remaining_time_covers_the_median_still_needed_is_not_forecast():
    # at 20:00 it has counted 10 h and has 14 h left; the four that ran past 10 h needed 1, 10, 16 and 20 h
    # more: a median of 13 h, within the 14 h
    result = forecast(
        [clock("sourcegraph", "p2", [OPENED_10], "2026-11-25T20:00:00Z")], HISTORY, {}, at("2026-11-25T20:00:00Z")
    )
    assert result.rows == ()
    assert (result.running, result.paused) == (1, 0)


def test_a_clock_with_less_time_left_than_the_median_still_needed_will_breach_at_the_recent_pace():
    # at 22:00 it has counted 12 h and has 12 h left; the three that ran past 12 h needed 8, 14 and 18 h more
    now = at("2026-11-25T22:00:00Z")
    [row] = forecast([clock("sourcegraph", "p2", [OPENED_10], "2026-11-25T22:00:00Z")], HISTORY, {}, now).rows
    assert (row.ticket_id, row.metric, row.due, row.remaining_seconds) == (
        1,
        "first_response",
        at("2026-11-26T10:00:00Z"),
        12 * H,
    )
    assert [reason.kind for reason in row.reasons] == [ReasonKind.PACE]
    assert row.reason == (
        "At the recent pace: the 3 p2 first response clocks that stopped since 2026-10-26 22:00 UTC after"
        " counting more than this one's 12h needed a median of 14h more; 12h remain."
    )


def test_the_pace_needs_three_recent_clocks_of_the_same_severity_that_got_as_far():
    now = at("2026-11-25T22:00:00Z")
    running = [clock("sourcegraph", "p2", [OPENED_10], "2026-11-25T22:00:00Z")]
    old = [stopped(20), stopped(26), stopped(30, stopped_at="2026-10-26T21:59:00Z")]  # the last is 30 days + 1 min old
    assert forecast(running, old, {}, now).rows == ()
    other_severity = [stopped(20), stopped(26), stopped(30, severity="p1")]
    assert forecast(running, other_severity, {}, now).rows == ()


def test_nobody_on_shift_before_the_due_is_a_reason_and_a_shift_before_it_is_not():
    now = at("2026-11-25T22:00:00Z")
    running = [clock("sourcegraph", "p2", [OPENED_10], "2026-11-25T22:00:00Z")]  # due 26 Nov 10:00 UTC
    late = {("sourcegraph", "p2"): Coverage("sourcegraph-support", at("2026-11-26T15:00:00Z"))}
    [row] = forecast(running, [], late, now).rows
    assert row.reason == (
        "Nobody is on shift in the on-call schedule sourcegraph-support before the due at 2026-11-26 10:00 UTC:"
        " the next shift starts at 2026-11-26 15:00 UTC."
    )
    never = {("sourcegraph", "p2"): Coverage("sourcegraph-support", None)}
    assert forecast(running, [], never, now).rows[0].reason.endswith("no shift with someone on call lies ahead.")
    in_time = {("sourcegraph", "p2"): Coverage("sourcegraph-support", at("2026-11-26T09:59:00Z"))}
    assert forecast(running, [], in_time, now).rows == ()
    on_shift_now = {("sourcegraph", "p2"): Coverage("sourcegraph-support", now)}
    assert forecast(running, [], on_shift_now, now).rows == ()
    other_severity = {("sourcegraph", "p1"): Coverage("sourcegraph-support", None)}
    assert forecast(running, [], other_severity, now).rows == ()


def test_a_ticket_waiting_on_the_customer_whose_clock_does_not_pause_there_is_forecast():
    events = [OPENED_10, {"at": "2026-11-25T11:00:00Z", "type": "status", "to": "awaiting_customer"}]
    now = at("2026-11-25T12:00:00Z")
    [row] = forecast([clock("sourcegraph", "p2", events, "2026-11-25T12:00:00Z")], [], {}, now).rows
    assert (row.due, row.remaining_seconds) == (at("2026-11-26T10:00:00Z"), 22 * H)
    assert row.reason == (
        "The ticket is waiting (awaiting_customer), but its first response clock does not pause there:"
        " it runs out at 2026-11-26 10:00 UTC unless support acts first."
    )


def test_every_reason_that_applies_is_given_in_order_and_rows_come_by_due():
    now = at("2026-11-25T22:00:00Z")
    waiting = [OPENED_10, {"at": "2026-11-25T11:00:00Z", "type": "status", "to": "awaiting_customer"}]
    later = {"at": "2026-11-25T12:00:00Z", "type": "opened", "by": "agent"}
    running = [
        clock("sourcegraph", "p2", [later], "2026-11-25T22:00:00Z", ticket_id=7),
        clock("sourcegraph", "p2", waiting, "2026-11-25T22:00:00Z", ticket_id=9),
    ]
    coverage = {("sourcegraph", "p2"): Coverage("sourcegraph-support", None)}
    rows = forecast(running, HISTORY, coverage, now).rows
    assert [(row.ticket_id, row.due, [reason.kind for reason in row.reasons]) for row in rows] == [
        (9, at("2026-11-26T10:00:00Z"), ["pace", "nobody_on_shift", "waiting_while_running"]),
        (7, at("2026-11-26T12:00:00Z"), ["nobody_on_shift"]),  # 10 h counted, 14 h left: 13 h at the pace
    ]


def test_paused_breached_stopped_and_untargeted_clocks_are_not_forecast():
    now = "2026-12-01T12:00:00Z"
    opened = {"at": "2026-11-30T16:00:00Z", "type": "opened", "by": "agent"}  # Monday 09:00 in Denver
    partner = {"at": "2026-11-30T17:00:00Z", "type": "status", "to": "waiting_on_partner"}
    paused = clock("choozle", "S2", [opened, partner], now, metric="resolution")
    breached = clock("sourcegraph", "p2", [OPENED_10], now)  # due 26 Nov 10:00
    answered = clock(
        "sourcegraph", "p2", [OPENED_10, {"at": "2026-11-25T11:00:00Z", "type": "reply", "by": "agent"}], now
    )
    internal = clock("sourcegraph", "p3", [OPENED_10], now)
    coverage = {("choozle", "S2"): Coverage("x", None), ("sourcegraph", "p2"): Coverage("x", None)}
    result = forecast([paused, breached, answered, internal], [], coverage, at(now))
    assert (result.rows, result.running, result.paused) == ((), 0, 1)


def open_ticket(ticket_id: int, opened: str, severity: str = "Sev2", rank: int = 2) -> OpenTicket:
    return OpenTicket(ticket_id, "alleo", severity, rank, at(opened), load_policy("alleo").calendar("business"))


def test_open_tickets_fall_into_working_time_age_buckets_per_severity():
    now = at("2026-12-07T09:00:00-05:00")  # Monday 09:00 New York
    tickets = [
        open_ticket(1, "2026-12-07T08:30:00-05:00"),  # 30 m
        open_ticket(2, "2026-12-04T16:00:00-05:00"),  # Friday 16:00: 1 h Friday, 1 h Monday
        open_ticket(3, "2026-12-07T08:00:00-05:00"),  # exactly 1 h: the 1-4 h bucket
        open_ticket(4, "2026-12-01T09:00:00-05:00"),  # Tuesday 09:00: 8 + 9 + 9 + 9 + 1 = 36 h
        # Friday 20 Nov 09:00: 8 h, 27 h Mon-Wed, Thanksgiving and Friday off, 45 h the next week, 1 h = 81 h
        open_ticket(5, "2026-11-20T09:00:00-05:00", "Sev1", 1),
        open_ticket(6, "2026-11-02T09:00:00-05:00", "Sev1", 1),  # far more than 7 days of 24 working hours
    ]
    assert [bucket.label for bucket in AGE_BUCKETS] == ["under 1 h", "1-4 h", "4-24 h", "1-3 d", "3-7 d", "over 7 d"]
    rows = open_by_age(tickets, now)
    assert [(row.severity, row.tickets) for row in rows] == [
        ("Sev1", ((), (), (), (), (5,), (6,))),
        ("Sev2", ((1,), (2, 3), (), (4,), (), ())),
    ]
    assert [row.counts for row in rows] == [(0, 0, 0, 0, 1, 1), (1, 2, 0, 1, 0, 0)]


def test_a_breach_is_reached_when_the_due_passes_or_at_an_earlier_severitys_breach():
    late = (
        replay(
            load_policy("sourcegraph"),
            TicketFacts("p2"),
            parse_events([OPENED_10, {"at": "2026-11-26T11:00:00Z", "type": "reply", "by": "agent"}]),
            at("2026-11-27T00:00:00Z"),
        )
        .metrics["first_response"]
        .instants
    )
    assert breach_instant(late, at("2026-11-27T00:00:00Z")) == at("2026-11-26T10:00:00Z")
    running = clock("sourcegraph", "p2", [OPENED_10], "2026-11-26T10:00:00Z").instants
    assert breach_instant(running, at("2026-11-26T10:00:00Z")) is None  # due now: not yet breached
    assert breach_instant(running, at("2026-11-26T10:00:01Z")) == at("2026-11-26T10:00:00Z")
    downgraded = (
        replay(
            load_policy("alleo"),
            TicketFacts("Sev1"),
            parse_events(
                [
                    {"at": "2026-12-07T09:00:00-05:00", "type": "opened", "by": "agent"},
                    {"at": "2026-12-07T14:00:00-05:00", "type": "severity", "to": 2},
                ]
            ),
            at("2026-12-07T15:00:00-05:00"),
        )
        .metrics["first_response"]
        .instants
    )
    # Sev1's 4 h passed at 13:00; Sev2's business day is not over, but the breach stays at 13:00
    assert breach_instant(downgraded, at("2026-12-07T15:00:00-05:00")) == at("2026-12-07T13:00:00-05:00")


def test_breaches_are_counted_per_day_of_the_period_with_their_tickets():
    period = Period(at("2026-11-23T12:00:00Z"), at("2026-11-26T00:00:00Z"))
    breaches = [
        ClockBreach(4, "resolution", at("2026-11-24T09:00:00Z")),
        ClockBreach(3, "first_response", at("2026-11-24T08:00:00Z"), excuse="Cloud provider outage"),
        ClockBreach(4, "first_response", at("2026-11-24T10:00:00Z")),
        ClockBreach(5, "first_response", at("2026-11-23T11:59:59Z")),  # before the period
        ClockBreach(6, "first_response", at("2026-11-26T00:00:00Z")),  # at its end: outside
        ClockBreach(8, "first_response", at("2026-11-25T23:59:59Z")),
    ]
    timeline = breaches_over_time(breaches, period)
    assert [(b.start, b.end, b.count, b.ticket_ids, b.excused) for b in timeline.buckets] == [
        (at("2026-11-23T12:00:00Z"), at("2026-11-24T00:00:00Z"), 0, (), 0),
        (at("2026-11-24T00:00:00Z"), at("2026-11-25T00:00:00Z"), 3, (3, 4), 1),
        (at("2026-11-25T00:00:00Z"), at("2026-11-26T00:00:00Z"), 1, (8,), 0),
    ]
    assert timeline.total == 4


def test_weeks_start_on_monday_in_the_zone_asked_for():
    period = Period(at("2026-11-25T00:00:00Z"), at("2026-12-10T00:00:00Z"))
    breaches = [
        ClockBreach(1, "first_response", at("2026-11-30T06:30:00Z")),  # Monday 00:30 in Chicago: week 2
        ClockBreach(2, "first_response", at("2026-11-30T05:30:00Z")),  # Sunday 23:30 in Chicago: week 1
    ]
    timeline = breaches_over_time(breaches, period, "week", ZoneInfo("America/Chicago"))
    assert [(b.start, b.end, b.ticket_ids) for b in timeline.buckets] == [
        (at("2026-11-25T00:00:00Z"), at("2026-11-30T00:00:00-06:00"), (2,)),
        (at("2026-11-30T00:00:00-06:00"), at("2026-12-07T00:00:00-06:00"), (1,)),
        (at("2026-12-07T00:00:00-06:00"), at("2026-12-10T00:00:00Z"), ()),
    ]


def test_a_period_that_cannot_be_bucketed_names_the_field():
    with pytest.raises(ReportFieldError, match=r"^bucket: 'month' is not one of day, week$"):
        breaches_over_time([], Period(at("2026-11-25T00:00:00Z"), at("2026-11-26T00:00:00Z")), "month")  # type: ignore[arg-type]
    with pytest.raises(ReportFieldError, match=r"^period: its end must be after its start$"):
        breaches_over_time([], Period(at("2026-11-25T00:00:00Z"), at("2026-11-25T00:00:00Z")))
    with pytest.raises(ReportFieldError, match=r"^period: too long for one day each"):
        breaches_over_time([], Period(at("2026-01-01T00:00:00Z"), at("2028-01-01T00:00:00Z")))


def test_only_a_policy_with_targeted_and_untargeted_severities_splits_time():
    assert internal_severities(load_policy("sourcegraph")) == frozenset({"p3"})
    for policy_id in ("alli", "alleo", "aspenware", "choozle"):
        assert internal_severities(load_policy(policy_id)) is None


def test_logged_minutes_split_into_customer_and_internal_work_per_organisation():
    period = Period(at("2026-11-23T00:00:00Z"), at("2026-11-30T00:00:00Z"))
    entries = [
        LoggedTime(2, "Globex", date(2026, 11, 23), 90, internal=False),
        LoggedTime(1, "Acme", date(2026, 11, 24), 120, internal=False),
        LoggedTime(1, "Acme", date(2026, 11, 25), 30, internal=True),  # a p3 ticket
        LoggedTime(None, None, date(2026, 11, 29), 60, internal=True),  # internal work on no ticket
        LoggedTime(1, "Acme", date(2026, 11, 30), 500, internal=False),  # the day after the period
        LoggedTime(1, "Acme", date(2026, 11, 22), 500, internal=False),  # the day before
    ]
    split = time_split(entries, period)
    assert split.rows == (
        SplitRow(1, "Acme", 120, 30),
        SplitRow(2, "Globex", 90, 0),
        SplitRow(None, None, 0, 60),
    )
    assert split.total == SplitRow(None, None, 210, 90)
    assert split.total.customer_share == 0.7
    assert SplitRow(None, None, 0, 0).customer_share is None


def test_ages_count_from_the_opening_and_a_future_opening_is_no_age():
    ticket = open_ticket(1, "2026-12-07T10:00:00-05:00")
    assert open_by_age([ticket], at("2026-12-07T09:00:00-05:00"))[0].counts == (1, 0, 0, 0, 0, 0)
