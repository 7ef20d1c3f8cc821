"""Replaying many histories at once over arrays gives what replaying each ticket alone gives.

For random batches of Alleo and Choozle histories (replies, notes, status changes with pauses, resolves,
closes and reopenings, severity changes with breaches under the earlier severity, outside-incident marks,
ties between events, events after `now`), every ticket the bulk replay covers has, per metric, the state,
outcome, counted seconds, target, due, goal, goal decision, stop and earlier breach of `replay`; and it
leaves to the one-at-a-time replay exactly the tickets outside its shapes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sladesk.errors import InputError
from sladesk.policy import Policy, load_policy
from sladesk.reports.bulk import NO_INSTANT, OUTCOMES, STATES, Histories, outcome_of, replay_many
from sladesk.sla import Event, TicketFacts, replay
from sladesk.sla.events import (
    AssignedEvent,
    CategoryEvent,
    OpenedEvent,
    OutsideIncidentEvent,
    ReplyEvent,
    SeverityEvent,
    StatusEvent,
)
from sladesk.sla.history import refuses_updates

START = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # Thanksgiving week: Alleo's holidays count


@st.composite
def ticket_history(draw: st.DrawFn, policy: Policy):
    """(severity rank, events, whether the bulk replay should leave the ticket to the single replay)."""
    ranks = [severity.rank for severity in policy.severities]
    statuses = [status.id for status in policy.spec.statuses]
    at = START + timedelta(minutes=draw(st.integers(0, 60 * 24 * 10)))
    events: list = [OpenedEvent(at=at, by="agent")]
    status = policy.initial_status
    outside = False
    for _ in range(draw(st.integers(0, 12))):
        at += timedelta(minutes=draw(st.sampled_from((0, 1, 17, 60, 240, 600, 1440, 3000))))
        kind = draw(
            st.sampled_from(
                (
                    *("agent", "agent", "customer", "customer", "note", "status", "status", "status"),
                    *("severity", "incident", "assigned", "odd_status", "category"),
                )
            )
        )
        if kind == "category":
            if draw(st.integers(0, 9)) == 0:  # rare: a shape the bulk replay leaves alone
                events.append(CategoryEvent(at=at, to=None, reason="recategorised"))
                outside = True
        elif kind in ("status", "odd_status"):
            allowed = list(policy.spec.transitions.get(status, ()))
            target = draw(st.sampled_from(statuses)) if kind == "odd_status" or not allowed else None
            target = target or draw(st.sampled_from(allowed))
            if not policy.can_move(status, target):
                outside = True  # the policy refuses it: the replay raises, the bulk replay falls back
            elif policy.is_finished(status) and not policy.is_finished(target):
                outside = True  # reopened
            events.append(StatusEvent(at=at, to=target))
            status = target
        elif kind == "severity":
            events.append(SeverityEvent(at=at, to=draw(st.sampled_from(ranks)), reason="re-triaged"))
        elif kind == "incident":
            events.append(OutsideIncidentEvent(at=at, set=draw(st.booleans()), reason="cloud outage"))
        elif kind == "assigned":
            events.append(AssignedEvent(at=at, to=7))
        else:
            by = "customer" if kind == "customer" else "agent"
            public = kind != "note"
            if public and refuses_updates(policy, status):
                outside = True
            events.append(ReplyEvent(at=at, by=by, public_reply=public))
            rule = policy.spec.customer_reply
            if public and by == "customer" and rule.to is not None and status in rule.moves_from:
                status = rule.to
    return draw(st.sampled_from(ranks)), events, outside


@st.composite
def batches(draw: st.DrawFn):
    policy = load_policy(draw(st.sampled_from(("alleo", "choozle"))))
    tickets = draw(st.lists(ticket_history(policy), min_size=1, max_size=12))
    last = max(events[-1].at for _, events, _ in tickets)
    now = last + timedelta(minutes=draw(st.integers(-60 * 24 * 5, 60 * 24 * 20)))
    opened = max(events[0].at for _, events, _ in tickets)
    return policy, tickets, max(now, opened)


@settings(max_examples=400, deadline=None)
@given(batches())
def test_bulk_replay_equals_replaying_each_ticket_alone(batch):
    policy, tickets, now = batch
    histories = Histories.of_events(policy, [(100 + n, rank, events) for n, (rank, events, _) in enumerate(tickets)])
    bulk = replay_many(policy, histories, now)
    assert bulk.metrics == policy.metric_ids
    assert list(bulk.fallback_ids) == [100 + n for n, (_, _, outside) in enumerate(tickets) if outside]
    for row, (rank, events, outside) in enumerate(tickets):
        if outside:
            continue
        single = replay(policy, TicketFacts(severity=rank), events, now)
        assert bulk.severity[row] == single.severity.rank
        for column, metric_id in enumerate(bulk.metrics):
            metric = single.metrics[metric_id]
            instants = metric.instants
            assert STATES[bulk.state[row, column]] is metric.state, metric_id
            assert OUTCOMES[bulk.outcome[row, column]] is outcome_of(metric), metric_id
            assert bulk.counted_seconds[row, column] == metric.counted_seconds, metric_id
            assert bulk.target_seconds[row, column] == (instants.target_seconds or -1), metric_id
            assert _instant(bulk.due_us[row, column]) == instants.due, metric_id
            assert _instant(bulk.goal_us[row, column]) == instants.goal, metric_id
            assert _decision(bulk.goal_met[row, column]) == metric.reading.goal_met, metric_id
            assert _instant(bulk.stopped_us[row, column]) == instants.stopped_at, metric_id
            assert bulk.stop_cancels[row, column] == instants.stop_cancels, metric_id
            assert _instant(bulk.earlier_breach_us[row, column]) == instants.earlier_breach_at, metric_id
            earlier = instants.earlier_breach_severity
            expected_rank = policy.severity(earlier).rank if earlier is not None else -1
            assert bulk.earlier_breach_severity[row, column] == expected_rank, metric_id


def _instant(micros: int) -> datetime | None:
    return None if micros == NO_INSTANT else datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(micros))


def _decision(code: int) -> bool | None:
    return None if code < 0 else bool(code)


def test_a_choozle_s2_breached_before_its_downgrade_counts_as_breached_and_a_reopened_one_falls_back():
    policy = load_policy("choozle")
    monday = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 08:00 in Denver
    breached: list[Event] = [
        OpenedEvent(at=monday, by="agent"),
        ReplyEvent(at=monday + timedelta(hours=3), by="agent"),  # first response due 10:00: 1 h late
        SeverityEvent(at=monday + timedelta(hours=4), to="S3", reason="less urgent"),
        StatusEvent(at=monday + timedelta(hours=5), to="resolved"),
    ]
    reopened = [*breached, StatusEvent(at=monday + timedelta(hours=6), to="open")]
    histories = Histories.of_events(policy, [(1, "S2", breached), (2, "S2", reopened)])
    bulk = replay_many(policy, histories, monday + timedelta(days=1))
    assert list(bulk.fallback_ids) == [2]
    first_response = bulk.metrics.index("first_response")
    assert OUTCOMES[bulk.outcome[0, first_response]] == "breached"
    assert STATES[bulk.state[0, first_response]] == "met"  # S3's 3 h was met
    assert _instant(bulk.earlier_breach_us[0, first_response]) == monday + timedelta(hours=2)
    assert bulk.earlier_breach_severity[0, first_response] == 2
    assert bulk.counted_seconds[0, first_response] == 3 * 3600
    resolution = bulk.metrics.index("resolution")
    assert OUTCOMES[bulk.outcome[0, resolution]] == "met"
    assert bulk.counted_seconds[0, resolution] == 5 * 3600
    # 5 x 24 h of the business week: Monday 08:00 to Friday 24:00 is 112 h, the last 8 h the next Monday
    assert _instant(bulk.due_us[0, resolution]) == monday + timedelta(days=7)


def test_a_history_the_policy_refuses_falls_back_and_the_single_replay_says_why():
    policy = load_policy("choozle")
    events: list[Event] = [
        OpenedEvent(at=START, by="agent"),
        StatusEvent(at=START, to="closed"),
        ReplyEvent(at=START, by="agent"),
    ]
    bulk = replay_many(policy, Histories.of_events(policy, [(9, 1, events)]), START)
    assert list(bulk.fallback_ids) == [9]
    with pytest.raises(InputError, match="closed and takes no update"):
        replay(policy, TicketFacts(severity=1), events, START)
