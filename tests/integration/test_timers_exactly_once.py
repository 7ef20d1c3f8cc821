"""Each timer fires once and each message it causes reaches the local receivers, with 4 `sladesk worker`
processes on PostgreSQL, also when one of them is killed with SIGKILL midway.

The load: Alli P1 tickets, opened through the bulk seam with opening instants in the past. Worked out by hand
from the `alli` policy (without its paging): a P1 requires an internal and an external comms update every hour on the 24x7
calendar, and has no due targets, so a P1 opened at T has exactly two timers, `comms_overdue` internal and
external, both due at T + 1 h, whatever the time of day. Opening ticket i of n at
`first_due - 1 h + SPREAD * i / (n - 1)` puts its two timers at `first_due + SPREAD * i / (n - 1)`: all due
within SPREAD of each other, starting a few seconds after the test writes them, by the wall clock that the
workers read. Each firing records one `comms` event (a reminder restarts the hour, so the next timers fall
an hour later, beyond the test) and queues two messages: an email to the only agent (the policy's default
rule tells the assignee, the team while unassigned) and a webhook to the subscription to every event type.

The quality bar's 10,000 tickets (20,000 timers, 40,000 deliveries) take far longer than a test may on two
shared cores (see benchmarks/timers.py for the measured rates), so the test opens TICKETS of them (set
SLADESK_TEST_TIMER_TICKETS=10000 to run the full load: the four-worker run took 6 minutes here).

The killed worker may hold messages under the outbox lease: they are sent again once the lease ends, so that
run starts the same `sladesk worker` command with the lease shortened to LEASE_AFTER_KILL (the 2 minutes of
`services.delivery.LEASE` would make the test wait 2 minutes). A message sent again is counted under the same
idempotency key by the receivers; the test accepts such a duplicate only there and reports how many it saw.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from sladesk.config import Settings
from sladesk.jobs import Worker
from sladesk.jobs.worker import WorkerThread
from sladesk.services import Role
from sladesk.services.bulk import open_tickets
from sladesk.services.policies import upload_policy
from sladesk.services.subscriptions import create_subscription
from sladesk.services.tickets import Opening
from sladesk.store import make_engine, make_sessions, transaction
from sladesk.store.tables import OutboxMessage, TicketEvent, Timer
from tests.support import ROOT
from tests.support.database import PostgresSchema, SqliteTemplate
from tests.support.desk import Desk
from tests.support.processes import env, executable
from tests.support.receivers import HttpReceiver, SmtpReceiver, http_receiver, smtp_receiver
from tests.support.units import committed
from tests.support.variants import variant

TICKETS = int(os.environ.get("SLADESK_TEST_TIMER_TICKETS", "400"))
SQLITE_TICKETS = 60  # one embedded worker on SQLite: the same checks on a smaller load
SPREAD = timedelta(seconds=60 if TICKETS >= 5000 else 15)
LEAD = timedelta(seconds=6)  # from writing the tickets to the first due instant: the workers start meanwhile
COMMS_EVERY = timedelta(hours=1)
WORKERS = 4
LEASE_AFTER_KILL = timedelta(seconds=10)
MAIL_FROM = "support@desk.example"


def _deadline_s(tickets: int) -> float:
    """How long the workers may take after the last due instant: generous, for two loaded cores."""
    return 60 + tickets * 0.1


# the desk and its load


def _set_up(desk: Desk, hook_url: str) -> str:
    """An organisation on Alli's policy without its paging (so the comms reminders are its only timers), its
    customer, one agent, an admin, and a webhook subscribed to everything."""
    desk.user("boss", Role.ADMIN)
    unpaged = variant("alli", "alli_unpaged", paging=None)
    committed(upload_policy)(desk.sessions, desk.actors["boss"], unpaged, now=datetime.now(UTC))
    organisation = desk.organisation("Alli customer", "alli_unpaged")
    desk.user("customer", Role.CUSTOMER, organisation)
    desk.user("agent", Role.AGENT)
    with transaction(desk.sessions) as session:
        subscription = create_subscription(
            session, desk.actors["boss"], kind="webhook", url=hook_url, event_types=["*"], now=datetime.now(UTC)
        )
        assert subscription.secret is not None and subscription.secret.startswith("whsec_")
        return subscription.secret


def _open_load(desk: Desk, tickets: int) -> dict[int, datetime]:
    """Open `tickets` Alli P1 tickets whose timers fall due from LEAD from now over SPREAD; each id's due instant."""
    first_due = datetime.now(UTC) + LEAD
    dues = [first_due + SPREAD * number / max(tickets - 1, 1) for number in range(tickets)]
    openings = [
        Opening(
            organisation_id=desk.ids["Alli customer"],
            requester_id=desk.ids["customer"],
            subject=f"Automated actions stopped ({number})",
            description="Campaigns risk overspending.",
            severity="P1",
            opened_at=due - COMMS_EVERY,
        )
        for number, due in enumerate(dues)
    ]
    with transaction(desk.sessions) as session:
        ids = open_tickets(session, desk.actors["agent"], openings)
    return dict(zip(ids, dues, strict=True))


