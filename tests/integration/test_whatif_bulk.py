"""The what-if report through the bulk replay equals the same report with every ticket replayed one at a time.

The property: on a desk that grows with every example (Alleo, Choozle and Aspenware tickets with random
histories: public replies, internal notes, status changes, reopenings, replies on closed tickets, severity
changes, outside incidents set and cleared, assignments; now and then a new Alleo version uploaded, so that
tickets sit on several versions), `whatif_report` and `whatif_by_replay` give the same report for a random
candidate (the policy with overrides, or another policy's rules), period, grouping and `now`. On SQLite;
one worked example runs on both databases.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sladesk.errors import SladeskError
from sladesk.policy import builtin_source
from sladesk.reports import DIMENSIONS, Outcome, Period
from sladesk.reports.whatif import OutcomeChange, compare_ticket
from sladesk.services import Role, tickets
from sladesk.services import whatif as whatif_services
from sladesk.services.clocks import ticket_policy
from sladesk.services.policies import upload_policy
from sladesk.services.whatif import Candidate, whatif_by_replay, whatif_report
from sladesk.store import reading, transaction
from sladesk.store.tables import Ticket
from tests.support.desk import Desk

WINDOW_START = datetime.fromisoformat("2026-12-01T00:00:00-05:00")
POLICIES = ("alleo", "choozle", "aspenware")
CANDIDATES: dict[str, tuple[Candidate, ...]] = {
    "alleo": (
        Candidate(version="alleo", overrides=("severities.Sev1.targets.first_response.due=2h",)),
        Candidate(version="alleo", overrides=("closed.updates=refused", "severities.Sev2.targets.first_response=1h")),
        Candidate(version="alleo@2"),
        Candidate(version="choozle"),
    ),
    "choozle": (
        Candidate(version="choozle", overrides=("severities.S2.targets.resolution.due=2 business days",)),
        Candidate(version="choozle", overrides=("severities.S1.targets.first_response=1h",)),
        Candidate(version="alleo"),
        Candidate(version="aspenware"),
    ),
    "aspenware": (Candidate(version="aspenware"), Candidate(version="choozle")),
}

action = st.one_of(
    st.tuples(st.just("agent_reply"), st.integers(0, 1)),  # 1: an internal note
    st.tuples(st.just("customer_reply"), st.just(0)),
    st.tuples(st.just("status"), st.integers(0, 6)),
    st.tuples(st.just("severity"), st.integers(1, 4)),
    st.tuples(st.just("incident"), st.integers(0, 2)),
    st.tuples(st.just("assign"), st.integers(0, 1)),
)
history = st.tuples(
    st.sampled_from(POLICIES),
    st.integers(1, 4),  # severity rank
    st.integers(0, 30 * 24 * 60),  # opened, minutes into December
    st.lists(st.tuples(st.sampled_from((0, 1, 30, 120, 600, 1440, 3000)), action), max_size=8),
)


def set_up(desk: Desk) -> None:
    if "agent" in desk.ids:
        return
    for policy in POLICIES:
        desk.user(policy, Role.CUSTOMER, desk.organisation(policy.title(), policy))
    desk.user("admin", Role.ADMIN)
    desk.user("agent", Role.AGENT)
    desk.user("other", Role.AGENT)
    desk.latest = WINDOW_START  # type: ignore[attr-defined]
    desk.alleo_version = 2  # type: ignore[attr-defined]


def upgrade_alleo(desk: Desk, hours: int) -> None:
    """A new Alleo version: Sev1's first response due in `hours` h; tickets opened from now on are on it."""
    version = desk.alleo_version + 1  # type: ignore[attr-defined]
    text = builtin_source("alleo").replace("version: 2", f"version: {version}")
    text = text.replace("first_response: 4h", f"first_response: {hours}h", 1)
    with transaction(desk.sessions) as session:
        upload_policy(session, desk.actors["admin"], text)
    desk.alleo_version = version  # type: ignore[attr-defined]


