"""The reports counted in SQL from the stored clocks equal the same reports from every ticket replayed.

Each example adds a few tickets with random histories (replies, status changes the policy allows, severity
changes, outside incidents, assignments) under four built-in policies to the test's desk, then compares
both ways of computing attainment and times for a random period, grouping and `now` after every event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sladesk.errors import SladeskError
from sladesk.reports import DIMENSIONS, Period
from sladesk.services import Role, tickets
from sladesk.services.clocks import ticket_policy
from sladesk.services.reports import attainment_by_replay, attainment_report, times_by_replay, times_report
from sladesk.store import reading, transaction
from sladesk.store.tables import Ticket

WINDOW_START = datetime.fromisoformat("2026-12-01T00:00:00-05:00")
POLICIES = {"alleo": None, "sourcegraph": "enterprise", "choozle": None, "aspenware": None}

action = st.one_of(
    st.tuples(st.just("agent_reply"), st.just(0)),
    st.tuples(st.just("customer_reply"), st.just(0)),
    st.tuples(st.just("status"), st.integers(0, 5)),
    st.tuples(st.just("severity"), st.integers(1, 4)),
    st.tuples(st.just("incident"), st.booleans().map(int)),
    st.tuples(st.just("assign"), st.integers(0, 1)),
)
history = st.tuples(
    st.sampled_from(sorted(POLICIES)),
    st.integers(1, 4),  # severity rank
    st.integers(0, 30 * 24 * 60),  # opened, minutes into December
    st.lists(st.tuples(st.integers(0, 2 * 24 * 60), action), max_size=6),  # minutes after the previous event
)


def set_up(desk) -> None:
    if "agent" in desk.ids:
        return
    for policy, tier in POLICIES.items():
        desk.user(policy, Role.CUSTOMER, desk.organisation(policy.title(), policy, tier=tier))
    desk.user("agent", Role.AGENT)
    desk.user("other", Role.AGENT)
    desk.latest = WINDOW_START


def act(session, desk, ticket_id: int, kind: str, value: int, now: datetime) -> None:
    agent = desk.actors["agent"]
    ticket = session.get(Ticket, ticket_id)
    customer = desk.actors[ticket.policy_id]
    if kind == "agent_reply":
        tickets.reply(session, agent, ticket_id, "Answer.", now=now)
    elif kind == "customer_reply":
        tickets.reply(session, customer, ticket_id, "More.", now=now)
    elif kind == "status":
        policy = ticket_policy(session, ticket)
        allowed = [s for s in policy.spec.transitions.get(ticket.status, ()) if s != ticket.status]
        if allowed:
            tickets.change_status(session, agent, ticket_id, allowed[value % len(allowed)], now=now)
    elif kind == "severity":
        tickets.change_severity(session, agent, ticket_id, value, "Reassessed", now=now)
    elif kind == "incident":
        tickets.set_outside_incident(session, agent, ticket_id, "Provider outage" if value else None, now=now)
    else:
        tickets.assign(session, agent, ticket_id, desk.ids[("agent", "other")[value]], now=now)


def build(desk, histories) -> None:
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
        desk.latest = max(desk.latest, now)
        for gap_minutes, (kind, value) in steps:
            now += timedelta(minutes=gap_minutes)
            try:
                with transaction(desk.sessions) as session:
                    act(session, desk, ticket_id, kind, value, now)
            except SladeskError:
                continue  # refused: nothing stored
            desk.latest = max(desk.latest, now)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    histories=st.lists(history, min_size=1, max_size=4),
    start_days=st.integers(-5, 35),
    length_days=st.integers(1, 40),
    later_minutes=st.integers(0, 3 * 24 * 60),
    by=st.lists(st.sampled_from(DIMENSIONS), unique=True, max_size=2),
    cap=st.sampled_from([None, 1, 2]),
)
def test_the_sql_reports_equal_the_replayed_ones_on_random_histories(
    desk, histories, start_days, length_days, later_minutes, by, cap
):
    set_up(desk)
    build(desk, histories)
    start = WINDOW_START + timedelta(days=start_days)
    period = Period(start, start + timedelta(days=length_days))
    now = desk.latest + timedelta(minutes=later_minutes)
    with reading(desk.sessions) as session:
        agent = desk.actors["agent"]
        options = dict(by=by, now=now, tickets_per_cell=cap)
        assert attainment_report(session, agent, period, **options) == attainment_by_replay(
            session, agent, period, **options
        )
        assert times_report(session, agent, period, **options) == times_by_replay(session, agent, period, **options)
