"""Explanations say which ranges counted, which days were skipped and why, and where the clock stopped."""

from __future__ import annotations

import json

from sladesk.policy import load_policy
from sladesk.sla import parse_replay_input, replay
from sladesk.sla.explain import explain
from tests.support import ROOT


def test_design_example_is_explained_day_by_day_with_the_projection_after_the_stop():
    data = parse_replay_input(json.loads((ROOT / "examples" / "alleo-replay.json").read_text(encoding="utf-8")))
    assert data.now is not None
    report = replay(load_policy(data.policy), data.ticket, data.events, data.now)
    assert explain(report).splitlines() == [
        "Alleo Support (alleo), Sev1 (Severity Level 1), Time to first response [first_response]",
        "Target: 4h, counted on calendar 'business': Mon-Fri 08:00-17:00; Sat-Sun closed (America/New_York), "
        "closed on holidays.",
        "Severity became Sev1 at Fri 27 Nov 2026 11:00 EST; its target applies from the clock's original start.",
        "Met: stopped at or before the due instant Monday 30 November 2026 11:30 EST (2026-11-30T11:30:00-05:00). "
        "Counted 30m.",
        "Wed 25 Nov 2026 16:30 EST  clock starts (opened).",
        "Wed 25 Nov 2026  16:30-17:00  counts 30m  (30m of 4h)",
        "Thu 26 Nov 2026  skipped: holiday: Thanksgiving Day.",
        "Thu 26 Nov 2026 09:00 EST  clock stops: first public reply by an agent (30m counted).",
        "  after the stop, counting is projected to show the due instant.",
        "Fri 27 Nov 2026  skipped: holiday: Friday after Thanksgiving.",
        "Sat 28 Nov 2026  skipped: no working hours on Saturdays.",
        "Sun 29 Nov 2026  skipped: no working hours on Sundays.",
        "Mon 30 Nov 2026  08:00-11:30  would count 3h 30m  (4h of 4h)",
        "Mon 30 Nov 2026 10:30 EST  warning reached.",
        "Mon 30 Nov 2026 11:30 EST  due reached.",
    ]


def test_not_started_clock_says_what_it_waits_for():
    policy = load_policy("aspenware")
    data = parse_replay_input(
        {
            "policy": "aspenware",
            "ticket": {"severity": "L1"},
            "events": [{"at": "2026-12-01T10:00:00-07:00", "type": "opened"}],
            "now": "2026-12-01T10:10:00-07:00",
        }
    )
    assert data.now is not None
    report = replay(policy, data.ticket, data.events, data.now)
    lines = explain(report, "resolution").splitlines()
    assert lines[-1] == "Not started: this clock starts at the first response, which has not happened."


def test_events_given_in_utc_are_explained_in_the_calendars_local_time():
    policy = load_policy("alleo")
    data = parse_replay_input(
        {
            "policy": "alleo",
            "ticket": {"severity": 1},
            "events": [{"at": "2026-12-07T15:39:00+00:00", "type": "opened"}],
            "now": "2026-12-07T16:39:00+00:00",
        }
    )
    assert data.now is not None
    lines = explain(replay(policy, data.ticket, data.events, data.now)).splitlines()
    # 10:39 EST: 1 h counted by now, the other 3 h run to 14:39
    assert "Mon 07 Dec 2026  10:39-11:39  counts 1h  (1h of 4h)" in lines
    assert "Mon 07 Dec 2026  11:39-14:39  counts 3h  (4h of 4h)" in lines


def test_lines_add_up_to_their_total_when_instants_carry_fractions_of_a_second():
    policy = load_policy("alleo")
    data = parse_replay_input(
        {
            "policy": "alleo",
            "ticket": {"severity": 1},
            "events": [
                {"at": "2026-12-07T10:00:00.800000-05:00", "type": "opened"},
                {"at": "2026-12-07T10:00:01.300000-05:00", "type": "reply", "by": "agent"},
            ],
            "now": "2026-12-07T10:05:00-05:00",
        }
    )
    assert data.now is not None
    lines = explain(replay(policy, data.ticket, data.events, data.now)).splitlines()
    # 0.5 s counted before the reply; the projection adds the rest of the 4 h, not 3h 59m 59s
    assert "Mon 07 Dec 2026  10:00-10:00  counts 0m  (0m of 4h)" in lines
    assert "Mon 07 Dec 2026  10:00-14:00  would count 4h  (4h of 4h)" in lines
