"""The policy format's rules beyond plain targets: cases, tier targets, releases, elapsed-when-open
counting, informational targets, severity assignment, routing, support contacts and closed tickets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sladesk.errors import InputError, PolicyError
from sladesk.policy import load_policy, policy_from_text
from sladesk.policy.policy import Situation
from sladesk.policy.words import rules_in_words, target_lines
from sladesk.sla.events import (
    Event,
    OpenedEvent,
    PathEvent,
    ReplyEvent,
    StatusEvent,
    TeamEvent,
    TicketFacts,
    TriagedEvent,
)
from sladesk.sla.incidents import page_times
from sladesk.sla.replay import replay
from sladesk.sla.state import read_clock

BASE = """\
id: rules
name: Rules desk
timezone: America/Denver
calendars:
  business:
    name: Business hours
    hours: {mon-fri: "08:00-17:00"}
statuses:
  - {id: new, name: New, kind: new}
  - {id: open, name: Open, kind: open}
  - {id: closed, name: Closed, kind: closed}
transitions:
  new: [open, closed]
  open: [closed]
metrics:
  first_response: {name: First response, calendar: business, stop: first_agent_reply}
  resolution: {name: Resolution, calendar: business, stop: resolved}
categories:
  - {id: defect, name: Defect}
  - {id: question, name: Question}
paths:
  - {id: release, name: Needs a new version}
releases:
  every: 2 weeks
  first: 2026-01-05
  at: "06:00"
teams:
  - {id: ops, name: Ops}
routing:
  - when: {category: defect, severity: S1}
    team: ops
severities:
  - code: S1
    rank: 1
    name: High
    definition: Down.
    targets:
      first_response: {due: 1h, calendar: business, counting: elapsed_when_open}
      resolution:
        due: 2 business days
        cases:
          - when: {category: defect, path: release}
            releases: 2
          - when: {category: question}
            informational: true
  - {code: S2, rank: 2, name: Low, definition: Slow., targets: {first_response: 9h}}
