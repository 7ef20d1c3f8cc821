"""The bulk what-if's comparisons equal `compare_ticket`'s, clock by clock, and count into the same report.

For random batches of Alleo and Choozle histories (the bulk replay's property test's), replayed in bulk under
their own policy and under a candidate (the policy with a tighter first response, or another policy's rules,
severities given by rank), every ticket both bulk replays cover compares as `compare_ticket` compares it
(every `ClockOutcome`, due and excuse), and the report counted over the columns, with the other tickets
compared one at a time beside them, is `what_if`'s.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sladesk.policy import Policy, builtin_source, load_policy, policy_from_text
from sladesk.reports import DIMENSIONS, Outcome, Period
from sladesk.reports.bulk import Histories, replay_many
from sladesk.reports.model import ClockOutcome, TicketLabels
from sladesk.reports.whatif import Comparison, NotComparable, OutcomeChange, TicketHistory, compare_ticket, what_if
from sladesk.reports.whatif_bulk import LabelColumns, WhatIfPairs, bulk_clocks, compare_bulk
from sladesk.sla import Event, TicketFacts
from sladesk.sla.events import OpenedEvent, OutsideIncidentEvent, ReplyEvent
from tests.property.test_bulk_replay import START, ticket_history

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@cache
def tighter(policy_id: str, old: str, new: str) -> Policy:
    return policy_from_text(builtin_source(policy_id).replace(old, new, 1), "candidate")


def tighter_first_response(policy_id: str) -> Policy:
    """Alleo with Sev1's first response in 2 h instead of 4 h, or Choozle with S1's in 1 h instead of 2 h."""
    old, new = {"alleo": ("4h", "2h"), "choozle": ("2h", "1h")}[policy_id]
    return tighter(policy_id, f"first_response: {old}", f"first_response: {new}")


@st.composite
def what_ifs(draw: st.DrawFn):
    own = load_policy(draw(st.sampled_from(("alleo", "choozle"))))
    kind = draw(st.sampled_from(("tighter", "other")))
    candidate = (
        tighter_first_response(own.id) if kind == "tighter" else load_policy({"alleo": "choozle"}.get(own.id, "alleo"))
    )
    tickets = draw(st.lists(ticket_history(own), min_size=1, max_size=10))
    labels = [
        TicketLabels(
            ticket_id=100 + n,
            organisation_id=draw(st.sampled_from((1, 2))),
            team_id=draw(st.sampled_from((None, 3))),
            assignee_id=draw(st.sampled_from((None, 5, 6))),
            tier=None,
            policy_id=own.id,
            policy_version=own.version,
        )
        for n in range(len(tickets))
    ]
    start = START + timedelta(days=draw(st.integers(-3, 12)))
    period = Period(start, start + timedelta(days=draw(st.integers(1, 20))))
    last = max(events[-1].at for _, events, _ in tickets)
    now = last + timedelta(minutes=draw(st.integers(-60 * 24 * 3, 60 * 24 * 10)))
    now = max(now, max(events[0].at for _, events, _ in tickets))
    by = tuple(draw(st.lists(st.sampled_from(DIMENSIONS), unique=True, max_size=2)))
    return own, candidate, [(rank, events) for rank, events, _ in tickets], labels, period, now, by


def micros(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(microseconds=1)


def excuse_at(events: list[Event], now: datetime) -> str | None:
    marks = [e for e in events if isinstance(e, OutsideIncidentEvent) and e.at <= now]
    return None if not marks or not marks[-1].set else (marks[-1].reason or "outside incident")


def bulk_sides(own, candidate, tickets, labels, period, now):
    ids = [label.ticket_id for label in labels]
    rows = [(i, r, e) for i, (r, e) in zip(ids, tickets, strict=True)]
    mine = Histories.of_events(own, rows)
    theirs = Histories.of_events(candidate, rows)  # the ranks as `by_rank` gives them
    actual = bulk_clocks(own, mine, replay_many(own, mine, now), period.end, now)
    return actual, bulk_clocks(candidate, theirs, replay_many(candidate, theirs, now), period.end, now)


def shown(comparison: Comparison | NotComparable | None) -> list[str | None]:
    """A comparison's instants as written out (an instant's zone shows there)."""
    if not isinstance(comparison, Comparison):
        return []
    outcomes = [*comparison.actual, *comparison.candidate]
    instants = [o.at for o in outcomes] + [o.stopped_at for o in outcomes] + [d for due in comparison.dues for d in due]
    return [None if instant is None else instant.isoformat() for instant in instants]


def shown_changes(changes: tuple[OutcomeChange, ...]) -> list[tuple[str | None, ...]]:
    return [tuple(None if due is None else due.isoformat() for due in (c.before_due, c.after_due)) for c in changes]


@settings(max_examples=50, deadline=None)
@given(what_ifs())
def test_bulk_comparisons_equal_compare_ticket_and_count_into_the_same_report(case):
    own, candidate, tickets, labels, period, now, by = case
    histories = [
        TicketHistory(own, TicketFacts(severity=rank), tuple(events), label)
        for (rank, events), label in zip(tickets, labels, strict=True)
    ]
    single = {h.ticket_id: compare_ticket(h, candidate, period, now=now) for h in histories}
    actual, judged = bulk_sides(own, candidate, tickets, labels, period, now)
    excuses = [excuse_at(events, now) for _, events in tickets]

    compared = compare_bulk(actual, judged, own, candidate, labels, excuses, period)
    for ticket_id, comparison in compared.items():
        assert comparison == single[ticket_id]
        assert shown(comparison) == shown(single[ticket_id])

    pairs = WhatIfPairs()
    columns = LabelColumns(
        organisation_id=np.array([label.organisation_id for label in labels], dtype=np.int64),
        team_id=np.array([-1 if label.team_id is None else label.team_id for label in labels], dtype=np.int64),
        assignee_id=np.array([-1 if label.assignee_id is None else label.assignee_id for label in labels]),
        tier=[label.tier for label in labels],
        policy_id=own.id,
        policy_version=own.version,
    )
    covered = pairs.add_bulk(actual, judged, own, columns, period)
    assert sorted(compared) == [label.ticket_id for label, done in zip(labels, covered, strict=True) if done]
    for label, done in zip(labels, covered, strict=True):
        if not done:
            pairs.add(single[label.ticket_id])
    report = pairs.report(period, by, "candidate")
    expected = what_if((single[label.ticket_id] for label in labels), period, by, "candidate")
    assert report == expected
    assert shown_changes(report.changes) == shown_changes(expected.changes)


def test_a_sev1_answered_after_3h_is_met_then_breached_under_2h_and_counts_so_in_both_ways():
    """Alleo (first response Sev1 in 4 h of 08:00-17:00 New York) and the candidate at 2 h: a Sev1 opened on
    Monday 23 November 2026 at 09:00 New York and answered at 12:00, read on the 30th over November."""
    own = load_policy("alleo")
    candidate = tighter_first_response("alleo")
    opened = datetime.fromisoformat("2026-11-23T09:00:00-05:00")
    events: list[Event] = [
        OpenedEvent(at=opened, by="agent"),
        ReplyEvent(at=opened + timedelta(hours=3), by="agent"),
    ]
    label = TicketLabels(7, 1, None, None, None, "alleo", own.version)
    november = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    now = datetime(2026, 11, 30, tzinfo=UTC)
    actual, judged = bulk_sides(own, candidate, [(1, events)], [label], november, now)

    (comparison,) = compare_bulk(actual, judged, own, candidate, [label], [None], november).values()

    answered = opened + timedelta(hours=3)
    met = ClockOutcome(
        ticket_id=7,
        metric="first_response",
        outcome=Outcome.MET,
        at=answered,
        severity="Sev1",
        tier=None,
        organisation_id=1,
        team_id=None,
        assignee_id=None,
        policy_id="alleo",
        policy_version=own.version,
        counted_seconds=3 * 3600,
        target_seconds=4 * 3600,
        goal_met=None,
        stopped_at=answered,
    )
    breached = replace(met, outcome=Outcome.BREACHED, at=opened + timedelta(hours=2), target_seconds=2 * 3600)
    assert comparison == Comparison(
        7, (met,), (breached,), ((opened + timedelta(hours=4), opened + timedelta(hours=2)),)
    )
    pairs = WhatIfPairs()
    pairs.add_bulk(
        actual,
        judged,
        own,
        LabelColumns(np.array([1]), np.array([-1]), np.array([-1]), [None], "alleo", own.version),
        november,
    )
    report = pairs.report(november, ("severity",), "alleo with 1 change")
    (row,) = report.rows
    assert (row.actual.met, row.actual.breached, row.candidate.met, row.candidate.breached) == (1, 0, 0, 1)
    assert report.changes == (
        OutcomeChange(
            7, "first_response", Outcome.MET, Outcome.BREACHED, opened + timedelta(hours=4), opened + timedelta(hours=2)
        ),
    )
