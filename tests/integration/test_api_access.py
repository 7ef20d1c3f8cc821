"""Who may call which endpoint, and what the answer lets them see, on SQLite and PostgreSQL.

ACCESS is the rule book: one row per (endpoint, target), one expected status per role. A guessed id of
another organisation's ticket answers exactly like an id that does not exist, and a 403 only ever says
"your role may not do this", never "this exists". Customers never see internal notes or attachments,
nor another organisation's tickets in lists, filters, page counts or the queue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from sladesk.api import create_app
from sladesk.policy import builtin_source
from sladesk.services import Role, attachments, tickets
from tests.support.clock import FixedClock
from tests.support.desk import Desk
from tests.support.units import (
    bootstrap_admin,
    committed,
    issue_token,
    list_tokens,
    update_user,
)

open_ticket = committed(tickets.open_ticket)
reply = committed(tickets.reply)
add_attachment = committed(attachments.add_attachment)

NOW = datetime.fromisoformat("2026-12-07T09:00:00-05:00")
LAST_WEEK = datetime.fromisoformat("2026-11-30T09:00:00-05:00")
LATER = datetime.fromisoformat("2026-12-07T10:00:00-05:00")
MISSING = 987_654
ROLES = ("anonymous", "customer_a", "customer_b", "agent", "admin")


@dataclass(frozen=True)
class Upload:
    """A multipart attachment upload instead of a JSON body."""

    public: bool


@dataclass(frozen=True)
class YamlBody:
    """A policy file sent as application/yaml instead of a JSON body."""

    text: str


NEW_POLICY = YamlBody(builtin_source("alleo").replace("id: alleo\n", "id: initech\n", 1))

OPEN_FOR_A = {
    "subject": "Down",
    "description": "All of it",
    "severity": 1,
    "organisation_id": "{org_a}",
    "requester_id": "{customer_a}",
}
OPEN_OWN = {"subject": "Down", "description": "All of it", "severity": 1}
NEW_HOOK = {"kind": "chat", "url": "http://127.0.0.1:9/hooks", "event_types": ["*"]}
NEW_ORG = {"name": "Initech", "policy_id": "alleo", "tier": None, "timezone": "America/New_York"}
NEW_USER = {
    "email": "new@example.com",
    "name": "New",
    "role": "customer",
    "organisation_id": "{org_a}",
    "password": "correct horse battery",
}

# The admin's schedule and escalation policy name someone the desk does not have: each is refused 422 naming
# the field (`layers.0.people.0`, `steps.0.targets.0.user`), after the role check that the others fail.
NEW_SCHEDULE = {
    "slug": "primary",
    "name": "Primary",
    "timezone": "America/New_York",
    "layers": [{"id": "weekly", "start": "2026-12-07T09:00", "rotation": "weekly", "people": [MISSING]}],
}
SCHEDULE_CHANGE = {key: value for key, value in NEW_SCHEDULE.items() if key != "slug"}
NEW_OVERRIDE = {"kind": "add", "user_id": "{agent}", "start": "2026-12-07T09:00:00Z", "end": "2026-12-07T17:00:00Z"}
NEW_ESCALATION = {"slug": "sev1", "name": "Sev 1", "steps": [{"targets": [{"user": MISSING}], "escalate_after": "5m"}]}
ESCALATION_CHANGE = {key: value for key, value in NEW_ESCALATION.items() if key != "slug"}

# fmt: off
PIN = {"reason": "the customer's launch is tonight", "until": "2026-12-08T09:00:00-05:00"}

ACCESS: list[tuple[str, str, Any, tuple[int, int, int, int, int]]] = [
    # method    path                                                               body                                       anonymous customer_a customer_b agent admin
    ("GET",    "/api/health",                                                      None,                                      (200, 200, 200, 200, 200)),
    ("GET",    "/api/health/live",                                                 None,                                      (200, 200, 200, 200, 200)),
    ("GET",    "/api/health/ready",                                                None,                                      (200, 200, 200, 200, 200)),
    ("POST",   "/api/v1/tickets",                                                  OPEN_OWN,                                  (401, 201, 201, 422, 422)),
    ("POST",   "/api/v1/tickets",                                                  OPEN_FOR_A,                                (401, 201, 403, 201, 201)),
    ("GET",    "/api/v1/tickets",                                                  None,                                      (401, 200, 200, 200, 200)),
    ("GET",    "/api/v1/tickets?organisation_id={org_a}",                          None,                                      (401, 200, 200, 200, 200)),
    ("GET",    "/api/v1/tickets/{ticket_a}",                                       None,                                      (401, 200, 404, 200, 200)),
    ("GET",    "/api/v1/tickets/{missing}",                                        None,                                      (401, 404, 404, 404, 404)),
    ("PATCH",  "/api/v1/tickets/{fresh_ticket_a}",                                 {"status": "closed"},                      (401, 200, 404, 200, 200)),
    ("PATCH",  "/api/v1/tickets/{fresh_ticket_a}",                                 {"status": "open"},                        (401, 403, 404, 200, 200)),
    ("PATCH",  "/api/v1/tickets/{fresh_ticket_a}",                                 {"severity": 2, "severity_reason": "x"},   (401, 403, 403, 200, 200)),
    ("PATCH",  "/api/v1/tickets/{fresh_ticket_a}",                                 {"assignee_id": "{agent}"},                (401, 403, 403, 200, 200)),
    ("PATCH",  "/api/v1/tickets/{fresh_ticket_a}",                                 {"outside_incident": "provider outage"},   (401, 403, 403, 200, 200)),
    ("PATCH",  "/api/v1/tickets/{missing}",                                        {"status": "closed"},                      (401, 404, 404, 404, 404)),
    ("POST",   "/api/v1/tickets/{fresh_ticket_a}/merge",                           {"into": "{ticket_a}"},                    (401, 403, 403, 200, 200)),
    ("POST",   "/api/v1/tickets/{missing}/merge",                                  {"into": "{ticket_a}"},                    (401, 403, 403, 404, 404)),
    ("POST",   "/api/v1/tickets/{fresh_ticket_a}/comments",                        {"body": "Any news?"},                     (401, 201, 404, 201, 201)),
    ("POST",   "/api/v1/tickets/{fresh_ticket_a}/comments",                        {"body": "note", "public": False},         (401, 403, 403, 201, 201)),
    ("POST",   "/api/v1/tickets/{missing}/comments",                               {"body": "Any news?"},                     (401, 404, 404, 404, 404)),
    ("GET",    "/api/v1/tickets/{ticket_a}/comments",                              None,                                      (401, 200, 404, 200, 200)),
    ("GET",    "/api/v1/tickets/{missing}/comments",                               None,                                      (401, 404, 404, 404, 404)),
    ("PATCH",  "/api/v1/tickets/{fresh_ticket_a}",                                 {"believed_resolved": True},               (401, 403, 403, 200, 200)),
    ("POST",   "/api/v1/tickets/{fresh_ticket_a}/comms",                           {"channel": "internal", "note": "posted"}, (401, 403, 403, 200, 200)),
    ("POST",   "/api/v1/tickets/{missing}/comms",                                  {"channel": "internal", "note": "posted"}, (401, 403, 403, 404, 404)),
    ("GET",    "/api/v1/tickets/{ticket_a}/events",                                None,                                      (401, 200, 404, 200, 200)),
    ("GET",    "/api/v1/tickets/{missing}/events",                                 None,                                      (401, 404, 404, 404, 404)),
    ("GET",    "/api/v1/tickets/{ticket_a}/sla",                                   None,                                      (401, 200, 404, 200, 200)),
    ("GET",    "/api/v1/tickets/{missing}/sla",                                    None,                                      (401, 404, 404, 404, 404)),
    ("POST",   "/api/v1/tickets/{fresh_ticket_a}/attachments",                     Upload(public=True),                       (401, 201, 404, 201, 201)),
    ("POST",   "/api/v1/tickets/{fresh_ticket_a}/attachments",                     Upload(public=False),                      (401, 422, 422, 201, 201)),
    ("POST",   "/api/v1/tickets/{missing}/attachments",                            Upload(public=True),                       (401, 404, 404, 404, 404)),
    ("GET",    "/api/v1/tickets/{ticket_a}/attachments",                           None,                                      (401, 200, 404, 200, 200)),
    ("GET",    "/api/v1/tickets/{missing}/attachments",                            None,                                      (401, 404, 404, 404, 404)),
    ("GET",    "/api/v1/tickets/{ticket_a}/attachments/{public_attachment}",       None,                                      (401, 200, 404, 200, 200)),
    ("GET",    "/api/v1/tickets/{ticket_a}/attachments/{internal_attachment}",     None,                                      (401, 404, 404, 200, 200)),
    ("GET",    "/api/v1/tickets/{ticket_a}/attachments/{attachment_b}",            None,                                      (401, 404, 404, 404, 404)),
    ("GET",    "/api/v1/tickets/{ticket_a}/attachments/{missing}",                 None,                                      (401, 404, 404, 404, 404)),
    ("GET",    "/api/v1/tickets/{missing}/attachments/{public_attachment}",        None,                                      (401, 404, 404, 404, 404)),
    ("GET",    "/api/v1/policies",                                                 None,                                      (401, 200, 200, 200, 200)),
    ("GET",    "/api/v1/policies/alleo",                                           None,                                      (401, 200, 200, 200, 200)),
    ("GET",    "/api/v1/policies/nope",                                            None,                                      (401, 404, 404, 404, 404)),
    ("POST",   "/api/v1/policies",                                                 NEW_POLICY,                                (401, 403, 403, 403, 201)),
    ("GET",    "/api/v1/policies/alleo/versions",                                  None,                                      (401, 200, 200, 200, 200)),
    ("GET",    "/api/v1/policies/nope/versions",                                   None,                                      (401, 404, 404, 404, 404)),
    ("GET",    "/api/v1/policies/alleo/source",                                    None,                                      (401, 200, 200, 200, 200)),
    ("GET",    "/api/v1/policies/nope/source",                                     None,                                      (401, 404, 404, 404, 404)),
    ("GET",    "/api/v1/queue",                                                    None,                                      (401, 403, 403, 200, 200)),
    ("GET",    "/metrics",                                                         None,                                      (200, 200, 200, 200, 200)),
    ("POST",   "/api/v1/subscriptions",                                            NEW_HOOK,                                  (401, 403, 403, 403, 201)),
    ("GET",    "/api/v1/subscriptions",                                            None,                                      (401, 403, 403, 403, 200)),
    ("DELETE", "/api/v1/subscriptions/{missing}",                                  None,                                      (401, 403, 403, 403, 404)),
    ("GET",    "/api/v1/outbox",                                                   None,                                      (401, 403, 403, 403, 200)),
    ("POST",   "/api/v1/outbox/{missing}/retry",                                   None,                                      (401, 403, 403, 403, 404)),
    ("POST",   "/api/v1/organisations",                                            NEW_ORG,                                   (401, 403, 403, 403, 201)),
    ("GET",    "/api/v1/organisations",                                            None,                                      (401, 403, 403, 403, 200)),
    ("GET",    "/api/v1/organisations/{org_a}",                                    None,                                      (401, 403, 403, 403, 200)),
    ("GET",    "/api/v1/organisations/{missing}",                                  None,                                      (401, 403, 403, 403, 404)),
    ("PATCH",  "/api/v1/organisations/{org_a}",                                    {"timezone": "Europe/Paris"},              (401, 403, 403, 403, 200)),
    ("PATCH",  "/api/v1/organisations/{missing}",                                  {"timezone": "Europe/Paris"},              (401, 403, 403, 403, 404)),
    ("POST",   "/api/v1/users",                                                    NEW_USER,                                  (401, 403, 403, 403, 201)),
    ("GET",    "/api/v1/users",                                                    None,                                      (401, 403, 403, 403, 200)),
    ("GET",    "/api/v1/users/me",                                                 None,                                      (401, 200, 200, 200, 200)),
    ("GET",    "/api/v1/users/{customer_a}",                                       None,                                      (401, 403, 403, 403, 200)),
    ("GET",    "/api/v1/users/{missing}",                                          None,                                      (401, 403, 403, 403, 404)),
    ("PATCH",  "/api/v1/users/{customer_b}",                                       {"name": "Renamed"},                       (401, 403, 403, 403, 200)),
    ("PATCH",  "/api/v1/users/{missing}",                                          {"name": "Renamed"},                       (401, 403, 403, 403, 404)),
    ("POST",   "/api/v1/users/{customer_a}/tokens",                                {"name": "ci"},                            (401, 201, 403, 403, 201)),
    ("POST",   "/api/v1/users/{missing}/tokens",                                   {"name": "ci"},                            (401, 403, 403, 403, 404)),
    ("GET",    "/api/v1/users/{customer_a}/tokens",                                None,                                      (401, 200, 403, 403, 200)),
    ("GET",    "/api/v1/users/{missing}/tokens",                                   None,                                      (401, 403, 403, 403, 404)),
    ("DELETE", "/api/v1/users/{customer_a}/tokens/{spare_token_a}",                None,                                      (401, 204, 403, 403, 204)),
    ("DELETE", "/api/v1/users/{customer_a}/tokens/{spare_token_b}",                None,                                      (401, 404, 403, 403, 404)),
    ("DELETE", "/api/v1/users/{customer_a}/tokens/{missing}",                      None,                                      (401, 404, 403, 403, 404)),
    ("DELETE", "/api/v1/users/{missing}/tokens/{spare_token_a}",                   None,                                      (401, 403, 403, 403, 404)),
    ("GET",    "/api/v1/users/{agent}/notification-rules",                         None,                                      (401, 403, 403, 200, 200)),
    ("PUT",    "/api/v1/users/{agent}/notification-rules",                         {"rules": []},                             (401, 403, 403, 200, 200)),
    ("GET",    "/api/v1/users/{customer_a}/notification-rules",                    None,                                      (401, 403, 403, 403, 409)),
    ("GET",    "/api/v1/users/{missing}/notification-rules",                       None,                                      (401, 403, 403, 403, 404)),
    ("GET",    "/api/v1/reports/attainment",                                       None,                                      (401, 403, 403, 200, 200)),
    ("GET",    "/api/v1/reports/attainment/tickets?metric=first_response&outcome=met", None,                                  (401, 403, 403, 200, 200)),
    ("GET",    "/api/v1/reports/times",                                            None,                                      (401, 403, 403, 200, 200)),
    ("GET",    "/api/v1/reports/forecast",                                         None,                                      (401, 403, 403, 200, 200)),
    ("POST",   "/api/v1/reports/whatif",                                           {"candidate": {"version": "alleo"}},       (401, 403, 403, 200, 200)),
    ("GET",    "/api/v1/teams",                                                    None,                                      (401, 403, 403, 200, 200)),
    ("POST",   "/api/v1/teams",                                                    {"slug": "ops", "name": "Ops"},            (401, 403, 403, 403, 201)),
    ("GET",    "/api/v1/teams/nope",                                               None,                                      (401, 403, 403, 404, 404)),
    ("PATCH",  "/api/v1/teams/nope",                                               {"name": "Ops"},                           (401, 403, 403, 403, 404)),
    ("PUT",    "/api/v1/teams/nope/members/{agent}",                               None,                                      (401, 403, 403, 403, 404)),
    ("DELETE", "/api/v1/teams/nope/members/{agent}",                               None,                                      (401, 403, 403, 403, 404)),
    ("PUT",    "/api/v1/tickets/{fresh_ticket_a}/team",                            {"team": None, "reason": "x"},             (401, 403, 403, 409, 409)),
    ("POST",   "/api/v1/tickets/{fresh_ticket_a}/pin",                             PIN,                                       (401, 403, 403, 200, 200)),
    ("DELETE", "/api/v1/tickets/{fresh_ticket_a}/pin",                             None,                                      (401, 403, 403, 409, 409)),
    ("POST",   "/api/v1/tickets/{fresh_ticket_a}/incident/acknowledge",            None,                                      (401, 403, 403, 409, 409)),
    ("POST",   "/api/v1/tickets/{fresh_ticket_a}/incident/resolve",                None,                                      (401, 403, 403, 409, 409)),
    ("POST",   "/api/v1/tickets/{fresh_ticket_a}/triage",                          {"severity": 2},                           (401, 403, 403, 409, 409)),
    ("POST",   "/api/v1/time-logs",                                                {"minutes": 30, "work": "internal"},       (401, 403, 403, 201, 201)),
    ("GET",    "/api/v1/time-logs",                                                None,                                      (401, 403, 403, 200, 200)),
    ("POST",   "/api/v1/policies/alleo/triage",                                    {"subject": "Nobody can sign in"},         (401, 200, 200, 200, 200)),
    ("GET",    "/api/v1/oncall/schedules",                                         None,                                      (401, 403, 403, 200, 200)),
    ("POST",   "/api/v1/oncall/schedules",                                         NEW_SCHEDULE,                              (401, 403, 403, 403, 422)),
    ("GET",    "/api/v1/oncall/schedules/nope",                                    None,                                      (401, 403, 403, 404, 404)),
    ("PUT",    "/api/v1/oncall/schedules/nope",                                    SCHEDULE_CHANGE,                           (401, 403, 403, 403, 404)),
    ("DELETE", "/api/v1/oncall/schedules/nope",                                    None,                                      (401, 403, 403, 403, 404)),
    ("GET",    "/api/v1/oncall/schedules/nope/now",                                None,                                      (401, 403, 403, 404, 404)),
    ("GET",    "/api/v1/oncall/schedules/nope/next",                               None,                                      (401, 403, 403, 404, 404)),
    ("GET",    "/api/v1/oncall/schedules/nope/final",                              None,                                      (401, 403, 403, 404, 404)),
    ("GET",    "/api/v1/oncall/schedules/nope/gaps",                               None,                                      (401, 403, 403, 404, 404)),
    ("POST",   "/api/v1/oncall/schedules/nope/overrides",                          NEW_OVERRIDE,                              (401, 403, 403, 404, 404)),
    ("GET",    "/api/v1/oncall/schedules/nope/overrides",                          None,                                      (401, 403, 403, 404, 404)),
    ("DELETE", "/api/v1/oncall/schedules/nope/overrides/{missing}",                None,                                      (401, 403, 403, 404, 404)),
    ("GET",    "/api/v1/oncall/escalation-policies",                               None,                                      (401, 403, 403, 200, 200)),
    ("POST",   "/api/v1/oncall/escalation-policies",                               NEW_ESCALATION,                            (401, 403, 403, 403, 422)),
    ("GET",    "/api/v1/oncall/escalation-policies/nope",                          None,                                      (401, 403, 403, 404, 404)),
    ("PUT",    "/api/v1/oncall/escalation-policies/nope",                          ESCALATION_CHANGE,                         (401, 403, 403, 403, 404)),
    ("DELETE", "/api/v1/oncall/escalation-policies/nope",                          None,                                      (401, 403, 403, 403, 404)),
    ("POST",   "/api/v1/oncall/feeds",                                             {"user_id": "{agent}"},                    (401, 403, 403, 201, 201)),
    ("POST",   "/api/v1/oncall/feeds",                                             {"user_id": "{admin}"},                    (401, 403, 403, 403, 201)),
    ("GET",    "/oncall/feeds/nope.ics",                                           None,                                      (404, 404, 404, 404, 404)),
]
# fmt: on


class Targets(dict[str, int]):
    """Placeholder values; a `fresh_*` placeholder makes a new object each time it is filled in."""

    def __init__(self, desk: AccessDesk) -> None:
        super().__init__()
        self.desk = desk

    def __missing__(self, key: str) -> int:
        if key == "fresh_ticket_a":
            return self.desk.ticket("customer_a")
        raise KeyError(key)


class AccessDesk(Desk):
    """A desk whose `ids` fill in the placeholders of the tables; `call` makes a row's request as a role."""

    def ticket(self, customer: str, severity: int = 1, opened: datetime = NOW) -> int:
        change = open_ticket(
            self.sessions,
            self.actors[customer],
            subject="Nobody can sign in",
            description="Since 08:50.",
            severity=severity,
            now=opened,
        )
        return change.ticket.id

    def attach(self, ticket_id: int, public: bool, name: str) -> int:
        change = add_attachment(
            self.sessions,
            self.actors["agent"],
            ticket_id,
            filename=name,
            content_type="text/plain",
            data=b"trace",
            storage=self.attachments,
            public=public,
            now=NOW,
        )
        return int(change.event.data["attachment_id"])

    def fill(self, template: Any, targets: Targets) -> Any:
        if isinstance(template, str):
            filled = template.format_map(targets)
            return int(filled) if re.fullmatch(r"\{\w+\}", template) else filled
        if isinstance(template, dict):
            return {key: self.fill(value, targets) for key, value in template.items()}
        return template

    def call(self, role: str, method: str, path: str, body: Any = None) -> Any:
        targets = Targets(self)
        targets.update(self.ids)
        url = self.fill(path, targets)
        headers = dict(self.headers[role])
        if method == "PATCH" or url.endswith("/merge"):
            headers["If-Match"] = '"1"'
        if isinstance(body, YamlBody):
            headers["Content-Type"] = "application/yaml"
            return self.client.request(method, url, headers=headers, content=body.text)
        if isinstance(body, Upload):
            files = {"file": ("notes.txt", b"hello", "text/plain")}
            data = {"public": "true" if body.public else "false"}
            return self.client.request(method, url, headers=headers, files=files, data=data)
        return self.client.request(method, url, headers=headers, json=self.fill(body, targets))


