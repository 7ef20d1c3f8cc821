"""Demo data: one organisation on each built-in policy, its people, and tickets in every kind of SLA state.

Everything is built through the services with instants in the days before `now`, so each clock's state
(running, breached, met, paused, excused) is what the engine computes from the ticket's real history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sladesk.errors import InputError, SladeskError
from sladesk.policy import Policy, load_policy
from sladesk.services import (
    Actor,
    Change,
    Role,
    actor_of,
    assign,
    change_path,
    change_severity,
    change_status,
    confirm_severity,
    create_organisation,
    create_user,
    issue_token,
    open_ticket,
    reply,
    set_outside_incident,
)
from sladesk.services.escalation_policies import create_policy
from sladesk.services.incidents import acknowledge_incident
from sladesk.services.oncall import create_schedule
from sladesk.services.timers import fire_due_timers
from sladesk.store.tables import Organisation, SlaClock, Ticket, User
from sladesk.store.wakeup import IN_WORKER

TOKEN_NAME = "demo"


class DemoDataError(SladeskError):
    """The database holds part of the demo data, or names it uses, so the demo cannot be set up there."""


@dataclass(frozen=True)
class DemoLogin:
    """One person of the demo and how to sign in as them (the token is a fresh one)."""

    role: Role
    name: str
    email: str
    password: str
    token: str
    organisation: str | None
    policy_id: str | None


@dataclass(frozen=True)
class DeskCounts:
    """How many organisations, users and tickets."""

    organisations: int
    users: int
    tickets: int


@dataclass(frozen=True)
class DemoLogins:
    """Every demo login (staff first, then one customer per organisation), what was created, and what the
    database holds."""

    logins: tuple[DemoLogin, ...]
    created: DeskCounts | None  # None when the demo data was there already and only new tokens were issued
    held: DeskCounts  # everything in the database afterwards: the demo's, and whatever was added besides

    def customer(self, policy_id: str) -> DemoLogin:
        """The customer of the organisation served under `policy_id`."""
        for login in self.logins:
            if login.role is Role.CUSTOMER and login.policy_id == policy_id:
                return login
        raise KeyError(policy_id)


@dataclass(frozen=True)
class _Person:
    name: str
    email: str
    password: str
    role: Role


@dataclass(frozen=True)
class _DemoOrganisation:
    name: str
    policy_id: str
    tier: str | None
    customer: _Person
    tickets: Callable[[_Desk], None]


class _Desk:
    """Acts out tickets for one organisation: the customer opens and replies, the agent answers and moves."""

    def __init__(
        self, session: Session, policy: Policy, customer: Actor, agent: Actor, lead: Actor, now: datetime
    ) -> None:
        self.session, self.policy, self.now = session, policy, now
        self.customer, self.agent, self.lead = customer, agent, lead
        self.tickets: list[int] = []
        self._assigned: set[int] = set()

    # instants

    def day(self, back: int) -> date:
        """The local date `back` days before today, moved earlier to a working day where the policy has one."""
        found = self.now.astimezone(self.policy.tz).date() - timedelta(days=back)
        if "business" not in self.policy.spec.calendars:
            return found
        business = self.policy.calendar("business")
        while not business.is_working(self.at(found, "12:00")):
            found -= timedelta(days=1)
        return found

    def last_month(self, number: int) -> date:
        """The `number`th working day (1 first) of the calendar month before `now`'s, in the policy's zone."""
        first = self.now.astimezone(self.policy.tz).date().replace(day=1)
        day = (first - timedelta(days=1)).replace(day=1)
        business = self.policy.calendar("business")
        found = 0
        while day < first:
            if business.is_working(self.at(day, "12:00")):
                found += 1
                if found == number:
                    return day
            day += timedelta(days=1)
        raise DemoDataError(f"last month has fewer than {number} working days")

    def at(self, day: date, clock: str) -> datetime:
        """The wall-clock time `clock` (HH:MM) on `day` in the policy's time zone."""
        return datetime.combine(day, time.fromisoformat(clock), tzinfo=self.policy.tz)

    def ago(self, hours: float) -> datetime:
        return self.now - timedelta(hours=hours)

    def due(self, ticket_id: int, metric: str) -> datetime:
        """The due instant the engine computed for the ticket's clock `metric`."""
        clock = self.session.get_one(SlaClock, (ticket_id, metric))
        if clock.due_at is None:
            raise DemoDataError(f"demo ticket {ticket_id} has no due instant for {metric}")
        return clock.due_at

    def _check(self, at: datetime) -> datetime:
        if at > self.now:
            raise DemoDataError(f"a demo event at {at.isoformat()} would be after now ({self.now.isoformat()})")
        return at

    # changes

    def open(
        self,
        at: datetime,
        severity: str,
        subject: str,
        description: str,
        *,
        category: str | None = None,
        intake: Mapping[str, Any] | None = None,
    ) -> int:
        change = open_ticket(
            self.session,
            self.customer,
            subject=subject,
            description=description,
            severity=severity,
            category=category,
            intake=intake,
            now=self._check(at),
        )
        self.tickets.append(change.ticket.id)
        return change.ticket.id

    def answer(self, ticket_id: int, at: datetime, body: str) -> Change:
        """The agent takes the ticket (the first time), replies in public and, if it was new, opens it."""
        self._check(at)
        if ticket_id not in self._assigned:
            assign(self.session, self.agent, ticket_id, self.agent.user_id, now=at)
            self._assigned.add(ticket_id)
        change = reply(self.session, self.agent, ticket_id, body, now=at)
        if change.ticket.status == self.policy.initial_status and self.policy.can_move(change.ticket.status, "open"):
            change = change_status(self.session, self.agent, ticket_id, "open", now=at)
        return change

    def note(self, ticket_id: int, at: datetime, body: str) -> None:
        reply(self.session, self.agent, ticket_id, body, public=False, now=self._check(at))

    def customer_reply(self, ticket_id: int, at: datetime, body: str) -> None:
        reply(self.session, self.customer, ticket_id, body, now=self._check(at))

    def move(self, ticket_id: int, to: str, at: datetime) -> None:
        change_status(self.session, self.agent, ticket_id, to, now=self._check(at))

    def severity(self, ticket_id: int, to: str, reason: str, at: datetime) -> None:
        change_severity(self.session, self.lead, ticket_id, to, reason, now=self._check(at))

    def triage(self, ticket_id: int, severity: str, reason: str, at: datetime) -> None:
        """Support confirms the ticket's severity, where the policy says support assigns it."""
        confirm_severity(self.session, self.agent, ticket_id, severity, reason, now=self._check(at))

    def path(self, ticket_id: int, to: str, reason: str, at: datetime) -> None:
        """Staff mark the resolution path (Aspenware: the fix needs a new version, or a hotfix)."""
        change_path(self.session, self.agent, ticket_id, to, reason, now=self._check(at))

    def outside_incident(self, ticket_id: int, reason: str, at: datetime) -> None:
        set_outside_incident(self.session, self.lead, ticket_id, reason, now=self._check(at))

    def paged(self, ticket_id: int, at: datetime, acknowledged_at: datetime) -> None:
        """The worker acts on the ticket's due timers at `at` (a paging severity starts its on-call incident and
        pages that moment's on-call agent), and the agent acknowledges the page at `acknowledged_at`."""
        fire_due_timers(self.session, self._check(at), ticket_ids=[ticket_id])
        self.session.info.pop(IN_WORKER, None)
        acknowledge_incident(self.session, self.agent, ticket_id, now=self._check(acknowledged_at))


