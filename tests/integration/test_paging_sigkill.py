"""Paging through real `sladesk worker` processes on both databases, also when workers are killed with
SIGKILL: each escalation step pages once, and each message it causes reaches the local receivers.

The desk: Prairie Media on Alli (P1 and P2 page on-call) with `paging: {escalation_policy: default}`. The
schedule `primary` has Ann on call around the clock. Each test writes `default`: the primary schedule's
on-call person at once, Cy a first step later while nobody has acknowledged, and the lead Morgan a next step
after that while the incident is not resolved, even acknowledged. A webhook subscription to every event type
sends each incident and page event to the HTTP receiver; the pages go out by email to the SMTP receiver (in
the first test Ann's notification rules add PagerDuty, whose events go to the HTTP receiver too). The
workers read the wall clock, so the steps are seconds apart and the tickets open now.

The first test's first step (ACKNOWLEDGEMENT_STEP) leaves room for an acknowledgement after the first page
and before Cy's step. Morgan's step fires acknowledged or not, so its page tells the test that Cy's instant
has passed: the test waits for it rather than for a length of time. The second test opens up to ten tickets
over a few seconds with steps of two seconds, and kills a worker at random instants while they fire.

A worker killed with SIGKILL while it sends may leave messages under the outbox lease; they are sent again
once the lease ends (set to LEASE here, the shortest the settings allow). Such a message arrives a second
time under the same idempotency key and Message-ID, for the receiver to drop; the test accepts a duplicate
only there, only after a kill while firing, and reports how many it saw.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from sladesk.notify.email import IDEMPOTENCY_HEADER
from sladesk.services import Role
from sladesk.services import tickets as ticket_services
from sladesk.services.escalation_policies import create_policy
from sladesk.services.incidents import acknowledge_incident
from sladesk.services.notification_rules import replace_rules
from sladesk.services.oncall import create_schedule
from sladesk.services.policies import upload_policy
from sladesk.services.subscriptions import create_subscription
from sladesk.store.tables import OutboxMessage, TicketEvent
from tests.support.desk import Desk
from tests.support.receivers import HttpReceiver, ReceivedMail, SmtpReceiver, http_receiver, smtp_receiver
from tests.support.units import committed
from tests.support.variants import variant
from tests.support.worker_processes import WorkerProcesses, worker_environment

# Long enough for an acknowledgement between the first page and Cy's step on two loaded cores: on SQLite the
# worker, in a process of its own, is not woken by the test's writes and finds a new incident within its
# safety poll of 5 s.
ACKNOWLEDGEMENT_STEP = timedelta(seconds=10)
NEXT_STEP = timedelta(seconds=3)
RANDOM_KILL_STEP = timedelta(seconds=2)
MAX_RANDOM_KILLS = {"sqlite": 3, "postgresql": 5}  # each replacement takes seconds to start
LEASE = timedelta(seconds=10)
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
Chain = tuple[tuple[int, int], ...]  # (round, step) of each page, in order
CHAIN: Chain = ((0, 0), (0, 1), (0, 2))  # (round, step): Ann, Cy, Morgan
ACKNOWLEDGED_CHAIN: Chain = ((0, 0), (0, 2))  # Cy's step waits for no acknowledgement, Morgan's fires anyway
PAGED = {0: "ann@example.com", 1: "cy@example.com", 2: "morgan@example.com"}
RANDOM_KILL_TICKETS = {"sqlite": 4, "postgresql": 10}
WORKERS = {"sqlite": 1, "postgresql": 2}  # `sladesk worker` on SQLite is one process; any number on PostgreSQL
RANDOM_KILL_WORKERS = {"sqlite": 1, "postgresql": 3}

open_ticket = committed(ticket_services.open_ticket)
acknowledge = committed(acknowledge_incident)


@dataclass
class Paging:
    desk: Desk
    engine: Engine
    database: str  # "sqlite" or "postgresql"
    url: str  # for the worker processes


@pytest.fixture
def paging(desk: Desk, engine: Engine) -> Paging:
    """The desk at the wall clock's now: Ann on call, the escalation policy `default`, the Alli customer Riley."""
    now = desk.clock.set(datetime.now(UTC))
    desk.user("morgan", Role.ADMIN)
    for key in ("ann", "cy"):
        desk.user(key, Role.AGENT)
    alli_paging = variant("alli", "alli_paging", paging={"escalation_policy": "default"})
    committed(upload_policy)(desk.sessions, desk.actors["morgan"], alli_paging, now=now)
    desk.user("riley", Role.CUSTOMER, desk.organisation("Prairie Media", "alli_paging"))
    started = (now - timedelta(days=2)).strftime("%Y-%m-%dT09:00")
    layers = [{"id": "always", "start": started, "rotation": "daily", "people": [desk.ids["ann"]]}]
    committed(create_schedule)(
        desk.sessions, desk.actors["morgan"], "primary", "Primary", "America/Chicago", layers, now=now
    )
    url = engine.url.render_as_string(hide_password=False)
    return Paging(desk, engine, engine.dialect.name, url)