@pytest.fixture
def desk(sessions, tmp_path) -> AccessDesk:
    """Organisations A and B; a customer of each, an agent and an admin; a ticket of A with a public reply,
    an internal note, a public and an internal attachment; a ticket of B with an attachment."""
    desk = AccessDesk(sessions, FixedClock(NOW), tmp_path / "attachments")
    desk.ids.update(
        org_a=desk.organisation("Acme", "alleo"), org_b=desk.organisation("Globex", "alleo"), missing=MISSING
    )
    desk.headers["anonymous"] = {}
    desk.user("customer_a", Role.CUSTOMER, desk.ids["org_a"])
    desk.user("customer_b", Role.CUSTOMER, desk.ids["org_b"])
    desk.user("agent", Role.AGENT)
    desk.user("admin", Role.ADMIN)
    for key, owner in (("spare_token_a", "customer_a"), ("spare_token_b", "customer_b")):
        issue_token(sessions, desk.ids[owner], key, now=NOW)
        tokens = list_tokens(sessions, desk.actors["admin"], desk.ids[owner])
        desk.ids[key] = next(token.id for token in tokens if token.name == key)
    ticket_a = desk.ticket("customer_a")
    reply(desk.sessions, desk.actors["agent"], ticket_a, "We are looking.", now=NOW)
    reply(desk.sessions, desk.actors["agent"], ticket_a, "INTERNAL: their SSO cert expired", public=False, now=NOW)
    ticket_b = desk.ticket("customer_b")
    desk.ids.update(
        ticket_a=ticket_a,
        ticket_b=ticket_b,
        public_attachment=desk.attach(ticket_a, True, "screen.txt"),
        internal_attachment=desk.attach(ticket_a, False, "INTERNAL-debug.txt"),
        attachment_b=desk.attach(ticket_b, True, "other.txt"),
    )
    return desk