# The tickets of each organisation. Comments give the state each ticket is meant to show at `now`.


def _alli_tickets(d: _Desk) -> None:
    # Alli sets no time targets: its clocks count working time without a due instant.
    day = d.day(9)
    t = d.open(
        d.at(day, "07:30"),
        "P1",
        "Dashboards show no data for any client",
        "Since 07:00 every dashboard is empty for all of our clients.",
        category="incident",
        intake={"steps_to_reproduce": "Sign in, open any client dashboard: all widgets say 'No data'."},
    )
    d.answer(t, d.at(day, "07:50"), "Confirmed for all accounts; the nightly data load failed. Re-running it now.")
    d.move(t, "resolved", d.at(day, "10:15"))
    d.move(t, "closed", d.at(day + timedelta(days=1), "09:00"))

    day = d.day(4)
    t = d.open(
        d.at(day, "10:00"),
        "P2",
        "Scheduled reports were not delivered this morning",
        "None of the Monday reports reached our clients.",
        category="incident",
    )
    d.paged(t, d.at(day, "10:00") + timedelta(seconds=1), d.at(day, "10:04"))  # P1 and P2 page on-call
    d.answer(t, d.at(day, "10:30"), "We see the mail queue stalled. Can you tell us which report IDs you expected?")
    d.move(t, "awaiting_customer", d.at(day, "10:35"))

    day = d.day(2)
    t = d.open(
        d.at(day, "14:00"),
        "P3",
        "CSV export drops the last row",
        "Exports of the spend table miss the final row.",
        category="bug",
        intake={"steps_to_reproduce": "Export the spend table for last month; compare with the on-screen total."},
    )
    d.answer(t, d.at(day, "15:00"), "Reproduced. Scheduled for the next sprint.")
    d.move(t, "on_hold", d.at(day, "15:05"))

    day = d.day(6)
    t = d.open(
        d.at(day, "09:00"),
        "P3",
        "Budget pacing alerts are late",
        "Pacing alerts arrive hours after the budget is spent, for one client.",
        category="bug",
    )
    d.severity(t, "P2", "Every client with a daily budget is affected, not one.", d.at(day, "09:40"))
    d.paged(t, d.at(day, "09:40") + timedelta(seconds=1), d.at(day, "09:42"))  # raised to P2: it pages
    d.answer(t, d.at(day, "09:45"), "This affects all daily budgets; we have raised it to P2 and are on it.")

    day = d.day(12)
    t = d.open(
        d.at(day, "11:00"),
        "P2",
        "Login loops back to the sign-in page",
        "Several of our planners cannot sign in.",
        category="incident",
    )
    d.paged(t, d.at(day, "11:00") + timedelta(seconds=1), d.at(day, "11:03"))
    d.answer(t, d.at(day, "11:20"), "A session cookie change caused this; rolled back.")
    d.move(t, "resolved", d.at(day, "13:00"))
    d.move(t, "open", d.at(day + timedelta(days=1), "08:30"))
    d.answer(t, d.at(day + timedelta(days=1), "09:00"), "Reopened: one planner still loops; looking into it.")

    d.open(
        d.ago(5),
        "P4",
        "Typo on the billing page",
        "'Recieved' should read 'Received' on the invoice list.",
        category="bug",
    )


