"""Attainment from clock outcomes: counts, both figures, groups, tickets and exclusions, worked by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sladesk.reports import Outcome, Period
from sladesk.reports.attainment import attainment
from sladesk.reports.model import ClockOutcome, Dimension, ExcusedBreach, group_label

PERIOD = Period(datetime.fromisoformat("2026-12-01T00:00:00Z"), datetime.fromisoformat("2027-01-01T00:00:00Z"))
IN = datetime.fromisoformat("2026-12-10T12:00:00Z")
BEFORE = datetime.fromisoformat("2026-11-30T23:59:59Z")


def clock(ticket_id: int, outcome: Outcome, **changes) -> ClockOutcome:
    base = ClockOutcome(
        ticket_id=ticket_id,
        metric="first_response",
        outcome=outcome,
        at=None if outcome in (Outcome.RUNNING, Outcome.NOT_STARTED, Outcome.NO_TARGET) else IN,
        severity="p1",
        tier="enterprise",
        organisation_id=9,
        team_id=None,
        assignee_id=None,
        policy_id="sourcegraph",
        policy_version=3,
        counted_seconds=None,
        target_seconds=86400,
        goal_met=None,
    )
    return replace(base, **changes)


DESK = [
    clock(5, Outcome.MET, goal_met=True),
    clock(3, Outcome.MET, goal_met=False),
    clock(8, Outcome.MET, goal_met=True, organisation_id=10),
    clock(4, Outcome.BREACHED, goal_met=False, severity="p2"),
    clock(6, Outcome.EXCUSED, goal_met=False, excuse="Provider outage", organisation_id=10),
    clock(7, Outcome.CANCELLED),
    clock(1, Outcome.RUNNING, goal_met=False),  # its goal passed, but it is not decided: no goal figure
    clock(2, Outcome.NO_TARGET, tier="cloud"),
    clock(11, Outcome.MET, at=BEFORE),  # met before the period: not counted
    clock(12, Outcome.NOT_STARTED, metric="resolution"),
]


def test_the_whole_desk_row_counts_each_outcome_with_its_tickets_and_both_figures():
    report = attainment(DESK, PERIOD)
    assert [row.metric for row in report.rows] == ["first_response", "resolution"]
    row = report.rows[0]
    assert (row.group, row.met, row.breached, row.excused) == ((), 3, 1, 1)
    assert (row.cancelled, row.running, row.no_target, row.not_started) == (1, 1, 1, 0)
    assert (row.attainment, row.attainment_excused) == (3 / 5, 4 / 5)
    assert (row.goal_met, row.goal_missed, row.goal_attainment) == (2, 3, 0.4)
    assert row.tickets == {
        Outcome.MET: (3, 5, 8),
        Outcome.BREACHED: (4,),
        Outcome.EXCUSED: (6,),
        Outcome.CANCELLED: (7,),
        Outcome.RUNNING: (1,),
        Outcome.NO_TARGET: (2,),
    }
    assert report.excused == (ExcusedBreach(6, "first_response", IN, "Provider outage"),)
    resolution = report.rows[1]
    assert (resolution.not_started, resolution.attainment, resolution.tickets) == (
        1,
        None,
        {Outcome.NOT_STARTED: (12,)},
    )


def test_the_exclusions_say_what_each_metric_leaves_out():
    report = attainment(DESK, PERIOD)
    assert report.exclusions[2:] == (
        "first_response: left out and counted beside: 1 cancelled (resolved or closed in time without a reply), "
        "1 still running and not yet due at the period's end, 1 without a due target (none, or only an "
        "informational goal), 0 not started.",
        "resolution: left out and counted beside: 0 cancelled (resolved or closed in time without a reply), "
        "0 still running and not yet due at the period's end, 0 without a due target (none, or only an "
        "informational goal), 1 not started.",
    )


def test_groups_follow_the_dimensions_in_order_with_ids_as_numbers_and_no_value_last():
    outcomes = [
        clock(1, Outcome.MET, organisation_id=10),
        clock(2, Outcome.BREACHED, organisation_id=9),
        clock(3, Outcome.MET, organisation_id=9, severity="p2"),
        clock(4, Outcome.MET, organisation_id=9, tier=None),
    ]
    report = attainment(outcomes, PERIOD, ("organisation", "tier"))
    assert [(row.group, row.met, row.breached) for row in report.rows] == [
        ((("organisation", "9"), ("tier", "enterprise")), 1, 1),
        ((("organisation", "9"), ("tier", None)), 1, 0),
        ((("organisation", "10"), ("tier", "enterprise")), 1, 0),
    ]
    names: dict[tuple[Dimension, str], str] = {("organisation", "9"): "Initech"}
    assert group_label(report.rows[1].group, names) == "organisation Initech (9), tier none"
    assert group_label((), names) == "whole desk"


def test_policy_version_and_metric_filters():
    outcomes = [clock(1, Outcome.MET), clock(2, Outcome.MET, policy_version=4), clock(3, Outcome.MET, metric="other")]
    report = attainment(outcomes, PERIOD, ("policy_version",), metrics=["first_response"])
    assert [(row.group, row.tickets[Outcome.MET]) for row in report.rows] == [
        ((("policy_version", "sourcegraph v3"),), (1,)),
        ((("policy_version", "sourcegraph v4"),), (2,)),
    ]


def test_tickets_per_cell_keeps_the_first_by_id_and_every_count():
    report = attainment([clock(i, Outcome.MET) for i in (9, 2, 5)], PERIOD, tickets_per_cell=2)
    assert (report.rows[0].met, report.rows[0].tickets) == (3, {Outcome.MET: (2, 5)})


def test_a_period_with_nothing_in_it_has_no_rows():
    assert attainment([clock(11, Outcome.MET, at=BEFORE)], PERIOD).rows == ()