def test_the_table_has_a_row_for_every_endpoint_of_the_api():
    paths = create_app(sessionmaker()).openapi()["paths"]
    endpoints = {(method.upper(), path) for path, operations in paths.items() for method in operations}

    def endpoint_of(method: str, path: str) -> tuple[str, str] | None:
        """The endpoint a row calls: of the templates that match, the most literal (users/me before users/{id})."""
        url = re.sub(r"\{\w+\}", "1", path.split("?")[0])
        matching = [
            (template.count("{"), template)
            for verb, template in endpoints
            if verb == method and re.fullmatch("[^/]+".join(map(re.escape, re.split(r"\{\w+\}", template))), url)
        ]
        return (method, min(matching)[1]) if matching else None

    covered = {endpoint_of(method, path) for method, path, _, _ in ACCESS}
    assert endpoints - covered == set(), "add rows to ACCESS for these endpoints"
    assert None not in covered, "ACCESS names an endpoint the API does not have"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_status_the_table_gives_for_every_endpoint(desk, role):
    column = ROLES.index(role)
    expected = {(method, path, repr(body)): statuses[column] for method, path, body, statuses in ACCESS}
    actual = {
        (method, path, repr(body)): desk.call(role, method, path, body).status_code for method, path, body, _ in ACCESS
    }
    wrong = {
        row: f"expected {expected[row]}, got {status}" for row, status in actual.items() if status != expected[row]
    }
    assert wrong == {}