def _alleo_tickets(d: _Desk) -> None:
    _alleo_last_month(d)
    day = d.day(10)
    t = d.open(
        d.at(day, "09:15"),
        "Sev1",
        "Patient portal is down for all staff",
        "Nobody at any clinic can sign in to the portal.",
        intake={"steps_to_reproduce": "Open the portal from any clinic and sign in: error 503."},
    )
    d.answer(t, d.at(day, "09:40"), "We are on it: a failed deployment. Rolling back now.")
    d.move(t, "closed", d.at(day, "15:00"))

    day = d.day(11)
    t = d.open(
        d.at(day, "11:00"),
        "Sev2",
        "Appointment search is very slow",
        "Searching appointments takes 30 seconds or more since yesterday.",
    )
    d.answer(t, d.due(t, "first_response") + timedelta(hours=2), "Sorry for the wait. We are looking at the search.")

    day = d.day(3)
    t = d.open(d.at(day, "10:00"), "Sev3", "How do I add a new clinic?", "We open a new clinic next month.")
    d.answer(t, d.at(day, "13:00"), "Happy to help: which of your plans is the new clinic on?")
    d.move(t, "awaiting_customer", d.at(day, "13:05"))

    d.open(
        d.ago(20),
        "Sev4",
        "Please add dark mode",
        "Our night shift would like a darker theme.",
    )

    day = d.day(1)
    d.open(
        d.at(day, "16:00"),
        "Sev3",
        "Reminder texts show the wrong clinic name",
        "Appointment reminders name our old clinic.",
        intake={"steps_to_reproduce": "Book at the Elm Street clinic and look at the reminder text."},
    )

    day = d.day(5)
    t = d.open(
        d.at(day, "09:00"),
        "Sev3",
        "One clinic cannot print schedules",
        "The Harbor Street clinic cannot print today's schedule.",
    )
    d.severity(t, "Sev1", "Printing fails at every clinic, and schedules are only on paper today.", d.at(day, "10:00"))
    d.answer(t, d.at(day, "10:20"), "Raised to Severity 1: a print service certificate expired. Renewing it.")

    day = d.day(6)
    t = d.open(d.at(day, "13:00"), "Sev2", "Export to our billing system fails", "The nightly export stops halfway.")
    d.answer(t, d.at(day, "14:00"), "We need the billing vendor's fix; putting this on hold until their release.")
    d.move(t, "on_hold", d.at(day, "14:05"))


