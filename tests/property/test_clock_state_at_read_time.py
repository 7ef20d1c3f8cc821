"""For any history and any later `now`, the clocks read from the instants the last event fixed equal a full replay.

This is what lets the store keep only instants: a clock written at its last event and read days later
gives what replaying every event at the reading instant gives, state, counted and remaining time,
percentage, goal and warning included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sladesk.policy import load_policy
from sladesk.sla import TicketFacts, read_clock, replay
from sladesk.sla.events import CategoryEvent, OpenedEvent, PathEvent, ReplyEvent, SeverityEvent, StatusEvent
from sladesk.sla.history import refuses_updates

POLICIES = ("alleo", "choozle", "aspenware", "sourcegraph")
START = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


@st.composite
def histories(draw: st.DrawFn):
    policy = load_policy(draw(st.sampled_from(POLICIES)))
    ranks = [severity.rank for severity in policy.severities]
    facts = TicketFacts(
        severity=draw(st.sampled_from(ranks)), tier=policy.spec.tiers[0].id if policy.spec.tiers else None
    )
    at = START + timedelta(minutes=draw(st.integers(0, 60 * 24 * 14)))
    events: list = [OpenedEvent(at=at)]
    status = policy.initial_status
    for _ in range(draw(st.integers(0, 8))):
        at += timedelta(minutes=draw(st.integers(0, 60 * 30)))
        kind = draw(st.sampled_from(("agent", "customer", "note", "status", "severity", "category", "path")))
        if kind == "category" and policy.spec.categories:
            category = draw(st.sampled_from([None, *(c.id for c in policy.spec.categories)]))
            events.append(CategoryEvent(at=at, to=category, reason="recategorised"))
        elif kind == "path" and policy.spec.paths:
            path = draw(st.sampled_from([None, *(p.id for p in policy.spec.paths)]))
            events.append(PathEvent(at=at, to=path, reason="the fix needs it"))
        elif kind in ("category", "path"):
            continue
        elif kind == "status":
            allowed = list(policy.spec.transitions.get(status, ()))
            if not allowed:
                continue
            status = draw(st.sampled_from(allowed))
            events.append(StatusEvent(at=at, to=status))
        elif kind == "severity":
            events.append(SeverityEvent(at=at, to=draw(st.sampled_from(ranks)), reason="re-triaged"))
        else:
            by = "customer" if kind == "customer" else "agent"
            if kind != "note" and refuses_updates(policy, status):
                continue  # the policy takes no public reply on a closed ticket (Choozle)
            events.append(ReplyEvent(at=at, by=by, public_reply=kind != "note"))
            rule = policy.spec.customer_reply
            if by == "customer" and rule.to is not None and status in rule.moves_from:
                status = rule.to
    later = at + timedelta(seconds=draw(st.integers(0, 60 * 60 * 24 * 20)), microseconds=draw(st.integers(0, 999_999)))
    return policy, facts, events, at, later


@settings(max_examples=300, deadline=None)
@given(histories())
def test_clocks_read_later_from_stored_instants_equal_a_full_replay_then(history):
    policy, facts, events, last_event_at, now = history
    stored = replay(policy, facts, events, last_event_at)
    replayed = replay(policy, facts, events, now)
    for metric_id, metric in stored.metrics.items():
        read = read_clock(metric.instants, metric.calendar, now)
        assert read == replayed.metrics[metric_id].reading, metric_id
        assert metric.instants.due == replayed.metrics[metric_id].due, metric_id