def _escalation(paging: Paging, first_step: timedelta, next_step: timedelta) -> None:
    """The escalation policy `default`: the primary schedule at once, Cy `first_step` later, Morgan `next_step`
    after that (acknowledged or not)."""
    desk = paging.desk
    steps = [
        {"targets": [{"schedule": "primary"}], "escalate_after": f"{first_step.seconds}s"},
        {"targets": [{"user": desk.ids["cy"]}], "escalate_after": f"{next_step.seconds}s"},
        {
            "targets": [{"user": desk.ids["morgan"]}],
            "escalate_after": f"{next_step.seconds}s",
            "condition": "not_resolved",
        },
    ]
    create = committed(create_policy)
    create(desk.sessions, desk.actors["morgan"], "default", "Default", {"steps": steps}, now=datetime.now(UTC))


def _subscribe(paging: Paging, http: HttpReceiver) -> None:
    with_secret = committed(create_subscription)(
        paging.desk.sessions,
        paging.desk.actors["morgan"],
        kind="webhook",
        url=http.url("/hooks"),
        event_types=["*"],
        now=datetime.now(UTC),
    )
    http.secret = with_secret.secret


def _open_p1(paging: Paging, number: int) -> int:
    change = open_ticket(
        paging.desk.sessions,
        paging.desk.actors["riley"],
        subject=f"Every dashboard is empty ({number})",
        description="No data for any client since 02:40.",
        severity="P1",
        now=datetime.now(UTC),
    )
    return change.ticket.id


# what the store and the receivers hold


def _pages(engine: Engine) -> Counter[tuple[int, int, int]]:
    """How many times each (ticket, round, step) was paged in the histories."""
    with engine.connect() as connection:
        rows = connection.execute(select(TicketEvent.ticket_id, TicketEvent.data).where(TicketEvent.type == "page"))
        return Counter((ticket, data["round"], data["step"]) for ticket, data in rows)


def _incidents(engine: Engine) -> Counter[tuple[int, str]]:
    with engine.connect() as connection:
        rows = connection.execute(select(TicketEvent.ticket_id, TicketEvent.data).where(TicketEvent.type == "incident"))
        return Counter((ticket, data["action"]) for ticket, data in rows)


@dataclass(frozen=True)
class Outbox:
    """The outbox's messages: each one's kind, status, and the ticket event that caused it."""

    rows: dict[str, tuple[str, str, int | None, str | None]]  # key: (kind, status, ticket, event type)

    def keys(self, kind: str) -> set[str]:
        return {key for key, (row_kind, _, _, _) in self.rows.items() if row_kind == kind}

    def unsent(self) -> list[str]:
        return [key for key, (_, status, _, _) in self.rows.items() if status != "sent"]


def _outbox(engine: Engine) -> Outbox:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                OutboxMessage.idempotency_key,
                OutboxMessage.kind,
                OutboxMessage.status,
                OutboxMessage.ticket_id,
                TicketEvent.type,
            ).outerjoin(TicketEvent, TicketEvent.id == OutboxMessage.event_id)
        ).all()
    return Outbox({key: (kind, status, ticket, event) for key, kind, status, ticket, event in rows})


def _delivered(engine: Engine, smtp: SmtpReceiver, http: HttpReceiver, keys: set[str] | None = None) -> bool:
    """Every message of the outbox (or those of `keys`) sent, and each one received under its key at least once."""
    outbox = _outbox(engine)
    wanted = set(outbox.rows) if keys is None else keys
    received = set(smtp.by_idempotency_key()) | set(http.by_idempotency_key())
    return not set(outbox.unsent()) & wanted and wanted <= received