def _alleo_last_month(d: _Desk) -> None:
    """Last month's closed tickets, for the reports: first responses met, breached, excused (an outside
    incident), cancelled (closed with no reply) and breached before a downgrade. Sev1's 4 working hours are
    met at 1 h and 3 h and breached at 5 h, so a 2 h Sev1 target would breach the 3 h one too."""
    for number, (severity, answered, subject) in enumerate(
        [
            ("Sev1", "10:00", "Lab results do not reach the portal"),
            ("Sev1", "12:00", "Video visits drop after a minute"),
            ("Sev1", "14:00", "Check-in kiosks are frozen"),
            ("Sev2", "11:00", "Insurance cards do not upload"),
            ("Sev3", "13:00", "Wrong opening hours on one clinic page"),
            ("Sev4", "16:00", "Add a print button to the visit summary"),
        ],
        start=1,
    ):
        day = d.last_month(number)
        t = d.open(d.at(day, "09:00"), severity, subject, f"{subject} since this morning.")
        d.answer(t, d.at(day, answered), "Thanks for reporting this; we have found the cause and are fixing it.")
        d.move(t, "closed", d.at(day, "16:30"))

    day = d.last_month(7)
    t = d.open(d.at(day, "09:00"), "Sev2", "Referral letters fail to send", "No referral letter has gone out today.")
    next_day = d.last_month(8)
    d.answer(t, d.at(next_day, "12:00"), "Sorry for the wait: the mail relay was down. Fixed now.")
    d.move(t, "closed", d.at(next_day, "15:00"))  # 12 working hours, over the 9 of a business day: a breach

    day = d.last_month(9)
    t = d.open(d.at(day, "09:00"), "Sev1", "Nobody can sign in", "Sign-in fails at every clinic.")
    d.outside_incident(
        t, "The identity provider's regional outage (their incident report of that day)", d.at(day, "10:00")
    )
    d.answer(t, d.at(day, "15:00"), "Sign-in works again now that the identity provider has recovered.")
    d.move(t, "closed", d.at(day, "16:30"))  # breached at 13:00, excused: an outside incident

    day = d.last_month(10)
    t = d.open(d.at(day, "09:00"), "Sev3", "Calendar colours look wrong", "Every appointment shows in grey.")
    d.move(t, "closed", d.at(day, "11:00"))  # the customer found the setting: closed with no reply, cancelled

    day = d.last_month(11)
    t = d.open(d.at(day, "09:00"), "Sev1", "Prescriptions print blank", "Every prescription prints as a blank page.")
    d.severity(t, "Sev3", "Only one printer model is affected, and a workaround exists.", d.at(day, "14:00"))
    d.answer(t, d.at(day, "14:30"), "Use the PDF download while we fix the driver for that printer.")
    d.move(t, "closed", d.at(day + timedelta(days=1), "10:00"))  # breached at 13:00 as Sev1: it stays a breach