def _planned(engine: Engine) -> set[tuple[int, str | None, datetime]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Timer.ticket_id, Timer.metric, Timer.due_at).where(Timer.kind == "comms_overdue")
        )
        return {(ticket, channel, due) for ticket, channel, due in rows}


# workers


def _worker_env(url: str, smtp: SmtpReceiver) -> dict[str, str]:
    values = env()
    values.update(
        SLADESK_DATABASE_URL=url,
        SLADESK_SMTP_HOST=smtp.host,
        SLADESK_SMTP_PORT=str(smtp.port),
        SLADESK_MAIL_FROM=MAIL_FROM,
    )
    return values


def _worker_command(lease: timedelta | None) -> list[str]:
    """`sladesk worker`, or the same command with the outbox lease set to `lease`."""
    if lease is None:
        return [executable(), "worker"]
    start = (
        "import datetime, sys; import sladesk.services.delivery as delivery; "
        f"delivery.LEASE = datetime.timedelta(seconds={lease.total_seconds()}); "
        "from sladesk.cli import main; sys.argv[0] = 'sladesk'; main()"
    )
    return [sys.executable, "-c", start, "worker"]


@contextmanager
def _workers(
    count: int, environment: dict[str, str], logs: Path, lease: timedelta | None
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` worker processes until the block ends: SIGTERM (they finish the job in hand), SIGKILL after 20 s."""
    running: list[subprocess.Popen[bytes]] = []
    with ExitStack() as files:
        try:
            for number in range(count):
                output = files.enter_context((logs / f"worker-{number}.log").open("wb"))
                running.append(
                    subprocess.Popen(
                        _worker_command(lease), stdout=output, stderr=subprocess.STDOUT, env=environment, cwd=ROOT
                    )
                )
            yield running
        finally:
            for process in running:
                if process.poll() is None:
                    process.terminate()
            for process in running:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _fired(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).where(Timer.fired_at.is_not(None))) or 0)


def _wait_until_done(
    engine: Engine,
    dues: dict[int, datetime],
    smtp: SmtpReceiver,
    http: HttpReceiver,
    alive: list[subprocess.Popen[bytes]],
    logs: Path,
) -> None:
    """Until every timer of the load has fired and as many distinct messages as it causes have arrived."""
    last_due = max(dues.values())
    expected_messages = 4 * len(dues)  # two timers a ticket, an email and a webhook each
    deadline = time.monotonic() + (last_due - datetime.now(UTC)).total_seconds() + _deadline_s(len(dues))
    while True:
        for process in alive:
            assert process.poll() is None, f"a worker ended with {process.returncode}: see {logs}"
        with engine.connect() as connection:
            unfired = connection.scalar(select(func.count()).where(Timer.fired_at.is_(None), Timer.due_at <= last_due))
        delivered = len(smtp.by_idempotency_key()) + len(http.by_idempotency_key())
        if datetime.now(UTC) > last_due and unfired == 0 and delivered >= expected_messages:
            return
        assert time.monotonic() < deadline, f"{unfired} timers unfired, {delivered} of {expected_messages} delivered"
        time.sleep(0.25)


# what must hold


def _check_exactly_once(engine: Engine, dues: dict[int, datetime], smtp: SmtpReceiver, http: HttpReceiver) -> int:
    """Every timer fired once, one event each, every message delivered under its key; returns the duplicates."""
    expected = {(ticket, channel, due) for ticket, due in dues.items() for channel in ("internal", "external")}
    last_due = max(dues.values())
    with engine.connect() as connection:
        timers = connection.execute(
            select(Timer.ticket_id, Timer.kind, Timer.metric, Timer.due_at, Timer.fired_at, Timer.outcome).where(
                Timer.due_at <= last_due
            )
        ).all()
        events = connection.execute(
            select(TicketEvent.ticket_id, TicketEvent.data).where(TicketEvent.type == "comms")
        ).all()
        outbox = connection.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.kind, OutboxMessage.status)
        ).all()

    # every timer row due by now fired, acted, once: one row per (ticket, channel, instant)
    assert {row.kind for row in timers} == {"comms_overdue"}
    assert [row for row in timers if row.fired_at is None or row.outcome != "acted"] == []
    fired = Counter((row.ticket_id, row.metric, row.due_at) for row in timers)
    assert set(fired) == expected
    assert [key for key, count in fired.items() if count > 1] == []

    # one recorded reminder per timer, none twice for the same (ticket, channel, instant)
    recorded = Counter(
        (ticket, data["channel"], datetime.fromisoformat(data["due_at"]))
        for ticket, data in events
        if data["action"] == "overdue"
    )
    assert len(events) == len(expected)
    assert set(recorded) == expected
    assert [key for key, count in recorded.items() if count > 1] == []

    # every message sent and received under its own key: the keys received are the outbox's keys
    assert Counter(kind for _, kind, _ in outbox) == {"email": len(expected), "webhook": len(expected)}
    assert [key for key, _, status in outbox if status != "sent"] == []
    mails, hooks = smtp.by_idempotency_key(), http.by_idempotency_key()
    assert set(mails) == {key for key, kind, _ in outbox if kind == "email"}
    assert set(hooks) == {key for key, kind, _ in outbox if kind == "webhook"}
    assert [request.signature_error for request in http.requests if request.signature_error] == []
    assert {address for mail in smtp.messages for address in mail.rcpt_tos} == {"agent@example.com"}
    return sum(count - 1 for count in (mails + hooks).values())


# the tests


@pytest.fixture
def sqlite_desk(sqlite_template: SqliteTemplate, tmp_path: Path) -> Iterator[tuple[Engine, Desk]]:
    """A migrated SQLite database of the test's own, with a desk on it."""
    engine = sqlite_template.copy(tmp_path)
    try:
        yield engine, Desk(make_sessions(engine), attachments=tmp_path / "attachments")
    finally:
        engine.dispose()


def test_sqlite_embedded_worker_fires_each_timer_once_and_delivers_each_message(sqlite_desk: tuple[Engine, Desk]):
    engine, desk = sqlite_desk
    with smtp_receiver() as smtp, http_receiver() as http:
        http.secret = _set_up(desk, http.url("/hooks"))
        dues = _open_load(desk, SQLITE_TICKETS)
        assert _planned(engine) == {(t, c, due) for t, due in dues.items() for c in ("internal", "external")}
        settings = Settings(smtp_host=smtp.host, smtp_port=smtp.port, mail_from=MAIL_FROM)
        embedded = WorkerThread(Worker(desk.sessions, settings, name="embedded"))
        embedded.start()
        try:
            _wait_until_done(engine, dues, smtp, http, [], Path("."))
        finally:
            embedded.stop()
        assert not embedded.thread.is_alive()
        assert _check_exactly_once(engine, dues, smtp, http) == 0


@pytest.fixture
def postgres_desk(postgres_schema: PostgresSchema, tmp_path: Path) -> Iterator[tuple[Engine, Desk, str]]:
    """The session's PostgreSQL schema, emptied, with a desk on it and the URL the worker processes use."""
    postgres_schema.empty()
    engine = make_engine(postgres_schema.url)
    try:
        desk = Desk(make_sessions(engine), attachments=tmp_path / "attachments")
        yield engine, desk, postgres_schema.url.render_as_string(hide_password=False)
    finally:
        engine.dispose()


def test_four_workers_fire_each_timer_once_and_deliver_each_message_once(
    postgres_desk: tuple[Engine, Desk, str], tmp_path: Path
):
    engine, desk, url = postgres_desk
    with smtp_receiver() as smtp, http_receiver() as http:
        http.secret = _set_up(desk, http.url("/hooks"))
        dues = _open_load(desk, TICKETS)
        assert _planned(engine) == {(t, c, due) for t, due in dues.items() for c in ("internal", "external")}
        with _workers(WORKERS, _worker_env(url, smtp), tmp_path, lease=None) as running:
            _wait_until_done(engine, dues, smtp, http, running, tmp_path)
        duplicates = _check_exactly_once(engine, dues, smtp, http)
    assert duplicates == 0  # no worker died, so no lease ran out: each message went out once


def test_a_worker_killed_midway_loses_no_timer_and_no_message(
    postgres_desk: tuple[Engine, Desk, str], tmp_path: Path, record_property: Callable[[str, object], None]
):
    engine, desk, url = postgres_desk
    with smtp_receiver() as smtp, http_receiver() as http:
        http.secret = _set_up(desk, http.url("/hooks"))
        dues = _open_load(desk, TICKETS)
        timers = 2 * len(dues)
        with _workers(WORKERS, _worker_env(url, smtp), tmp_path, lease=LEASE_AFTER_KILL) as running:
            deadline = time.monotonic() + (max(dues.values()) - datetime.now(UTC)).total_seconds() + _deadline_s(timers)
            while _fired(engine) < timers // 4:
                assert time.monotonic() < deadline, f"only {_fired(engine)} of {timers} timers fired"
                assert all(process.poll() is None for process in running), f"a worker ended early: see {tmp_path}"
                time.sleep(0.05)
            victim = running[0]
            victim.send_signal(signal.SIGKILL)
            assert victim.wait(timeout=10) == -signal.SIGKILL
            fired_at_kill = _fired(engine)
            _wait_until_done(engine, dues, smtp, http, running[1:], tmp_path)
        duplicates = _check_exactly_once(engine, dues, smtp, http)
    assert fired_at_kill < timers  # the kill came midway, with timers left to fire
    record_property("fired_at_kill", fired_at_kill)
    record_property("duplicate_deliveries", duplicates)
    print(
        f"killed one of {WORKERS} workers after {fired_at_kill} of {timers} timers; {duplicates} duplicate deliveries"
    )
