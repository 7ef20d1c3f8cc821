"""What-if comparisons worked out by hand on Alleo (Sev1: first response in 4 h of 08:00-17:00 New York).

Every ticket opens on Monday 7 December 2026 at 09:00 New York unless a test says otherwise; the period is
December 2026 and the report is read on 20 December.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from ruamel.yaml import YAML

from sladesk.policy import Policy, builtin_source, load_policy
from sladesk.policy.load import policy_from_document
from sladesk.reports import Outcome, Period
from sladesk.reports.model import TicketLabels
from sladesk.reports.whatif import (
    Comparison,
    NotComparable,
    OutcomeChange,
    TicketHistory,
    compare_ticket,
    what_if,
)
from sladesk.services.errors import InvalidFieldError
from sladesk.services.whatif import OverrideError, apply_override, parse_override
from sladesk.sla import TicketFacts
from sladesk.sla.events import parse_events

ALLEO = load_policy("alleo")
DECEMBER = Period(
    datetime.fromisoformat("2026-12-01T00:00:00-05:00"), datetime.fromisoformat("2027-01-01T00:00:00-05:00")
)
NOW = datetime.fromisoformat("2026-12-20T00:00:00-05:00")
OPENED = "2026-12-07T09:00:00-05:00"


def ny(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-12-{text}-05:00")


def alleo_document() -> dict[str, Any]:
    document: dict[str, Any] = YAML(typ="safe").load(io.StringIO(builtin_source("alleo")))
    document.pop("tests", None)
    return document


def alleo_with(*overrides: str) -> Policy:
    document = alleo_document()
    for override in overrides:
        apply_override(document, override)
    return policy_from_document(document, "candidate")


def ticket(ticket_id: int, *events: dict[str, Any], severity: int | str = 1, opened: str = OPENED) -> TicketHistory:
    history = parse_events([{"at": opened, "type": "opened"}, *events])
    labels = TicketLabels(ticket_id, 7, None, None, None, "alleo", 2)
    return TicketHistory(ALLEO, TicketFacts(severity=severity), history, labels)


def answered(ticket_id: int, at: str, severity: int | str = 1, opened: str = OPENED) -> TicketHistory:
    return ticket(ticket_id, {"at": at, "type": "reply", "by": "agent"}, severity=severity, opened=opened)


SEV1_2H = alleo_with("severities.Sev1.targets.first_response.due=2h")


def test_a_2h_sev1_target_breaches_only_the_ticket_answered_after_3h() -> None:
    tickets = [
        answered(1, "2026-12-07T10:00:00-05:00"),  # 1 h
        answered(2, "2026-12-07T12:00:00-05:00"),  # 3 h
        answered(3, "2026-12-07T14:00:00-05:00"),  # 5 h
    ]
    report = what_if([compare_ticket(t, SEV1_2H, DECEMBER, now=NOW) for t in tickets], DECEMBER, (), "alleo@2")

    (row,) = report.rows
    assert (row.metric, row.group) == ("first_response", ())
    assert (row.actual.met, row.actual.breached, row.actual.attainment) == (2, 1, 2 / 3)
    assert (row.candidate.met, row.candidate.breached, row.candidate.attainment) == (1, 2, 1 / 3)
    assert row.candidate.tickets == {Outcome.MET: (1,), Outcome.BREACHED: (2, 3)}
    assert row.more_breaches == 1
    assert report.changes == (
        OutcomeChange(2, "first_response", Outcome.MET, Outcome.BREACHED, ny("07T13:00:00"), ny("07T11:00:00")),
    )
    assert (report.compared, report.not_comparable) == (3, ())


def test_a_reply_on_a_closed_ticket_is_not_comparable_under_closed_refused_and_left_out_of_both_sides() -> None:
    closed = ticket(
        4,
        {"at": "2026-12-07T10:00:00-05:00", "type": "reply", "by": "agent"},
        {"at": "2026-12-07T11:00:00-05:00", "type": "status", "to": "closed"},
        {"at": "2026-12-07T12:00:00-05:00", "type": "reply", "by": "customer"},
    )
    refusing = alleo_with("closed.updates=refused", "closed.hint=Open a new ticket.")
    tickets = [answered(1, "2026-12-07T10:00:00-05:00"), closed]
    report = what_if([compare_ticket(t, refusing, DECEMBER, now=NOW) for t in tickets], DECEMBER, (), "candidate")

    assert report.not_comparable == (
        NotComparable(4, "event 3: the ticket is closed and takes no update: Open a new ticket."),
    )
    (row,) = report.rows
    assert (row.actual.met, row.candidate.met) == (1, 1)
    assert row.actual.tickets == {Outcome.MET: (1,)}
    assert report.compared == 1
    assert report.exclusions[-1] == (
        "1 ticket whose history the candidate refuses is listed as not comparable, with the reason, "
        "and left out of both sides' figures."
    )


def test_a_severity_rank_the_candidate_lacks_is_not_comparable() -> None:
    document = alleo_document()
    document["severities"] = document["severities"][:3]
    three_levels = policy_from_document(document, "candidate")

    assert compare_ticket(answered(5, "2026-12-07T10:00:00-05:00", severity=4), three_levels, DECEMBER, now=NOW) == (
        NotComparable(
            5,
            "the candidate has no severity of rank 4 (the ticket's Sev4; known: 1 (Sev1), 2 (Sev2), 3 (Sev3))",
        )
    )


def test_severities_travel_by_rank_and_rows_keep_the_tickets_own_codes() -> None:
    renamed = alleo_with(
        "severities.Sev1.code=P1",
        "severities.Sev2.code=P2",
        "severities.Sev3.code=P3",
        "severities.Sev4.code=P4",
        "severities.P1.targets.first_response=2h",
    )
    # opened as Sev2 (1 business day), raised to Sev1 at 10:00: the 4 h target runs from 09:00
    raised = ticket(
        6,
        {"at": "2026-12-07T10:00:00-05:00", "type": "severity", "to": "Sev1"},
        {"at": "2026-12-07T12:00:00-05:00", "type": "reply", "by": "agent"},
        severity="Sev2",
    )
    report = what_if([compare_ticket(raised, renamed, DECEMBER, now=NOW)], DECEMBER, ("severity",), "renamed")

    (row,) = report.rows
    assert row.group == (("severity", "Sev1"),)
    assert report.changes == (
        OutcomeChange(6, "first_response", Outcome.MET, Outcome.BREACHED, ny("07T13:00:00"), ny("07T11:00:00")),
    )


def test_longer_working_hours_move_the_due_of_a_ticket_opened_before_eight() -> None:
    # opened 07:30: Alleo counts from 08:00 (due 12:00); with 07:00-19:00 it counts at once (due 11:30)
    early = answered(7, "2026-12-07T11:45:00-05:00", opened="2026-12-07T07:30:00-05:00")
    longer = alleo_with("calendars.business.hours.mon-fri=07:00-19:00")
    report = what_if([compare_ticket(early, longer, DECEMBER, now=NOW)], DECEMBER, (), "longer")

    assert report.changes == (
        OutcomeChange(7, "first_response", Outcome.MET, Outcome.BREACHED, ny("07T12:00:00"), ny("07T11:30:00")),
    )


def test_a_ticket_decided_before_the_period_is_not_compared() -> None:
    november = answered(8, "2026-11-30T10:00:00-05:00", opened="2026-11-30T09:00:00-05:00")
    assert compare_ticket(november, SEV1_2H, DECEMBER, now=NOW) is None
    report = what_if([compare_ticket(november, SEV1_2H, DECEMBER, now=NOW)], DECEMBER, (), "alleo@2")
    assert (report.rows, report.changes, report.compared) == ((), (), 0)


def test_a_clock_still_running_at_the_end_is_counted_beside_and_breaches_under_a_shorter_target() -> None:
    # opened Friday 18 December 09:00, no reply by the reading on Friday 11:30: 2.5 h counted
    waiting = ticket(9, opened="2026-12-18T09:00:00-05:00")
    reading = ny("18T11:30:00")
    comparison = compare_ticket(waiting, SEV1_2H, DECEMBER, now=reading)

    assert isinstance(comparison, Comparison)
    assert [(o.outcome, o.at) for o in comparison.actual] == [(Outcome.RUNNING, None)]
    assert [(o.outcome, o.at) for o in comparison.candidate] == [(Outcome.BREACHED, ny("18T11:00:00"))]


def test_a_metric_only_the_candidate_has_is_judged_on_its_side_alone() -> None:
    with_resolution = alleo_with(
        "metrics.resolution={name: Time to resolution, calendar: business, stop: resolved}",
        "severities.Sev1.targets.resolution=8h",
    )
    closed = ticket(
        10,
        {"at": "2026-12-07T10:00:00-05:00", "type": "reply", "by": "agent"},
        {"at": "2026-12-08T11:00:00-05:00", "type": "status", "to": "closed"},  # 8 h + 3 h of working time
    )
    comparison = compare_ticket(closed, with_resolution, DECEMBER, now=NOW)

    assert isinstance(comparison, Comparison)
    assert [(o.metric, o.outcome) for o in comparison.actual] == [
        ("first_response", Outcome.MET),
        ("resolution", Outcome.NO_TARGET),
    ]
    assert [(o.metric, o.outcome, o.at) for o in comparison.candidate] == [
        ("first_response", Outcome.MET, ny("07T10:00:00")),
        ("resolution", Outcome.BREACHED, ny("07T17:00:00")),
    ]


def test_an_excused_breach_stays_excused_under_the_candidate() -> None:
    excused = ticket(
        11,
        {"at": "2026-12-07T09:30:00-05:00", "type": "outside_incident", "reason": "cloud outage"},
        {"at": "2026-12-07T12:00:00-05:00", "type": "reply", "by": "agent"},
    )
    comparison = compare_ticket(excused, SEV1_2H, DECEMBER, now=NOW)

    assert isinstance(comparison, Comparison)
    (after,) = comparison.candidate
    assert (after.outcome, after.excuse) == (Outcome.EXCUSED, "cloud outage")


def test_a_status_the_candidate_lacks_is_not_comparable() -> None:
    document = alleo_document()
    document["statuses"] = [s for s in document["statuses"] if s["id"] != "on_hold"]
    document["transitions"] = {
        status: [to for to in targets if to != "on_hold"]
        for status, targets in document["transitions"].items()
        if status != "on_hold"
    }
    without_hold = policy_from_document(document, "candidate")
    held = ticket(12, {"at": "2026-12-07T10:00:00-05:00", "type": "status", "to": "on_hold"})

    assert compare_ticket(held, without_hold, DECEMBER, now=NOW) == NotComparable(
        12, "event 1: policy 'alleo' has no status 'on_hold' (known: new, open, awaiting_customer, closed)"
    )


def test_the_ticket_own_policy_as_candidate_changes_nothing() -> None:
    tickets = [
        answered(1, "2026-12-07T10:00:00-05:00"),
        answered(3, "2026-12-07T14:00:00-05:00"),
        ticket(9, opened="2026-12-18T09:00:00-05:00"),
    ]
    report = what_if([compare_ticket(t, ALLEO, DECEMBER, now=NOW) for t in tickets], DECEMBER, ("severity",), "alleo")

    assert report.changes == ()
    assert [(r.actual, r.more_breaches) for r in report.rows] == [(r.candidate, 0) for r in report.rows]
    (row,) = report.rows  # ticket 9, unanswered, fell due on 18 December at 13:00
    assert row.actual.tickets == {Outcome.MET: (1,), Outcome.BREACHED: (3, 9)}


# overrides


def test_an_override_reaches_into_a_target_written_as_one_duration() -> None:
    document = alleo_document()
    located = apply_override(document, "severities.Sev1.targets.first_response.goal=1h")
    assert located == ("severities.Sev1.targets.first_response.goal", "severities[0].targets.first_response.goal")
    assert document["severities"][0]["targets"]["first_response"] == {"due": "4h", "goal": "1h"}


def test_an_override_value_reads_as_yaml() -> None:
    assert parse_override("calendars.business.hours.mon-fri=[08:00-12:00, 13:00-17:00]") == (
        "calendars.business.hours.mon-fri",
        ["calendars", "business", "hours", "mon-fri"],
        ["08:00-12:00", "13:00-17:00"],
    )
    assert parse_override(" warning_fraction = 0.5 ")[2] == 0.5


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "severitie.Sev1.targets.first_response.due=2h",
            "overrides: severitie.Sev1.targets.first_response.due: 'severitie' is not a field of a policy",
        ),
        (
            "severities.Sev9.targets.first_response.due=2h",
            "overrides: severities.Sev9.targets.first_response.due: severities has no item with code or id "
            "'Sev9' (known: Sev1, Sev2, Sev3, Sev4)",
        ),
        (
            "timezone.zone=UTC",
            "overrides: timezone.zone: timezone is a single value ('America/New_York'), not fields: set it whole",
        ),
        ("severities.Sev1.targets.first_response.due", "overrides: severities.Sev1.targets.first_response.due: write"),
        ("severities..code=P1", "overrides: severities..code: a path is keys joined by single dots"),
        ("warning_fraction=", "overrides: warning_fraction: give a value after `=`"),
        ("warning_fraction=[0.5", "overrides: warning_fraction: the value '[0.5' does not read as YAML"),
    ],
)
def test_a_bad_override_names_its_path(override: str, message: str) -> None:
    with pytest.raises(OverrideError) as raised:
        apply_override(alleo_document(), override)
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, InvalidFieldError) and raised.value.field == "overrides"
