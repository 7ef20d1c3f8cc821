"""The breach forecast, open tickets by age, breaches over time and the time split on a desk, on both databases.

The desk (but for the last test): Acme on Sourcegraph (first response due 24 h of calendar time in UTC for p1 and p2, no pause; p3
has no targets) and Globex on Alleo (Mon-Fri 08:00-17:00 New York; Thanksgiving, 26 November 2026, and the
Friday after it off). Ann and Bo are agents; the on-call schedule `sourcegraph-support` (America/Chicago)
has them on weekdays 09:00-17:00 only. Support opens every ticket itself (so none waits in triage).

In the week before, four Acme p2 tickets were answered after 20 h, 26 h, 30 h and 2 h and closed. Now is
Monday 30 November 2026 03:00 UTC (Sunday 21:00 in Chicago): nobody is on shift until 15:00 UTC.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from ruamel.yaml import YAML

from sladesk.policy import builtin_source
from sladesk.reports.forecast import ReasonKind
from sladesk.reports.model import Period
from sladesk.reports.time_split import SplitRow
from sladesk.services import Role
from sladesk.services import tickets as ticket_services
from sladesk.services.errors import ForbiddenError, InvalidFieldError
from sladesk.services.escalation_policies import create_policy as create_escalation_policy
from sladesk.services.escalation_policies import update_policy as update_escalation_policy
from sladesk.services.forecast import breaches_over_time, forecast_report, open_by_age, time_split
from sladesk.services.oncall import create_schedule
from sladesk.services.policies import upload_policy
from sladesk.services.worklog import log_time
from sladesk.store import reading
from tests.support.desk import Desk
from tests.support.units import committed
from tests.support.variants import variant

NOW = datetime.fromisoformat("2026-11-30T03:00:00+00:00")
H = 3600
open_ticket = committed(ticket_services.open_ticket)
reply = committed(ticket_services.reply)
change_status = committed(ticket_services.change_status)
log = committed(log_time)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Tickets:
    """The desk's tickets by name, as the docstring tells them."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.ids: dict[str, int] = {}

    def open(self, name: str, organisation: str, requester: str, severity: str, opened: str) -> int:
        when = at(opened)
        self.desk.clock.set(when)
        change = open_ticket(
            self.desk.sessions,
            self.desk.actors["ann"],
            subject=name,
            description="Details.",
            severity=severity,
            organisation_id=self.desk.ids[organisation],
            requester_id=self.desk.ids[requester],
            now=when,
        )
        self.ids[name] = change.ticket.id
        return change.ticket.id

    def answer_and_close(self, name: str, answered: str) -> None:
        when = at(answered)
        reply(self.desk.sessions, self.desk.actors["ann"], self.ids[name], "Here is the fix.", now=when)
        change_status(
            self.desk.sessions, self.desk.actors["ann"], self.ids[name], "closed", now=when + timedelta(minutes=1)
        )

    def log(self, who: str, name: str | None, minutes: int, worked_on: date, logged: str) -> None:
        work = "internal" if name is None else "customer"
        ticket_id = None if name is None else self.ids[name]
        log(self.desk.sessions, self.desk.actors[who], minutes, work, ticket_id, None, worked_on, now=at(logged))