"""


def located(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policy(str(path))
    return [str(problem).split(": ", 1)[1] for problem in raised.value.problems]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_example_policy_loads():
    policy = policy_from_text(BASE, "rules.yaml")
    assert [p.id for p in policy.spec.paths] == ["release"]


def test_broken_rules_are_located_problems(tmp_path):
    text = (
        BASE.replace("when: {category: defect, path: release}", "when: {category: defects, path: relase}")
        .replace("team: ops", "team: opps")
        .replace("id: rules\n", "id: rules\nseverity_assignment: {by: support, provisional: S9}\n")
    )
    assert located(tmp_path, text) == [
        "severity_assignment.provisional: no severity 'S9' (known: S1, S2)",
        "routing[0].team: unknown team 'opps' (known: ops)",
        "severities[0].targets.resolution.cases[0].when.category: unknown category 'defects' (known: defect, question)",
        "severities[0].targets.resolution.cases[0].when.path: unknown resolution path 'relase' (known: release)",
    ]


def test_each_broken_rule_points_at_its_line(tmp_path):
    text = BASE.replace("team: ops", "team: opps")
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policy(str(path))
    line = text.splitlines().index("    team: opps") + 1
    assert [str(p) for p in raised.value.problems] == [
        f"{path}:{line}: routing[0].team: unknown team 'opps' (known: ops)"
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("releases: 2\n", "releases: 2\n            due: 4h\n"), "give either `due` (a duration) or `releases`"),
        (
            (
                "first_response: {due: 1h, calendar: business, counting: elapsed_when_open}",
                "first_response: {due: 1h, counting: elapsed_when_open}",
            ),
            "`counting: elapsed_when_open` needs the `calendar`",
        ),
        (("  every: 2 weeks\n", "  every: fortnightly\n"), "write how often releases come like `4 weeks`"),
        (("  first: 2026-01-05\n", ""), "give `every` and `first` together"),
        (("id: rules\n", "id: rules\nseverity_assignment: {by: support}\n"), "`by: support` needs `provisional`"),
        (("  business:\n", "  elapsed:\n    hours: 24x7\n  business:\n"), "the calendar id 'elapsed' is kept"),
        (
            ("routing:\n  - when: {category: defect, severity: S1}", "routing:\n  - when: {intake: {nope: [x]}}"),
            "unknown intake field 'nope'",
        ),
        (
            (
                "            informational: true\n",
                "            informational: true\n            due: 4h\n            goal: 2h\n",
            ),
            "an informational target tracks one aim",
        ),
    ],
)
def test_each_rule_refuses_what_it_cannot_mean(tmp_path, change, message):
    old, new = change
    assert old in BASE
    problems = located(tmp_path, BASE.replace(old, new, 1))
    assert any(message in problem for problem in problems), problems


def test_a_release_target_without_a_release_calendar_is_refused(tmp_path):
    text = BASE.replace('releases:\n  every: 2 weeks\n  first: 2026-01-05\n  at: "06:00"\n', "")
    assert located(tmp_path, text) == [
        "severities[0].targets.resolution.cases[0].releases: a target in release versions needs the policy's "
        "`releases` calendar"
    ]


def test_releases_come_every_two_weeks_from_the_first_at_local_time():
    policy = policy_from_text(BASE, "rules.yaml")
    # Mon 5 Jan 2026 06:00 MST, then every 14 days: 19 Jan, 2 Feb, ... 9 Mar (MST), 23 Mar (MDT).
    assert policy.releases_after(at("2026-03-01T00:00:00-07:00"), 2) == [
        at("2026-03-02T06:00:00-07:00"),
        at("2026-03-16T06:00:00-06:00"),
    ]
    # strictly after: a clock started at a release counts from the next one
    assert policy.releases_after(at("2026-01-05T06:00:00-07:00"), 1) == [at("2026-01-19T06:00:00-07:00")]
    assert policy.releases_after(at("2025-12-01T00:00:00-07:00"), 1) == [at("2026-01-05T06:00:00-07:00")]


def test_listed_release_dates_join_the_regular_ones():
    text = BASE.replace('  at: "06:00"\n', '  at: "06:00"\n  dates: [2026-03-10]\n')
    policy = policy_from_text(text, "rules.yaml")
    assert policy.releases_after(at("2026-03-03T00:00:00-07:00"), 3) == [
        at("2026-03-10T06:00:00-06:00"),
        at("2026-03-16T06:00:00-06:00"),
        at("2026-03-30T06:00:00-06:00"),
    ]


def test_the_first_matching_case_replaces_the_severitys_target():
    policy = policy_from_text(BASE, "rules.yaml")
    s1 = policy.severity("S1")
    plain = policy.clock_rule(s1, "resolution", Situation(category="defect"))
    assert (plain.due, plain.case) == (policy.clock_rule(s1, "resolution").due, None)
    release = policy.clock_rule(s1, "resolution", Situation(category="defect", path="release"))
    assert (release.releases, release.calendar_id, release.case) == (
        2,
        "elapsed",
        "category Defect, path Needs a new version",
    )
    question = policy.clock_rule(s1, "resolution", Situation(category="question"))
    assert (question.informational, question.due, question.goal) == (True, None, None)


def test_a_release_target_is_due_at_the_second_release_after_the_start():
    policy = policy_from_text(BASE, "rules.yaml")
    # Opened Wed 4 Mar 2026 10:00 MST; releases after it: 16 Mar 06:00 MDT and 30 Mar 06:00 MDT.
    events: list[Event] = [
        OpenedEvent(at=at("2026-03-04T10:00:00-07:00"), by="agent"),
        PathEvent(at=at("2026-03-05T10:00:00-07:00"), to="release", reason="code fix"),
    ]
    report = replay(policy, TicketFacts("S1", category="defect"), events, at("2026-03-20T10:00:00-06:00"))
    resolution = report.metrics["resolution"]
    assert resolution.due == at("2026-03-30T06:00:00-06:00")
    # 4 Mar 17:00Z to 30 Mar 12:00Z: 25 days 19 hours
    assert resolution.instants.target_seconds == 25 * 86400 + 19 * 3600


def test_elapsed_when_open_counts_elapsed_time_from_the_start_or_the_next_opening():
    policy = policy_from_text(BASE, "rules.yaml")
    inside = replay(
        policy,
        TicketFacts("S1"),
        [OpenedEvent(at=at("2026-03-04T16:30:00-07:00"), by="agent")],
        at("2026-03-04T17:10:00-07:00"),
    )
    assert inside.metrics["first_response"].due == at("2026-03-04T17:30:00-07:00")
    assert inside.metrics["first_response"].counted_seconds == 2400
    outside = replay(
        policy,
        TicketFacts("S1"),
        [OpenedEvent(at=at("2026-03-06T18:00:00-07:00"), by="agent")],  # a Friday evening
        at("2026-03-07T12:00:00-07:00"),
    )
    assert outside.metrics["first_response"].due == at("2026-03-09T09:00:00-06:00")  # Monday, after spring forward
    assert outside.metrics["first_response"].counted_seconds == 0


def test_triage_runs_on_the_more_severe_of_the_request_and_the_provisional_severity():
    text = BASE.replace("id: rules\n", "id: rules\nseverity_assignment: {by: support, provisional: S1}\n")
    policy = policy_from_text(text, "rules.yaml")
    opened = OpenedEvent(at=at("2026-03-04T09:00:00-07:00"), by="customer")
    waiting = replay(policy, TicketFacts("S2"), [opened], at("2026-03-04T09:30:00-07:00"))
    assert (waiting.severity.code, waiting.history.awaiting_triage) == ("S1", True)
    assert waiting.history.requested_severity is not None and waiting.history.requested_severity.code == "S2"
    confirmed = replay(
        policy,
        TicketFacts("S2"),
        [opened, TriagedEvent(at=at("2026-03-04T09:40:00-07:00"), severity="S2", by="agent")],
        at("2026-03-04T10:00:00-07:00"),
    )
    assert (confirmed.severity.code, confirmed.history.awaiting_triage) == ("S2", False)
    by_staff = replay(policy, TicketFacts("S2"), [opened.model_copy(update={"by": "agent"})], opened.at)
    assert (by_staff.severity.code, by_staff.history.awaiting_triage) == ("S2", False)


def test_routing_sends_a_matching_ticket_to_its_team_and_a_team_change_moves_it():
    policy = policy_from_text(BASE, "rules.yaml")
    opened = OpenedEvent(at=at("2026-03-04T09:00:00-07:00"), by="customer")
    routed = replay(policy, TicketFacts("S1", category="defect"), [opened], opened.at)
    assert routed.history.team == "ops"
    assert replay(policy, TicketFacts("S2", category="defect"), [opened], opened.at).history.team is None
    moved = replay(
        policy,
        TicketFacts("S1", category="defect"),
        [opened, TeamEvent(at=at("2026-03-04T09:10:00-07:00"), to=None, reason="not ops work")],
        at("2026-03-04T09:20:00-07:00"),
    )
    assert moved.history.team is None


def test_intake_answers_route_when_a_rule_asks_for_them():
    text = BASE.replace(
        "routing:\n  - when: {category: defect, severity: S1}",
        "intake:\n  - {id: product, label: Product, type: choice, choices: [Ads, Reports]}\n"
        "routing:\n  - when: {intake: {product: [Reports]}}",
    )
    policy = policy_from_text(text, "rules.yaml")
    opened = OpenedEvent(at=at("2026-03-04T09:00:00-07:00"))
    facts = TicketFacts("S2", intake={"product": "Reports"})
    assert replay(policy, facts, [opened], opened.at).history.team == "ops"
    other = TicketFacts("S2", intake={"product": "Ads"})
    assert replay(policy, other, [opened], opened.at).history.team is None


def test_a_closed_ticket_refuses_a_public_reply_but_takes_an_internal_note():
    text = BASE.replace("categories:", "closed: {updates: refused, hint: Open a new ticket.}\ncategories:")
    policy = policy_from_text(text, "rules.yaml")
    history: list[Event] = [
        OpenedEvent(at=at("2026-03-04T09:00:00-07:00")),
        StatusEvent(at=at("2026-03-04T10:00:00-07:00"), to="closed"),
    ]
    note = ReplyEvent(at=at("2026-03-04T11:00:00-07:00"), by="agent", public_reply=False)
    assert replay(policy, TicketFacts("S2"), [*history, note], note.at).history.status == "closed"
    reply = ReplyEvent(at=at("2026-03-04T11:00:00-07:00"), by="customer")
    with pytest.raises(InputError) as refused:
        replay(policy, TicketFacts("S2"), [*history, reply], reply.at)
    assert str(refused.value) == "event 2: the ticket is closed and takes no update: Open a new ticket."


def test_a_customer_who_is_not_a_support_contact_is_refused_where_the_policy_asks():
    text = BASE.replace("categories:", "opening: {requires_support_contact: true, hint: Ask Ann.}\ncategories:")
    policy = policy_from_text(text, "rules.yaml")
    stranger = OpenedEvent(at=at("2026-03-04T09:00:00-07:00"), by="customer", support_contact=False)
    with pytest.raises(InputError, match=r"only your organisation.s support contacts open tickets: Ask Ann\."):
        replay(policy, TicketFacts("S2"), [stranger], stranger.at)
    contact = stranger.model_copy(update={"support_contact": True})
    assert replay(policy, TicketFacts("S2"), [contact], contact.at).severity.code == "S2"


def test_targets_and_rules_read_in_words():
    policy = load_policy("aspenware")
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    lines = [(line.case, line.words) for line in target_lines(policy, policy.severity("L2"), now)]
    assert (
        "category Software defect, path Needs a new version",
        "within 2 release versions (next releases 2026-12-08, 2027-01-05)",
    ) in lines
    l1 = [line.words for line in target_lines(policy, policy.severity("L1"), now) if line.metric_id == "first_response"]
    assert l1 == [
        "1h of elapsed time if opened within Business hours or on-call period, else 1h after its next opening"
    ]
    assert rules_in_words(policy, now)[-1] == (
        "Releases: the next are Tue 08 Dec 2026 06:00, Tue 05 Jan 2027 06:00, Tue 02 Feb 2027 06:00."
    )
    choozle = rules_in_words(load_policy("choozle"), now)
    assert "Tickets with category Technical issue or platform error go to the Tech Ops team's queue." in choozle


def test_an_elapsed_when_open_clock_stored_before_its_opening_reads_later_as_a_replay_then():
    policy = policy_from_text(BASE, "rules.yaml")
    opened = OpenedEvent(at=at("2026-03-06T18:00:00-07:00"), by="agent")  # Friday evening, closed until Monday
    stored = replay(policy, TicketFacts("S1"), [opened], opened.at).metrics["first_response"]
    later = at("2026-03-09T08:30:00-06:00")
    read = read_clock(stored.instants, stored.calendar, later)
    assert (read.counted_seconds, read.remaining_seconds) == (1800, 1800)  # counted from Monday 08:00 only
    assert read == replay(policy, TicketFacts("S1"), [opened], later).metrics["first_response"].reading


def test_a_severity_pages_only_when_it_takes_effect_within_its_calendar():
    text = (
        BASE.replace("id: rules\n", "id: rules\npaging: {escalation_policy: night}\n")
        .replace(
            "  - code: S1\n    rank: 1\n",
            "  - code: S1\n    rank: 1\n    pages_oncall: true\n    pages_within: evenings\n",
        )
        .replace("calendars:\n", 'calendars:\n  evenings:\n    hours: {mon-fri: "17:00-22:00"}\n')
    )
    policy = policy_from_text(text, "rules.yaml")
    evening = OpenedEvent(at=at("2026-03-04T18:00:00-07:00"), by="customer")
    morning = OpenedEvent(at=at("2026-03-04T10:00:00-07:00"), by="customer")
    assert page_times(replay(policy, TicketFacts("S1"), [evening], evening.at), [evening]) == [("start", evening.at)]
    assert page_times(replay(policy, TicketFacts("S1"), [morning], morning.at), [morning]) == []
    assert page_times(replay(policy, TicketFacts("S2"), [evening], evening.at), [evening]) == []  # S2 does not page


def test_pages_within_names_a_calendar_the_policy_has(tmp_path):
    text = BASE.replace("  - code: S1\n    rank: 1\n", "  - code: S1\n    rank: 1\n    pages_within: nights\n")
    assert located(tmp_path, text) == ["severities[0].pages_within: unknown calendar 'nights' (known: business)"]
