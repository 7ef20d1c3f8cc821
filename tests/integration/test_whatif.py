"""What-if reports from the store, on SQLite and PostgreSQL: Acme's Alleo tickets of December 2026 replayed
under candidates, read on 20 December.

Acme's Sev1 tickets open on Monday 7 December at 09:00 New York (Alleo: first response in 4 h of 08:00-17:00,
due 13:00) and are answered after 1 h, 3 h and 5 h of working time; a fourth is answered at 10:00, closed at
11:00, and the customer writes on it again at 12:00 (Alleo takes updates on closed tickets).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import sladesk.services.whatif
from sladesk.errors import PolicyError
from sladesk.policy import builtin_source
from sladesk.reports import Outcome, Period
from sladesk.reports.whatif import NotComparable, OutcomeChange, WhatIfReport
from sladesk.services import Role
from sladesk.services import tickets as ticket_services
from sladesk.services.errors import ForbiddenError, InvalidFieldError
from sladesk.services.policies import upload_policy
from sladesk.services.whatif import Candidate, OverrideError, whatif_by_replay, whatif_report
from sladesk.store import reading
from sladesk.store.tables import PolicyVersion, SlaClock, TicketEvent
from tests.support.desk import Desk
from tests.support.rows import RowCounts
from tests.support.units import committed

DECEMBER = Period(
    datetime.fromisoformat("2026-12-01T00:00:00-05:00"), datetime.fromisoformat("2027-01-01T00:00:00-05:00")
)
READ_AT = datetime.fromisoformat("2026-12-20T00:00:00-05:00")
SEV1_2H = "severities.Sev1.targets.first_response.due=2h"
open_ticket = committed(ticket_services.open_ticket)
reply = committed(ticket_services.reply)
change_status = committed(ticket_services.change_status)


def at(time: str) -> datetime:
    return datetime.fromisoformat(f"2026-12-07T{time}-05:00")


@pytest.fixture
def desk(desk: Desk) -> Desk:
    desk.user("morgan", Role.ADMIN)
    desk.user("ann", Role.AGENT)
    desk.user("casey", Role.CUSTOMER, desk.organisation("Acme", "alleo"))
    for answered in ("10:00", "12:00", "14:00"):
        ticket = sev1(desk, f"Sign-in fails (answered {answered})")
        reply(desk.sessions, desk.actors["ann"], ticket, "Looking into it.", now=at(f"{answered}:00"))
    closed = sev1(desk, "Nobody can sign in")
    reply(desk.sessions, desk.actors["ann"], closed, "Fixed.", now=at("10:00:00"))
    change_status(desk.sessions, desk.actors["ann"], closed, "closed", now=at("11:00:00"))
    reply(desk.sessions, desk.actors["casey"], closed, "Thanks, all good now.", now=at("12:00:00"))
    return desk


def sev1(desk: Desk, subject: str) -> int:
    change = open_ticket(
        desk.sessions,
        desk.actors["casey"],
        subject=subject,
        description="Every sign-in fails.",
        severity="Sev1",
        now=at("09:00:00"),
    )
    return change.ticket.id


def report(desk: Desk, candidate: Candidate, who: str = "ann", **options: Any) -> WhatIfReport:
    with reading(desk.sessions) as session:
        result = whatif_report(session, desk.actors[who], DECEMBER, candidate, now=READ_AT, **options)
        assert not (session.new or session.dirty or session.deleted)
    return result


def stored_history(session: Session) -> list[tuple[Any, ...]]:
    events = session.execute(select(TicketEvent.ticket_id, TicketEvent.sequence, TicketEvent.type, TicketEvent.at))
    clocks = session.execute(select(SlaClock.ticket_id, SlaClock.metric, SlaClock.due_at, SlaClock.stopped_at))
    return sorted(tuple(row) for row in events) + sorted(tuple(row) for row in clocks)


def test_a_2h_sev1_target_turns_exactly_the_ticket_answered_after_3h_from_met_to_breached(desk: Desk):
    result = report(desk, Candidate(version="alleo", overrides=(SEV1_2H,)), by=("severity",))

    assert result.candidate == "alleo@2 with 1 change"
    (row,) = result.rows
    assert (row.metric, row.group) == ("first_response", (("severity", "Sev1"),))
    assert (row.actual.met, row.actual.breached) == (3, 1)
    assert (row.candidate.met, row.candidate.breached) == (2, 2)
    assert row.candidate.tickets == {Outcome.MET: (1, 4), Outcome.BREACHED: (2, 3)}
    assert row.more_breaches == 1
    assert result.changes == (
        OutcomeChange(2, "first_response", Outcome.MET, Outcome.BREACHED, at("13:00:00"), at("11:00:00")),
    )
    assert (result.compared, result.not_comparable) == (4, ())


def test_a_closed_ticket_written_on_again_is_not_comparable_under_a_candidate_that_refuses_updates(desk: Desk):
    result = report(desk, Candidate(version="alleo@2", overrides=("closed.updates=refused",)))

    assert result.not_comparable == (
        NotComparable(
            4,
            "event 3: the ticket is closed and takes no update: open a new ticket for any update, "
            "as a follow-up of this one",
        ),
    )
    (row,) = result.rows
    assert (row.actual.met, row.actual.breached, row.candidate.met, row.candidate.breached) == (2, 1, 2, 1)
    assert result.changes == ()
    assert "1 ticket whose history the candidate refuses is listed as not comparable" in result.exclusions[-1]


def test_a_draft_and_a_stored_version_give_the_same_comparison_as_the_override(desk: Desk):
    text = (
        builtin_source("alleo").replace("version: 2", "version: 3").replace("first_response: 4h", "first_response: 2h")
    )
    drafted = report(desk, Candidate(draft=text))
    committed(upload_policy)(desk.sessions, desk.actors["morgan"], text, now=desk.clock())
    stored = report(desk, Candidate(version="alleo@3"))

    assert drafted.candidate == "draft policy alleo@3"
    assert stored.candidate == "alleo@3"
    expected = (OutcomeChange(2, "first_response", Outcome.MET, Outcome.BREACHED, at("13:00:00"), at("11:00:00")),)
    assert drafted.changes == stored.changes == expected


def test_progress_is_told_before_the_first_ticket_and_after_each_chunk(desk: Desk, monkeypatch: pytest.MonkeyPatch):
    candidate = Candidate(version="alleo", overrides=(SEV1_2H,))
    told: list[tuple[int, int]] = []
    report(desk, candidate, progress=lambda done, total: told.append((done, total)))
    assert told == [(0, 4), (4, 4)]  # the four tickets replayed together

    monkeypatch.setattr(sladesk.services.whatif, "BULK_CHUNK", 1)
    told.clear()
    report(desk, candidate, progress=lambda done, total: told.append((done, total)))
    assert told == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    told.clear()
    with reading(desk.sessions) as session:
        whatif_by_replay(
            session, desk.actors["ann"], DECEMBER, candidate, now=READ_AT, progress=lambda *now: told.append(now)
        )
    assert told == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]  # one at a time: after each ticket


def test_a_what_if_stores_nothing(desk: Desk, engine: Engine):
    counts = RowCounts(engine)
    before = counts()
    with reading(desk.sessions) as session:
        history = stored_history(session)
    text = builtin_source("alleo").replace("version: 2", "version: 5")
    report(desk, Candidate(version="alleo", overrides=(SEV1_2H, "closed.updates=refused")))
    report(desk, Candidate(draft=text))

    assert counts() == before
    with reading(desk.sessions) as session:
        assert stored_history(session) == history
        assert session.scalars(select(PolicyVersion.version).where(PolicyVersion.policy_id == "alleo")).all() == [2]


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        (
            Candidate(version="alleo", overrides=("severities.Sev1.targets.first_reponse.due=2h",)),
            "overrides: severities.Sev1.targets.first_reponse.due: ",
        ),
        (
            Candidate(version="alleo", overrides=("severities.Sev1.targets.first_response.due=soon",)),
            "overrides: severities.Sev1.targets.first_response.due: ",
        ),
        (
            Candidate(version="alleo", overrides=("severitie.Sev1.targets.first_response.due=2h",)),
            "overrides: severitie.Sev1.targets.first_response.due: 'severitie' is not a field of a policy",
        ),
        (Candidate(version="alleo@9"), "candidate: no version 9 of policy 'alleo' is stored"),
        (Candidate(version="alleo@two"), "candidate: 'alleo@two': write a version as alleo@2"),
        (Candidate(version="nope"), "candidate: unknown policy 'nope'"),
        (Candidate(), "candidate: give a policy version"),
    ],
)
def test_a_bad_candidate_is_refused_naming_the_field(desk: Desk, engine: Engine, candidate: Candidate, message: str):
    counts = RowCounts(engine)
    before = counts()
    with pytest.raises(InvalidFieldError) as raised:
        report(desk, candidate)
    assert str(raised.value).startswith(message)
    assert counts() == before


def test_a_bad_override_path_is_an_override_error_naming_it(desk: Desk):
    with pytest.raises(OverrideError) as raised:
        report(desk, Candidate(version="alleo", overrides=("severities.Sev9.targets.first_response.due=2h",)))
    assert raised.value.path == "severities.Sev9.targets.first_response.due"
    assert str(raised.value) == (
        "overrides: severities.Sev9.targets.first_response.due: severities has no item with code or id 'Sev9' "
        "(known: Sev1, Sev2, Sev3, Sev4)"
    )


def test_a_broken_draft_is_refused_with_its_lines(desk: Desk):
    with pytest.raises(PolicyError) as raised:
        report(desk, Candidate(draft=builtin_source("alleo").replace("first_response: 4h", "first_response: soon")))
    assert [(p.file, p.line, p.field) for p in raised.value.problems] == [
        ("draft policy", 91, "severities[0].targets.first_response.due")
    ]


def test_customers_may_not_run_a_what_if(desk: Desk):
    with pytest.raises(ForbiddenError, match="only agents and admins run what-if reports"):
        report(desk, Candidate(version="alleo", overrides=(SEV1_2H,)), who="casey")


def test_bad_period_and_dimension_are_refused_naming_them(desk: Desk):
    with reading(desk.sessions) as session:
        with pytest.raises(InvalidFieldError, match=r"^period\.end: the period must end after it starts"):
            whatif_report(
                session,
                desk.actors["ann"],
                Period(DECEMBER.end, DECEMBER.start),
                Candidate(version="alleo"),
                now=READ_AT,
            )
        with pytest.raises(InvalidFieldError, match=r"^by: unknown dimension 'colour'"):
            whatif_report(
                session, desk.actors["ann"], DECEMBER, Candidate(version="alleo"), by=("colour",), now=READ_AT
            )


def test_rows_group_both_sides_by_the_tickets_own_organisation_and_policy_version_with_names(desk: Desk):
    result = report(desk, Candidate(version="alleo", overrides=(SEV1_2H,)), by=("organisation", "policy_version"))

    acme = str(desk.ids["Acme"])
    (row,) = result.rows
    assert row.group == (("organisation", acme), ("policy_version", "alleo v2"))
    assert (row.actual.attainment, row.candidate.attainment) == (0.75, 0.5)
    assert result.names == {("organisation", acme): "Acme"}


def test_a_period_with_none_of_the_tickets_clocks_compares_nothing(desk: Desk):
    told: list[tuple[int, int]] = []
    november = Period(datetime.fromisoformat("2026-11-01T00:00:00-05:00"), DECEMBER.start)
    with reading(desk.sessions) as session:
        result = whatif_report(
            session,
            desk.actors["ann"],
            november,
            Candidate(version="alleo", overrides=(SEV1_2H,)),
            now=READ_AT,
            progress=lambda done, total: told.append((done, total)),
        )
    assert (result.rows, result.changes, result.compared, told) == ((), (), 0, [(0, 0)])
