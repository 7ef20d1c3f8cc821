"""Policies over the API: admins upload and version them, and each ticket keeps the version it was opened under."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from sladesk.policy import builtin_source
from sladesk.services import Role

NOW = datetime.fromisoformat("2026-12-02T09:00:00-05:00")  # a Wednesday, inside Alleo's 08:00-17:00
YAML = {"Content-Type": "application/yaml"}
at = datetime.fromisoformat


def custom_text(policy_id: str = "acme_custom", version: int = 1, sev1: str = "2h") -> str:
    """Alleo's shipped policy under another id, version and Sev1 first-response target."""
    text = builtin_source("alleo")
    text = text.replace("id: alleo\n", f"id: {policy_id}\n", 1)
    text = re.sub(r"^version: \d+$", f"version: {version}", text, count=1, flags=re.MULTILINE)
    return text.replace("first_response: 4h\n", f"first_response: {sev1}\n", 1)


@pytest.fixture
def desk(desk):
    """Acme on Alleo with its customer, an agent and an admin, at NOW."""
    desk.clock.set(NOW)
    desk.user("customer", Role.CUSTOMER, desk.organisation("Acme", "alleo"))
    desk.user("agent", Role.AGENT)
    desk.user("admin", Role.ADMIN)
    return desk


def first_response_due(desk) -> datetime:
    created = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["customer"],
        json={"subject": "Nobody can sign in", "description": "Since 08:50.", "severity": "Sev1"},
    )
    assert created.status_code == 201, created.text
    return datetime.fromisoformat(created.json()["sla"]["first_response"]["due"])


def upload(desk, text, **params):
    return desk.client.post("/api/v1/policies", headers={**desk.headers["admin"], **YAML}, content=text, params=params)


def test_an_uploaded_policy_serves_new_tickets_and_old_ones_keep_their_version(desk):
    org_id = desk.ids["Acme"]
    assert first_response_due(desk) == at("2026-12-02T13:00:00-05:00")  # alleo: Sev1 in 4 h

    stored = upload(desk, custom_text(sev1="2h"))
    assert stored.status_code == 201
    assert stored.headers["Location"] == "/api/v1/policies/acme_custom?version=1"
    assert stored.json()["severities"][0]["targets"]["first_response"]["due"] == "2h"
    moved = desk.client.patch(
        f"/api/v1/organisations/{org_id}", headers=desk.headers["admin"], json={"policy_id": "acme_custom"}
    )
    assert moved.status_code == 200
    assert moved.json()["policy_id"] == "acme_custom"
    on_v1 = desk.client.get("/api/v1/tickets", headers=desk.headers["agent"]).json()["items"]
    assert first_response_due(desk) == at("2026-12-02T11:00:00-05:00")

    assert upload(desk, custom_text(version=2, sev1="1h")).status_code == 201
    assert first_response_due(desk) == at("2026-12-02T10:00:00-05:00")

    tickets = desk.client.get("/api/v1/tickets", headers=desk.headers["agent"]).json()["items"]
    pinned = sorted((t["id"], t["policy_id"], t["policy_version"]) for t in tickets)
    first = on_v1[0]["id"]
    assert pinned == [(first, "alleo", 2), (first + 1, "acme_custom", 1), (first + 2, "acme_custom", 2)]
    # a later change replays the ticket under its own version: still 2 h, not the 1 h of version 2
    answered = desk.client.post(
        f"/api/v1/tickets/{first + 1}/comments", headers=desk.headers["customer"], json={"body": "Any news?"}
    )
    assert answered.status_code == 201
    sla = desk.client.get(f"/api/v1/tickets/{first + 1}/sla", headers=desk.headers["agent"]).json()
    assert at(sla["metrics"]["first_response"]["due"]) == at("2026-12-02T11:00:00-05:00")


def test_every_problem_in_an_upload_comes_back_with_its_line(desk):
    text = (
        custom_text()
        .replace("first_response: 2h\n", "first_response: soon\n")
        .replace("warning_fraction: 0.75\n", "warning_fraction: 3\n")
    )
    refused = upload(desk, text)
    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    errors = refused.json()["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [
        (11, "warning_fraction"),
        (91, "severities[0].targets.first_response.due"),
    ]
    assert all(e["file"] == "uploaded policy" for e in errors)
    syntax = upload(desk, "id: [unclosed\n")
    assert syntax.status_code == 422
    assert syntax.json()["errors"][0]["line"] == 2
    assert desk.client.get("/api/v1/policies/acme_custom", headers=desk.headers["admin"]).status_code == 404


def test_a_version_means_one_text_for_good(desk):
    assert upload(desk, custom_text()).status_code == 201
    again = upload(desk, custom_text(sev1="3h"))
    assert again.status_code == 422
    assert again.json()["field"] == "version"
    assert again.json()["detail"] == (
        "version: policy 'acme_custom' is at version 1 already; give the new text version: 2"
    )
    builtin = upload(desk, custom_text(policy_id="alleo", version=2))  # the shipped version
    assert builtin.status_code == 422 and builtin.json()["field"] == "version"
    source = desk.client.get("/api/v1/policies/acme_custom/source", headers=desk.headers["customer"])
    assert source.status_code == 200
    assert source.headers["Content-Type"] == "application/yaml; charset=utf-8"
    assert source.text == custom_text()


