"""An on-call desk for the tests: agents on a weekly New York rota, and helpers that call the API.

The schedule `primary` hands over every Monday at 09:00 in New York among Alice, Bob and Carol, from
Monday 2 March 2026 to Monday 30 March 2026 09:00. Daylight saving time starts on Sunday 8 March, so
Alice's first week is 167 hours long: it runs from 14:00Z on 2 March (09:00 EST) to 13:00Z on 9 March
(09:00 EDT), and every later hand-off is at 13:00Z. The desk's clock stands at `NOW`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from sladesk.services import Role
from tests.support.clock import FixedClock
from tests.support.desk import Desk

NOW = "2026-03-05T12:00:00Z"  # a Thursday of Alice's week

LAYERS: list[dict[str, Any]] = [
    {"id": "weekly", "start": "2026-03-02T09:00", "rotation": "weekly", "people": [], "end": "2026-03-30T09:00"}
]


def oncall_desk(sessions: sessionmaker[Session], tmp_path: Path) -> Desk:
    """Alice, Bob and Carol (agents), Dave (an agent off the rota), the admin Morgan and a customer."""
    desk = Desk(sessions, FixedClock(NOW), tmp_path / "attachments")
    acme = desk.organisation("Acme", "alleo")
    for key in ("alice", "bob", "carol", "dave"):
        desk.user(key, Role.AGENT)
    desk.user("morgan", Role.ADMIN)
    desk.user("customer", Role.CUSTOMER, acme)
    return desk


def primary_body(desk: Desk) -> dict[str, Any]:
    layers = [dict(LAYERS[0], people=[desk.ids["alice"], desk.ids["bob"], desk.ids["carol"]])]
    return {"slug": "primary", "name": "Primary", "timezone": "America/New_York", "layers": layers}


def create_primary(desk: Desk, body: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = desk.client.post(
        "/api/v1/oncall/schedules", headers=desk.headers["morgan"], json=body or primary_body(desk)
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"] == "/api/v1/oncall/schedules/primary"
    created: dict[str, Any] = answer.json()
    return created


def get_schedule(desk: Desk, path: str, role: str = "alice") -> Any:
    answer = desk.client.get(f"/api/v1/oncall/schedules/primary{path}", headers=desk.headers[role])
    assert answer.status_code == 200, answer.text
    return answer.json()


def on_call(desk: Desk, at: str) -> list[str]:
    return [person["name"] for person in get_schedule(desk, f"/now?at={at.replace('+', '%2B')}")["on_call"]]


def add_override(desk: Desk, body: dict[str, Any], role: str = "alice") -> dict[str, Any]:
    answer = desk.client.post("/api/v1/oncall/schedules/primary/overrides", headers=desk.headers[role], json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created
