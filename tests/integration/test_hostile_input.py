"""Hostile input over the API: every malformed request is a quick 4xx naming the field, and nothing half-stored."""

from __future__ import annotations

import base64
import json
import re
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sladesk.policy import builtin_source
from sladesk.services import Role

JSON = {"Content-Type": "application/json"}
YAML = {"Content-Type": "application/yaml"}
TICKET = {"subject": "Nobody can sign in", "description": "Since 14:50.", "severity": "Sev1"}


@pytest.fixture
def desk(desk):
    """A customer of Acme, an agent and an admin."""
    desk.clock.set("2026-11-25T15:00:00-05:00")
    desk.user("customer", Role.CUSTOMER, desk.organisation("Acme", "alleo"))
    desk.user("agent", Role.AGENT)
    desk.user("admin", Role.ADMIN)
    return desk


def send(desk, method: str, url: str, key: str, body: Any, headers: dict[str, str] | None = None):
    """The body as JSON text with every non-ASCII character escaped, so that lone surrogates go as `\\ud800`."""
    content = body if isinstance(body, str) else json.dumps(body, ensure_ascii=True)
    return desk.client.request(method, url, headers={**desk.headers[key], **JSON, **(headers or {})}, content=content)


def refused(answer, field: str | None, status: int = 422) -> None:
    """A problem document naming `field` (None: a field with no name to give, such as an unknown one)."""
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json().get("field") == field


def open_ticket(desk) -> int:
    created = desk.client.post("/api/v1/tickets", headers=desk.headers["customer"], json=TICKET)
    assert created.status_code == 201, created.text
    ticket_id: int = created.json()["id"]
    return ticket_id


SURROGATE = "a\ud800b"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**TICKET, "intake": {"steps_to_reproduce": SURROGATE}}, "intake"),
        ({**TICKET, "intake": {SURROGATE: "firefox"}}, "intake"),
        ({**TICKET, "intake": {"steps": [{"note": SURROGATE}]}}, "intake"),
        ({**TICKET, "category": SURROGATE}, "category"),
        ({**TICKET, "subject": SURROGATE}, "subject"),
        ({**TICKET, SURROGATE: 1}, None),
    ],
    ids=["intake-value", "intake-key", "intake-nested", "category", "subject", "unknown-field"],
)
def test_a_lone_surrogate_in_a_ticket_is_refused_and_nothing_is_stored(desk, body, field):
    refused(send(desk, "POST", "/api/v1/tickets", "customer", body), field)
    listed = desk.client.get("/api/v1/tickets", headers=desk.headers["agent"])
    assert listed.status_code == 200
    assert listed.json()["items"] == []


def test_a_lone_surrogate_is_refused_in_every_body(desk):
    ticket_id = open_ticket(desk)
    url = f"/api/v1/tickets/{ticket_id}"
    refused(send(desk, "POST", f"{url}/comments", "agent", {"body": SURROGATE}), "body")
    change = {"category": SURROGATE, "reason": "triage"}
    refused(send(desk, "PATCH", url, "agent", change, {"If-Match": '"1"'}), "category")
    organisation = {"name": SURROGATE, "policy_id": "alleo"}
    refused(send(desk, "POST", "/api/v1/organisations", "admin", organisation), "name")
    user = {"email": "new@example.com", "name": SURROGATE, "role": "agent"}
    refused(send(desk, "POST", "/api/v1/users", "admin", user), "name")
    assert desk.client.get(f"{url}/comments", headers=desk.headers["agent"]).json() == []


@pytest.mark.parametrize("character", ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069"])
def test_bidi_controls_are_refused_in_names(desk, character):
    organisation = {"name": f"Acme{character}corp", "policy_id": "alleo"}
    refused(send(desk, "POST", "/api/v1/organisations", "admin", organisation), "name")
    user = {"email": "new@example.com", "name": f"Eve{character}lyn", "role": "agent"}
    refused(send(desk, "POST", "/api/v1/users", "admin", user), "name")
    user_id = desk.ids["agent"]
    refused(send(desk, "PATCH", f"/api/v1/users/{user_id}", "admin", {"name": f"x{character}y"}), "name")
    ticket_id = open_ticket(desk)
    attached = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=desk.headers["customer"],
        files={"file": (f"invoice{character}fdp.exe", b"hello", "text/plain")},
    )
    refused(attached, "file")


def test_a_boolean_is_not_a_severity(desk):
    refused(send(desk, "POST", "/api/v1/tickets", "customer", {**TICKET, "severity": True}), "severity")
    ticket_id = open_ticket(desk)
    change = {"severity": True, "severity_reason": "worse"}
    refused(send(desk, "PATCH", f"/api/v1/tickets/{ticket_id}", "agent", change, {"If-Match": '"1"'}), "severity")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/json"])