def test_a_guessed_ticket_id_answers_exactly_like_one_that_does_not_exist(desk):
    """For every ticket endpoint, customer B on A's ticket gets what it gets for a missing id; reads are 404."""
    rows = [row for row in ACCESS if "ticket_a}" in row[1].split("?")[0]]
    assert len(rows) >= 15
    for method, path, body, statuses in rows:
        guessed = desk.call("customer_b", method, path, body)
        missing = desk.call("customer_b", method, re.sub(r"\{(fresh_)?ticket_a\}", "{missing}", path, count=1), body)
        assert (method, path, guessed.status_code) == (method, path, missing.status_code)
        assert guessed.json() == missing.json() | {"detail": guessed.json()["detail"]}
        if method == "GET":
            assert guessed.status_code == 404, (method, path)
        if guessed.status_code == 403:  # only for what no customer may do, on their own tickets either
            assert statuses[ROLES.index("customer_a")] == 403, (method, path, body)


@pytest.mark.parametrize(
    ("path", "hidden"),
    [
        ("/api/v1/tickets/{ticket_a}/comments", "INTERNAL"),
        ("/api/v1/tickets/{ticket_a}/attachments", "INTERNAL"),
        ("/api/v1/tickets/{ticket_a}/events", "INTERNAL"),
    ],
)
def test_a_customer_never_sees_internal_notes_or_attachments(desk, path, hidden):
    staff = desk.call("agent", "GET", path)
    assert hidden in staff.text  # the staff view has them, so their absence below is a rule, not an accident
    customer = desk.call("customer_a", "GET", path)
    assert customer.status_code == 200
    assert hidden not in customer.text
    assert all(item.get("public", True) and (item.get("data") or {}).get("public", True) for item in customer.json())


