"""Benchmark: timers fired per second and the lag from due to fired, with the outbox delivering what they cause;
and the page path, from a P1's opening to its on-call page's delivery.

    python benchmarks/timers.py [--database-url URL] [--tickets 10000] [--spread 60] [--workers 1,4]
                                [--page-tickets 200] [--page-rate 20]
                                [--no-sqlite | --sqlite-only | --page-path-only]

The load. A desk with one organisation under the built-in `alli` policy's rules, a customer, one agent and one admin,
and an active webhook subscription to every event type (`*`). --tickets Alli P1 tickets are opened through
the bulk seam (`services.bulk.open_tickets`) with opening instants in the past: a P1 needs an internal and an
external comms update every hour on the 24x7 calendar, so a ticket opened 60 minutes before an instant has
two `comms_overdue` timers due at that instant. The openings are spread so that the 2 x --tickets timers fall
due evenly over --spread seconds, starting --lead seconds after the tickets are written. Each firing records
a `comms` event, an email to the agent (the assignee rule, the team while unassigned) and a webhook message:
two outbox messages per timer, delivered over loopback to an SMTP server and an HTTP server that this script
runs (aiosmtpd, http.server), which count what they receive by idempotency key. The organisation's policy
is Alli's without its `paging` section (a P1 opened an hour back would start its on-call incident as the
workers start, which is not what this load measures; the page path below measures paging).

Two runs per configuration:
- "within a minute": the timers fall due over --spread seconds; the lag of each timer is read afterwards
  from its row, `fired_at - due_at` (`fired_at` is the instant the worker's pass started, so the commit
  comes a little after it), and from the webhook receiver, the arrival of each webhook minus the due instant
  in its body (due -> delivered).
- "all at once": the same number of timers all due at one instant (a backlog after an outage); timers fired
  per second = timers / (last fired_at - due instant). A run within a minute cannot show more than its
  arrival rate (2 x --tickets / --spread per second), so the rate is measured here.

Configurations: PostgreSQL with 1 and 4 `sladesk worker` processes (each a subprocess with
`SLADESK_DATABASE_URL` on a database of its own, created and dropped by the script), and SQLite with the
embedded worker (`sladesk serve` on a fresh data directory; its worker thread runs beside uvicorn).

The page path. A desk whose Alli P1 pages on-call: one agent alone on the `primary` schedule around the
clock, and the escalation policy `default` paging that schedule at once. 4 `sladesk worker` processes run on
a PostgreSQL database of the run's own; once they have started, --page-tickets Alli P1 tickets are opened one
at a time through `services.tickets.open_ticket`, each in a unit of work of its own as a request would,
--page-rate a second. Each opening writes the incident's timer due at once and wakes the workers; one fires
it, records the incident and the first step's page, and sends the page's email to the SMTP server. Measured
per ticket from its opening instant: to the page in its history (`at`, the worker's pass instant) and to the
email's arrival; each ticket must be paged once. The baseline in the same table is a desk whose worker
sweeps for due escalations every 5 minutes: a page waits for the next sweep, evenly 0 to 5 minutes for
tickets that open at any instant.

Goals (reported, never the exit status): lag p99 under 1 second with 4 workers, at least 1,000 timers
fired per second with 4 workers, and the page path's p99 (opened to page delivered) under 1 second. The
script exits 1 only if it cannot run (no PostgreSQL, a worker that dies, a timer left unfired, a message
not delivered, a ticket paged other than once).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from aiosmtpd.controller import Controller
from rich.console import Console
from rich.table import Table
from ruamel.yaml import YAML
from sqlalchemy import Engine, func, make_url, select, text
from sqlalchemy.engine import URL

from databases import postgres_database
from goals import Goal, print_goals
from sladesk.policy import builtin_source
from sladesk.services import Role, actor_of, create_organisation, create_user
from sladesk.services.bulk import open_tickets
from sladesk.services.escalation_policies import create_policy
from sladesk.services.oncall import create_schedule
from sladesk.services.policies import upload_policy
from sladesk.services.subscriptions import create_subscription
from sladesk.services.tickets import Opening, open_ticket
from sladesk.store import make_engine, make_sessions, reading, transaction, upgrade
from sladesk.store.tables import OutboxMessage, TicketEvent, Timer

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COMMS_POLICY = "alli_comms"  # Alli's rules without paging (see set_up_desk)
COMMS_EVERY = timedelta(hours=1)  # Alli P1: internal and external updates due hourly, at any hour
TIMERS_PER_TICKET = 2
MESSAGES_PER_TIMER = 2  # the email to the agent, the webhook
ROOT = Path(__file__).resolve().parents[1]
PAGE_WORKERS = 4
BASELINE_SWEEP = timedelta(minutes=5)  # a worker that looks for due escalations on a plain interval

console = Console(highlight=False, width=160)


class BenchmarkError(Exception):
    pass


# receivers


class Received:
    """What the receivers took: deliveries by idempotency key, and each webhook's lag from its due instant."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: Counter[str] = Counter()
        self.webhook_lags: list[float] = []
        self.arrived: dict[str, datetime] = {}  # the first arrival of each key

    def take(self, key: str, lag: float | None = None) -> None:
        arrived = datetime.now(UTC)
        with self.lock:
            self.keys[key] += 1
            self.arrived.setdefault(key, arrived)
            if lag is not None:
                self.webhook_lags.append(lag)

    def reset(self) -> None:
        with self.lock:
            self.keys.clear()
            self.webhook_lags.clear()
            self.arrived.clear()


