"""Working times to the stop: nearest-rank percentiles and which clocks they count, worked by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from sladesk.reports import Outcome, Period
from sladesk.reports.model import ClockOutcome
from sladesk.reports.times import nearest_rank, times

PERIOD = Period(datetime.fromisoformat("2026-12-01T00:00:00Z"), datetime.fromisoformat("2027-01-01T00:00:00Z"))
IN = datetime.fromisoformat("2026-12-10T12:00:00Z")


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([], 50, None),
        ([7], 50, 7),
        ([7], 90, 7),
        ([1, 2, 3, 4], 50, 2),  # ceil(2.0) = 2nd
        ([1, 2, 3, 4, 5], 50, 3),  # ceil(2.5) = 3rd
        (list(range(1, 11)), 90, 9),  # ceil(9.0) = 9th
        (list(range(1, 71)), 90, 63),  # ceil(63.0) = 63rd, exactly, with no floating-point drift
        (list(range(1, 76)), 90, 68),  # ceil(67.5) = 68th
        ([10, 20], 0, 10),
    ],
)
def test_nearest_rank_percentiles(values, percent, expected):
    assert nearest_rank(values, percent) == expected


def clock(ticket_id: int, seconds: int, **changes) -> ClockOutcome:
    base = ClockOutcome(
        ticket_id=ticket_id,
        metric="first_response",
        outcome=Outcome.MET,
        at=IN,
        severity="Sev1",
        tier=None,
        organisation_id=1,
        team_id=None,
        assignee_id=None,
        policy_id="alleo",
        policy_version=2,
        counted_seconds=seconds,
        target_seconds=14400,
        goal_met=None,
        stopped_at=IN,
    )
    return replace(base, **changes)


def test_p50_p90_and_max_over_the_clocks_stopped_in_the_period_by_their_own_event():
    outcomes = [
        clock(1, 5400),
        clock(2, 18000, outcome=Outcome.BREACHED),
        clock(3, 10800),
        clock(4, 36000, outcome=Outcome.BREACHED, severity="Sev2", target_seconds=32400),
        clock(5, 19800, outcome=Outcome.EXCUSED),
        clock(6, 600, outcome=Outcome.CANCELLED, stop_cancels=True),  # closed without a reply
        clock(7, 1200, stopped_at=datetime.fromisoformat("2027-01-01T00:00:00Z")),  # stopped after the end
        clock(8, 0, outcome=Outcome.RUNNING, at=None, counted_seconds=None, stopped_at=None),
    ]
    [row] = times(outcomes, PERIOD).rows
    assert (row.count, row.p50_seconds, row.p90_seconds, row.max_seconds) == (5, 18000.0, 36000.0, 36000)
    assert (row.target_seconds, row.tickets) == (None, (1, 2, 3, 4, 5))  # two targets: none shown

    by_severity = times(outcomes, PERIOD, ("severity",))
    assert [
        (r.group, r.count, r.p50_seconds, r.p90_seconds, r.max_seconds, r.target_seconds) for r in by_severity.rows
    ] == [
        ((("severity", "Sev1"),), 4, 10800.0, 19800.0, 19800, 14400),
        ((("severity", "Sev2"),), 1, 36000.0, 36000.0, 36000, 32400),
    ]


def test_the_terms_state_the_percentile_method():
    assert "nearest-rank" in times([], PERIOD).exclusions[2]
    assert times([], PERIOD).rows == ()
