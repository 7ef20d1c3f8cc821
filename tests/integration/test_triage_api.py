"""POST /api/v1/policies/{policy_id}/triage: a severity suggested from a ticket's text, for any signed-in user."""

from __future__ import annotations

from datetime import datetime

import pytest

from sladesk.policy import builtin_source, load_policy
from sladesk.services import Role

NOW = datetime.fromisoformat("2026-12-02T09:00:00-05:00")


@pytest.fixture
def desk(desk):
    """Prairie Media on Alli with its customer, an agent and an admin, at NOW."""
    desk.clock.set(NOW)
    desk.user("customer", Role.CUSTOMER, desk.organisation("Prairie Media", "alli"))
    desk.user("agent", Role.AGENT)
    desk.user("admin", Role.ADMIN)
    return desk


def triage(desk, policy_id, body, who="customer", **params):
    return desk.client.post(f"/api/v1/policies/{policy_id}/triage", headers=desk.headers[who], json=body, params=params)


def test_a_customer_gets_p1_for_the_whole_platform_down_with_the_definition_quoted(desk):
    answer = triage(
        desk, "alli", {"subject": "Platform outage", "description": "The whole platform is down for all clients."}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["policy_id"], body["policy_version"]) == ("alli", load_policy("alli").version)
    assert (body["severity"], body["rank"], body["name"]) == ("P1", 1, "Priority 1 - Highest severity")
    assert (
        body["matched"] == "production is down or so degraded for all Alli users that business cannot reasonably go on"
    )
    assert body["reasons"][0] == (
        "It matches P1's definition: 'production is down or so degraded for all Alli users that business cannot "
        "reasonably go on' (score 0.2101)."
    )
    assert body["close_margin"] == 0.02
    assert [(c["code"], c["score"]) for c in body["candidates"]] == [
        ("P1", 0.2101),
        ("P2", 0.15),
        ("P3", 0.0577),
        ("P4", 0.023),
    ]
    assert body["candidates"][0]["matched_definition"] == (
        "production is down or so degraded for all Alli users that business cannot reasonably go on"
    )


@pytest.mark.parametrize("who", ["agent", "admin"])
def test_staff_may_ask_about_any_policy_and_the_reasons_name_the_matched_example(desk, who):
    answer = triage(
        desk, "aspenware", {"subject": "Shop down", "description": "The online shop is completely down."}, who
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["severity"], body["matched"]) == ("L1", "The online shop is completely down.")
    assert body["candidates"][0]["matched_example"] == "The online shop is completely down."
    assert "Closest L1 example: 'The online shop is completely down.' (score 0.9669)." in body["reasons"]


def test_a_subject_alone_is_enough(desk):
    answer = triage(desk, "choozle", {"subject": "A question about how a setting works"})
    assert (answer.status_code, answer.json()["severity"]) == (200, "S3")


def test_a_text_that_matches_nothing_gets_no_suggestion(desk):
    body = triage(desk, "alleo", {"subject": "zzq", "description": "qqx"}).json()
    assert (body["severity"], body["rank"], body["name"], body["matched"]) == (None, None, None, None)
    assert body["reasons"] == [
        "No word of the text matches any severity's definition or examples: choose from the guide."
    ]


def test_an_uploaded_version_is_suggested_from_with_its_own_words(desk):
    text = builtin_source("alleo").replace("id: alleo\n", "id: acme_custom\n", 1)
    text = text.replace("Nobody in the customer's organisation can sign in to Alleo.", "The warehouse robots halt.", 1)
    stored = desk.client.post(
        "/api/v1/policies", headers={**desk.headers["admin"], "Content-Type": "application/yaml"}, content=text
    )
    assert stored.status_code == 201, stored.text
    body = triage(desk, "acme_custom", {"subject": "Robots", "description": "The warehouse robots halt."}).json()
    assert (body["policy_id"], body["severity"]) == ("acme_custom", "Sev1")
    assert body["candidates"][0]["matched_example"] == "The warehouse robots halt."
    version = body["policy_version"]
    assert triage(desk, "acme_custom", {"subject": "Robots"}, version=version).json()["severity"] == "Sev1"


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        (
            {"subject": "x" * 301, "description": "down"},
            "subject",
            "subject: String should have at most 300 characters",
        ),
        (
            {"subject": "down", "description": "x" * 100_001},
            "description",
            "description: String should have at most 100000 characters",
        ),
        (
            {"subject": " ", "description": ""},
            "description",
            "description: give a subject or a description to suggest a severity from",
        ),
        ({"subject": 5}, "subject", "subject: Input should be a valid string"),
        ({"subject": "down", "severity": "P1"}, "severity", "severity: unknown field"),
        ({"subject": "down\x00"}, "subject", "subject: text must not contain NUL characters (\\u0000)"),
    ],
)
def test_bad_input_is_refused_naming_the_field(desk, body, field, detail):
    answer = triage(desk, "alli", body)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert (answer.json()["field"], answer.json()["detail"]) == (field, detail)


def test_an_unknown_policy_or_version_is_404(desk):
    assert triage(desk, "nope", {"subject": "down"}).status_code == 404
    missing = triage(desk, "alli", {"subject": "down"}, version=7)
    assert (missing.status_code, missing.json()["detail"]) == (404, "no policy 'alli' at version 7")


def test_without_a_token_the_answer_is_401(desk):
    answer = desk.client.post("/api/v1/policies/alli/triage", json={"subject": "down"})
    assert answer.status_code == 401