def test_a_customer_sees_public_replies_and_events_without_internal_notes(desk):
    comments = desk.call("customer_a", "GET", "/api/v1/tickets/{ticket_a}/comments").json()
    assert [c["body"] for c in comments] == ["We are looking."]
    events = desk.call("customer_a", "GET", "/api/v1/tickets/{ticket_a}/events").json()
    replies = [e for e in events if e["type"] == "reply"]
    assert [e["data"] for e in replies] == [{"by": "agent", "public": True}]
    staff = desk.call("agent", "GET", "/api/v1/tickets/{ticket_a}/events").json()
    assert len([e for e in staff if e["type"] == "reply"]) == 2


def test_internal_activity_leaves_a_customer_nothing_to_notice(desk):
    """Not the body, the version, the ETag, the change time nor a gap in the event sequence."""
    before = desk.call("customer_a", "GET", "/api/v1/tickets/{ticket_a}")
    events = desk.call("customer_a", "GET", "/api/v1/tickets/{ticket_a}/events").json()
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    staff_before = desk.call("agent", "GET", "/api/v1/tickets/{ticket_a}").json()["version"]
    ticket_a = desk.ids["ticket_a"]
    reply(desk.sessions, desk.actors["agent"], ticket_a, "INTERNAL: second look", public=False, now=LATER)

    after = desk.call("customer_a", "GET", "/api/v1/tickets/{ticket_a}")
    assert after.json() == before.json()
    assert after.headers["ETag"] == before.headers["ETag"]
    assert desk.call("agent", "GET", "/api/v1/tickets/{ticket_a}").json()["version"] == staff_before + 1
    # the customer's If-Match is the version they see, and an internal note does not make it stale
    url = f"/api/v1/tickets/{ticket_a}"
    closed = desk.client.patch(
        url, headers={**desk.headers["customer_a"], "If-Match": before.headers["ETag"]}, json={"status": "closed"}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["version"] == before.json()["version"] + 1
    assert closed.json()["updated_at"] != before.json()["updated_at"]
    stale = desk.client.patch(
        url, headers={**desk.headers["customer_a"], "If-Match": before.headers["ETag"]}, json={"status": "open"}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == before.json()["version"] + 1


# fmt: off
VISIBLE: list[tuple[str, tuple[set[str], set[str], set[str]]]] = [
    # query                                 customer_a           customer_b     agent
    ("",                                    ({"a1", "a2"},       {"b1"},        {"a1", "a2", "b1"})),
    ("organisation_id={org_b}",             (set(),              {"b1"},        {"b1"})),
    ("organisation_id={org_a}",             ({"a1", "a2"},       set(),         {"a1", "a2"})),
    ("organisation_id={org_b}&severity=1",  (set(),              {"b1"},        {"b1"})),
    ("severity=1",                          ({"a1"},             {"b1"},        {"a1", "b1"})),
    ("status=new",                          ({"a1", "a2"},       {"b1"},        {"a1", "a2", "b1"})),
    ("breached=false",                      ({"a1", "a2"},       set(),         {"a1", "a2"})),
    ("breached=true",                       (set(),              {"b1"},        {"b1"})),
    ("organisation_id={org_b}&breached=true", (set(),            {"b1"},        {"b1"})),
    ("due_before=2026-12-07T14:00:00Z",     (set(),              {"b1"},        {"b1"})),
    ("due_before=2100-01-01T00:00:00Z",     ({"a1", "a2"},       {"b1"},        {"a1", "a2", "b1"})),
]
# fmt: on


@pytest.fixture
def listed(sessions, tmp_path) -> AccessDesk:
    """Tickets a1 (Sev1) and a2 (Sev2) of organisation A opened now, then b1 (Sev1, breached) of B opened last week."""
    desk = AccessDesk(sessions, FixedClock(NOW), tmp_path / "attachments")
    desk.ids.update(org_a=desk.organisation("Acme", "alleo"), org_b=desk.organisation("Globex", "alleo"))
    desk.user("customer_a", Role.CUSTOMER, desk.ids["org_a"])
    desk.user("customer_b", Role.CUSTOMER, desk.ids["org_b"])
    desk.user("agent", Role.AGENT)
    desk.ids["a1"] = desk.ticket("customer_a", 1)
    desk.ids["a2"] = desk.ticket("customer_a", 2)
    desk.ids["b1"] = desk.ticket("customer_b", 1, opened=LAST_WEEK)
    reply(sessions, desk.actors["customer_b"], desk.ids["b1"], "Anyone there?", now=NOW)  # its Sev1 clock breached
    return desk


def _walk(desk: AccessDesk, role: str, query: str, limit: int) -> tuple[set[str], int]:
    """The subjects of every ticket the list gives, page by page, and the number of pages."""
    names = {desk.ids[key]: key for key in ("a1", "a2", "b1")}
    seen: list[str] = []
    cursor, pages = None, 0
    while True:
        url = (
            f"/api/v1/tickets?limit={limit}" + (f"&{query}" if query else "") + (f"&cursor={cursor}" if cursor else "")
        )
        page = desk.call(role, "GET", url)
        assert page.status_code == 200, page.text
        pages += 1
        seen += [names[item["id"]] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return set(seen), pages


@pytest.mark.parametrize("role", ["customer_a", "customer_b", "agent"])
def test_lists_filters_and_page_counts_show_only_the_callers_organisation(listed, role):
    column = ["customer_a", "customer_b", "agent"].index(role)
    expected = {query: visible[column] for query, visible in VISIBLE}
    whole = {query: _walk(listed, role, query, limit=200)[0] for query, _ in VISIBLE}
    assert whole == expected
    for query, visible in expected.items():  # one per page: no empty trailing page betrays a hidden ticket
        seen, pages = _walk(listed, role, query, limit=1)
        assert (query, seen, pages) == (query, visible, max(1, len(visible)))


def test_the_queue_is_for_staff_and_holds_every_organisation(listed):
    for customer in ("customer_a", "customer_b"):
        refused = listed.call(customer, "GET", "/api/v1/queue")
        assert (refused.status_code, set(refused.json())) == (403, {"type", "title", "status", "detail"})
    queue = listed.call("agent", "GET", "/api/v1/queue").json()
    assert {item["ticket_id"] for item in queue} == {listed.ids[key] for key in ("a1", "a2", "b1")}


def test_who_am_i_is_the_caller_and_no_answer_carries_a_password_hash_or_a_token_secret(desk):
    created = desk.call("admin", "POST", "/api/v1/users", NEW_USER)
    assert created.status_code == 201
    assert created.headers["Location"] == f"/api/v1/users/{created.json()['id']}"
    user_id = created.json()["id"]
    issued = desk.call("admin", "POST", f"/api/v1/users/{user_id}/tokens", {"name": "laptop"})
    assert issued.status_code == 201
    secret = issued.json()["token"]
    desk.headers["new"] = {"Authorization": f"Bearer {secret}"}
    me = desk.call("new", "GET", "/api/v1/users/me")
    assert datetime.fromisoformat(me.json().pop("created_at")) == NOW
    assert me.json() | {"created_at": None} == {
        "id": user_id,
        "email": "new@example.com",
        "name": "New",
        "role": "customer",
        "organisation_id": desk.ids["org_a"],
        "active": True,
        "timezone": None,
        "quiet_hours": None,
        "support_contact": False,
        "created_at": None,
    }
    answers = [
        created,
        me,
        desk.call("admin", "GET", "/api/v1/users"),
        desk.call("admin", "GET", f"/api/v1/users/{user_id}"),
        desk.call("admin", "GET", "/api/v1/users?organisation_id={org_a}&role=customer"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201)
        assert "password" not in answer.text and "$argon2" not in answer.text
    tokens = desk.call("new", "GET", f"/api/v1/users/{user_id}/tokens")
    assert [set(token) for token in tokens.json()] == [{"id", "name", "created_at", "last_used_at", "expires_at"}]
    assert secret not in tokens.text and "hash" not in tokens.text


def test_a_revoked_token_no_longer_authenticates_and_the_others_still_do(desk):
    first = desk.call("customer_a", "POST", "/api/v1/users/{customer_a}/tokens", {"name": "one"}).json()
    second = desk.call("customer_a", "POST", "/api/v1/users/{customer_a}/tokens", {"name": "two"}).json()
    assert first["token"] != second["token"]
    revoked = desk.call("customer_a", "DELETE", f"/api/v1/users/{{customer_a}}/tokens/{first['id']}")
    assert revoked.status_code == 204
    desk.headers["first"] = {"Authorization": f"Bearer {first['token']}"}
    desk.headers["second"] = {"Authorization": f"Bearer {second['token']}"}
    assert desk.call("first", "GET", "/api/v1/users/me").status_code == 401
    assert desk.call("second", "GET", "/api/v1/users/me").json()["id"] == desk.ids["customer_a"]
    again = desk.call("admin", "DELETE", f"/api/v1/users/{{customer_a}}/tokens/{first['id']}")
    assert again.status_code == 404
    names = [token["name"] for token in desk.call("admin", "GET", "/api/v1/users/{customer_a}/tokens").json()]
    assert names == ["tests", "spare_token_a", "two"]


def test_a_deactivated_user_keeps_its_history_but_signs_in_no_more(desk):
    ticket_a = desk.ids["ticket_a"]
    off = desk.call("admin", "PATCH", "/api/v1/users/{customer_a}", {"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert desk.call("customer_a", "GET", "/api/v1/users/me").status_code == 401
    assert desk.call("agent", "GET", f"/api/v1/tickets/{ticket_a}").json()["requester_id"] == desk.ids["customer_a"]
    on_behalf = desk.call("agent", "POST", "/api/v1/tickets", OPEN_FOR_A)
    assert on_behalf.status_code == 422 and on_behalf.json()["field"] == "requester_id"
    on = desk.call("admin", "PATCH", "/api/v1/users/{customer_a}", {"active": True})
    assert on.json()["active"] is True
    assert desk.call("customer_a", "GET", "/api/v1/users/me").status_code == 401  # its tokens were revoked
    fresh = desk.call("admin", "POST", "/api/v1/users/{customer_a}/tokens", {"name": "back"}).json()["token"]
    assert desk.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200

    desk.call("admin", "PATCH", "/api/v1/users/{agent}", {"active": False})
    assigned = desk.client.patch(
        f"/api/v1/tickets/{ticket_a}",
        headers={
            **desk.headers["admin"],
            "If-Match": desk.call("admin", "GET", f"/api/v1/tickets/{ticket_a}").headers["ETag"],
        },
        json={"assignee_id": desk.ids["agent"]},
    )
    assert assigned.status_code == 422 and assigned.json()["field"] == "assignee_id"
    itself = desk.call("admin", "PATCH", "/api/v1/users/{admin}", {"active": False})
    assert itself.status_code == 409
    assert desk.call("admin", "PATCH", "/api/v1/users/{admin}", {"active": None}).status_code == 422


def test_the_operator_brings_a_deactivated_admin_back(desk):
    update_user(desk.sessions, None, desk.ids["admin"], {"active": False})
    assert desk.call("admin", "GET", "/api/v1/users/me").status_code == 401
    user, created = bootstrap_admin(desk.sessions, email="admin@example.com", name="ignored")
    assert (user.id, user.name, user.active, created) == (desk.ids["admin"], "admin", True, False)
    assert desk.call("admin", "GET", "/api/v1/users/me").status_code == 401  # its old tokens were revoked
    fresh = issue_token(desk.sessions, user.id, "cli")
    assert desk.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


# fmt: off
BAD_INPUT: list[tuple[str, dict[str, Any], int, str | None]] = [
    # path                                  body                                                    status  problem field
    ("/api/v1/organisations",               {**NEW_ORG, "colour": "red"},                           422,    "colour"),
    ("/api/v1/organisations",               {**NEW_ORG, "policy_id": "nope"},                       422,    "policy_id"),
    ("/api/v1/organisations",               {**NEW_ORG, "policy_id": "sourcegraph", "tier": "gold"}, 422,   "tier"),
    ("/api/v1/organisations",               {**NEW_ORG, "timezone": "Mars/Olympus"},                422,    "timezone"),
    ("/api/v1/organisations",               {**NEW_ORG, "name": "  "},                              422,    "name"),
    ("/api/v1/organisations",               {**NEW_ORG, "name": "Acme"},                            409,    None),
    ("/api/v1/users",                       {**NEW_USER, "password_hash": "x"},                     422,    "password_hash"),
    ("/api/v1/users",                       {**NEW_USER, "email": "not-an-address"},                422,    "email"),
    ("/api/v1/users",                       {**NEW_USER, "role": "owner"},                          422,    "role"),
    ("/api/v1/users",                       {**NEW_USER, "password": "short"},                      422,    "password"),
    ("/api/v1/users",                       {**NEW_USER, "organisation_id": None},                  422,    "organisation_id"),
    ("/api/v1/users",                       {**NEW_USER, "organisation_id": MISSING},               422,    "organisation_id"),
    ("/api/v1/users",                       {**NEW_USER, "email": "Customer_A@example.com"},        409,    None),
    ("/api/v1/users/{customer_a}/tokens",   {"name": " "},                                          422,    "name"),
    ("/api/v1/users/{customer_a}/tokens",   {"name": "ci", "secret": "mine"},                       422,    "secret"),
]
# fmt: on


def test_the_directory_refuses_bad_input_with_a_problem_naming_the_field(desk):
    answers = {(path, repr(body)): desk.call("admin", "POST", path, body) for path, body, _, _ in BAD_INPUT}
    for answer in answers.values():
        assert answer.headers["content-type"] == "application/problem+json"
    actual = {row: (answer.status_code, answer.json().get("field")) for row, answer in answers.items()}
    assert actual == {(path, repr(body)): (status, field) for path, body, status, field in BAD_INPUT}


HUGE = 2**40  # beyond PostgreSQL's integer: no row can have it, so it is not found rather than a server error

# fmt: off
HUGE_IDS: list[tuple[str, str, Any, int]] = [
    # method    path                                                  body                                          admin
    ("GET",    f"/api/v1/organisations/{HUGE}",                      None,                                         404),
    ("GET",    f"/api/v1/users/{HUGE}",                              None,                                         404),
    ("GET",    f"/api/v1/users?organisation_id={HUGE}",              None,                                         200),
    ("POST",   "/api/v1/users",                                      {**NEW_USER, "organisation_id": HUGE},        422),
    ("POST",   f"/api/v1/users/{HUGE}/tokens",                       {"name": "ci"},                               404),
    ("GET",    f"/api/v1/users/{HUGE}/tokens",                       None,                                         404),
    ("DELETE", f"/api/v1/users/{HUGE}/tokens/1",                     None,                                         404),
    ("DELETE", f"/api/v1/users/{{customer_a}}/tokens/{HUGE}",        None,                                         404),
]
# fmt: on


def test_directory_ids_too_large_for_the_database_are_not_found(desk):
    actual = {(method, path): desk.call("admin", method, path, body).status_code for method, path, body, _ in HUGE_IDS}
    assert actual == {(method, path): status for method, path, _, status in HUGE_IDS}
    assert desk.call("admin", "GET", f"/api/v1/users?organisation_id={HUGE}").json()["items"] == []
