"""Severity suggestions: the closest severity by the policy's own words, the more severe of two close ones."""

from __future__ import annotations

import time

import pytest

from sladesk.policy import SeveritySpec, load_policy
from sladesk.triage import (
    CLOSE_MARGIN,
    Candidate,
    build_index,
    choose,
    definition_clauses,
    index_for,
    quoted_match,
    suggest_from_index,
    suggest_severity,
)


@pytest.mark.parametrize(
    ("policy_id", "subject", "description", "expected"),
    [
        ("alli", "Platform outage", "The whole platform is down for all clients.", "P1"),
        ("alli", "Feature request", "A request for a new feature in reports.", "P4"),
        ("alleo", "Nobody can reach Alleo", "Alleo is down for us: the service cannot be reached at all.", "Sev1"),
        ("alleo", "How do I configure SSO?", "We need help with the configuration of single sign-on.", "Sev3"),
        ("aspenware", "Shop down", "The online shop is completely down.", "L1"),
        ("aspenware", "Wording", "Change a text string in the HTML widget.", "L4"),
        (
            "sourcegraph",
            "Instance unusable",
            "Our production instance is unusable and the contract p1 terms apply.",
            "p1",
        ),
        ("sourcegraph", "Docs", "Improving a troubleshooting guide in the documentation.", "p3"),
        ("choozle", "Spend stopped", "Campaigns stopped delivering; revenue is being lost now.", "S1"),
        ("choozle", "Question", "A question about how a setting works.", "S3"),
    ],
)
def test_clear_texts_get_the_severity_their_policy_describes(policy_id, subject, description, expected):
    suggestion = suggest_severity(load_policy(policy_id), subject, description)
    assert suggestion.severity is not None
    assert suggestion.severity.code == expected


def test_alli_whole_platform_down_quotes_p1_definition_and_is_not_taken_for_p2s_without_taking_down():
    suggestion = suggest_severity(load_policy("alli"), "Platform outage", "The whole platform is down for all clients.")
    assert suggestion.severity is not None and suggestion.severity.code == "P1"
    assert suggestion.reasons[0] == (
        "It matches P1's definition: 'production is down or so degraded for all Alli users that business cannot "
        "reasonably go on' (score 0.2101)."
    )
    assert [(c.code, c.score) for c in suggestion.candidates] == [
        ("P1", 0.2101),
        ("P2", 0.15),
        ("P3", 0.0577),
        ("P4", 0.023),
    ]


def test_reasons_name_and_quote_the_matched_example():
    suggestion = suggest_severity(load_policy("aspenware"), "Shop down", "The online shop is completely down.")
    l1 = suggestion.candidates[0]
    assert (l1.code, l1.matched_example, l1.example_score) == ("L1", "The online shop is completely down.", 0.9669)
    assert "Closest L1 example: 'The online shop is completely down.' (score 0.9669)." in suggestion.reasons
    assert quoted_match(l1) == "The online shop is completely down."


def test_every_candidate_quotes_a_clause_of_its_own_definition():
    policy = load_policy("choozle")
    suggestion = suggest_severity(policy, "Spend stopped", "Campaigns stopped delivering; revenue is being lost now.")
    assert [c.code for c in suggestion.candidates] == ["S1", "S2", "S3"]
    for candidate in suggestion.candidates:
        assert candidate.matched_definition in policy.severity(candidate.code).definition
        assert candidate.matched_example in policy.severity(candidate.code).examples
    assert suggestion.candidates[0].matched_definition == "Revenue is being lost now"


def _candidate(code: str, rank: int, score: float) -> Candidate:
    return Candidate(code, rank, code, score, "definition", None, score, 0.0)


def test_close_margin_is_two_hundredths():
    assert CLOSE_MARGIN == 0.02


def test_a_more_severe_candidate_within_the_margin_is_preferred():
    chosen, top = choose([_candidate("P1", 1, 0.285), _candidate("P2", 2, 0.30), _candidate("P3", 3, 0.10)])
    assert (chosen.code, top.code) == ("P1", "P2")


def test_a_more_severe_candidate_exactly_at_the_margin_is_still_close():
    chosen, _ = choose([_candidate("P1", 1, 0.28), _candidate("P2", 2, 0.30)])
    assert chosen.code == "P1"


def test_a_more_severe_candidate_beyond_the_margin_is_not_preferred():
    chosen, top = choose([_candidate("P1", 1, 0.27), _candidate("P2", 2, 0.30)])
    assert (chosen.code, top.code) == ("P2", "P2")


def test_a_less_severe_candidate_within_the_margin_never_wins():
    chosen, _ = choose([_candidate("P1", 1, 0.30), _candidate("P2", 2, 0.295)])
    assert chosen.code == "P1"


def test_equal_scores_give_the_more_severe_level():
    severities = [
        SeveritySpec(code="B", rank=2, name="Low", definition="The checkout page fails."),
        SeveritySpec(code="A", rank=1, name="High", definition="The checkout page fails."),
    ]
    suggestion = suggest_from_index(build_index(severities), "Checkout", "The checkout page fails.")
    scores = {c.code: c.score for c in suggestion.candidates}
    assert scores["A"] == scores["B"]
    assert suggestion.severity is not None and suggestion.severity.code == "A"


def test_the_close_rule_is_named_in_the_reasons_when_it_decides():
    severities = [
        SeveritySpec(code="A", rank=1, name="High", definition="The checkout page fails for all guests."),
        SeveritySpec(code="B", rank=2, name="Low", definition="The checkout page fails for one guest."),
    ]
    suggestion = suggest_from_index(build_index(severities), "", "The checkout page fails.")
    a, b = suggestion.candidates
    assert (a.score, b.score) == (0.6833, 0.6967)
    assert suggestion.severity is not None and suggestion.severity.code == "A"
    assert suggestion.reasons[-1] == (
        "B scored 0.6967 and A 0.6833, within 0.02 of each other: "
        "when two levels are close, the more severe one is suggested."
    )


def test_a_text_sharing_nothing_with_the_policy_gets_no_suggestion():
    suggestion = suggest_severity(load_policy("alli"), "zzq", "qqx vvk")
    assert suggestion.severity is None
    assert suggestion.reasons == (
        "No word of the text matches any severity's definition or examples: choose from the guide.",
    )
    assert [c.score for c in suggestion.candidates] == [0.0, 0.0, 0.0, 0.0]


def test_definitions_are_cut_into_clauses_that_quote_them_exactly():
    assert definition_clauses(load_policy("choozle").severity("S1").definition) == (
        "Revenue is being lost now",
        "or is about to be lost",
    )
    assert definition_clauses("Down.") == ("Down",)


def test_the_index_is_built_once_per_policy_version():
    policy = load_policy("alleo")
    assert index_for(policy) is index_for(load_policy("alleo"))


def test_a_suggestion_takes_a_few_milliseconds():
    policy = load_policy("aspenware")
    suggest_severity(policy, "warm", "the index is built here")
    started = time.perf_counter()
    for _ in range(50):
        suggest_severity(policy, "Guests cannot check out", "Most guests cannot complete checkout since 9:00.")
    assert (time.perf_counter() - started) / 50 < 0.010
