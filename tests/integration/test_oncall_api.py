"""On-call schedules and escalation policies over HTTP, on SQLite and PostgreSQL.

The desk and its schedule `primary` are those of `tests.support.oncall`: a weekly New York rota whose
first week is 167 hours long because daylight saving time starts on Sunday 8 March 2026.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.desk import Desk
from tests.support.oncall import add_override, create_primary, get_schedule, on_call, oncall_desk, primary_body


@pytest.fixture
def desk(sessions, tmp_path) -> Desk:
    return oncall_desk(sessions, tmp_path)


def test_a_schedule_is_created_and_read_back(desk):
    created = create_primary(desk)
    assert created["slug"] == "primary"
    assert created["name"] == "Primary"
    assert created["version"] == 1
    assert created["timezone"] == "America/New_York"
    assert created["layers"][0]["start"] == "2026-03-02T09:00:00"
    assert created["layers"][0]["people"] == [desk.ids["alice"], desk.ids["bob"], desk.ids["carol"]]
    assert created["created_at"] == "2026-03-05T12:00:00Z"
    listed = desk.client.get("/api/v1/oncall/schedules", headers=desk.headers["alice"]).json()
    assert [s["slug"] for s in listed] == ["primary"]
    assert get_schedule(desk, "") == created


def test_who_is_on_call_follows_new_york_wall_clock_across_the_dst_change(desk):
    create_primary(desk)
    assert on_call(desk, "2026-03-02T13:59:00Z") == []  # 08:59 EST: the rota has not started
    assert on_call(desk, "2026-03-02T14:00:00Z") == ["alice"]
    assert on_call(desk, "2026-03-08T12:00:00Z") == ["alice"]  # Sunday, the day the clocks go forward
    assert on_call(desk, "2026-03-09T12:59:00Z") == ["alice"]  # 08:59 EDT
    assert on_call(desk, "2026-03-09T09:00:00-04:00") == ["bob"]  # 13:00Z, not 14:00Z
    assert on_call(desk, "2026-03-16T13:00:00Z") == ["carol"]
    assert on_call(desk, "2026-03-23T13:00:00Z") == ["alice"]
    assert on_call(desk, "2026-03-30T13:00:00Z") == []  # the layer ended at 09:00 EDT
    now = get_schedule(desk, "/now")
    assert now == {
        "schedule": "primary",
        "at": "2026-03-05T12:00:00Z",
        "on_call": [{"id": desk.ids["alice"], "name": "alice", "email": "alice@example.com"}],
    }


def test_who_is_next(desk):
    create_primary(desk)
    following = get_schedule(desk, "/next")
    assert following["after"] == "2026-03-05T12:00:00Z"
    assert following["next"]["start"] == "2026-03-09T13:00:00Z"
    assert following["next"]["end"] == "2026-03-16T13:00:00Z"
    assert [p["name"] for p in following["next"]["people"]] == ["bob"]
    last = get_schedule(desk, "/next?after=2026-03-24T00:00:00Z")
    assert last["next"] is None  # after Alice's last week nobody is on call again


def test_overrides_change_who_is_on_call_and_the_final_schedule(desk):
    create_primary(desk)
    removed = add_override(
        desk,
        {
            "kind": "remove",
            "user_id": desk.ids["alice"],
            "start": "2026-03-06T00:00:00Z",
            "end": "2026-03-06T06:00:00Z",
            "reason": "Dentist",
        },
    )
    assert removed["kind"] == "remove"
    assert removed["reason"] == "Dentist"
    assert removed["created_by_id"] == desk.ids["alice"]
    replaced = add_override(
        desk,
        {
            "kind": "replace",
            "user_id": desk.ids["carol"],
            "replaces_user_id": desk.ids["alice"],
            "start": "2026-03-06T09:00:00-05:00",
            "end": "2026-03-06T17:00:00-05:00",
        },
        role="dave",
    )
    assert replaced["start"] == "2026-03-06T14:00:00Z"
    assert on_call(desk, "2026-03-06T03:00:00Z") == []
    assert on_call(desk, "2026-03-06T15:00:00Z") == ["carol"]
    assert on_call(desk, "2026-03-06T22:00:00Z") == ["alice"]
    final = get_schedule(desk, "/final?from=2026-03-06T00:00:00Z&to=2026-03-10T00:00:00Z")
    assert [(s["start"], s["end"], [p["name"] for p in s["people"]]) for s in final["shifts"]] == [
        ("2026-03-06T00:00:00Z", "2026-03-06T06:00:00Z", []),
        ("2026-03-06T06:00:00Z", "2026-03-06T14:00:00Z", ["alice"]),
        ("2026-03-06T14:00:00Z", "2026-03-06T22:00:00Z", ["carol"]),
        ("2026-03-06T22:00:00Z", "2026-03-09T13:00:00Z", ["alice"]),
        ("2026-03-09T13:00:00Z", "2026-03-10T00:00:00Z", ["bob"]),
    ]
    listed = get_schedule(desk, "/overrides")
    assert [o["id"] for o in listed] == [removed["id"], replaced["id"]]
    assert get_schedule(desk, "")["version"] == 3

    deleted = desk.client.delete(
        f"/api/v1/oncall/schedules/primary/overrides/{replaced['id']}", headers=desk.headers["alice"]
    )
    assert deleted.status_code == 204
    assert on_call(desk, "2026-03-06T15:00:00Z") == ["alice"]
    again = desk.client.delete(
        f"/api/v1/oncall/schedules/primary/overrides/{replaced['id']}", headers=desk.headers["alice"]
    )
    assert again.status_code == 404
    assert get_schedule(desk, "")["version"] == 4


def test_gaps_of_the_next_30_days(desk):
    create_primary(desk)
    add_override(
        desk,
        {
            "kind": "remove",
            "user_id": desk.ids["alice"],
            "start": "2026-03-06T00:00:00Z",
            "end": "2026-03-06T06:00:00Z",
        },
    )
    assert get_schedule(desk, "/gaps") == {
        "schedule": "primary",
        "start": "2026-03-05T12:00:00Z",
        "end": "2026-04-04T12:00:00Z",
        "gaps": [
            {"start": "2026-03-06T00:00:00Z", "end": "2026-03-06T06:00:00Z"},
            {"start": "2026-03-30T13:00:00Z", "end": "2026-04-04T12:00:00Z"},
        ],
    }


def test_put_replaces_the_layers_and_counts_a_version(desk):
    create_primary(desk)
    body = primary_body(desk)
    del body["slug"]
    body["layers"][0]["rotation"] = "daily"
    body["name"] = "Primary (daily)"
    changed = desk.client.put("/api/v1/oncall/schedules/primary", headers=desk.headers["morgan"], json=body)
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    assert changed.json()["name"] == "Primary (daily)"
    assert on_call(desk, "2026-03-03T14:00:00Z") == ["bob"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"rotation": "fortnightly"}, "layers.0.rotation", "cannot read 'fortnightly' as a rotation"),
        ({"start": "2026-03-02T09:00:00-05:00"}, "layers.0", "`start` is a local date-time"),
        ({"restrictions": [{"days": "mon-fri", "hours": "9 to 5"}]}, "layers.0.restrictions.0.hours", ""),
        ({"colour": "red"}, "layers.0.colour", "unknown field"),
        ({"people": []}, "layers.0.people", ""),
    ],
)
def test_a_bad_layer_is_a_422_naming_its_field_path(desk, change, field, message):
    body = primary_body(desk)
    body["layers"][0].update(change)
    answer = desk.client.post("/api/v1/oncall/schedules", headers=desk.headers["morgan"], json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert message in answer.json()["detail"]
    assert desk.client.get("/api/v1/oncall/schedules", headers=desk.headers["morgan"]).json() == []


def test_other_refusals_name_their_field(desk):
    body = primary_body(desk)
    body["timezone"] = "Mars/Olympus_Mons"
    answer = desk.client.post("/api/v1/oncall/schedules", headers=desk.headers["morgan"], json=body)
    assert (answer.status_code, answer.json()["field"]) == (422, "timezone")

    body = primary_body(desk)
    body["layers"][0]["people"] = [desk.ids["alice"], desk.ids["customer"]]
    answer = desk.client.post("/api/v1/oncall/schedules", headers=desk.headers["morgan"], json=body)
    assert (answer.status_code, answer.json()["field"]) == (422, "layers.0.people.1")

    create_primary(desk)
    assert (
        desk.client.post(
            "/api/v1/oncall/schedules", headers=desk.headers["morgan"], json=primary_body(desk)
        ).status_code
        == 409
    )

    url = "/api/v1/oncall/schedules/primary"
    naive = desk.client.get(f"{url}/now?at=2026-03-06T12:00:00", headers=desk.headers["alice"])
    assert (naive.status_code, naive.json()["field"]) == (422, "at")
    long = desk.client.get(
        f"{url}/final?from=2026-03-01T00:00:00Z&to=2026-05-03T00:00:00Z", headers=desk.headers["alice"]
    )
    assert (long.status_code, long.json()["field"]) == (422, "to")
    assert "at most 62 days" in long.json()["detail"]

    overrides = f"{url}/overrides"
    backwards = {
        "kind": "add",
        "user_id": desk.ids["dave"],
        "start": "2026-03-06T06:00:00Z",
        "end": "2026-03-06T00:00:00Z",
    }
    answer = desk.client.post(overrides, headers=desk.headers["alice"], json=backwards)
    assert (answer.status_code, answer.json()["field"]) == (422, "end")
    lonely = {
        "kind": "replace",
        "user_id": desk.ids["dave"],
        "start": "2026-03-06T00:00:00Z",
        "end": "2026-03-07T00:00:00Z",
    }
    answer = desk.client.post(overrides, headers=desk.headers["alice"], json=lonely)
    assert (answer.status_code, answer.json()["field"]) == (422, "replaces_user_id")
    assert get_schedule(desk, "/overrides") == []
    assert get_schedule(desk, "")["version"] == 1


def test_who_may_do_what(desk):
    create_primary(desk)
    url = "/api/v1/oncall/schedules"
    assert desk.client.get(url, headers=desk.headers["customer"]).status_code == 403
    assert desk.client.get(f"{url}/primary/now", headers=desk.headers["customer"]).status_code == 403
    assert desk.client.get(url).status_code == 401
    body = dict(primary_body(desk), slug="secondary")
    assert desk.client.post(url, headers=desk.headers["alice"], json=body).status_code == 403
    assert desk.client.delete(f"{url}/primary", headers=desk.headers["alice"]).status_code == 403
    add = {"kind": "add", "user_id": desk.ids["dave"], "start": "2026-03-06T00:00:00Z", "end": "2026-03-07T00:00:00Z"}
    assert desk.client.post(f"{url}/primary/overrides", headers=desk.headers["customer"], json=add).status_code == 403
    assert desk.client.post(f"{url}/primary/overrides", headers=desk.headers["alice"], json=add).status_code == 201
    assert desk.client.get(f"{url}/nope/now", headers=desk.headers["alice"]).status_code == 404


def _escalation(desk: Desk) -> dict[str, Any]:
    return {
        "slug": "sev1",
        "name": "Severity 1",
        "steps": [
            {"targets": [{"schedule": "primary"}], "escalate_after": "5m"},
            {
                "targets": [{"user": desk.ids["dave"]}, {"round_robin": [desk.ids["alice"], desk.ids["bob"]]}],
                "escalate_after": "90m",
                "condition": "not_resolved",
            },
        ],
        "repeat": 2,
        "ack_timeout": "30m",
    }


def test_an_escalation_policy_is_stored_read_changed_and_deleted(desk):
    create_primary(desk)
    url = "/api/v1/oncall/escalation-policies"
    created = desk.client.post(url, headers=desk.headers["morgan"], json=_escalation(desk))
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{url}/sev1"
    policy = created.json()
    assert policy["steps"] == [
        {"targets": [{"schedule": "primary"}], "escalate_after": "5m", "condition": "not_acknowledged"},
        {
            "targets": [{"user": desk.ids["dave"]}, {"round_robin": [desk.ids["alice"], desk.ids["bob"]]}],
            "escalate_after": "1h 30m",
            "condition": "not_resolved",
        },
    ]
    assert (policy["repeat"], policy["ack_timeout"], policy["version"]) == (2, "30m", 1)
    assert desk.client.get(f"{url}/sev1", headers=desk.headers["alice"]).json() == policy
    assert [p["slug"] for p in desk.client.get(url, headers=desk.headers["alice"]).json()] == ["sev1"]

    # a schedule an escalation policy pages cannot be deleted from under it
    refused = desk.client.delete("/api/v1/oncall/schedules/primary", headers=desk.headers["morgan"])
    assert refused.status_code == 409
    assert "sev1" in refused.json()["detail"]

    change = _escalation(desk)
    del change["slug"]
    change["steps"] = change["steps"][1:]
    changed = desk.client.put(f"{url}/sev1", headers=desk.headers["morgan"], json=change)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], len(changed.json()["steps"])) == (2, 1)
    assert desk.client.delete("/api/v1/oncall/schedules/primary", headers=desk.headers["morgan"]).status_code == 204
    assert desk.client.delete(f"{url}/sev1", headers=desk.headers["alice"]).status_code == 403
    assert desk.client.delete(f"{url}/sev1", headers=desk.headers["morgan"]).status_code == 204
    assert desk.client.get(f"{url}/sev1", headers=desk.headers["alice"]).status_code == 404


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("steps", 0, "targets", 0), {"schedule": "nope"}, "steps.0.targets.0.schedule"),
        (("steps", 0, "targets", 0), {"team": "nope"}, "steps.0.targets.0.team"),
        (("steps", 0, "targets", 0), {"user": 1, "team": "ops"}, "steps.0.targets.0"),
        (("steps", 0, "escalate_after"), "2 business days", "steps.0.escalate_after"),
        (("steps", 0, "escalate_after"), "soon", "steps.0.escalate_after"),
        (("steps", 1, "condition"), "whenever", "steps.1.condition"),
        (("repeat",), 21, "repeat"),
        (("steps",), [], "steps"),
    ],
)
def test_a_bad_escalation_policy_is_a_422_naming_its_field(desk, path, value, field):
    create_primary(desk)
    body = _escalation(desk)
    holder: Any = body
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = value
    answer = desk.client.post("/api/v1/oncall/escalation-policies", headers=desk.headers["morgan"], json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert desk.client.get("/api/v1/oncall/escalation-policies", headers=desk.headers["morgan"]).json() == []