class _SmtpCounter:
    def __init__(self, received: Received) -> None:
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook)
        raw: bytes = envelope.original_content or b""
        head = raw.split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"x-sladesk-idempotency-key:"):
                self.received.take(line.split(b":", 1)[1].strip().decode())
                break
        return "250 OK"


@contextmanager
def receivers(received: Received) -> Iterator[tuple[tuple[str, int], str]]:
    """An SMTP server and an HTTP server on 127.0.0.1 for the length of the block: ((host, port), webhook URL)."""

    class Hook(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers answer: a worker's pass reuses its connection
        disable_nagle_algorithm = True  # the headers and the body go out at once, not 40 ms apart

        def handle(self) -> None:
            with contextlib.suppress(ConnectionError):  # a client that closed early: nothing more to read
                super().handle()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived = datetime.now(UTC)
            due = json.loads(body)["data"]["event"].get("due_at")
            lag = (arrived - datetime.fromisoformat(due)).total_seconds() if due else None
            received.take(self.headers.get("webhook-id") or "", lag)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    smtp_port = free_port()
    smtp = Controller(_SmtpCounter(received), hostname="127.0.0.1", port=smtp_port)
    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    http.daemon_threads = True
    serving = threading.Thread(target=http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    smtp.start()
    serving.start()
    try:
        yield ("127.0.0.1", smtp_port), f"http://127.0.0.1:{http.server_address[1]}/hooks"
    finally:
        http.shutdown()
        http.server_close()
        smtp.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# databases


# the desk and its load


@dataclass(frozen=True)
class Load:
    tickets: int
    first_due: datetime
    spread: timedelta

    @property
    def timers(self) -> int:
        return self.tickets * TIMERS_PER_TICKET

    @property
    def last_due(self) -> datetime:
        return self.first_due + self.spread


def set_up_desk(engine: Engine, hook_url: str, now: datetime) -> tuple[int, int, int]:
    """The organisation, its customer and the agent (ids), an admin, and the webhook subscription to everything.

    The organisation's policy is Alli's without its `paging` section: the tickets open an hour back, and the
    on-call incident each P1 would start then is not what this load measures."""
    sessions = make_sessions(engine)
    with transaction(sessions) as session:
        admin = create_user(session, None, email="admin@desk.example", name="Admin", role=Role.ADMIN, now=now)
        session.flush()
        boss = actor_of(session, admin.id)
        upload_policy(session, boss, alli_without_paging(), now=now)
        organisation = create_organisation(session, None, name="Alli customer", policy_id=COMMS_POLICY, now=now)
        customer = create_user(
            session,
            None,
            email="ops@customer.example",
            name="Ops",
            role=Role.CUSTOMER,
            organisation_id=organisation.id,
            now=now,
        )
        agent = create_user(session, None, email="agent@desk.example", name="Agent", role=Role.AGENT, now=now)
        session.flush()
        create_subscription(session, boss, kind="webhook", url=hook_url, event_types=["*"], now=now)
        return organisation.id, customer.id, agent.id


def alli_without_paging() -> str:
    """The built-in `alli` policy as COMMS_POLICY, without `paging` and the built-in's scenario tests."""
    document = YAML(typ="safe").load(io.StringIO(builtin_source("alli")))
    document.pop("paging", None)
    document.pop("tests", None)
    document.update(id=COMMS_POLICY, version=1)
    return json.dumps(document, default=str)


def open_load(engine: Engine, ids: tuple[int, int, int], load: Load) -> float:
    """Open the load's tickets in one unit of work; the seconds it took."""
    organisation, customer, agent = ids
    sessions = make_sessions(engine)
    openings = [
        Opening(
            organisation_id=organisation,
            requester_id=customer,
            subject=f"Automated actions stopped ({number})",
            description="Campaigns risk overspending.",
            severity="P1",
            opened_at=load.first_due - COMMS_EVERY + load.spread * number / max(load.tickets - 1, 1),
        )
        for number in range(load.tickets)
    ]
    started = time.perf_counter()
    with transaction(sessions) as session:
        open_tickets(session, actor_of(session, agent), openings)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


# running workers


def worker_env(url: URL | None, smtp: tuple[str, int], data_dir: Path | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "SLADESK_SMTP_HOST": smtp[0],
        "SLADESK_SMTP_PORT": str(smtp[1]),
        "SLADESK_MAIL_FROM": "support@desk.example",
    }
    env.pop("SLADESK_DATABASE_URL", None)
    if url is not None:
        env["SLADESK_DATABASE_URL"] = url.render_as_string(hide_password=False)
    if data_dir is not None:
        env["SLADESK_DATA_DIR"] = str(data_dir)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def sladesk_command() -> str:
    beside = Path(sys.executable).with_name("sladesk")
    found = str(beside) if beside.exists() else shutil.which("sladesk")
    if found is None:
        raise BenchmarkError("the sladesk command is not installed (pip install -e .)")
    return found


@contextmanager
def processes(commands: list[list[str]], env: dict[str, str], logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Each command running until the block ends (SIGTERM, then SIGKILL after 15 s), its output in `logs`."""
    logs.mkdir(parents=True, exist_ok=True)
    running: list[subprocess.Popen[bytes]] = []
    with ExitStack() as files:
        try:
            for index, command in enumerate(commands):
                output = files.enter_context((logs / f"process-{index}.log").open("wb"))
                running.append(subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=ROOT))
            yield running
        finally:
            for process in running:
                if process.poll() is None:
                    process.terminate()
            for process in running:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


class CommitWatch:
    """Sees each `comms` event once it is committed, every `every` seconds in a thread: when each timer's
    firing became visible to others, a truer "fired" instant than `fired_at` (the start of the worker's pass)."""

    def __init__(self, engine: Engine, every: float = 0.05) -> None:
        self.engine = engine
        self.every = every
        self.seen: dict[int, tuple[datetime, datetime]] = {}  # event id: (due instant, first seen)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="commit-watch", daemon=True)

    def __enter__(self) -> CommitWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._poll()

    def _poll(self) -> None:
        floor = max(self.seen, default=0) - 5000  # ids are taken before commit: look back past late commits
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(TicketEvent.id, TicketEvent.data).where(TicketEvent.type == "comms", TicketEvent.id > floor)
            ).all()
        now = datetime.now(UTC)
        for event_id, data in rows:
            if event_id not in self.seen and data.get("due_at"):
                self.seen[event_id] = (datetime.fromisoformat(data["due_at"]), now)


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """The CPU time (user and system) a running process has used so far, from /proc."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuMark:
    """The CPU the worker processes and this script (the receivers, the commit watch) had used at one instant."""

    workers: float
    script: float

    def spent(self, running: list[subprocess.Popen[bytes]]) -> Spent:
        return Spent(sum(cpu_seconds(process) for process in running) - self.workers, time.process_time() - self.script)


@dataclass(frozen=True)
class Spent:
    workers: float
    script: float


def cpu_when_due(load: Load, running: list[subprocess.Popen[bytes]]) -> CpuMark:
    """Wait until just before the first timer is due (the workers started and idle), and mark the CPU used by
    then: what the workers use from there on is the firing and delivering, without their start-up."""
    wait = (load.first_due - datetime.now(UTC)).total_seconds() - 0.2
    if wait > 0:
        time.sleep(wait)
    return CpuMark(sum(cpu_seconds(process) for process in running), time.process_time())


def wait_until_done(
    engine: Engine, load: Load, received: Received, running: list[subprocess.Popen[bytes]], logs: Path
) -> None:
    """Until every timer due in the load has fired and every message it caused has arrived."""
    expected = load.timers * MESSAGES_PER_TIMER
    deadline = time.monotonic() + (load.last_due - datetime.now(UTC)).total_seconds() + 1800
    while True:
        for process in running:
            if process.poll() is not None:
                raise BenchmarkError(f"a worker ended with {process.returncode}; see {logs}")
        with engine.connect() as connection:
            unfired = connection.scalar(
                select(func.count()).where(
                    Timer.kind == "comms_overdue", Timer.fired_at.is_(None), Timer.due_at <= load.last_due
                )
            )
            pending = connection.scalar(select(func.count()).where(OutboxMessage.status == "pending"))
        if datetime.now(UTC) > load.last_due and not unfired and not pending and len(received.keys) >= expected:
            return
        if time.monotonic() > deadline:
            raise BenchmarkError(
                f"not done 30 minutes after the last due instant: {unfired} timers unfired, {len(received.keys)} delivered"
            )
        time.sleep(0.2)


# measuring


@dataclass(frozen=True)
class Measured:
    configuration: str
    run: str
    timers: int
    fired_per_s: float
    pass_lag: tuple[float, float, float]  # fired_at - due_at: p50, p99, max
    committed_lag: tuple[float, float, float]  # first seen committed - due_at
    delivered_lag: tuple[float, float, float]  # webhook arrival - due_at
    duplicates: int
    cpu_ms_per_timer: float  # the worker processes' CPU from the first due instant on, firing and delivering
    script_cpu_ms_per_timer: float  # this script's over the same time: the receivers, mostly


def spread_of(values: list[float]) -> tuple[float, float, float]:
    array = np.array(values)
    return float(np.percentile(array, 50)), float(np.percentile(array, 99)), float(array.max())


def measure(
    engine: Engine, load: Load, received: Received, watch: CommitWatch, cpu: Spent, configuration: str, run: str
) -> Measured:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Timer.due_at, Timer.fired_at, Timer.outcome).where(
                Timer.kind == "comms_overdue", Timer.fired_at.is_not(None), Timer.due_at <= load.last_due
            )
        ).all()
        events = connection.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.type == "comms"))
        outbox = set(connection.scalars(select(OutboxMessage.idempotency_key)))
        unsent = connection.scalar(select(func.count()).where(OutboxMessage.status != "sent"))
    acted = [row for row in rows if row.outcome == "acted"]
    if len(acted) != load.timers or events != load.timers or len(watch.seen) != load.timers:
        raise BenchmarkError(
            f"{configuration}, {run}: {len(acted)} timers acted, {events} comms events, {len(watch.seen)} seen;"
            f" not {load.timers}"
        )
    if set(received.keys) != outbox or unsent:
        raise BenchmarkError(f"{configuration}, {run}: {unsent} messages not sent, or received keys differ")
    committed = [(seen - due).total_seconds() for due, seen in watch.seen.values()]
    last_seen = max(seen for _, seen in watch.seen.values())
    busy = (last_seen - load.first_due).total_seconds()
    return Measured(
        configuration,
        run,
        len(acted),
        len(acted) / busy,
        spread_of([(row.fired_at - row.due_at).total_seconds() for row in acted]),
        spread_of(committed),
        spread_of(received.webhook_lags),
        sum(count - 1 for count in received.keys.values()),
        cpu.workers * 1000 / load.timers,
        cpu.script * 1000 / load.timers,
    )


def run_postgres(admin_url: URL, workers: int, tickets: int, spread: float, lead: float, logs: Path) -> list[Measured]:
    results = []
    for run, run_spread in (("within a minute", spread), ("all at once", 0.0)):
        received = Received()
        with postgres_database(admin_url, "timers") as url, receivers(received) as (smtp, hook):
            engine = make_engine(url)
            try:
                ids = set_up_desk(engine, hook, datetime.now(UTC))
                load = Load(tickets, datetime.now(UTC) + timedelta(seconds=lead), timedelta(seconds=run_spread))
                took = open_load(engine, ids, load)
                console.print(f"  {tickets:,} tickets opened in {took:.1f} s; workers start")
                if datetime.now(UTC) >= load.first_due:
                    raise BenchmarkError(f"opening took longer than --lead ({lead:g} s): raise it")
                command = [sladesk_command(), "worker"]
                with (
                    processes(
                        [command] * workers, worker_env(url, smtp), logs / f"pg-{workers}-{run_spread:g}"
                    ) as running,
                    CommitWatch(engine) as watch,
                ):
                    started = cpu_when_due(load, running)
                    wait_until_done(engine, load, received, running, logs)
                    cpu = started.spent(running)
                results.append(measure(engine, load, received, watch, cpu, f"PostgreSQL, {workers} worker(s)", run))
            finally:
                engine.dispose()
        print_row(results[-1])
    return results


def run_sqlite(tickets: int, spread: float, lead: float, logs: Path) -> list[Measured]:
    results = []
    for run, run_spread in (("within a minute", spread), ("all at once", 0.0)):
        received = Received()
        with tempfile.TemporaryDirectory(prefix="sladesk-timers-") as directory, receivers(received) as (smtp, hook):
            data_dir = Path(directory)
            url = URL.create("sqlite", database=str(data_dir / "sladesk.db"))
            engine = make_engine(url)
            try:
                upgrade(engine)
                ids = set_up_desk(engine, hook, datetime.now(UTC))
                load = Load(tickets, datetime.now(UTC) + timedelta(seconds=lead), timedelta(seconds=run_spread))
                took = open_load(engine, ids, load)
                console.print(f"  {tickets:,} tickets opened in {took:.1f} s; sladesk serve starts")
                if datetime.now(UTC) >= load.first_due:
                    raise BenchmarkError(f"opening took longer than --lead ({lead:g} s): raise it")
                command = [sladesk_command(), "serve", "--port", str(free_port())]
                env, where = worker_env(None, smtp, data_dir), logs / f"sqlite-{run_spread:g}"
                with processes([command], env, where) as running, CommitWatch(engine) as watch:
                    started = cpu_when_due(load, running)
                    wait_until_done(engine, load, received, running, logs)
                    cpu = started.spent(running)
                results.append(measure(engine, load, received, watch, cpu, "SQLite, embedded worker", run))
            finally:
                engine.dispose()
        print_row(results[-1])
    return results


# the page path


@dataclass(frozen=True)
class PagePath:
    """One run of the page path: each P1 ticket's opening to its on-call page, in seconds."""

    configuration: str
    tickets: int
    per_s: float  # the openings' rate
    recorded: tuple[float, float, float]  # opened -> the page in the history (the worker's pass instant)
    delivered: tuple[float, float, float]  # opened -> the page's email at the SMTP server
    duplicates: int


def set_up_paging_desk(engine: Engine, now: datetime) -> tuple[int, int]:
    """An Alli organisation and its customer (ids); an admin; the on-call agent, alone on the `primary` schedule
    around the clock; the escalation policy `default` that Alli's P1 pages through: `primary` at once, the next
    step half an hour later (beyond the run)."""
    sessions = make_sessions(engine)
    with transaction(sessions) as session:
        organisation = create_organisation(session, None, name="Alli customer", policy_id="alli", now=now)
        customer = create_user(
            session,
            None,
            email="ops@customer.example",
            name="Ops",
            role=Role.CUSTOMER,
            organisation_id=organisation.id,
            now=now,
        )
        on_call = create_user(session, None, email="oncall@desk.example", name="On call", role=Role.AGENT, now=now)
        admin = create_user(session, None, email="admin@desk.example", name="Admin", role=Role.ADMIN, now=now)
        session.flush()
        boss = actor_of(session, admin.id)
        start = (now - timedelta(days=2)).strftime("%Y-%m-%dT09:00")
        layers = [{"id": "always", "start": start, "rotation": "daily", "people": [on_call.id]}]
        create_schedule(session, boss, "primary", "Primary", "America/Chicago", layers, now=now)
        steps = [{"targets": [{"schedule": "primary"}], "escalate_after": "30m"}]
        create_policy(session, boss, "default", "Default", {"steps": steps}, now=now)
        return organisation.id, customer.id


def wait_until_started(running: list[subprocess.Popen[bytes]], logs: Path) -> None:
    """Until every worker has entered its loop (imports and the database check take seconds on a busy machine)."""
    deadline = time.monotonic() + 120
    while True:
        for process in running:
            if process.poll() is not None:
                raise BenchmarkError(f"a worker ended with {process.returncode}; see {logs}")
        outputs = [path.read_text() for path in sorted(logs.glob("process-*.log"))]
        if len(outputs) == len(running) and all('"message": "worker started"' in text for text in outputs):
            return
        if time.monotonic() > deadline:
            raise BenchmarkError(f"the workers did not start within 2 minutes; see {logs}")
        time.sleep(0.1)


def open_one_by_one(engine: Engine, customer_id: int, tickets: int, per_s: float) -> dict[int, datetime]:
    """Open `tickets` Alli P1 tickets, each in a unit of work of its own as a request would, `per_s` a second;
    each ticket's opening instant (the `now` it was opened at, just before its unit of work began)."""
    sessions = make_sessions(engine)
    with reading(sessions) as session:
        customer = actor_of(session, customer_id)
    opened: dict[int, datetime] = {}
    started = time.monotonic()
    for number in range(tickets):
        wait = started + number / per_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        now = datetime.now(UTC)
        with transaction(sessions) as session:
            change = open_ticket(
                session,
                customer,
                subject=f"Every dashboard is empty ({number})",
                description="No data for any client since 02:40.",
                severity="P1",
                now=now,
            )
        opened[change.ticket.id] = now
    return opened


def page_keys(engine: Engine, tickets: set[int]) -> dict[int, list[str]]:
    """The idempotency keys of the page messages queued so far, by ticket."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(OutboxMessage.ticket_id, OutboxMessage.idempotency_key)
            .join(TicketEvent, TicketEvent.id == OutboxMessage.event_id)
            .where(TicketEvent.type == "page")
        ).all()
    keys: dict[int, list[str]] = {}
    for ticket, key in rows:
        if ticket in tickets:
            keys.setdefault(ticket, []).append(key)
    return keys


def run_page_path(admin_url: URL, workers: int, tickets: int, per_s: float, logs: Path) -> PagePath:
    received = Received()
    with postgres_database(admin_url, "paging") as url, receivers(received) as (smtp, _hook):
        engine = make_engine(url)
        try:
            _organisation, customer = set_up_paging_desk(engine, datetime.now(UTC))
            command = [sladesk_command(), "worker"]
            where = logs / f"pg-{workers}-pages"
            with processes([command] * workers, worker_env(url, smtp), where) as running:
                wait_until_started(running, where)
                opened = open_one_by_one(engine, customer, tickets, per_s)
                deadline = time.monotonic() + 300
                while True:
                    for process in running:
                        if process.poll() is not None:
                            raise BenchmarkError(f"a worker ended with {process.returncode}; see {where}")
                    keys = page_keys(engine, set(opened))
                    if len(keys) == len(opened) and all(k in received.arrived for ks in keys.values() for k in ks):
                        break
                    if time.monotonic() > deadline:
                        raise BenchmarkError(f"{len(keys)} of {len(opened)} tickets paged after 5 minutes; see {where}")
                    time.sleep(0.1)
            with engine.connect() as connection:
                pages = connection.execute(
                    select(TicketEvent.ticket_id, TicketEvent.at).where(TicketEvent.type == "page")
                ).all()
        finally:
            engine.dispose()
    paged_at = dict(pages)
    if len(pages) != len(opened) or set(paged_at) != set(opened) or any(len(k) != 1 for k in keys.values()):
        raise BenchmarkError(f"{len(pages)} pages for {len(opened)} tickets: each should page its one person once")
    delivered = [(received.arrived[keys[ticket][0]] - at).total_seconds() for ticket, at in opened.items()]
    recorded = [(paged_at[ticket] - at).total_seconds() for ticket, at in opened.items()]
    duplicates = sum(received.keys[ks[0]] - 1 for ks in keys.values())
    return PagePath(
        f"PostgreSQL, {workers} worker(s)", tickets, per_s, spread_of(recorded), spread_of(delivered), duplicates
    )


def print_page_path(result: PagePath, sweep: timedelta) -> None:
    """The run's figures and, as the baseline, a desk whose worker sweeps for due pages every `sweep`: a page
    waits for the next sweep, a wait spread evenly over the sweep for tickets opening at any instant."""
    table = Table(
        title="Page path: a P1's opening to its on-call page, p50 / p99 / max in seconds", title_justify="left"
    )
    for column in ("desk", "tickets", "page recorded", "page delivered", "duplicates"):
        table.add_column(column, justify="left" if column == "desk" else "right")
    table.add_row(
        f"sladesk, {result.configuration}",
        f"{result.tickets:,} at {result.per_s:g}/s",
        seconds(result.recorded),
        seconds(result.delivered),
        str(result.duplicates),
    )
    every = sweep.total_seconds()
    baseline = (every * 0.5, every * 0.99, every)
    table.add_row(f"baseline: a sweep every {format_minutes(sweep)}", "any", seconds(baseline), seconds(baseline), "-")
    console.print(table)


def format_minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:g} min"


def seconds(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in values)


def print_row(result: Measured) -> None:
    console.print(
        f"  {result.configuration}, {result.run}: {result.fired_per_s:,.0f} timers/s; lag p50/p99/max (s):"
        f" committed {seconds(result.committed_lag)}, pass start {seconds(result.pass_lag)},"
        f" delivered {seconds(result.delivered_lag)}; {result.duplicates} duplicate deliveries;"
        f" worker CPU {result.cpu_ms_per_timer:.1f} ms per timer (receivers {result.script_cpu_ms_per_timer:.1f} ms)"
    )


def print_table(results: list[Measured]) -> None:
    table = Table(title="Timers: lag from due, p50 / p99 / max in seconds", title_justify="left")
    for column in ("configuration", "due", "timers", "fired/s"):
        table.add_column(column, justify="left" if column in ("configuration", "due") else "right")
    for column in (
        "committed",
        "pass start (fired_at)",
        "webhook delivered",
        "duplicates",
        "CPU ms/timer",
        "receivers ms/timer",
    ):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r.configuration,
            r.run,
            f"{r.timers:,}",
            f"{r.fired_per_s:,.0f}",
            seconds(r.committed_lag),
            seconds(r.pass_lag),
            seconds(r.delivered_lag),
            str(r.duplicates),
            f"{r.cpu_ms_per_timer:.1f}",
            f"{r.script_cpu_ms_per_timer:.1f}",
        )
    console.print(table)


def load_average() -> str:
    """The machine's load averages over 1, 5 and 15 minutes: other work competing for its cores."""
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl+C: the workers stop and the databases are dropped on the way out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("SLADESK_BENCH_POSTGRES_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets, two timers each (default 10,000)")
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which the timers fall due (60)")
    parser.add_argument("--lead", type=float, default=20.0, help="seconds from the tickets' writing to the first due")
    parser.add_argument("--workers", default="1,4", help="PostgreSQL worker counts (default 1,4)")
    parser.add_argument("--logs", type=Path, default=None, help="where the workers' logs go (default: a temp dir)")
    parser.add_argument("--page-tickets", type=int, default=200, help="P1 tickets for the page path (200)")
    parser.add_argument("--page-rate", type=float, default=20.0, help="page path tickets opened per second (20)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    which.add_argument("--sqlite-only", action="store_true", help="SQLite only")
    which.add_argument("--page-path-only", action="store_true", help="the page path only")
    args = parser.parse_args()
    logs = args.logs or Path(tempfile.mkdtemp(prefix="sladesk-timers-logs-"))
    load = (
        f"{args.page_tickets:,} Alli P1 tickets paging on-call at {args.page_rate:g}/s"
        if args.page_path_only
        else f"{args.tickets:,} Alli P1 tickets, {args.tickets * TIMERS_PER_TICKET:,} timers due over {args.spread:g} s"
    )
    console.print(
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}; {load};"
        f" worker logs in {logs}; load average {load_average()}"
    )
    results: list[Measured] = []
    page_path: PagePath | None = None
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        admin_url = make_url(args.database_url)
        if not (args.sqlite_only or args.page_path_only):
            for workers in (int(part) for part in args.workers.split(",")):
                console.print(f"PostgreSQL, {workers} worker(s)")
                results += run_postgres(admin_url, workers, args.tickets, args.spread, args.lead, logs)
        if not args.sqlite_only:
            console.print(
                f"Page path: PostgreSQL, {PAGE_WORKERS} workers, {args.page_tickets:,} Alli P1 tickets"
                f" at {args.page_rate:g}/s"
            )
            page_path = run_page_path(admin_url, PAGE_WORKERS, args.page_tickets, args.page_rate, logs)
        if not (args.no_sqlite or args.page_path_only):
            console.print("SQLite, embedded worker (sladesk serve)")
            results += run_sqlite(args.tickets, args.spread, args.lead, logs)
    except BenchmarkError as error:
        console.print(f"[red]cannot run: {error}[/red]")
        return 1
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]")
        return 1
    if results:
        print_table(results)
    if page_path is not None:
        print_page_path(page_path, BASELINE_SWEEP)
    four = [r for r in results if r.configuration == "PostgreSQL, 4 worker(s)"]
    spread_four = next((r for r in four if r.run == "within a minute"), None)
    burst_four = next((r for r in four if r.run == "all at once"), None)
    goals: list[Goal] = [
        (
            "lag p99 (due to committed) < 1 s, 4 workers, timers due within a minute",
            f"{spread_four.committed_lag[1]:.2f} s" if spread_four else "-",
            spread_four.committed_lag[1] < 1.0 if spread_four else None,
        ),
        (
            ">= 1,000 timers fired/s, 4 workers",
            f"{burst_four.fired_per_s:,.0f}/s" if burst_four else "-",
            burst_four.fired_per_s >= 1000 if burst_four else None,
        ),
        (
            f"page path p99 (P1 opened to page delivered) < 1 s, {PAGE_WORKERS} workers",
            f"{page_path.delivered[1]:.2f} s" if page_path else "-",
            page_path.delivered[1] < 1.0 if page_path else None,
        ),
    ]
    print_goals(console, goals)
    console.print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