def _aspenware_tickets(d: _Desk) -> None:
    night = d.day(6)
    t = d.open(
        d.at(night, "23:10"),
        "L1",
        "Checkout fails for every guest",
        "Guests cannot pay for lift tickets on the web store.",
        category="software_defect",
        intake={"product_launch": "Not related to a launch"},
    )
    # After 22:00 Level 1 counts from 08:00 the next morning, so it is due at 09:00.
    morning = night + timedelta(days=1)
    d.answer(t, d.at(morning, "08:40"), "Payment gateway settings were lost in last night's update; restoring them.")
    d.move(t, "resolved", d.at(morning, "13:00"))

    day = d.day(4)
    t = d.open(
        d.at(day, "19:30"),
        "L1",
        "New season pass cannot be bought",
        "The season pass we launched tonight fails at checkout.",
        category="configuration",
        intake={"product_launch": "Launch not tested or not announced in advance"},
    )
    d.answer(t, d.at(day, "19:50"), "On-call here. This launch was not tested or announced; we will fix it tomorrow.")
    d.severity(
        t,
        "L2",
        "Product launched after hours without testing or notice: handled as Level 2 in business hours.",
        d.at(day, "20:00"),
    )

    day = d.day(3)
    t = d.open(
        d.at(day, "09:00"),
        "L2",
        "Lift ticket prices wrong on the web store",
        "Weekend prices show on weekdays.",
        category="configuration",
        intake={"product_launch": "Not related to a launch"},
    )
    d.answer(t, d.at(day, "10:00"), "Which price list did you publish on Monday? Please send us its name.")
    d.move(t, "awaiting_customer", d.at(day, "10:05"))

    day = d.day(9)
    t = d.open(
        d.at(day, "08:30"),
        "L2",
        "Site unreachable from the resort",
        "Nobody at the ticket windows can reach the store.",
        category="infrastructure",
    )
    d.outside_incident(
        t, "The resort's internet provider had an outage (outside Aspenware's control).", d.at(day, "09:00")
    )
    d.answer(t, d.due(t, "first_response") + timedelta(hours=3), "The provider's outage is over; is the site back?")

    d.open(
        d.ago(2),
        "L3",
        "Gift card balance shows twice in the receipt email",
        "The receipt lists the remaining balance two times.",
        category="software_defect",
    )

    day = d.day(14)
    t = d.open(
        d.at(day, "10:00"),
        "L3",
        "Rental waiver PDF is blank",
        "The waiver attached to rental confirmations has no text.",
        category="software_defect",
    )
    d.answer(t, d.at(day, "11:00"), "Found it: a font missing on the PDF server.")
    d.move(t, "resolved", d.at(day + timedelta(days=1), "15:00"))
    d.move(t, "closed", d.at(day + timedelta(days=3), "09:00"))

    day = d.day(7)
    t = d.open(
        d.at(day, "11:00"),
        "L4",
        "Sort order of lessons by age",
        "Kids' lessons should list the youngest age group first.",
        category="software_defect",
    )
    d.answer(t, d.at(day, "14:00"), "Agreed; the change ships in the next release.")
    d.move(t, "waiting_on_release", d.at(day, "14:05"))

    # A Level 2 defect whose fix needs a new version: due at the second release after it was submitted.
    day = d.day(10)
    t = d.open(
        d.at(day, "10:00"),
        "L2",
        "Day passes oversold",
        "The inventory let us sell 40 more day passes than the mountain holds.",
        category="software_defect",
    )
    d.answer(t, d.at(day, "11:00"), "Reproduced: the stock check skips bundles. No existing version avoids it.")
    d.path(t, "release", "The fix needs a code change, so it ships in a coming release.", d.at(day, "11:30"))
    d.move(t, "waiting_on_release", d.at(day, "11:35"))