def test_json_sent_under_another_media_type_is_a_415_naming_the_header(desk, content_type):
    answer = send(desk, "POST", "/api/v1/tickets", "customer", TICKET, {"Content-Type": content_type})
    refused(answer, "Content-Type", 415)
    assert answer.json()["detail"] == f"send the body as application/json, not {content_type}"
    assert desk.client.get("/api/v1/tickets", headers=desk.headers["agent"]).json()["items"] == []
    as_problem = send(desk, "POST", "/api/v1/tickets", "customer", TICKET, {"Content-Type": "application/ld+json"})
    assert as_problem.status_code == 201, as_problem.text  # a JSON media type of its own kind is JSON


def test_a_json_body_of_the_wrong_shape_is_still_a_422(desk):
    refused(send(desk, "POST", "/api/v1/tickets", "customer", [TICKET]), None)


def nested(depth: int) -> str:
    """A ticket whose intake answer is objects `depth` levels deep, as JSON text."""
    answer = '{"k": ' * (depth - 2) + "{}" + "}" * (depth - 2)
    return json.dumps(TICKET)[:-1] + ', "intake": {"steps_to_reproduce": ' + answer + "}}"


@pytest.mark.parametrize("depth", [33, 317, 2000, 100_000])
def test_deeply_nested_bodies_are_refused(desk, depth):
    refused(send(desk, "POST", "/api/v1/tickets", "customer", nested(depth)), "intake")
    assert desk.client.get("/api/v1/tickets", headers=desk.headers["agent"]).json()["items"] == []


def test_nesting_within_the_limit_reaches_the_policy_checks(desk):
    answer = send(desk, "POST", "/api/v1/tickets", "customer", nested(32))
    refused(answer, "intake.steps_to_reproduce")
    assert answer.json()["detail"] == "intake.steps_to_reproduce: must be text"


@pytest.mark.parametrize("if_match", ["\u00b2", '"\u00b2"', "1" * 4301, "9" * 30, "-1", "1 2"])
def test_an_if_match_that_is_no_version_is_refused(desk, if_match):
    ticket_id = open_ticket(desk)
    answer = desk.client.patch(
        f"/api/v1/tickets/{ticket_id}",
        headers={**desk.headers["agent"], "If-Match": if_match.encode("latin-1")},
        json={"status": "open"},
    )
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["field"] == "If-Match"


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


CURSORS = {
    "not-base64": lambda kind: "not base64!",
    "non-ascii": lambda kind: "\u00e9\u00e9",
    "not-utf8": lambda kind: base64.urlsafe_b64encode(kind.encode() + b"\xff1").decode(),
    "unicode-digit": lambda kind: cursor_of(f"{kind}\u00b2"),
    "huge": lambda kind: cursor_of(kind + "9" * 5000),
    "beyond-any-id": lambda kind: cursor_of(f"{kind}{2**31}"),
    "negative": lambda kind: cursor_of(f"{kind}-1"),
}


@pytest.mark.parametrize("cursor", CURSORS.values(), ids=CURSORS.keys())
@pytest.mark.parametrize(
    ("url", "kind"), [("/api/v1/tickets", "t"), ("/api/v1/users", "u"), ("/api/v1/organisations", "o")]
)
def test_a_cursor_this_api_did_not_give_out_is_refused(desk, url, kind, cursor):
    answer = desk.client.get(url, headers=desk.headers["admin"], params={"cursor": cursor(kind)})
    refused(answer, "cursor")


@pytest.mark.parametrize("due_before", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_due_before_outside_the_calendar_in_utc_is_refused(desk, due_before):
    open_ticket(desk)
    answer = desk.client.get("/api/v1/tickets", headers=desk.headers["agent"], params={"due_before": due_before})
    refused(answer, "due_before")


def test_a_category_longer_than_its_column_is_refused(desk):
    refused(send(desk, "POST", "/api/v1/tickets", "customer", {**TICKET, "category": "c" * 65}), "category")
    ticket_id = open_ticket(desk)
    change = {"category": "c" * 65, "reason": "triage"}
    refused(send(desk, "PATCH", f"/api/v1/tickets/{ticket_id}", "agent", change, {"If-Match": '"1"'}), "category")
    kept = send(desk, "POST", "/api/v1/tickets", "customer", {**TICKET, "category": "c" * 64})
    assert kept.status_code == 201, kept.text


def policy_text(policy_id: str, version: int) -> str:
    text = builtin_source("alleo")
    text = text.replace("id: alleo\n", f"id: {policy_id}\n", 1)
    return re.sub(r"^version: \d+$", f"version: {version}", text, count=1, flags=re.MULTILINE)


@pytest.mark.parametrize(
    ("policy_id", "version", "field"),
    [("acme", 2**31, "version"), ("a" * 201, 1, "id")],
    ids=["version-too-large", "id-too-long"],
)
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "upload"])
def test_a_policy_the_store_cannot_hold_is_refused(desk, policy_id, version, field, dry_run):
    params = {"dry_run": "true"} if dry_run else {}
    answer = desk.client.post(
        "/api/v1/policies",
        headers={**desk.headers["admin"], **YAML},
        content=policy_text(policy_id, version),
        params=params,
    )
    refused(answer, field)
    listed = desk.client.get("/api/v1/policies", headers=desk.headers["admin"]).json()
    assert policy_id not in [policy["id"] for policy in listed]