def act(session, desk: Desk, ticket_id: int, kind: str, value: int, now: datetime) -> None:
    agent = desk.actors["agent"]
    ticket = session.get(Ticket, ticket_id)
    if kind == "agent_reply":
        tickets.reply(session, agent, ticket_id, "Answer.", public=value == 0, now=now)
    elif kind == "customer_reply":
        tickets.reply(session, desk.actors[ticket.policy_id], ticket_id, "More.", now=now)
    elif kind == "status":
        statuses = [s.id for s in ticket_policy(session, ticket).spec.statuses if s.id != ticket.status]
        tickets.change_status(session, agent, ticket_id, statuses[value % len(statuses)], now=now)
    elif kind == "severity":
        tickets.change_severity(session, agent, ticket_id, value, "Reassessed", now=now)
    elif kind == "incident":
        reason = (None, "Provider outage", "Cloud region down")[value]
        tickets.set_outside_incident(session, agent, ticket_id, reason, now=now)
    else:
        tickets.assign(session, agent, ticket_id, desk.ids[("agent", "other")[value]], now=now)


def build(desk: Desk, histories) -> None:
    for policy, severity, opened_minutes, steps in histories:
        now = WINDOW_START + timedelta(minutes=opened_minutes)
        try:
            with transaction(desk.sessions) as session:
                opened = tickets.open_ticket(
                    session, desk.actors[policy], subject="Random", description="x", severity=severity, now=now
                )
                ticket_id = opened.ticket.id
        except SladeskError:
            continue
        desk.latest = max(desk.latest, now)  # type: ignore[attr-defined]
        for gap_minutes, (kind, value) in steps:
            now += timedelta(minutes=gap_minutes)
            try:
                with transaction(desk.sessions) as session:
                    act(session, desk, ticket_id, kind, value, now)
            except SladeskError:
                continue  # refused: nothing stored
            desk.latest = max(desk.latest, now)  # type: ignore[attr-defined]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    histories=st.lists(history, min_size=1, max_size=4),
    upgrade=st.sampled_from((None, None, None, 1, 3)),
    policy=st.sampled_from(POLICIES),
    choice=st.integers(0, 3),
    start_days=st.integers(-5, 35),
    length_days=st.integers(1, 40),
    later_minutes=st.sampled_from((0, 1, 90, 3 * 24 * 60)),
    by=st.lists(st.sampled_from(DIMENSIONS), unique=True, max_size=2),
    chunk=st.sampled_from((1, 2, 3, whatif_services.BULK_CHUNK)),
)
def test_the_bulk_what_if_equals_the_one_at_a_time_what_if_on_random_desks(
    desk, histories, upgrade, policy, choice, start_days, length_days, later_minutes, by, chunk
):
    set_up(desk)
    if upgrade is not None:
        upgrade_alleo(desk, upgrade)
    build(desk, histories)
    candidate = CANDIDATES[policy][choice % len(CANDIDATES[policy])]
    start = WINDOW_START + timedelta(days=start_days)
    period = Period(start, start + timedelta(days=length_days))
    now = desk.latest + timedelta(minutes=later_minutes)
    told: list[tuple[int, int]] = []
    with reading(desk.sessions) as session:
        options = dict(policy_id=policy, by=by, now=now)
        with mock.patch.object(whatif_services, "BULK_CHUNK", chunk):  # tickets replayed together, in chunks
            bulk = whatif_report(
                session,
                desk.actors["agent"],
                period,
                candidate,
                progress=lambda *told_now: told.append(told_now),
                **options,
            )
        single = whatif_by_replay(session, desk.actors["agent"], period, candidate, **options)
    assert bulk == single
    # the dues as the API and the pages write them out, each in its calendar's zone
    assert [
        (c.before_due and c.before_due.isoformat(), c.after_due and c.after_due.isoformat()) for c in bulk.changes
    ] == [(c.before_due and c.before_due.isoformat(), c.after_due and c.after_due.isoformat()) for c in single.changes]
    total = told[0][1]
    assert told[0] == (0, total) and told[-1] == (total, total)
    assert all(total == t and done < later for (done, t), (later, _) in pairwise(told))