def _sourcegraph_tickets(d: _Desk) -> None:
    day = d.day(5)
    # Priority is assigned by support: each ticket waits in triage until an agent confirms one.
    t = d.open(d.at(day, "14:00"), "p1", "Code search returns no results", "Every search returns nothing since 13:30.")
    d.triage(t, "p1", "Search is down for the whole instance.", d.at(day, "14:10"))
    d.answer(t, d.at(day, "14:45"), "The search index was rebuilding; it is back now.")
    d.move(t, "closed", d.at(day + timedelta(days=1), "10:00"))

    day = d.day(3)
    t = d.open(d.at(day, "09:00"), "p2", "Batch changes stuck in processing", "Two batch changes never finish.")
    d.triage(t, "p2", "A workaround exists: rerun the batch change.", d.at(day, "09:30"))
    d.answer(t, d.at(day, "15:00"), "Reproduced; engineering is looking at the worker.")
    d.move(t, "waiting_on_engineering", d.at(day, "15:05"))

    day = d.day(8)
    t = d.open(d.at(day, "10:00"), "p2", "SSO users get a 500 on first login", "New SAML users see an error.")
    d.answer(t, d.at(day + timedelta(days=1), "16:00"), "Sorry for the delay; a fix is in review.")

    day = d.day(3)
    d.open(d.at(day, "06:00"), "p1", "Repository sync stopped", "No repository has synced since 05:40.")

    d.open(d.ago(3), "p2", "Code insights chart is empty", "The insights dashboard shows no data points.")

    day = d.day(2)
    t = d.open(d.at(day, "08:00"), "p2", "Precise navigation missing for Go", "Go to definition falls back to search.")
    d.answer(t, d.at(day, "09:00"), "Which indexer version uploads your Go indexes?")
    d.move(t, "awaiting_customer", d.at(day, "09:05"))


def _choozle_tickets(d: _Desk) -> None:
    intake = {
        "steps_taken": "Opened the campaign and looked at today's spend.",
        "user_email": "ops@brightside.example",
        "advertiser_name": "Brightside Outdoor",
        "campaign_name": "Spring Sale",
    }
    day = d.day(6)
    t = d.open(
        d.at(day, "09:00"),
        "S1",
        "Campaigns stopped spending",
        "All campaigns show zero spend since 08:00.",
        category="technical",  # routed to the Tech Ops team's queue
        intake={**intake, "occurred_at": d.at(day, "08:00").isoformat()},
    )
    d.answer(t, d.at(day, "09:30"), "A billing hold was set by mistake; removed. Spend resumes within the hour.")
    d.move(t, "resolved", d.at(day, "16:00"))

    day = d.day(4)
    t = d.open(
        d.at(day, "10:00"),
        "S2",
        "Ad group rejected by the exchange",
        "The exchange rejects the ad group with no reason.",
        category="technical",
        intake={**intake, "ad_group_name": "Spring Sale - Video"},
    )
    d.answer(t, d.at(day, "11:00"), "We asked the exchange partner why; waiting on them.")
    d.move(t, "waiting_on_partner", d.at(day, "11:05"))

    day = d.day(3)
    t = d.open(d.at(day, "13:00"), "S2", "Conversions double-counted", "Each conversion is reported twice.")
    d.answer(t, d.at(day, "14:30"), "Confirmed; engineering is fixing the pixel deduplication.")
    d.move(t, "waiting_on_engineering", d.at(day, "14:35"))

    d.open(d.ago(1), "S3", "Report column order changed", "The CSV report columns moved around.")

    day = d.day(9)
    t = d.open(d.at(day, "08:15"), "S1", "Budget overspent by 40%", "Daily budgets are being overspent.", intake=intake)
    d.answer(t, d.due(t, "first_response") + timedelta(hours=1), "Pacing is fixed; we are crediting the overspend.")

    day = d.day(7)
    t = d.open(d.at(day, "09:00"), "S2", "Creative preview is blank", "The creative preview shows a white box.")
    d.answer(t, d.at(day, "10:00"), "Could you send a screen recording of the preview?")
    d.move(t, "awaiting_customer", d.at(day, "10:05"))
    d.customer_reply(t, d.at(day + timedelta(days=1), "09:00"), "Recording attached; it happens in Chrome only.")
    d.move(t, "resolved", d.at(day + timedelta(days=1), "15:00"))
    d.move(t, "closed", d.at(day + timedelta(days=2), "10:00"))

    day = d.day(2)
    t = d.open(d.at(day, "11:00"), "S3", "Geo targeting list will not save", "Saving a zip code list does nothing.")
    d.answer(t, d.at(day, "12:00"), "How many zip codes are in the list? There is a limit of 5,000.")
    d.move(t, "awaiting_customer", d.at(day, "12:05"))


