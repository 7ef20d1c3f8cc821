"""The on-call pages on both databases: an admin reads a schedule's next two weeks shift by shift, adds and
deletes overrides from the page, and agents see who is on call now and acknowledge or resolve a ticket's
on-call incident from the ticket page.

The desk stands at Monday 7 December 2026, 12:00 in New York. The schedule `primary` (New York) has one
daily layer from Monday 09:00 to Wednesday 09:00: Alice's turn, then Bob's; nobody is on call before or
after it. One override has Carol stand in for Alice on Monday from 13:00 to 15:00.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from sladesk.config import Settings
from sladesk.jobs import Worker
from sladesk.services import Role
from sladesk.services import tickets as ticket_services
from sladesk.services.escalation_policies import create_policy
from sladesk.services.oncall import OverrideInput, add_override, create_schedule, get_schedule, who_is_on_call
from sladesk.services.policies import upload_policy
from sladesk.store import reading
from sladesk.store.tables import OncallOverride, OncallSchedule, TicketEvent
from tests.support.desk import Desk
from tests.support.units import committed
from tests.support.variants import variant
from tests.support.web import PASSWORD, WebPerson

NOON = datetime.fromisoformat("2026-12-07T12:00:00-05:00")  # Monday, in New York


@pytest.fixture
def oncall(desk: Desk) -> Desk:
    desk.clock.set(NOON)
    desk.user("morgan", Role.ADMIN, password=PASSWORD)
    for key in ("alice", "bob", "carol", "dave"):
        desk.user(key, Role.AGENT, password=PASSWORD)
    layers = [
        {
            "id": "days",
            "start": "2026-12-07T09:00",
            "end": "2026-12-09T09:00",
            "rotation": "daily",
            "people": [desk.ids["alice"], desk.ids["bob"]],
        }
    ]
    committed(create_schedule)(
        desk.sessions, desk.actors["morgan"], "primary", "Primary", "America/New_York", layers, now=NOON
    )
    standing_in = OverrideInput(
        "replace",
        desk.ids["carol"],
        NOON + timedelta(hours=1),
        NOON + timedelta(hours=3),
        replaces_user_id=desk.ids["alice"],
        reason="Alice at the dentist",
    )
    committed(add_override)(desk.sessions, desk.actors["morgan"], "primary", standing_in, now=NOON)
    return desk


def signed_in(desk: Desk, key: str) -> WebPerson:
    person = WebPerson(desk.app())
    person.sign_in(f"{key}@example.com")
    return person


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def table_rows(page: str, table_id: str) -> list[str]:
    found = re.search(rf'<table id="{table_id}"[^>]*>.*?<tbody>(.*?)</tbody>', page, re.S)
    assert found is not None, f"no table {table_id}"
    return [text_of(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S)]


def on_call_now(desk: Desk) -> list[str]:
    with reading(desk.sessions) as session:
        stored = get_schedule(session, desk.actors["morgan"], "primary")
        ids = who_is_on_call(stored, desk.clock())
    names = {user_id: key for key, user_id in desk.ids.items()}
    return sorted(names[user_id] for user_id in ids)


def override_count(desk: Desk) -> int:
    with reading(desk.sessions) as session:
        return session.scalar(select(func.count()).select_from(OncallOverride)) or 0


def test_the_timeline_shows_each_shift_the_override_and_the_gaps_to_the_minute(oncall: Desk):
    page = signed_in(oncall, "morgan").get("/admin/oncall/primary")
    assert page.status_code == 200
    text = page.text
    assert "From Mon 7 Dec 2026, 00:00 EST to Mon 21 Dec 2026, 00:00 EST" in text_of(text)
    assert table_rows(text, "shifts-layer-days") == [
        "Mon 7 Dec 2026, 09:00 EST Tue 8 Dec 2026, 09:00 EST alice",
        "Tue 8 Dec 2026, 09:00 EST Wed 9 Dec 2026, 09:00 EST bob",
    ]
    assert table_rows(text, "shifts-overrides") == [
        "Mon 7 Dec 2026, 13:00 EST Mon 7 Dec 2026, 15:00 EST carol for alice"
    ]
    assert table_rows(text, "shifts-final") == [
        "Mon 7 Dec 2026, 00:00 EST Mon 7 Dec 2026, 09:00 EST Gap no one on call",
        "Mon 7 Dec 2026, 09:00 EST Mon 7 Dec 2026, 13:00 EST alice",
        "Mon 7 Dec 2026, 13:00 EST Mon 7 Dec 2026, 15:00 EST carol by override",
        "Mon 7 Dec 2026, 15:00 EST Tue 8 Dec 2026, 09:00 EST alice",
        "Tue 8 Dec 2026, 09:00 EST Wed 9 Dec 2026, 09:00 EST bob",
        "Wed 9 Dec 2026, 09:00 EST Mon 21 Dec 2026, 00:00 EST Gap no one on call",
    ]
    # the drawing: 14 days of 100 units after a 130-unit label column; Carol's block from 13:00 to 15:00 Monday
    assert '<svg class="timeline" viewBox="0 0 1530 150" role="img"' in text
    assert '<g class="tl-block tl-override">' in text
    assert '<rect x="184.17" y="115" width="8.33" height="30" rx="3">' in text
    assert table_rows(text, "overrides") == [
        "carol stands in for alice Mon 7 Dec 2026, 13:00 EST Mon 7 Dec 2026, 15:00 EST Alice at the dentist "
        "Delete override 1"
    ]


def test_the_list_says_who_is_on_call_the_next_change_and_flags_the_gaps(oncall: Desk):
    admin = signed_in(oncall, "morgan")
    page = admin.get("/admin/oncall")
    assert page.status_code == 200
    assert '<a href="/admin/oncall" aria-current="page">On call</a>' in page.text
    assert table_rows(page.text, "schedules") == [
        "Primary primary America/New_York alice carol from Mon 7 Dec 2026, 13:00 EST "
        "1 gap first Wed 9 Dec 2026, 09:00 EST to Wed 6 Jan 2027, 12:00 EST"
    ]


def test_adding_an_override_on_the_page_changes_who_is_on_call_now_and_deleting_it_changes_it_back(oncall: Desk):
    admin = signed_in(oncall, "morgan")
    admin.get("/admin/oncall/primary")
    added = admin.submit(
        "/admin/oncall/primary/overrides",
        {
            "kind": "add",
            "user_id": str(oncall.ids["dave"]),
            "replaces_user_id": "",
            "start": "2026-12-07T11:30",
            "end": "2026-12-07T12:30",
            "reason": "",
        },
    )
    assert added.status_code == 303, added.text
    assert on_call_now(oncall) == ["alice", "dave"]
    page = admin.get(added.headers["location"])
    assert "Override added: add from Mon 7 Dec 2026, 11:30 EST to Mon 7 Dec 2026, 12:30 EST." in text_of(page.text)
    assert re.search(r'<dd id="on-call-now">alice, dave</dd>', page.text)

    with reading(oncall.sessions) as session:
        override_id = session.scalars(select(OncallOverride.id).order_by(OncallOverride.id.desc())).first()
    forged = admin.submit(f"/admin/oncall/primary/overrides/{override_id}/delete", {}, csrf="not-the-token")
    assert forged.status_code == 403
    assert override_count(oncall) == 2
    deleted = admin.submit(f"/admin/oncall/primary/overrides/{override_id}/delete", {})
    assert deleted.status_code == 303
    assert on_call_now(oncall) == ["alice"]
    assert override_count(oncall) == 1


def test_an_override_from_a_time_the_spring_change_skips_starts_at_the_change(oncall: Desk):
    admin = signed_in(oncall, "morgan")
    admin.get("/admin/oncall/primary")
    form = {"kind": "add", "user_id": str(oncall.ids["dave"]), "start": "2027-03-14T02:30", "end": "2027-03-14T04:00"}
    assert admin.submit("/admin/oncall/primary/overrides", form).status_code == 303
    with reading(oncall.sessions) as session:
        added = session.scalars(select(OncallOverride).order_by(OncallOverride.id.desc())).first()
        assert added is not None
        # 02:30 does not happen in New York that Sunday: the override starts at 03:00 EDT, when it would
        assert (added.starts_at, added.ends_at) == (
            datetime.fromisoformat("2027-03-14T07:00:00+00:00"),
            datetime.fromisoformat("2027-03-14T08:00:00+00:00"),
        )


def test_escalation_policies_are_listed_step_by_step_in_words(oncall: Desk):
    steps = [
        {"targets": [{"schedule": "primary"}], "escalate_after": "5m"},
        {"targets": [{"user": oncall.ids["carol"]}, {"user": oncall.ids["dave"]}], "escalate_after": "1h 30m"},
        {
            "targets": [{"round_robin": [oncall.ids["alice"], oncall.ids["bob"]]}],
            "escalate_after": "15m",
            "condition": "not_resolved",
        },
    ]
    spec = {"steps": steps, "repeat": 2, "ack_timeout": "30m"}
    committed(create_policy)(oncall.sessions, oncall.actors["morgan"], "sev1", "Severity 1", spec, now=NOON)
    page = signed_in(oncall, "morgan").get("/admin/oncall").text
    found = re.search(r'<ol id="steps-sev1">(.*?)</ol>(.*?)</section>', page, re.S)
    assert found is not None
    assert [text_of(step) for step in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)] == [
        "Pages whoever is on call on Primary, while nobody has acknowledged; step 2 comes 5 min later.",
        "Pages carol and dave, while nobody has acknowledged; step 3 comes 1 h 30 min later.",
        "Pages one of alice, bob in turn, while the incident is not resolved, even once acknowledged; "
        "step 1 comes again 15 min later.",
    ]
    assert text_of(found.group(2)) == (
        "The steps run 2 more times after the first time through. "
        "An acknowledgement left 30 min without a resolve lapses, and the steps start again."
    )


@pytest.mark.parametrize(
    ("fields", "field_name", "message"),
    [
        ({"end": "2026-12-07T11:00"}, "end", "must be after `start`"),
        ({"start": "tomorrow"}, "start", "give a date and time such as 2026-12-07T14:00"),
        ({"kind": "replace"}, "replaces_user_id", "choose who they stand in for"),
        ({"user_id": ""}, "user_id", "choose a person"),
        ({"kind": "swap"}, "kind", "choose add, remove or replace"),
    ],
)
def test_a_bad_override_form_names_its_field_beside_it_and_stores_nothing(
    oncall: Desk, fields: dict[str, str], field_name: str, message: str
):
    admin = signed_in(oncall, "morgan")
    admin.get("/admin/oncall/primary")
    with reading(oncall.sessions) as session:
        version = session.scalars(select(OncallSchedule.version)).one()
    form = {
        "kind": "add",
        "user_id": str(oncall.ids["dave"]),
        "replaces_user_id": "",
        "start": "2026-12-07T11:30",
        "end": "2026-12-07T12:30",
        "reason": "cover",
    } | fields
    refused = admin.submit("/admin/oncall/primary/overrides", form)
    assert refused.status_code == 422
    assert f'<p class="field-error" id="{field_name}-error">{html.escape(message)}</p>' in refused.text
    assert f'aria-invalid="true" aria-describedby="{field_name}-error"' in refused.text or field_name == "kind"
    assert 'value="cover"' in refused.text  # what was typed stays
    assert override_count(oncall) == 1
    with reading(oncall.sessions) as session:
        assert session.scalars(select(OncallSchedule.version)).one() == version


def test_agents_cannot_reach_the_admin_on_call_pages_but_see_who_is_on_call_now(oncall: Desk):
    agent = signed_in(oncall, "alice")
    for path in ("/admin/oncall", "/admin/oncall/primary"):
        assert agent.get(path).status_code == 403
    queue = agent.get("/queue")
    refused = agent.submit(
        "/admin/oncall/primary/overrides",
        {"kind": "add", "user_id": str(oncall.ids["dave"]), "start": "2026-12-07T11:30", "end": "2026-12-07T12:30"},
    )
    assert refused.status_code == 403
    assert override_count(oncall) == 1
    assert '<a href="/console/oncall">On call</a>' in queue.text

    page = agent.get("/console/oncall")
    assert page.status_code == 200
    assert table_rows(page.text, "on-call-now") == [
        "Primary alice Mon 7 Dec 2026, 13:00 EST carol from Mon 7 Dec 2026, 13:00 EST"
    ]
    anonymous = WebPerson(oncall.app()).get("/console/oncall")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/sign-in?next=/console/oncall"


class Sent:
    """Stands in for the channels at the edge: the worker's messages are kept, not sent."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any], str]] = []

    def __call__(self, kind: str, payload: dict[str, Any], key: str, settings: Settings) -> None:
        self.messages.append((kind, payload, key))