@pytest.fixture
def tickets(desk: Desk) -> Tickets:
    desk.clock.set("2026-11-19T00:00:00+00:00")
    desk.user("morgan", Role.ADMIN)
    for key in ("ann", "bo"):
        desk.user(key, Role.AGENT)
    desk.user("riley", Role.CUSTOMER, desk.organisation("Acme", "sourcegraph", tier="enterprise"))
    desk.user("gus", Role.CUSTOMER, desk.organisation("Globex", "alleo"))
    layers = [
        {
            "id": "days",
            "start": "2026-11-23T09:00",
            "rotation": "daily",
            "people": [desk.ids["ann"], desk.ids["bo"]],
            "restrictions": [{"days": "mon-fri", "hours": "09:00-17:00"}],
        }
    ]
    committed(create_schedule)(
        desk.sessions,
        desk.actors["morgan"],
        "sourcegraph-support",
        "Support",
        "America/Chicago",
        layers,
        now=desk.clock(),
    )
    t = Tickets(desk)
    t.open("internal docs", "Acme", "riley", "p3", "2026-11-20T09:00:00+00:00")
    t.open("answered after 20 h", "Acme", "riley", "p2", "2026-11-20T00:00:00+00:00")
    t.answer_and_close("answered after 20 h", "2026-11-20T20:00:00+00:00")
    t.open("answered after 26 h", "Acme", "riley", "p2", "2026-11-21T00:00:00+00:00")
    t.answer_and_close("answered after 26 h", "2026-11-22T02:00:00+00:00")  # breached at 22 Nov 00:00
    t.open("answered after 30 h", "Acme", "riley", "p2", "2026-11-23T00:00:00+00:00")
    t.log("ann", "answered after 30 h", 90, date(2026, 11, 24), "2026-11-24T05:00:00+00:00")
    t.answer_and_close("answered after 30 h", "2026-11-24T06:00:00+00:00")  # breached at 24 Nov 00:00
    t.open("answered after 2 h", "Acme", "riley", "p2", "2026-11-24T00:00:00+00:00")
    t.answer_and_close("answered after 2 h", "2026-11-24T02:00:00+00:00")
    t.log("ann", "internal docs", 30, date(2026, 11, 25), "2026-11-25T18:00:00+00:00")
    t.open("Globex export", "Globex", "gus", "Sev2", "2026-11-25T16:00:00-05:00")  # 1 h before the holidays
    t.log("ann", "Globex export", 45, date(2026, 11, 26), "2026-11-26T18:00:00+00:00")  # Alleo splits no time
    t.log("bo", None, 60, date(2026, 11, 26), "2026-11-26T18:00:00+00:00")
    t.log("bo", None, 500, date(2026, 11, 30), "2026-11-30T02:00:00+00:00")  # after the period of the split
    t.open("unanswered since Saturday", "Acme", "riley", "p2", "2026-11-28T00:00:00+00:00")  # breached at 29 Nov
    t.open("slow p2", "Acme", "riley", "p2", "2026-11-29T14:00:00+00:00")
    t.open("waiting p1", "Acme", "riley", "p1", "2026-11-30T00:00:00+00:00")
    change_status(
        desk.sessions, desk.actors["ann"], t.ids["waiting p1"], "awaiting_customer", now=at("2026-11-30T00:30:00+00:00")
    )
    t.open("fresh p2", "Acme", "riley", "p2", "2026-11-30T02:00:00+00:00")
    desk.clock.set(NOW)
    return t


def test_the_forecast_names_the_clocks_that_will_breach_and_why(tickets: Tickets):
    desk = tickets.desk
    with reading(desk.sessions) as session:
        result = forecast_report(session, desk.actors["ann"], now=NOW)
    # slow p2: 13 h counted, 11 h left; the p2 clocks that ran past 13 h (20, 26, 30 h) needed 7, 13 and 17 h
    # more: a median of 13 h. Nobody is on shift before 15:00, after its due at 14:00.
    # waiting p1: awaiting the customer, its first response runs on (21 h left, due 1 December 00:00).
    # fresh p2 (1 h counted, 23 h left, a median of 22 h still needed, someone on shift at 15:00) and
    # Globex's Sev2 (1 working hour counted) are running but not forecast.
    assert [(row.ticket_id, row.metric, row.due, row.remaining_seconds) for row in result.rows] == [
        (tickets.ids["slow p2"], "first_response", at("2026-11-30T14:00:00+00:00"), 11 * H),
        (tickets.ids["waiting p1"], "first_response", at("2026-12-01T00:00:00+00:00"), 21 * H),
    ]
    slow, waiting = result.rows
    assert [reason.kind for reason in slow.reasons] == [ReasonKind.PACE, ReasonKind.NOBODY_ON_SHIFT]
    assert slow.reason == (
        "At the recent pace: the 3 p2 first response clocks that stopped since 2026-10-31 03:00 UTC after"
        " counting more than this one's 13h needed a median of 13h more; 11h remain."
        " Nobody is on shift in the on-call schedule sourcegraph-support before the due at 2026-11-30 14:00 UTC:"
        " the next shift starts at 2026-11-30 15:00 UTC."
    )
    assert waiting.reason == (
        "The ticket is waiting (awaiting_customer), but its first response clock does not pause there:"
        " it runs out at 2026-12-01 00:00 UTC unless support acts first."
    )
    assert (result.running, result.paused) == (4, 0)