def test_a_dry_run_checks_without_storing(desk):
    checked = upload(desk, custom_text(), dry_run="true")
    assert checked.status_code == 200
    assert checked.json()["id"] == "acme_custom"
    assert desk.client.get("/api/v1/policies/acme_custom", headers=desk.headers["admin"]).status_code == 404
    ids = [p["id"] for p in desk.client.get("/api/v1/policies", headers=desk.headers["agent"]).json()]
    assert ids == ["alli", "alleo", "aspenware", "sourcegraph", "choozle"]


def test_versions_list_uploads_and_the_shipped_text_tickets_used(desk):
    shipped = desk.client.get("/api/v1/policies/alleo/versions", headers=desk.headers["agent"]).json()
    assert [(v["version"], v["builtin"], v["created_at"]) for v in shipped] == [(2, True, None)]
    first_response_due(desk)  # the first ticket on alleo stores the shipped text
    stored = desk.client.get("/api/v1/policies/alleo/versions", headers=desk.headers["agent"]).json()
    assert [(v["version"], v["builtin"], v["uploaded_by_id"]) for v in stored] == [(2, True, None)]
    assert stored[0]["created_at"] is not None
    assert stored[0]["sha256"] == shipped[0]["sha256"]

    assert upload(desk, custom_text(policy_id="alleo", version=3, sev1="1h")).status_code == 201
    versions = desk.client.get("/api/v1/policies/alleo/versions", headers=desk.headers["agent"]).json()
    assert [(v["version"], v["builtin"]) for v in versions] == [(3, False), (2, True)]
    assert desk.client.get("/api/v1/policies/alleo", headers=desk.headers["agent"]).json()["version"] == 3
    assert desk.client.get("/api/v1/policies/alleo?version=2", headers=desk.headers["agent"]).json()["version"] == 2
    assert desk.client.get("/api/v1/policies/alleo?version=4", headers=desk.headers["agent"]).status_code == 404
    assert first_response_due(desk) == at("2026-12-02T10:00:00-05:00")


def test_uploads_are_yaml_from_admins(desk):
    as_json = desk.client.post("/api/v1/policies", headers=desk.headers["admin"], json={"source": custom_text()})
    assert as_json.status_code == 415
    assert as_json.json()["detail"] == "send the policy file as application/yaml, not application/json"
    not_utf8 = desk.client.post("/api/v1/policies", headers={**desk.headers["admin"], **YAML}, content=b"id: \xff\n")
    assert not_utf8.status_code == 400
    agent = desk.client.post("/api/v1/policies", headers={**desk.headers["agent"], **YAML}, content=custom_text())
    assert agent.status_code == 403


def test_an_organisation_cannot_move_to_a_tier_its_new_policy_lacks(desk):
    org_id = desk.ids["Acme"]
    url = f"/api/v1/organisations/{org_id}"
    refused = desk.client.patch(url, headers=desk.headers["admin"], json={"policy_id": "sourcegraph", "tier": "gold"})
    assert refused.status_code == 422
    assert refused.json()["field"] == "tier"
    unknown = desk.client.patch(url, headers=desk.headers["admin"], json={"policy_id": "nope"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "policy_id"
    null_name = desk.client.patch(url, headers=desk.headers["admin"], json={"name": None})
    assert null_name.status_code == 422
    kept = desk.client.get(url, headers=desk.headers["admin"]).json()
    assert (kept["name"], kept["policy_id"], kept["tier"]) == ("Acme", "alleo", None)


def test_the_policy_summary_says_each_target_case_and_rule_in_words(desk):
    summary = desk.client.get("/api/v1/policies/aspenware", headers=desk.headers["customer"]).json()
    level_2 = summary["severities"][1]
    assert level_2["targets_in_words"][2]["case"] == "category Software defect, path Needs a new version"
    assert level_2["targets_in_words"][2]["words"].startswith("within 2 release versions (next releases ")
    level_4 = summary["severities"][3]["targets_in_words"][2]
    assert (level_4["case"], level_4["words"]) == (
        "category Software defect or Feature request",
        "informational, never breached: no aim, counted on Business hours",
    )
    assert summary["rules"][0] == "Resolution paths staff can mark: Needs a new version, Hotfix."
    sourcegraph = desk.client.get("/api/v1/policies/sourcegraph", headers=desk.headers["customer"]).json()
    assert sourcegraph["rules"] == [
        "Severity is assigned by support: a customer's ticket waits in triage, its clocks running on the more"
        " severe of the requested severity and p2, until an agent confirms one.",
        "When nobody is on shift in the on-call schedule sourcegraph-support, or at least 3 waiting tickets have"
        " used 50% or more of a running target, each ticket waiting on support is told once when the next shift"
        ' starts: "We have an unusually large amount of work right now, so it may take us longer than usual to'
        ' answer. Team members arriving at {arrival} will be able to help you."',
    ]
    cloud = [line for line in sourcegraph["severities"][0]["targets_in_words"] if line["case"] == "tier Cloud"]
    assert cloud == [
        {
            "metric": "first_response",
            "case": "tier Cloud",
            "words": "informational, never breached: no aim, counted on Calendar time",
        }
    ]