@pytest.fixture
def incident(oncall: Desk) -> tuple[Desk, int]:
    """A P1 of Prairie Media (Alli, paging through `night`: the primary schedule's on-call person) whose
    incident the worker started and whose first step paged Alice."""
    desk = oncall
    committed(upload_policy)(
        desk.sessions,
        desk.actors["morgan"],
        variant("alli", "alli_paging", paging={"escalation_policy": "night"}),
        now=NOON,
    )
    desk.user("riley", Role.CUSTOMER, desk.organisation("Prairie Media", "alli_paging"))
    steps = [{"targets": [{"schedule": "primary"}], "escalate_after": "5m"}]
    committed(create_policy)(desk.sessions, desk.actors["morgan"], "night", "Night", {"steps": steps}, now=NOON)
    change = committed(ticket_services.open_ticket)(
        desk.sessions,
        desk.actors["riley"],
        subject="Every dashboard is empty",
        description="No data since 11:40.",
        severity="P1",
        now=NOON,
    )
    Worker(desk.sessions, Settings(mail_domain="desk.example"), clock=desk.clock, send=Sent()).run_once()
    return desk, change.ticket.id


def incident_events(desk: Desk, ticket_id: int) -> list[tuple[str, Any]]:
    with reading(desk.sessions) as session:
        rows = session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.sequence)
        )
        return [(row.data["action"], row.actor_id) for row in rows if row.type == "incident"]