def at(day: int, time: str) -> datetime:
    return datetime.fromisoformat(f"2026-12-{day:02d}T{time}-05:00")


def test_a_choozle_desk_in_bulk_matches_the_ticket_by_ticket_report_and_replays_only_the_odd_history_alone(
    desk: Desk,
):
    """Choozle (first response S1 and S2 in 2 h of 08:00-17:00 Denver, i.e. 10:00-19:00 New York) under S1's
    first response in 30 min, read on 20 December: an S1 opened at 10:00 New York is due at 12:00, at 10:30
    under the candidate.

    Ticket 1, S1 opened Monday 7 December 10:00 New York, answered at 10:45 (met, breached under 30 min).
    Ticket 2, S1 opened 10:00, answered 10:50, marked as caused by an outside incident at 10:55 and resolved at
    11:00 (met, an excused breach under 30 min).
    Ticket 3, S2 opened 10:00, answered 11:00 (2 h: met either way), then reopened after its resolve: the
    bulk replay leaves a reopened history to the one-at-a-time replay.
    """
    desk.user("choozle", Role.CUSTOMER, desk.organisation("Choozle", "choozle"))
    desk.user("agent", Role.AGENT)
    agent = desk.actors["agent"]
    steps = [
        (1, "S1", [("reply", "10:45")]),
        (2, "S1", [("reply", "10:50"), ("incident", "10:55"), ("resolved", "11:00")]),
        (3, "S2", [("reply", "11:00"), ("resolved", "11:30"), ("open", "12:00")]),
    ]
    for number, severity, actions in steps:
        with transaction(desk.sessions) as session:
            opened = tickets.open_ticket(
                session,
                desk.actors["choozle"],
                subject="Ads stopped",
                description="x",
                severity=severity,
                now=at(7, "10:00:00"),
            )
            assert opened.ticket.id == number
        for kind, time in actions:
            with transaction(desk.sessions) as session:
                if kind == "reply":
                    tickets.reply(session, agent, number, "On it.", now=at(7, f"{time}:00"))
                elif kind == "incident":
                    tickets.set_outside_incident(session, agent, number, "Exchange outage", now=at(7, f"{time}:00"))
                else:
                    tickets.change_status(session, agent, number, kind, now=at(7, f"{time}:00"))
    candidate = Candidate(version="choozle", overrides=("severities.S1.targets.first_response.due=30m",))
    december = Period(at(1, "00:00:00"), datetime.fromisoformat("2027-01-01T00:00:00-05:00"))
    now = at(20, "00:00:00")
    single_replays = mock.Mock(wraps=compare_ticket)
    with reading(desk.sessions) as session, mock.patch.object(whatif_services, "compare_ticket", single_replays):
        result = whatif_report(session, agent, december, candidate, by=("severity",), now=now)
        replayed = [call.args[0].ticket_id for call in single_replays.call_args_list]
        assert result == whatif_by_replay(session, agent, december, candidate, by=("severity",), now=now)

    assert replayed == [3]
    assert str(result.changes[0].before_due) == "2026-12-07 10:00:00-07:00"  # in Choozle's calendar's zone
    assert result.not_comparable == ()
    assert result.compared == 3
    assert result.changes == (
        OutcomeChange(1, "first_response", Outcome.MET, Outcome.BREACHED, at(7, "12:00:00"), at(7, "10:30:00")),
        OutcomeChange(2, "first_response", Outcome.MET, Outcome.EXCUSED, at(7, "12:00:00"), at(7, "10:30:00")),
    )
    rows = {(row.metric, row.group): row for row in result.rows}
    s1 = rows["first_response", (("severity", "S1"),)]
    assert (s1.actual.met, s1.actual.breached, s1.actual.excused) == (2, 0, 0)
    assert (s1.candidate.met, s1.candidate.breached, s1.candidate.excused) == (0, 1, 1)
    assert s1.candidate.tickets == {Outcome.BREACHED: (1,), Outcome.EXCUSED: (2,)}
    s2 = rows["first_response", (("severity", "S2"),)]
    assert (s2.actual.met, s2.candidate.met) == (1, 1)