STAFF = (
    _Person("Morgan Ellis", "morgan@sladesk.example", "demo-morgan", Role.ADMIN),
    _Person("Avery Quinn", "avery@sladesk.example", "demo-avery", Role.AGENT),
    _Person("Blake Moreno", "blake@sladesk.example", "demo-blake", Role.AGENT),
)

ORGANISATIONS = (
    _DemoOrganisation(
        "Prairie Media",
        "alli",
        None,
        _Person("Riley Chen", "riley@prairiemedia.example", "demo-riley", Role.CUSTOMER),
        _alli_tickets,
    ),
    _DemoOrganisation(
        "Harbor Health",
        "alleo",
        None,
        _Person("Dana Brooks", "dana@harborhealth.example", "demo-dana", Role.CUSTOMER),
        _alleo_tickets,
    ),
    _DemoOrganisation(
        "Summit Peak Resort",
        "aspenware",
        None,
        _Person("Sam Ortega", "sam@summitpeak.example", "demo-sam", Role.CUSTOMER),
        _aspenware_tickets,
    ),
    _DemoOrganisation(
        "Initech",
        "sourcegraph",
        "enterprise",
        _Person("Priya Nair", "priya@initech.example", "demo-priya", Role.CUSTOMER),
        _sourcegraph_tickets,
    ),
    _DemoOrganisation(
        "Brightside Ads",
        "choozle",
        None,
        _Person("Jordan Lee", "jordan@brightside.example", "demo-jordan", Role.CUSTOMER),
        _choozle_tickets,
    ),
)


def seed_demo(session: Session, now: datetime) -> DemoLogins:
    """Set up the demo in the caller's unit of work as of `now`, or find it there; either way, fresh tokens.

    On a database without the demo: five organisations (one per built-in policy), a customer each, two
    agents and an admin, and the tickets of each organisation with events spread over the days before
    `now`. On a database that has it: nothing is created but one new API token per demo user. A database
    holding only part of it (or another user with a demo email) raises `DemoDataError`.
    """
    if now.tzinfo is None:
        raise InputError(f"now {now.isoformat()} has no UTC offset")
    names = [org.name for org in ORGANISATIONS]
    emails = [person.email for person in (*STAFF, *(org.customer for org in ORGANISATIONS))]
    found_orgs = set(session.scalars(select(Organisation.name).where(Organisation.name.in_(names))))
    found_users = set(session.scalars(select(User.email).where(User.email.in_(emails))))
    if len(found_orgs) == len(names) and len(found_users) == len(emails):
        return _logins(session, now, created=None)
    if found_orgs or found_users:
        present = ", ".join(sorted(found_orgs | found_users))
        raise DemoDataError(f"this database holds only part of the demo data ({present}); use an empty one")
    tickets = _create(session, now)
    return _logins(session, now, created=DeskCounts(len(ORGANISATIONS), len(emails), tickets))


