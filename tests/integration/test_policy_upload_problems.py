"""A policy upload with problems of every kind at once: each comes back in one answer, with its line."""

from __future__ import annotations

from sladesk.policy import builtin_source
from sladesk.services import Role

YAML = {"Content-Type": "application/yaml"}


def test_a_dry_run_lists_a_bad_date_a_repeated_status_a_bad_transition_and_a_bad_duration(desk):
    desk.user("admin", Role.ADMIN)
    text = (
        builtin_source("alleo")
        .replace('on: "12-25"}', "dates: [2026-12-32]}", 1)
        .replace("statuses:\n", "statuses:\n  - {id: open, name: Open early, kind: opened}\n", 1)
        .replace("new: [open, awaiting_customer, on_hold, closed]", "new: [awaiting_customer, on_hold, gone]", 1)
        .replace("first_response: 4h\n", "first_response: 4 hourz\n", 1)
    )
    answer = desk.client.post(
        "/api/v1/policies", headers={**desk.headers["admin"], **YAML}, content=text, params={"dry_run": "true"}
    )
    assert answer.status_code == 422, answer.text
    assert [(e["line"], e["field"], e["message"]) for e in answer.json()["errors"]] == [
        (
            23,
            "holidays.rules[7].dates[0]",
            "Input should be a valid date or datetime, day value is outside expected range",
        ),
        (33, "statuses[0].kind", "Input should be 'new', 'open', 'waiting', 'resolved' or 'closed'"),
        (38, "statuses[2].id", "'open' is defined again (first at statuses[0])"),
        (58, "transitions.new[2]", "unknown status 'gone' (known: awaiting_customer, closed, new, on_hold, open)"),
        (
            92,
            "severities[0].targets.first_response.due",
            "unknown unit 'hourz' in duration '4 hourz' (use s, m, h or business days)",
        ),
    ]
    assert desk.client.get("/api/v1/policies/alleo/versions", headers=desk.headers["admin"]).json()[0]["version"] == 2
