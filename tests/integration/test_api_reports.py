"""The reports API on SQLite and PostgreSQL: attainment, times, forecast and what-if as JSON and CSV, for staff.

The desk is `tests.support.report_desk`'s, at Wed 2 Dec 2026 09:00 UTC: the default period is November 2026,
whose figures that module works out by hand.
"""

from __future__ import annotations

import pytest

from tests.support.desk import Desk
from tests.support.report_desk import OUTSIDE_INCIDENT, report_desk

P1_TARGET_30H = "severities.p1.targets.first_response.due=30h"


@pytest.fixture
def desk(sessions, tmp_path) -> Desk:
    return report_desk(sessions, tmp_path)


def test_attainment_per_severity_for_last_month(desk):
    answer = desk.client.get("/api/v1/reports/attainment?by=severity", headers=desk.headers["agent"])
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["period"] == {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}
    assert report["by"] == ["severity"]
    figures = [
        (
            row["group"]["severity"],
            row["attainment"],
            row["attainment_excused"],
            row["goal_attainment"],
            [row[name] for name in ("met", "breached", "excused", "cancelled", "running", "no_target", "not_started")],
            row["tickets"],
        )
        for row in report["rows"]
    ]
    assert figures == [
        ("p1", 0.5, 0.5, 0.5, [1, 1, 0, 0, 0, 0, 0], {"met": [1], "breached": [2]}),
        ("p2", 0.5, 1.0, 0.0, [1, 0, 1, 1, 1, 0, 0], {"met": [3], "excused": [5], "cancelled": [4], "running": [7]}),
        ("p3", None, None, None, [0, 0, 0, 0, 0, 1, 0], {"no_target": [6]}),
    ]
    assert report["excused"] == [
        {"ticket_id": 5, "metric": "first_response", "at": "2026-11-11T09:00:00Z", "reason": OUTSIDE_INCIDENT}
    ]
    assert report["exclusions"][-1] == (
        "first_response: left out and counted beside: 1 cancelled (resolved or closed in time without a reply), 1 "
        "still running and not yet due at the period's end, 1 without a due target (none, or only an informational "
        "goal), 0 not started."
    )


def test_attainment_without_ticket_lists_and_one_counts_tickets_on_their_own(desk):
    agent = desk.headers["agent"]
    answer = desk.client.get("/api/v1/reports/attainment?by=severity&tickets_per_cell=0", headers=agent)
    assert answer.status_code == 200, answer.text
    assert [(row["group"]["severity"], row["met"], row["tickets"]) for row in answer.json()["rows"]] == [
        ("p1", 1, {"met": [], "breached": []}),
        ("p2", 1, {"met": [], "excused": [], "cancelled": [], "running": []}),
        ("p3", 0, {"no_target": []}),
    ]

    def behind(query: str) -> tuple[list[int], bool]:
        answer = desk.client.get(f"/api/v1/reports/attainment/tickets?metric=first_response&{query}", headers=agent)
        assert answer.status_code == 200, answer.text
        return answer.json()["tickets"], answer.json()["more"]

    assert behind("outcome=breached&severity=p1") == ([2], False)
    assert behind("outcome=excused&severity=p2") == ([5], False)
    assert behind("outcome=breached&severity=p2") == ([], False)
    assert behind("outcome=met") == ([1, 3], False)  # the whole desk: no group given
    assert behind("outcome=met&limit=1") == ([1], True)
    acme = desk.ids["Acme"]
    assert behind(f"outcome=met&organisation={acme}") == ([1], False)
    assert behind("outcome=met&assignee=") == ([1, 3], False)  # nobody was assigned
    # ticket 7, opened Nov 30 20:00 and never answered, breached its 24 h at Dec 1 20:00
    december_1 = "from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z"
    assert behind(f"outcome=breached&{december_1}") == ([7], False)
    assert behind(f"outcome=running&{december_1}") == ([], False)
    bad = desk.client.get("/api/v1/reports/attainment/tickets?metric=first_response&outcome=late", headers=agent)
    assert bad.status_code == 422
    assert bad.json()["field"] == "outcome"
    customer = desk.client.get(
        "/api/v1/reports/attainment/tickets?metric=first_response&outcome=met", headers=desk.headers["customer"]
    )
    assert customer.status_code == 403