def test_an_agent_acknowledges_then_resolves_the_incident_from_the_ticket_page(incident: tuple[Desk, int]):
    desk, ticket_id = incident
    bob = signed_in(desk, "bob")
    page = bob.get(f"/tickets/{ticket_id}")
    assert page.status_code == 200
    # the ticket page reads in the policy's zone: Alli's is Chicago
    assert incident_state(page.text) == "Triggered"
    assert incident_pages(page.text) == [
        "Mon 7 Dec 2026, 11:00 CST · Paged alice <alice@example.com> by email (escalation step 1, round 1)"
    ]

    desk.clock.set(NOON + timedelta(minutes=2))
    acknowledged = bob.submit(f"/tickets/{ticket_id}/incident/acknowledge", {"version": _version(page.text)})
    assert acknowledged.status_code == 303, acknowledged.text
    page = bob.get(acknowledged.headers["location"])
    assert "On-call incident acknowledged" in page.text
    assert incident_state(page.text) == "Acknowledged by bob at Mon 7 Dec 2026, 11:02 CST"
    assert ">Acknowledge again</button>" in page.text

    desk.clock.set(NOON + timedelta(minutes=3))
    resolved = bob.submit(f"/tickets/{ticket_id}/incident/resolve", {"version": _version(page.text)})
    assert resolved.status_code == 303
    page = bob.get(resolved.headers["location"])
    assert incident_state(page.text) == "Resolved by bob at Mon 7 Dec 2026, 11:03 CST"
    assert "/incident/resolve" not in page.text  # nothing left to press
    assert incident_events(desk, ticket_id) == [
        ("triggered", None),
        ("acknowledged", desk.ids["bob"]),
        ("resolved", desk.ids["bob"]),
    ]

    again = bob.submit(f"/tickets/{ticket_id}/incident/resolve", {"version": _version(page.text)})
    assert again.status_code == 409
    assert "Not saved: the ticket&#39;s on-call incident is resolved already" in again.text
    assert len(incident_events(desk, ticket_id)) == 3


def test_a_ticket_without_an_incident_shows_no_panel_and_refuses_an_acknowledgement(incident: tuple[Desk, int]):
    desk, _ = incident
    quiet = committed(ticket_services.open_ticket)(
        desk.sessions, desk.actors["riley"], subject="Slow report", description="Slow.", severity="P3", now=NOON
    )
    bob = signed_in(desk, "bob")
    page = bob.get(f"/tickets/{quiet.ticket.id}")
    assert 'id="ticket-incident"' not in page.text
    refused = bob.submit(f"/tickets/{quiet.ticket.id}/incident/acknowledge", {"version": _version(page.text)})
    assert refused.status_code == 409
    assert "the ticket has no on-call incident" in refused.text
    assert incident_events(desk, quiet.ticket.id) == []


def incident_state(page: str) -> str:
    found = re.search(r'<p id="incident-state">(.*?)</p>', page, re.S)
    assert found is not None, "no incident panel"
    return text_of(found.group(1))


def incident_pages(page: str) -> list[str]:
    found = re.search(r'<ol class="history" id="incident-pages">(.*?)</ol>', page, re.S)
    assert found is not None, "no pages listed"
    return [text_of(item) for item in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def _version(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found is not None
    return found.group(1)
