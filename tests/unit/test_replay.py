"""Replay: events + policy + ticket facts -> metric states, with instants worked out by hand."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from sladesk.errors import InputError
from sladesk.policy import load_policy
from sladesk.sla import MetricState, TicketFacts, parse_replay_input, replay
from sladesk.sla.events import parse_events
from sladesk.sla.explain import explain
from tests.support import ROOT


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def run(policy_id: str, severity: int | str, events: list[dict], now: str, tier: str | None = None):
    return replay(load_policy(policy_id), TicketFacts(severity, tier), parse_events(events), at(now))


def test_design_example_gives_the_documented_output_exactly():
    raw = json.loads((ROOT / "examples" / "alleo-replay.json").read_text(encoding="utf-8"))
    data = parse_replay_input(raw)
    assert data.now is not None
    report = replay(load_policy(data.policy), data.ticket, data.events, data.now)
    assert report.to_json() == {
        "policy": "alleo",
        "severity": "Sev1",
        "status": "closed",
        "now": "2026-11-30T19:00:00-05:00",
        "metrics": {
            "first_response": {
                "state": "met",
                "due": "2026-11-30T11:30:00-05:00",
                "goal": None,
                "started_at": "2026-11-25T16:30:00-05:00",
                "stopped_at": "2026-11-26T09:00:00-05:00",
                "counted_seconds": 1800,
                "remaining_seconds": None,
                "percent_used": 12.5,
                "calendar": "business",
                # 75 % of 4 h = 3 h: 30 min on Wednesday, then 2 h 30 on Monday from 08:00
                "warning_at": "2026-11-30T10:30:00-05:00",
                "excused": None,
                "cycle": 1,
                "goal_met": None,
            }
        },
    }


def test_sev2_reply_after_one_business_day_is_breached_with_ten_hours_counted():
    # Mon 7 Dec 09:00 + 9 h: 8 h on Monday (09:00-17:00), 1 h on Tuesday -> due Tue 09:00
    report = run(
        "alleo",
        2,
        [
            {"at": "2026-12-07T09:00:00-05:00", "type": "opened"},
            {"at": "2026-12-08T10:00:00-05:00", "type": "reply", "by": "agent"},
        ],
        "2026-12-08T12:00:00-05:00",
    )
    metric = report.metrics["first_response"]
    assert metric.state is MetricState.BREACHED
    assert metric.due == at("2026-12-08T09:00:00-05:00")
    assert metric.counted_seconds == 36_000
    assert metric.percent_used == 111.1
    assert metric.remaining_seconds is None


def test_clock_still_running_past_due_is_breached_with_nothing_remaining():
    report = run("alleo", 2, [{"at": "2026-12-07T09:00:00-05:00", "type": "opened"}], "2026-12-08T09:30:00-05:00")
    metric = report.metrics["first_response"]
    assert metric.state is MetricState.BREACHED
    assert metric.counted_seconds == 34_200  # 8 h Monday + 1 h 30 Tuesday
    assert metric.remaining_seconds == 0


@pytest.mark.parametrize(
    ("reply_at", "state"),
    [("2026-12-07T17:00:00-05:00", MetricState.MET), ("2026-12-07T17:00:01-05:00", MetricState.BREACHED)],
)
def test_deadline_at_the_end_of_the_working_day_is_that_instant(reply_at, state):
    # Sev1, 4 h from Monday 13:00 ends exactly at 17:00, not on Tuesday morning
    report = run(
        "alleo",
        "Sev1",
        [
            {"at": "2026-12-07T13:00:00-05:00", "type": "opened"},
            {"at": reply_at, "type": "reply", "by": "agent"},
        ],
        "2026-12-08T12:00:00-05:00",
    )
    metric = report.metrics["first_response"]
    assert metric.due == at("2026-12-07T17:00:00-05:00")
    assert metric.state is state


def test_downgrade_to_sev4_applies_five_business_days_from_the_original_start():
    # 45 h from Mon 7 Dec 09:00: Mon 8 h, Tue-Fri 9 h each (44 h), next Mon 08:00-09:00
    report = run(
        "alleo",
        1,
        [
            {"at": "2026-12-07T09:00:00-05:00", "type": "opened"},
            {"at": "2026-12-07T10:00:00-05:00", "type": "severity", "to": 4, "reason": "a question, not an outage"},
        ],
        "2026-12-07T11:00:00-05:00",
    )
    metric = report.metrics["first_response"]
    assert report.severity.code == "Sev4"
    assert metric.due == at("2026-12-14T09:00:00-05:00")
    assert metric.state is MetricState.RUNNING
    assert metric.counted_seconds == 7200
    assert metric.remaining_seconds == 45 * 3600 - 7200


def test_internal_note_does_not_stop_first_response():
    report = run(
        "alleo",
        1,
        [
            {"at": "2026-12-07T09:00:00-05:00", "type": "opened"},
            {"at": "2026-12-07T09:30:00-05:00", "type": "reply", "by": "agent", "public": False},
        ],
        "2026-12-07T10:00:00-05:00",
    )
    assert report.metrics["first_response"].state is MetricState.RUNNING
    assert report.metrics["first_response"].stopped_at is None


def test_closing_without_a_reply_cancels_first_response():
    report = run(
        "alleo",
        3,
        [
            {"at": "2026-12-07T09:00:00-05:00", "type": "opened"},
            {"at": "2026-12-07T10:00:00-05:00", "type": "status", "to": "closed"},
        ],
        "2026-12-09T10:00:00-05:00",
    )
    metric = report.metrics["first_response"]
    assert metric.state is MetricState.CANCELLED
    assert metric.stopped_at == at("2026-12-07T10:00:00-05:00")
    assert metric.counted_seconds == 3600


def test_events_after_now_are_ignored():
    report = run(
        "alleo",
        1,
        [
            {"at": "2026-12-07T09:00:00-05:00", "type": "opened"},
            {"at": "2026-12-07T11:00:00-05:00", "type": "reply", "by": "agent"},
        ],
        "2026-12-07T10:00:00-05:00",
    )
    metric = report.metrics["first_response"]
    assert metric.state is MetricState.RUNNING
    assert metric.counted_seconds == 3600
    assert metric.remaining_seconds == 10_800
    assert metric.due == at("2026-12-07T13:00:00-05:00")


CHOOZLE_WAIT = [
    {"at": "2026-12-01T09:00:00-07:00", "type": "opened"},
    {"at": "2026-12-01T09:30:00-07:00", "type": "reply", "by": "agent"},
    {"at": "2026-12-01T10:00:00-07:00", "type": "status", "to": "awaiting_customer"},
    {"at": "2026-12-02T10:00:00-07:00", "type": "reply", "by": "customer"},
]


def test_waiting_on_the_customer_pauses_resolution_and_due_is_unknown():
    report = run("choozle", 2, CHOOZLE_WAIT, "2026-12-01T15:00:00-07:00")
    metric = report.metrics["resolution"]
    assert metric.state is MetricState.PAUSED
    assert metric.due is None
    assert metric.goal is None
    assert metric.counted_seconds == 3600
    assert metric.remaining_seconds == 72 * 3600 - 3600


def test_customer_reply_moves_choozle_ticket_back_to_open_and_the_clock_resumes():
    report = run("choozle", 2, CHOOZLE_WAIT, "2026-12-02T11:00:00-07:00")
    metric = report.metrics["resolution"]
    assert report.history.status == "open"
    assert metric.state is MetricState.RUNNING
    assert metric.counted_seconds == 7200  # Tue 09:00-10:00 and Wed 10:00-11:00
    # goal 24 h: 22 h left from Wed 11:00 on the Mon-Fri 00:00-24:00 week -> Wed 13 h, Thu 9 h
    assert metric.goal == at("2026-12-03T09:00:00-07:00")
    # due 72 h: 70 h left -> Wed 13 h, Thu 24 h, Fri 24 h (61 h), Mon 00:00-09:00
    assert metric.due == at("2026-12-07T09:00:00-07:00")
    first_response = report.metrics["first_response"]
    assert first_response.state is MetricState.MET
    assert first_response.due == at("2026-12-01T11:00:00-07:00")


def test_reopening_starts_a_new_resolution_cycle_from_the_reopen_instant():
    report = run(
        "choozle",
        3,
        [
            {"at": "2026-12-07T09:00:00-07:00", "type": "opened"},
            {"at": "2026-12-07T10:00:00-07:00", "type": "reply", "by": "agent"},
            {"at": "2026-12-08T09:00:00-07:00", "type": "status", "to": "resolved"},
            {"at": "2026-12-09T10:00:00-07:00", "type": "status", "to": "open"},
        ],
        "2026-12-09T12:00:00-07:00",
    )
    metric = report.metrics["resolution"]
    assert metric.cycle == 2
    assert metric.started_at == at("2026-12-09T10:00:00-07:00")
    assert metric.counted_seconds == 7200
    # goal 72 h from Wed 10:00: Wed 14 h, Thu 24, Fri 24 (62 h), Mon 00:00-10:00
    assert metric.goal == at("2026-12-14T10:00:00-07:00")
    # due 120 h: ... Mon 24 (86 h), Tue 24 (110 h), Wed 00:00-10:00
    assert metric.due == at("2026-12-16T10:00:00-07:00")


def test_choozle_closed_ticket_cannot_reopen():
    with pytest.raises(InputError) as error:
        run(
            "choozle",
            1,
            [
                {"at": "2026-12-07T09:00:00-07:00", "type": "opened"},
                {"at": "2026-12-07T10:00:00-07:00", "type": "status", "to": "closed"},
                {"at": "2026-12-07T11:00:00-07:00", "type": "status", "to": "open"},
            ],
            "2026-12-07T12:00:00-07:00",
        )
    assert str(error.value) == "event 2: status cannot move from 'closed' to 'open' (allowed: none)"
    assert error.value.event_index == 2


def test_aspenware_l1_resolution_waits_for_the_first_response():
    report = run(
        "aspenware", "L1", [{"at": "2026-12-01T10:00:00-07:00", "type": "opened"}], "2026-12-01T10:20:00-07:00"
    )
    resolution = report.metrics["resolution"]
    assert resolution.state is MetricState.NOT_STARTED
    assert resolution.due is None
    assert report.metrics["first_response"].due == at("2026-12-01T11:00:00-07:00")


def test_aspenware_l1_resolution_counts_24_real_hours_across_the_fall_back_night():
    # first response Sat 31 Oct 12:00 MDT (18:00 UTC); 24 h later is Sun 1 Nov 18:00 UTC = 11:00 MST
    report = run(
        "aspenware",
        "L1",
        [
            {"at": "2026-10-31T11:30:00-06:00", "type": "opened"},
            {"at": "2026-10-31T12:00:00-06:00", "type": "reply", "by": "agent"},
        ],
        "2026-10-31T13:00:00-06:00",
    )
    assert report.metrics["first_response"].state is MetricState.MET
    resolution = report.metrics["resolution"]
    assert resolution.started_at == at("2026-10-31T12:00:00-06:00")
    assert resolution.due == at("2026-11-01T11:00:00-07:00")


def test_outside_incident_excuses_a_breach():
    report = run(
        "aspenware",
        1,
        [
            {"at": "2026-12-01T10:00:00-07:00", "type": "opened"},
            {"at": "2026-12-01T10:30:00-07:00", "type": "outside_incident", "reason": "Azure outage"},
        ],
        "2026-12-01T12:00:00-07:00",
    )
    metric = report.metrics["first_response"]
    assert metric.state is MetricState.BREACHED
    assert metric.excused == "Azure outage"
    assert report.to_json()["metrics"]["first_response"]["excused"] == "Azure outage"


def test_sourcegraph_reply_after_the_goal_but_before_due_is_met():
    report = run(
        "sourcegraph",
        "p2",
        [
            {"at": "2026-12-01T10:00:00+00:00", "type": "opened"},
            {"at": "2026-12-01T13:00:00+00:00", "type": "reply", "by": "agent"},
        ],
        "2026-12-01T14:00:00+00:00",
        tier="enterprise",
    )
    metric = report.metrics["first_response"]
    assert metric.state is MetricState.MET
    assert metric.goal == at("2026-12-01T12:00:00+00:00")
    assert metric.due == at("2026-12-02T10:00:00+00:00")
    assert metric.counted_seconds == 10_800
    assert metric.percent_used == 12.5


def test_alli_tracks_time_without_a_due_date():
    report = run("alli", "P3", [{"at": "2026-12-07T10:00:00-06:00", "type": "opened"}], "2026-12-07T12:00:00-06:00")
    metric = report.metrics["first_response"]
    assert metric.state is MetricState.NONE
    assert metric.due is None
    assert metric.counted_seconds == 7200
    assert metric.percent_used is None


def test_alli_p1_counts_around_the_clock_on_a_saturday():
    report = run("alli", "P1", [{"at": "2026-12-05T10:00:00-06:00", "type": "opened"}], "2026-12-05T12:00:00-06:00")
    assert report.metrics["first_response"].counted_seconds == 7200


@pytest.mark.parametrize(
    ("events", "now", "message"),
    [
        (
            [{"at": "2026-12-07T09:00:00-05:00", "type": "reply", "by": "agent"}],
            "2026-12-07T10:00:00-05:00",
            "event 0: the first event must be `opened`",
        ),
        (
            [
                {"at": "2026-12-07T09:00:00-05:00", "type": "opened"},
                {"at": "2026-12-07T09:10:00-05:00", "type": "opened"},
            ],
            "2026-12-07T10:00:00-05:00",
            "event 1: a ticket is opened only once (`opened` must be the first event only)",
        ),
        (
            [{"at": "2026-12-07T09:00:00-05:00", "type": "opened"}],
            "2026-12-07T08:00:00-05:00",
            "`now` (2026-12-07T08:00:00-05:00) is before the ticket was opened (2026-12-07T09:00:00-05:00)",
        ),
        (
            [
                {"at": "2026-12-07T09:00:00-05:00", "type": "opened"},
                {"at": "2026-12-07T09:10:00-05:00", "type": "reply"},
            ],
            "2026-12-07T10:00:00-05:00",
            "event 1: a reply needs `by`: agent or customer, got None",
        ),
    ],
    ids=["not-opened-first", "opened-twice", "now-before-opened", "reply-without-author"],
)
def test_bad_histories_name_the_problem_and_the_event(events, now, message):
    with pytest.raises(InputError) as error:
        run("alleo", 1, events, now)
    assert str(error.value) == message


def test_unknown_category_or_tier_is_refused_where_the_policy_lists_them():
    events = parse_events([{"at": "2026-12-01T10:00:00-07:00", "type": "opened"}])
    with pytest.raises(InputError, match="policy 'aspenware' has no category 'hardware' \\(known: configuration"):
        replay(load_policy("aspenware"), TicketFacts(1, category="hardware"), events, at("2026-12-01T11:00:00-07:00"))
    with pytest.raises(InputError, match="policy 'sourcegraph' has no tier 'gold'"):
        replay(load_policy("sourcegraph"), TicketFacts(1, tier="gold"), events, at("2026-12-01T11:00:00-07:00"))


def test_a_breach_under_the_severity_then_in_force_stays_history_after_a_downgrade():
    # Alleo Sev2, 1 business day = 9 h from Mon 7 Dec 09:00: Monday 8 h, Tuesday 08:00-09:00 -> due Tue 09:00.
    # Nobody answers; Wednesday 10:00 it becomes Sev4, 5 business days = 45 h from the same start: Mon 8,
    # Tue 9, Wed 9, Thu 9, Fri 9 (44), Mon 14 Dec 08:00-09:00 -> due Mon 14 Dec 09:00. The reply on
    # Wednesday 11:00 meets Sev4's target, but the Sev2 due passed on Tuesday 09:00 while Sev2 was in force.
    report = run(
        "alleo",
        2,
        [
            {"at": "2026-12-07T09:00:00-05:00", "type": "opened"},
            {"at": "2026-12-09T10:00:00-05:00", "type": "severity", "to": 4, "reason": "a cosmetic issue"},
            {"at": "2026-12-09T11:00:00-05:00", "type": "reply", "by": "agent"},
        ],
        "2026-12-09T12:00:00-05:00",
    )
    metric = report.metrics["first_response"]
    assert (metric.state, metric.due) == (MetricState.MET, at("2026-12-14T09:00:00-05:00"))
    assert (metric.instants.earlier_breach_at, metric.instants.earlier_breach_severity) == (
        at("2026-12-08T09:00:00-05:00"),
        "Sev2",
    )
    assert report.to_json()["metrics"]["first_response"]["earlier_breach"] == {
        "due": "2026-12-08T09:00:00-05:00",
        "severity": "Sev2",
    }
    assert "It was breached under Sev2, due Tue 08 Dec 2026 09:00 EST, before the severity changed." in explain(
        report, "first_response"
    )


def test_an_upgrade_before_the_old_due_leaves_no_earlier_breach():
    report = run(
        "alleo",
        3,
        [
            {"at": "2026-12-07T09:00:00-05:00", "type": "opened"},
            {"at": "2026-12-07T10:00:00-05:00", "type": "severity", "to": 1, "reason": "now every clinic"},
        ],
        "2026-12-07T15:00:00-05:00",
    )
    metric = report.metrics["first_response"]
    assert (metric.state, metric.instants.earlier_breach_at) == (MetricState.BREACHED, None)
    assert "earlier_breach" not in report.to_json()["metrics"]["first_response"]