def _create(session: Session, now: datetime) -> int:
    """Create the demo's people, organisations and tickets; the number of tickets opened."""
    opened = 0
    start = now - timedelta(days=30)  # people and organisations exist before their first ticket
    staff: dict[str, Actor] = {}
    for person in STAFF:
        user = create_user(
            session, None, email=person.email, name=person.name, role=person.role, password=person.password, now=start
        )
        staff[person.email] = actor_of(session, user.id)
    lead = staff[STAFF[0].email]
    agents = [staff[person.email] for person in STAFF if person.role is Role.AGENT]
    _on_call(session, lead, agents, start)
    for index, org in enumerate(ORGANISATIONS):
        organisation = create_organisation(
            session, None, name=org.name, policy_id=org.policy_id, tier=org.tier, now=start
        )
        person = org.customer
        policy = load_policy(org.policy_id)
        user = create_user(
            session,
            None,
            email=person.email,
            name=person.name,
            role=Role.CUSTOMER,
            organisation_id=organisation.id,
            password=person.password,
            # where the policy lets only named support contacts open tickets (Alleo), the demo's customer is one
            support_contact=policy.spec.opening.requires_support_contact,
            now=start,
        )
        desk = _Desk(session, policy, actor_of(session, user.id), agents[index % len(agents)], lead, now)
        org.tickets(desk)
        opened += len(desk.tickets)
    return opened


def _on_call(session: Session, lead: Actor, agents: list[Actor], start: datetime) -> None:
    """Who gets paged: the agents take a week of primary on-call each, handing over on Mondays at 09:00 Chicago
    time; the escalation policy `default` (which Alli and Aspenware page through) pages that week's agent at
    once, then the lead after 5 minutes without an acknowledgement, and runs once more. Sourcegraph's support
    shifts (its overload notice tells customers when the next one starts) are weekdays 09:00-17:00 UTC."""
    chicago = ZoneInfo("America/Chicago")
    day = start.astimezone(chicago).date()
    monday = day - timedelta(days=day.weekday())
    people = [agent.user_id for agent in agents]
    weekly = {"id": "weekly", "start": f"{monday.isoformat()}T09:00", "rotation": "weekly", "people": people}
    create_schedule(session, lead, "primary", "Primary on-call", "America/Chicago", [weekly], now=start)
    shifts = {
        "id": "weekdays",
        "start": f"{monday.isoformat()}T09:00",
        "rotation": "weekly",
        "people": people,
        "restrictions": [{"days": "mon-fri", "hours": "09:00-17:00"}],
    }
    create_schedule(session, lead, "sourcegraph-support", "Sourcegraph support shifts", "UTC", [shifts], now=start)
    steps = [
        {"targets": [{"schedule": "primary"}], "escalate_after": "5m"},
        {"targets": [{"user": lead.user_id}], "escalate_after": "10m"},
    ]
    create_policy(session, lead, "default", "Default on-call", {"steps": steps, "repeat": 1}, now=start)


def _logins(session: Session, now: datetime, *, created: DeskCounts | None) -> DemoLogins:
    held = DeskCounts(
        *(session.scalar(select(func.count()).select_from(table)) or 0 for table in (Organisation, User, Ticket))
    )
    users = {
        user.email: user
        for user in session.scalars(
            select(User).where(User.email.in_([p.email for p in (*STAFF, *(o.customer for o in ORGANISATIONS))]))
        )
    }
    logins = [
        DemoLogin(
            p.role, p.name, p.email, p.password, issue_token(session, users[p.email].id, TOKEN_NAME, now), None, None
        )
        for p in STAFF
    ]
    for org in ORGANISATIONS:
        person = org.customer
        token = issue_token(session, users[person.email].id, TOKEN_NAME, now)
        logins.append(
            DemoLogin(person.role, person.name, person.email, person.password, token, org.name, org.policy_id)
        )
    return DemoLogins(tuple(logins), created, held)