def race(desk, count: int, request) -> list[int]:
    """`count` clients sending `request(client)` at once; their status codes."""
    app = desk.app()
    barrier = threading.Barrier(count)
    codes: list[int] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with TestClient(app) as client:
                barrier.wait()
                codes.append(request(client).status_code)
        except BaseException as error:  # reported by the test below
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return codes


def test_concurrent_users_with_one_email_make_one_user(desk):
    body = {"email": "twin@example.com", "name": "Twin", "role": "agent"}
    codes = race(desk, 10, lambda client: client.post("/api/v1/users", headers=desk.headers["admin"], json=body))
    assert sorted(codes) == [201] + [409] * 9
    users = desk.client.get("/api/v1/users", headers=desk.headers["admin"]).json()["items"]
    assert [user["email"] for user in users].count("twin@example.com") == 1


def test_concurrent_revocations_of_one_token_revoke_it_once(desk):
    user_id = desk.ids["agent"]
    issued = desk.client.post(f"/api/v1/users/{user_id}/tokens", headers=desk.headers["admin"], json={"name": "ci"})
    assert issued.status_code == 201
    url = f"/api/v1/users/{user_id}/tokens/{issued.json()['id']}"
    codes = race(desk, 10, lambda client: client.delete(url, headers=desk.headers["admin"]))
    assert sorted(codes) == [204] + [404] * 9
    secret = issued.json()["token"]
    assert desk.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_a_policy_id_longer_than_the_store_holds_is_refused_at_upload(desk):
    """A metric's id is stored with each clock (64 characters at most): a longer one is refused, located."""
    text = policy_text("acme", 1).replace("first_response", "m" * 65)
    for params in ({"dry_run": "true"}, {}):
        answer = desk.client.post(
            "/api/v1/policies", headers={**desk.headers["admin"], **YAML}, content=text, params=params
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["line"] is not None
        assert "64 characters" in answer.json()["detail"]


@pytest.mark.parametrize("depth", [65, 500, 100_000])
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "upload"])
def test_a_policy_nested_too_deeply_is_refused_before_it_is_parsed(desk, depth, dry_run):
    text = policy_text("acme", 1) + "notes: " + "[" * depth + "]" * depth + "\n"
    params = {"dry_run": "true"} if dry_run else {}
    answer = desk.client.post(
        "/api/v1/policies", headers={**desk.headers["admin"], **YAML}, content=text, params=params
    )
    assert answer.status_code == 422, answer.text
    assert "nest deeper than 64 levels" in answer.json()["detail"]
    assert answer.json()["errors"][0]["line"] == text.count("\n")


def test_concurrent_organisations_with_one_name_make_one_organisation(desk):
    body = {"name": "Initech", "policy_id": "alleo"}
    codes = race(
        desk, 10, lambda client: client.post("/api/v1/organisations", headers=desk.headers["admin"], json=body)
    )
    assert sorted(codes) == [201] + [409] * 9
    organisations = desk.client.get("/api/v1/organisations", headers=desk.headers["admin"]).json()["items"]
    assert [organisation["name"] for organisation in organisations].count("Initech") == 1


def test_concurrent_renames_to_one_name_rename_one_organisation(desk):
    ids = [desk.organisation(f"Org {number}", "alleo") for number in range(10)]
    pending = list(ids)
    lock = threading.Lock()

    def rename(client):
        with lock:
            organisation_id = pending.pop()
        return client.patch(
            f"/api/v1/organisations/{organisation_id}", headers=desk.headers["admin"], json={"name": "Initech"}
        )

    codes = race(desk, 10, rename)
    assert sorted(codes) == [200] + [409] * 9
    organisations = desk.client.get("/api/v1/organisations", headers=desk.headers["admin"]).json()["items"]
    assert [organisation["name"] for organisation in organisations].count("Initech") == 1


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "upload"])
@pytest.mark.parametrize(
    ("line", "replaced", "escaped"),
    [(3, "id: alleo", 'id: "x\\ud800"'), (4, "name: Alleo Support", 'name: "Alleo \\udfff Support"')],
    ids=["id", "name"],
)
def test_a_policy_whose_yaml_escapes_a_lone_surrogate_is_refused_at_its_line(desk, dry_run, line, replaced, escaped):
    # YAML's "\ud800" escape makes a lone surrogate out of valid UTF-8 text.
    source = builtin_source("alleo").replace(replaced, escaped, 1).replace("version: 2", "version: 3", 1)
    params = {"dry_run": "true"} if dry_run else {}
    answer = desk.client.post(
        "/api/v1/policies", headers={**desk.headers["admin"], **YAML}, content=source, params=params
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert f"uploaded policy:{line}: an escape here makes a lone surrogate" in answer.json()["detail"]
    listed = desk.client.get("/api/v1/policies/alleo/versions", headers=desk.headers["admin"])
    assert [version["version"] for version in listed.json()] == [2]