def _wait_until(condition: Callable[[], bool], what: str, workers: WorkerProcesses, timeout_s: float = 120) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout_s` (generous, for two loaded cores)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        workers.check_alive()
        assert time.monotonic() < deadline, f"not within {timeout_s:g} s: {what}; worker logs in {workers.logs}"
        time.sleep(0.1)


def _expected_pages(chains: dict[int, Chain]) -> Counter[tuple[int, int, int]]:
    return Counter((ticket, round_, step) for ticket, chain in chains.items() for round_, step in chain)


def _check_exactly_once(paging: Paging, chains: dict[int, Chain], smtp: SmtpReceiver, http: HttpReceiver) -> int:
    """Each step paged once, each page mailed to its person, every message received under its key; returns the
    number of duplicate deliveries (each under the key and Message-ID of the first)."""
    engine = paging.engine
    assert _pages(engine) == _expected_pages(chains)
    triggered = Counter(ticket for ticket, action in _incidents(engine).elements() if action == "triggered")
    assert triggered == Counter(list(chains))

    outbox = _outbox(engine)
    assert outbox.unsent() == []
    mails, hooks = smtp.by_idempotency_key(), http.by_idempotency_key()
    assert set(mails) == outbox.keys("email")
    assert set(hooks) == outbox.keys("webhook") | outbox.keys("pagerduty")
    assert [request.signature_error for request in http.requests if request.signature_error] == []
    # one webhook per page event, one for each incident trigger and acknowledgement
    hooked = Counter(
        (outbox.rows[key][2], outbox.rows[key][3])
        for key in outbox.keys("webhook")
        if outbox.rows[key][3] in ("page", "incident")
    )
    acknowledged = Counter(ticket for ticket, action in _incidents(engine).elements() if action == "acknowledged")
    assert hooked == Counter(
        {(ticket, "page"): len(chain) for ticket, chain in chains.items()}
        | {(ticket, "incident"): 1 + acknowledged[ticket] for ticket in chains}
    )

    # each page's email reached its person under one key; a duplicate keeps the key's Message-ID
    first_of: dict[str, ReceivedMail] = {}
    message_ids: dict[str, set[str]] = {}
    for mail in smtp.messages:
        key = str(mail.message[IDEMPOTENCY_HEADER])
        first_of.setdefault(key, mail)
        message_ids.setdefault(key, set()).add(str(mail.message["Message-ID"]))
    assert [key for key, ids in message_ids.items() if len(ids) != 1] == []
    page_mails = Counter(
        (outbox.rows[key][2], address)
        for key, mail in first_of.items()
        if outbox.rows[key][3] == "page"
        for address in mail.rcpt_tos
    )
    assert page_mails == Counter((ticket, PAGED[step]) for ticket, chain in chains.items() for _, step in chain)
    return sum(count - 1 for count in (mails + hooks).values())


# the tests


def test_pages_at_once_escalates_unacknowledged_stops_at_an_acknowledgement_and_survives_sigkill_between_steps(
    paging: Paging, tmp_path: Path
):
    engine = paging.engine
    with smtp_receiver() as smtp, http_receiver() as http:
        _subscribe(paging, http)
        environment = worker_environment(paging.url, smtp, LEASE)
        _escalation(paging, ACKNOWLEDGEMENT_STEP, NEXT_STEP)
        ann = paging.desk.ids["ann"]
        rules = [
            {"after": "0m", "channel": "email"},
            {"after": "0m", "channel": "pagerduty", "to": ROUTING_KEY, "url": http.url("/pagerduty")},
        ]
        committed(replace_rules)(paging.desk.sessions, paging.desk.actors["ann"], ann, rules)
        with WorkerProcesses(environment, tmp_path) as workers:
            for _ in range(WORKERS[paging.database]):
                workers.start()
            workers.wait_until_ready()
            unacknowledged, acknowledged = _open_p1(paging, 1), _open_p1(paging, 2)

            # Ann is paged at once for both; Riley's second ticket is acknowledged before Cy's step
            firsts = {(unacknowledged, 0, 0), (acknowledged, 0, 0)}
            _wait_until(lambda: firsts <= set(_pages(engine)), "Ann paged for both tickets", workers)
            paged = set(_outbox(engine).rows)
            acknowledge(paging.desk.sessions, paging.desk.actors["ann"], acknowledged, now=datetime.now(UTC))
            _wait_until(lambda: _delivered(engine, smtp, http, paged), "the first pages delivered", workers)

            # between the steps, every worker is killed; new ones carry the chains on
            paged_at_kill = _pages(engine)
            for process in list(workers.running):
                workers.kill(process)
            for _ in range(WORKERS[paging.database]):
                workers.start()
            chains = {unacknowledged: CHAIN, acknowledged: ACKNOWLEDGED_CHAIN}
            _wait_until(
                lambda: _pages(engine) == _expected_pages(chains) and _delivered(engine, smtp, http),
                "every step paged and delivered",
                workers,
            )
        duplicates = _check_exactly_once(paging, chains, smtp, http)
    assert paged_at_kill == Counter(firsts)  # the kill came between the first step and the second
    assert duplicates == 0  # killed while idle: nothing was under a lease
    acknowledgements = Counter(t for t, action in _incidents(engine).elements() if action == "acknowledged")
    assert acknowledgements == Counter({acknowledged: 1})
    # Ann's PagerDuty rule: a trigger for each ticket, and the acknowledgement under the same dedup_key
    events = {r.idempotency_key: r.json() for r in http.requests if r.path == "/pagerduty"}
    assert sorted((body["dedup_key"], body["event_action"]) for body in events.values()) == [
        (f"sladesk-ticket-{unacknowledged}", "trigger"),
        (f"sladesk-ticket-{acknowledged}", "acknowledge"),
        (f"sladesk-ticket-{acknowledged}", "trigger"),
    ]
    assert {body["routing_key"] for body in events.values()} == {ROUTING_KEY}


def test_workers_killed_at_random_while_firing_page_each_step_once(
    paging: Paging, tmp_path: Path, record_property: Callable[[str, object], None]
):
    engine = paging.engine
    tickets = RANDOM_KILL_TICKETS[paging.database]
    seed = int(os.environ.get("SLADESK_TEST_KILL_SEED") or random.randrange(2**32))  # printed, to replay a run
    chance = random.Random(seed)
    with smtp_receiver() as smtp, http_receiver() as http:
        _subscribe(paging, http)
        environment = worker_environment(paging.url, smtp, LEASE)
        _escalation(paging, RANDOM_KILL_STEP, RANDOM_KILL_STEP)
        with WorkerProcesses(environment, tmp_path) as workers:
            for _ in range(RANDOM_KILL_WORKERS[paging.database]):
                workers.start()
            workers.wait_until_ready()
            # the openings spread over two steps, the kills at random instants until every step has paged
            start = time.monotonic()
            openings = [start + 2 * RANDOM_KILL_STEP.total_seconds() * number / tickets for number in range(tickets)]
            next_kill = start + chance.uniform(0.5, 2.0)
            ids: list[int] = []
            while len(ids) < tickets or sum(_pages(engine).values()) < len(CHAIN) * tickets:
                workers.check_alive()
                now = time.monotonic()
                assert now - start < 180, f"only {sum(_pages(engine).values())} pages; worker logs in {tmp_path}"
                if len(ids) < tickets and now >= openings[len(ids)]:
                    ids.append(_open_p1(paging, len(ids) + 1))
                ready = workers.ready()  # a worker still starting fires nothing: killing it proves nothing
                if now >= next_kill and ready and workers.killed < MAX_RANDOM_KILLS[paging.database]:
                    workers.kill(chance.choice(ready))
                    workers.start()
                    next_kill = now + chance.uniform(0.5, 2.0)
                time.sleep(0.05)
            kills = workers.killed
            chains = dict.fromkeys(ids, CHAIN)
            _wait_until(lambda: _delivered(engine, smtp, http), "every message delivered", workers)
        duplicates = _check_exactly_once(paging, chains, smtp, http)
    assert kills >= 1
    record_property("seed", seed)
    record_property("kills", kills)
    record_property("duplicate_deliveries", duplicates)
    print(f"seed {seed}: {kills} workers killed while {tickets} chains paged; {duplicates} duplicate deliveries")