def test_attainment_by_organisation_names_the_organisations(desk):
    answer = desk.client.get(
        "/api/v1/reports/attainment?by=organisation&from=2026-11-01T00:00:00Z&to=2026-11-08T00:00:00Z",
        headers=desk.headers["admin"],
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    acme, globex = str(desk.ids["Acme"]), str(desk.ids["Globex"])
    assert report["names"] == {"organisation": {acme: "Acme", globex: "Globex"}}
    assert [(row["group"], row["met"], row["breached"], row["cancelled"]) for row in report["rows"]] == [
        ({"organisation": acme}, 1, 1, 0),
        ({"organisation": globex}, 1, 0, 1),
    ]


def test_attainment_as_csv_by_format_or_by_accept(desk):
    by_format = desk.client.get(
        "/api/v1/reports/attainment?by=severity&format=csv&metric=first_response", headers=desk.headers["agent"]
    )
    by_accept = desk.client.get(
        "/api/v1/reports/attainment?by=severity", headers={**desk.headers["agent"], "Accept": "text/csv"}
    )
    for answer in (by_format, by_accept):
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        assert answer.headers["content-disposition"] == 'attachment; filename="attainment.csv"'
        assert answer.text.split("\r\n") == [
            "metric,severity,attainment_percent,attainment_excused_percent,met,breached,excused,cancelled,running,"
            "no_target,not_started,goal_percent,goal_met,goal_missed,met_tickets,breached_tickets,excused_tickets",
            "first_response,p1,50.0,50.0,1,1,0,0,0,0,0,50.0,1,1,1,2,",
            "first_response,p2,50.0,100.0,1,0,1,1,1,0,0,0.0,0,2,3,,5",
            "first_response,p3,,,0,0,0,0,0,1,0,,0,0,,,",
            "",
        ]


def test_times_per_severity(desk):
    answer = desk.client.get("/api/v1/reports/times?by=severity", headers=desk.headers["agent"])
    assert answer.status_code == 200, answer.text
    assert [
        (row["group"], row["count"], row["p50_seconds"], row["p90_seconds"], row["max_seconds"], row["target_seconds"])
        for row in answer.json()["rows"]
    ] == [
        ({"severity": "p1"}, 2, 3600, 97200, 97200, 86400),
        ({"severity": "p2"}, 2, 10800, 172800, 172800, 86400),
    ]
    csv = desk.client.get("/api/v1/reports/times?by=severity&format=csv", headers=desk.headers["agent"])
    assert csv.text.split("\r\n")[1:] == [
        "first_response,p1,2,3600,97200,97200,86400,1 2",
        "first_response,p2,2,10800,172800,172800,86400,3 5",
        "",
    ]


def test_whatif_with_a_longer_p1_target(desk):
    body = {"candidate": {"version": "sourcegraph", "overrides": [P1_TARGET_30H]}, "by": ["severity"]}
    answer = desk.client.post("/api/v1/reports/whatif", json=body, headers=desk.headers["agent"])
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["candidate"], report["compared"]) == ("sourcegraph@3 with 1 change", 7)
    p1 = report["rows"][0]
    assert p1["group"] == {"severity": "p1"}
    assert p1["actual"] == {"attainment": 0.5, "met": 1, "breached": 1, "excused": 0}
    assert p1["candidate"] == {"attainment": 1.0, "met": 2, "breached": 0, "excused": 0}
    assert p1["more_breaches"] == -1
    assert report["changes"] == [
        {
            "ticket_id": 2,
            "metric": "first_response",
            "before": "breached",
            "after": "met",
            "due_before": "2026-11-04T09:00:00Z",
            "due_after": "2026-11-04T15:00:00Z",
        }
    ]
    csv = desk.client.post("/api/v1/reports/whatif?format=csv&changes=true", json=body, headers=desk.headers["agent"])
    assert csv.text.split("\r\n") == [
        "ticket,metric,before,after,due_before,due_after",
        "2,first_response,breached,met,2026-11-04T09:00:00Z,2026-11-04T15:00:00Z",
        "",
    ]