def test_open_tickets_by_working_time_age(tickets: Tickets):
    desk, ids = tickets.desk, tickets.ids
    with reading(desk.sessions) as session:
        rows = open_by_age(session, desk.actors["bo"], now=NOW)
    # Globex's Sev2 opened four days ago but counted 1 working hour (Thanksgiving, the Friday, the weekend)
    assert [(row.policy_id, row.severity, row.tickets) for row in rows] == [
        ("alleo", "Sev2", ((), (ids["Globex export"],), (), (), (), ())),
        ("sourcegraph", "p1", ((), (ids["waiting p1"],), (), (), (), ())),  # 3 h
        # fresh 1 h, slow 13 h, unanswered since Saturday 51 h
        ("sourcegraph", "p2", ((), (ids["fresh p2"],), (ids["slow p2"],), (ids["unanswered since Saturday"],), (), ())),
        ("sourcegraph", "p3", ((), (), (), (), (), (ids["internal docs"],))),  # 9 days 18 h
    ]


def test_breaches_per_day_and_per_week(tickets: Tickets):
    desk, ids = tickets.desk, tickets.ids
    period = Period(at("2026-11-20T00:00:00+00:00"), at("2026-11-30T00:00:00+00:00"))
    with reading(desk.sessions) as session:
        days = breaches_over_time(session, desk.actors["ann"], period, now=NOW)
        weeks = breaches_over_time(session, desk.actors["ann"], period, bucket="week", now=NOW)
    assert [(b.start.date().isoformat(), b.ticket_ids) for b in days.buckets] == [
        ("2026-11-20", ()),
        ("2026-11-21", ()),
        ("2026-11-22", (ids["answered after 26 h"],)),
        ("2026-11-23", ()),
        ("2026-11-24", (ids["answered after 30 h"],)),
        ("2026-11-25", ()),
        ("2026-11-26", ()),
        ("2026-11-27", ()),
        ("2026-11-28", ()),
        ("2026-11-29", (ids["unanswered since Saturday"],)),
    ]
    assert [b.breaches[0].at for b in days.buckets if b.breaches] == [
        at("2026-11-22T00:00:00+00:00"),
        at("2026-11-24T00:00:00+00:00"),
        at("2026-11-29T00:00:00+00:00"),
    ]
    assert [(b.start, b.end, b.count) for b in weeks.buckets] == [
        (at("2026-11-20T00:00:00+00:00"), at("2026-11-23T00:00:00+00:00"), 1),
        (at("2026-11-23T00:00:00+00:00"), at("2026-11-30T00:00:00+00:00"), 2),
    ]
    # the slow p2 is due at 14:00 today: not a breach yet, whatever the period
    later = Period(at("2026-11-30T00:00:00+00:00"), at("2026-12-02T00:00:00+00:00"))
    with reading(desk.sessions) as session:
        assert breaches_over_time(session, desk.actors["ann"], later, now=NOW).total == 0


def test_the_time_split_per_organisation(tickets: Tickets):
    desk = tickets.desk
    period = Period(at("2026-11-23T00:00:00+00:00"), at("2026-11-30T00:00:00+00:00"))
    with reading(desk.sessions) as session:
        split = time_split(session, desk.actors["ann"], period, now=NOW)
    # Acme: 90 min on a p2 (customer), 30 on the p3 (internal); Bo's hour of internal work on no ticket;
    # Globex's 45 min are left out (Alleo does not split time), Bo's 500 on 30 November are after the period
    assert split.rows == (SplitRow(desk.ids["Acme"], "Acme", 90, 30), SplitRow(None, None, 0, 60))
    assert split.total == SplitRow(None, None, 90, 90)
    assert split.total.customer_share == 0.5


def test_the_figures_are_for_staff_and_bad_input_names_the_field(tickets: Tickets):
    desk = tickets.desk
    period = Period(at("2026-11-20T00:00:00+00:00"), at("2026-11-30T00:00:00+00:00"))
    customer = desk.actors["riley"]
    with reading(desk.sessions) as session:
        with pytest.raises(ForbiddenError, match=r"^only agents and admins read the breach forecast$"):
            forecast_report(session, customer, now=NOW)
        with pytest.raises(ForbiddenError):
            open_by_age(session, customer, now=NOW)
        with pytest.raises(ForbiddenError):
            breaches_over_time(session, customer, period, now=NOW)
        with pytest.raises(ForbiddenError):
            time_split(session, customer, period, now=NOW)
        with pytest.raises(InvalidFieldError) as bucket:
            breaches_over_time(session, desk.actors["ann"], period, bucket="month", now=NOW)  # type: ignore[arg-type]
        assert (bucket.value.field, str(bucket.value)) == ("bucket", "bucket: 'month' is not one of day, week")
        backwards = Period(period.end, period.start)
        with pytest.raises(InvalidFieldError) as reversed_period:
            time_split(session, desk.actors["ann"], backwards, now=NOW)
        assert str(reversed_period.value) == "period: its end must be after its start"
        with pytest.raises(InvalidFieldError) as naive:
            forecast_report(session, desk.actors["ann"], now=NOW.replace(tzinfo=None))
        assert naive.value.field == "now"


