"""On the demo desk, a support manager reads last month's attainment per severity on the dashboard, follows a
breach to its tickets, and asks what Alleo's Sev1 at 2 hours would have cost; every figure agrees with a full
replay.

Worked out by hand from the demo's "last month" tickets of Harbor Health (Alleo: first response 4 working
hours for Sev1, 1 business day (9 h) for Sev2, 08:00-17:00 New York), seeded on Sunday 29 November 2026, so
last month is October 2026. Sev1: answered after 1 h and 3 h (met), after 5 h (breached), after 6 h during an
outside incident (excused), and one downgraded to Sev3 at 14:00 after its 13:00 due (a breach as Sev1): 2 met,
2 breached, 1 excused, attainment 2/5 = 40%, 60% with the excused breach as met. Sev2: 2 h (met) and 12 working
hours (breached): 50%. Sev3: met once, and once closed with no reply (cancelled). Sev4: met. With Sev1 at 2 h
the 3 h ticket (the second opened, on 2 October) breaches too: 1 of 5, 20%.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sladesk.reports import Period
from sladesk.services import Role
from sladesk.services.actors import Actor
from sladesk.services.reports import attainment_by_replay
from sladesk.store import reading
from tests.support.desk import Desk
from tests.support.units import seed_demo
from tests.support.web import WebPerson

NOW = datetime.fromisoformat("2026-11-29T23:00:00+00:00")
OCTOBER = Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))


def _row(rows: list[dict[str, Any]], severity: str) -> dict[str, Any]:
    [row] = [r for r in rows if r["metric"] == "first_response" and r["group"] == {"severity": severity}]
    return row


def test_last_months_attainment_its_breaches_and_a_what_if_on_the_demo_desk(desk: Desk):
    desk.clock.set(NOW)
    logins = {login.email: login for login in seed_demo(desk.sessions, NOW).logins}
    morgan = {"Authorization": f"Bearer {logins['morgan@sladesk.example'].token}"}

    answer = desk.client.get("/api/v1/reports/attainment?by=severity", headers=morgan)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["period"]["start"], report["period"]["end"]) == ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
    figures = {
        severity: (row["met"], row["breached"], row["excused"], row["cancelled"], row["attainment"])
        for severity in ("Sev1", "Sev2", "Sev3", "Sev4")
        for row in [_row(report["rows"], severity)]
    }
    assert figures == {
        "Sev1": (2, 2, 1, 0, 0.4),
        "Sev2": (1, 1, 0, 0, 0.5),
        "Sev3": (1, 0, 0, 1, 1.0),
        "Sev4": (1, 0, 0, 0, 1.0),
    }
    assert _row(report["rows"], "Sev1")["attainment_excused"] == 0.6
    assert report["excused"][0]["reason"].startswith("The identity provider's regional outage")
    assert any("earlier severity" in line for line in report["exclusions"])

    with reading(desk.sessions) as session:  # the stored instants agree with a replay of every ticket
        replayed = attainment_by_replay(session, Actor(0, Role.ADMIN, None), OCTOBER, by=("severity",), now=NOW)
    assert {
        row.group[0][1]: (row.met, row.breached, row.excused, row.cancelled)
        for row in replayed.rows
        if row.metric == "first_response" and row.group[0][1] in figures
    } == {severity: values[:4] for severity, values in figures.items()}

    manager = WebPerson(desk.app())
    manager.sign_in("morgan@sladesk.example", "demo-morgan")
    dashboard = manager.get("/reports")
    assert dashboard.status_code == 200
    assert "40.0%" in dashboard.text and "A breach reached under an earlier severity" in dashboard.text
    breached = sorted(_row(report["rows"], "Sev1")["tickets"]["breached"])
    listing = manager.get(f"/reports/tickets?ids={','.join(map(str, breached))}")
    assert listing.status_code == 200
    assert "Check-in kiosks are frozen" in listing.text and "Prescriptions print blank" in listing.text

    whatif = desk.client.post(
        "/api/v1/reports/whatif",
        json={"candidate": {"version": "alleo", "overrides": ["severities.Sev1.targets.first_response.due=2h"]}},
        headers=morgan,
    )
    assert whatif.status_code == 200, whatif.text
    changed = whatif.json()["changes"]
    assert [(c["metric"], c["before"], c["after"], c["due_after"]) for c in changed] == [
        ("first_response", "met", "breached", "2026-10-02T11:00:00-04:00")  # opened 09:00, 2 h later
    ]