def test_forecast_as_of_the_desks_now(desk):
    desk.clock.set("2026-12-01T00:00:00Z")
    answer = desk.client.get("/api/v1/reports/forecast", headers=desk.headers["agent"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"now": "2026-12-01T00:00:00Z", "rows": [], "running": 1, "paused": 0}
    csv = desk.client.get("/api/v1/reports/forecast?format=csv", headers=desk.headers["agent"])
    assert csv.text == "ticket,policy,severity,metric,due,remaining_seconds,reasons\r\n"


@pytest.mark.parametrize(
    "request_line",
    [
        ("GET", "/api/v1/reports/attainment"),
        ("GET", "/api/v1/reports/times"),
        ("GET", "/api/v1/reports/forecast"),
        ("POST", "/api/v1/reports/whatif"),
    ],
)
def test_customers_may_not_read_reports(desk, request_line):
    method, path = request_line
    body = {"candidate": {"version": "sourcegraph"}} if method == "POST" else None
    answer = desk.client.request(method, path, json=body, headers=desk.headers["customer"])
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"].startswith("only agents and admins ")


def test_reports_need_a_token(desk):
    assert desk.client.get("/api/v1/reports/attainment").status_code == 401


@pytest.mark.parametrize(
    ("path", "field", "detail"),
    [
        (
            "/api/v1/reports/attainment?by=colour",
            "by",
            "by: no dimension 'colour' (known: severity, tier, organisation, team, assignee, policy_version)",
        ),
        (
            "/api/v1/reports/times?from=2026-11-30T00:00:00Z&to=2026-11-01T00:00:00Z",
            "to",
            "to: the period must end after it starts",
        ),
        ("/api/v1/reports/attainment?from=2026-11-01T00:00:00", "from", "from: Input should have timezone info"),
        ("/api/v1/reports/attainment?format=xml", "format", None),
        (
            "/api/v1/reports/attainment?from=0001-01-01T00:00:00%2B14:00",
            "from",
            "from: give an instant between the years 1970 and 9998",
        ),
    ],
)
def test_bad_queries_are_422_naming_the_field(desk, path, field, detail):
    answer = desk.client.get(path, headers=desk.headers["agent"])
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    if detail is not None:
        assert answer.json()["detail"] == detail


def test_a_bad_override_is_422_naming_it(desk):
    body = {"candidate": {"version": "sourcegraph", "overrides": ["severities.p9.targets.first_response.due=30h"]}}
    answer = desk.client.post("/api/v1/reports/whatif", json=body, headers=desk.headers["agent"])
    assert answer.status_code == 422
    assert answer.json()["field"] == "overrides"
    assert answer.json()["detail"] == (
        "overrides: severities.p9.targets.first_response.due: severities has no item with code or id 'p9' "
        "(known: p1, p2, p3)"
    )


def test_the_reports_are_in_the_openapi_document(desk):
    paths = desk.client.get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/v1/reports/attainment"]) == {"get"}
    assert set(paths["/api/v1/reports/whatif"]) == {"post"}
    attainment = paths["/api/v1/reports/attainment"]["get"]
    assert set(attainment["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {parameter["name"] for parameter in attainment["parameters"]} == {
        "from",
        "to",
        "by",
        "metric",
        "format",
        "tickets_per_cell",
    }