def test_a_paging_severity_is_judged_on_the_schedules_its_escalation_policy_pages(desk: Desk):
    # Sourcegraph as uploaded with p1 paging on call through `night`, which pages the schedule `nights`
    # (weekdays 09:00-17:00 Chicago), and without its overload notice: p2 names no schedule
    desk.clock.set("2026-11-19T00:00:00+00:00")
    desk.user("morgan", Role.ADMIN)
    desk.user("ann", Role.AGENT)
    document = YAML(typ="safe").load(io.StringIO(builtin_source("sourcegraph")))
    severities = document["severities"]
    severities[0]["pages_oncall"] = True
    text = variant(
        "sourcegraph", "sg_paging", severities=severities, paging={"escalation_policy": "night"}, overload_notice=None
    )
    committed(upload_policy)(desk.sessions, desk.actors["morgan"], text, now=desk.clock())
    desk.user("riley", Role.CUSTOMER, desk.organisation("Acme", "sg_paging", tier="enterprise"))
    layers = [
        {
            "id": "days",
            "start": "2026-11-23T09:00",
            "rotation": "daily",
            "people": [desk.ids["ann"]],
            "restrictions": [{"days": "mon-fri", "hours": "09:00-17:00"}],
        }
    ]
    committed(create_schedule)(
        desk.sessions, desk.actors["morgan"], "nights", "Nights", "America/Chicago", layers, now=desk.clock()
    )
    schedule_only = {"steps": [{"targets": [{"schedule": "nights"}], "escalate_after": "5m"}]}
    committed(create_escalation_policy)(
        desk.sessions, desk.actors["morgan"], "night", "Night", schedule_only, now=desk.clock()
    )
    t = Tickets(desk)
    t.open("p1 due before the shift", "Acme", "riley", "p1", "2026-11-29T10:00:00+00:00")  # due 30 Nov 10:00
    t.open("p2 due before the shift", "Acme", "riley", "p2", "2026-11-29T10:00:00+00:00")
    desk.clock.set(NOW)
    with reading(desk.sessions) as session:
        [row] = forecast_report(session, desk.actors["ann"], now=NOW).rows
    assert (row.ticket_id, row.reason) == (
        t.ids["p1 due before the shift"],
        "Nobody is on shift in the on-call schedule nights before the due at 2026-11-30 10:00 UTC:"
        " the next shift starts at 2026-11-30 15:00 UTC.",
    )

    # once the escalation policy also pages a person directly, someone is always paged
    with_a_person = {
        "steps": [
            {"targets": [{"schedule": "nights"}], "escalate_after": "5m"},
            {"targets": [{"user": desk.ids["morgan"]}], "escalate_after": "5m"},
        ]
    }
    committed(update_escalation_policy)(desk.sessions, desk.actors["morgan"], "night", "Night", with_a_person, now=NOW)
    with reading(desk.sessions) as session:
        assert forecast_report(session, desk.actors["ann"], now=NOW).rows == ()


def test_a_breach_stays_in_its_day_when_the_ticket_later_becomes_internal_work(tickets: Tickets):
    desk, ids = tickets.desk, tickets.ids
    committed(ticket_services.change_severity)(
        desk.sessions, desk.actors["ann"], ids["unanswered since Saturday"], "p3", "Our own follow-up", now=NOW
    )
    period = Period(at("2026-11-29T00:00:00+00:00"), at("2026-11-30T00:00:00+00:00"))
    with reading(desk.sessions) as session:
        [day] = breaches_over_time(session, desk.actors["ann"], period, now=NOW).buckets
    assert [(b.ticket_id, b.metric, b.at) for b in day.breaches] == [
        (ids["unanswered since Saturday"], "first_response", at("2026-11-29T00:00:00+00:00"))
    ]
