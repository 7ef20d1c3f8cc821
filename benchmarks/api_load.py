"""Benchmark: the REST API on PostgreSQL under concurrent load, and the work queue at 100,000 open tickets.

    python benchmarks/api_load.py [--database-url URL] [--creates 5000] [--clients 50] [--workers 1,2]
                                  [--no-peer | --compare-only | --peer-only]

Everything runs in a fresh PostgreSQL schema that the script creates, migrates and drops again
(`options=-csearch_path=...` on the URL), on the real API served by uvicorn in a subprocess on a
free loopback port, with `SLADESK_DATABASE_URL` pointing it at that schema.

1. Organisations under five built-in policies, customers, an agent and their API tokens are made
   through the services (`create_organisation`, `create_user`, `issue_token`).
2. Load: for each uvicorn worker count in --workers, --clients concurrent HTTP clients (one
   httpx2 AsyncClient, one connection each; httpx's own AsyncClient tops out near 300 requests/s
   here with 50 connections) work through a shuffled list of --creates ticket openings
   (`POST /api/v1/tickets` as a random customer, with a severity drawn from a realistic mix) and
   --queue-reads queue reads (`GET /api/v1/queue` as the agent), after --warmup untimed openings.
   Each request is timed from send to full response; the table gives requests per second over the
   wall time of the whole mix, p50/p99/max latency for each kind, and the CPU the API processes
   and the whole machine used (from /proc). The same clients on `GET /api/health` (no database)
   give the client's ceiling.
3. --open-tickets (100,000) open tickets are written straight into the database in batches with
   SQLAlchemy core (going through the services would take far too long): every column of the
   `Ticket` model, one `opened` event each, and one `sla_clocks` row per metric, with deadlines
   from the policies' own calendars (`add_many`, `between_many`) at one fixed `now`. A random
   sample is replayed through the services and must match the rows written. Then ANALYZE.
4. `GET /api/v1/queue?limit=50` (the first page) is timed --queue-repeat times one after another,
   beside the queue's SQL alone (the route's ORDER BY ... LIMIT run directly, and its plan).

Side by side (first, skipped with --no-peer): the same client and --clients open --creates tickets in
sladesk and in django-helpdesk 2.6.1 (`helpdesk_peer.py`: its own venv, a Django project it writes,
gunicorn, a database of its own on the same PostgreSQL server), both with --compare-workers worker
processes, in rounds that alternate between the two; one table gives both rates, latencies and the
ratio. --compare-only runs just this, --peer-only just django-helpdesk's half.

Goals (reported, never the exit status): >= 500 ticket openings/s with p99 < 100 ms, the queue's
first page in < 50 ms (p99) at 100,000 open tickets, and at least 5x django-helpdesk's openings/s.
The script exits 1 only if a request fails, django-helpdesk cannot be set up, or the bulk-loaded
rows disagree with a replay of the same tickets.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import numpy.typing as npt
from fastapi import FastAPI
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine, func, make_url, select, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from goals import Goal, print_goals
from helpdesk_peer import DEFAULT_DATABASE as PEER_DATABASE
from helpdesk_peer import DEFAULT_THREADS as PEER_THREADS
from helpdesk_peer import HELPDESK_VERSION, Peer, PeerError, default_venv, helpdesk_peer
from sladesk.api import create_app
from sladesk.policy import Policy, load_policy
from sladesk.services import Actor, Role, actor_of, create_organisation, create_user, issue_token
from sladesk.services.bulk import open_tickets
from sladesk.services.clocks import replay_ticket
from sladesk.services.tickets import Opening
from sladesk.services.views import queue_order, ticket_view
from sladesk.sla import ClockInstants
from sladesk.sla.queue import next_pending_due
from sladesk.store import database_url, make_engine, make_sessions, transaction, upgrade
from sladesk.store.tables import Organisation, SlaClock, Ticket

IntArray = npt.NDArray[np.int64]

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HERE = Path(__file__).resolve().parent

GOAL_CREATE_RATE = 500
GOAL_CREATE_P99_MS = 100.0
GOAL_QUEUE_P99_MS = 50.0
GOAL_PEER_RATIO = 5.0  # sladesk's openings/s over django-helpdesk's, same load and worker count

# (policy, tier) of each organisation: all five built-in policies, every Sourcegraph tier
ORGANISATIONS: tuple[tuple[str, str | None], ...] = (
    ("alleo", None),
    ("alleo", None),
    ("alleo", None),
    ("alleo", None),
    ("sourcegraph", "pre_sales"),
    ("sourcegraph", "enterprise"),
    ("sourcegraph", "enterprise"),
    ("sourcegraph", "team"),
    ("sourcegraph", "free"),
    ("sourcegraph", "open_source"),
    ("sourcegraph", "internal"),
    ("choozle", None),
    ("choozle", None),
    ("choozle", None),
    ("aspenware", None),
    ("aspenware", None),
    ("aspenware", None),
    ("alli", None),
)
CUSTOMERS_PER_ORGANISATION = 3
# how often each severity rank is chosen (rank 1 is rare), cut to the ranks a policy has
SEVERITY_WEIGHTS = (0.03, 0.17, 0.50, 0.30)
OPENED_WITHIN = timedelta(days=21)  # bulk-loaded tickets were opened over the last three weeks
SUBJECTS = (
    "Nobody can sign in",
    "Export to CSV times out",
    "Dashboard loads slowly for all users",
    "How do we configure single sign-on?",
    "Invoice shows the wrong currency",
    "Webhook deliveries are delayed",
    "Typo on the settings page",
    "Search returns no results after the upgrade",
)
DESCRIPTION = (
    "Since this morning several people in our team see this. Steps: open the page, wait, then "
    "retry; it happens every time. Browser and version do not matter. Please advise."
)


# the server


def server_app() -> FastAPI:
    """The app uvicorn serves (`--factory`): the database is `SLADESK_DATABASE_URL`, as in production."""
    app: FastAPI = create_app(make_sessions(make_engine(database_url())))
    return app


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    base: str
    pid: int


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by a process and its descendants; 0.0 without /proc."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parents: dict[int, int] = {}
    used: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = int(fields[11]) + int(fields[12])
    tree, grew = {root}, True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(children)
        tree |= children
    return sum(used.get(pid, 0) for pid in tree) / ticks


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat; zeros without it."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


@contextmanager
def serve(url: URL, workers: int) -> Iterator[Server]:
    """uvicorn with `workers` processes on a free loopback port."""
    port = free_port()
    env = {**os.environ, "SLADESK_DATABASE_URL": url.render_as_string(hide_password=False)}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "api_load:server_app",
        "--factory",
        "--app-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with status {process.returncode}")
            try:
                if httpx2.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not answer /api/health within 60 s")
            time.sleep(0.1)
        yield Server(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# the database


@contextmanager
def fresh_schema(admin_url: str) -> Iterator[URL]:
    """A new schema on the server at `admin_url`, dropped afterwards; yields a URL whose search_path is it."""
    admin = make_engine(admin_url)
    schema = f"bench_{secrets.token_hex(6)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Customer:
    user_id: int
    organisation_id: int
    policy_id: str
    headers: dict[str, str]


@dataclass
class Directory:
    organisations: list[Organisation]
    customers: list[Customer]
    agent_headers: dict[str, str]
    agent_id: int


def seed_directory(sessions: sessionmaker[Session]) -> Directory:
    """Organisations, their customers and an agent, each with an API token, through the services."""
    organisations, customers = [], []
    with transaction(sessions) as session:
        for index, (policy_id, tier) in enumerate(ORGANISATIONS, start=1):
            organisation = create_organisation(
                session, None, name=f"Customer {index} ({policy_id})", policy_id=policy_id, tier=tier
            )
            organisations.append(organisation)
            for number in range(1, CUSTOMERS_PER_ORGANISATION + 1):
                user = create_user(
                    session,
                    None,
                    email=f"customer{number}@org{index}.example.com",
                    name=f"Customer {number} of {organisation.name}",
                    role=Role.CUSTOMER,
                    organisation_id=organisation.id,
                )
                token = issue_token(session, user.id, "benchmark")
                customers.append(Customer(user.id, organisation.id, policy_id, {"Authorization": f"Bearer {token}"}))
        agent = create_user(session, None, email="agent@example.com", name="Agent", role=Role.AGENT)
        agent_token = issue_token(session, agent.id, "benchmark")
    return Directory(organisations, customers, {"Authorization": f"Bearer {agent_token}"}, agent.id)


def severity_weights(policy: Policy) -> list[float]:
    weights = list(SEVERITY_WEIGHTS[: len(policy.severities)])
    weights += [SEVERITY_WEIGHTS[-1]] * (len(policy.severities) - len(weights))
    total = sum(weights)
    return [w / total for w in weights]


# 2. load: ticket openings and queue reads from concurrent clients


@dataclass
class Kind:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    kind: str
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    expected: int


@dataclass
class Mix:
    seconds: float
    kinds: dict[str, Kind]
    api_cpu: float  # CPU seconds of the uvicorn processes during the mix
    machine_busy: float  # busy CPU seconds of the whole machine during the mix
    machine_total: float

    def rate(self, kind: str) -> float:
        return len(self.kinds[kind].latencies) / self.seconds

    def cpu_per_request(self) -> float | None:
        """CPU seconds of the API processes per request (all kinds, failures included); None without /proc."""
        calls = sum(len(k.latencies) + len(k.failures) for k in self.kinds.values())
        return self.api_cpu / calls if calls and self.machine_total else None

    def usage(self) -> list[str]:
        """Wall seconds, the API's cores and CPU ms per request, and the machine's busy cores."""
        calls = sum(len(k.latencies) + len(k.failures) for k in self.kinds.values())
        if not self.machine_total:
            return [f"{self.seconds:.1f}", "-", "-", "-"]
        return [
            f"{self.seconds:.1f}",
            f"{self.api_cpu / self.seconds:.2f}",
            f"{self.api_cpu / calls * 1000:.2f}",
            f"{self.machine_busy / self.seconds:.2f} / {self.machine_total / self.seconds:.0f}",
        ]


@dataclass
class LoadRun:
    workers: int
    ceiling: Mix
    mix: Mix


def opening(rng: random.Random, directory: Directory) -> Call:
    customer = rng.choice(directory.customers)
    policy = load_policy(customer.policy_id)
    severity = rng.choices(policy.severities, weights=severity_weights(policy))[0]
    body = {"subject": rng.choice(SUBJECTS), "description": DESCRIPTION, "severity": severity.code}
    return Call("create", "POST", "/api/v1/tickets", customer.headers, body, 201)


def queue_read(directory: Directory, limit: int) -> Call:
    return Call("queue", "GET", f"/api/v1/queue?limit={limit}", directory.agent_headers, None, 200)


HEALTH = Call("health", "GET", "/api/health", {}, None, 200)
KIND_NAMES = {
    "create": "POST /api/v1/tickets",
    "queue": "GET /api/v1/queue",
    "health": "GET /api/health (ceiling)",
    "helpdesk": "POST /api/tickets/",
}


async def run_calls(server: Server, calls: Sequence[Call], clients: int) -> Mix:
    """`clients` concurrent clients, one connection each, take the calls in order until none are left."""
    kinds = {call.kind: Kind(KIND_NAMES.get(call.kind, call.path)) for call in calls}
    work = iter(calls)
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(base_url=server.base, limits=limits, timeout=httpx2.Timeout(60.0)) as client:

        async def one_client() -> None:
            for call in work:  # one shared iterator: each call is made once
                began = time.perf_counter()
                try:
                    response = await client.request(call.method, call.path, headers=call.headers, json=call.body)
                    elapsed = time.perf_counter() - began
                    if response.status_code == call.expected:
                        kinds[call.kind].latencies.append(elapsed)
                    else:
                        kinds[call.kind].failures.append(f"{response.status_code}: {response.text[:300]}")
                except httpx2.HTTPError as error:
                    kinds[call.kind].failures.append(f"{type(error).__name__}: {error}")

        api_before, (busy_before, total_before) = process_tree_cpu(server.pid), machine_cpu()
        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        seconds = time.perf_counter() - began
        api_after, (busy_after, total_after) = process_tree_cpu(server.pid), machine_cpu()
    return Mix(seconds, kinds, api_after - api_before, busy_after - busy_before, total_after - total_before)


def load_plan(directory: Directory, creates: int, queue_reads: int, seed: int) -> list[Call]:
    rng = random.Random(seed)
    calls = [opening(rng, directory) for _ in range(creates)] + [queue_read(directory, 50)] * queue_reads
    rng.shuffle(calls)
    return calls


def customer_emails() -> list[str]:
    """The customers' addresses, as `seed_directory` makes them."""
    return [
        f"customer{number}@org{index}.example.com"
        for index in range(1, len(ORGANISATIONS) + 1)
        for number in range(1, CUSTOMERS_PER_ORGANISATION + 1)
    ]


def peer_plan(peer: Peer, creates: int, seed: int) -> list[Call]:
    """django-helpdesk's ticket creations: the same subjects and text, a random customer as the submitter (who
    is mailed), priority 1-4 drawn with the same weights as sladesk's severities, as the peer's staff user."""
    rng = random.Random(seed)
    emails = customer_emails()
    priorities = list(range(1, len(SEVERITY_WEIGHTS) + 1))
    calls = []
    for _ in range(creates):
        body = {
            "queue": peer.queue_id,
            "title": rng.choice(SUBJECTS),
            "description": DESCRIPTION,
            "submitter_email": rng.choice(emails),
            "priority": rng.choices(priorities, weights=SEVERITY_WEIGHTS)[0],
        }
        calls.append(Call("helpdesk", "POST", "/api/tickets/", peer.headers, body, 201))
    return calls


# 2b. side by side: sladesk and django-helpdesk under the same ticket-creation load


@dataclass
class SideBySide:
    workers: int  # worker processes of each server
    clients: int
    creates: int
    rounds: int
    sladesk: Mix | None = None
    peer: Mix | None = None
    peer_error: str | None = None

    def ratio(self) -> float | None:
        """sladesk's creations per second over django-helpdesk's."""
        if self.sladesk is None or self.peer is None or not self.peer.rate("helpdesk"):
            return None
        return self.sladesk.rate("create") / self.peer.rate("helpdesk")


def combine(mixes: Sequence[Mix]) -> Mix:
    """Several runs as one: their wall times, CPU and requests added up."""
    kinds: dict[str, Kind] = {}
    for mix in mixes:
        for key, kind in mix.kinds.items():
            into = kinds.setdefault(key, Kind(kind.name))
            into.latencies += kind.latencies
            into.failures += kind.failures
    return Mix(
        sum(m.seconds for m in mixes),
        kinds,
        sum(m.api_cpu for m in mixes),
        sum(m.machine_busy for m in mixes),
        sum(m.machine_total for m in mixes),
    )


def rounds_of(calls: list[Call], rounds: int) -> list[list[Call]]:
    size = -(-len(calls) // rounds)
    return [calls[start : start + size] for start in range(0, len(calls), size)]


def side_by_side(
    console: Console, args: argparse.Namespace, side: SideBySide, url: URL | None, directory: Directory | None
) -> None:
    """Both servers up at once, idle but for the one under load: after each one's untimed creations, the timed
    creations are split into --compare-rounds rounds that alternate between sladesk and django-helpdesk, so that
    other work on the machine weighs on both alike. Without `url` (--peer-only) only django-helpdesk runs."""
    with ExitStack() as stack:
        peer: Peer | None = None
        try:
            peer = stack.enter_context(
                helpdesk_peer(
                    args.database_url,
                    workers=side.workers,
                    threads=args.peer_threads,
                    venv=args.peer_venv,
                    database=args.peer_database,
                    console=console,
                )
            )
        except PeerError as error:
            side.peer_error = str(error)
        loads: list[tuple[str, Server, list[Call], list[list[Call]]]] = []  # name, server, warmup, rounds
        if url is not None and directory is not None:
            ours = stack.enter_context(serve(url, side.workers))
            warmup = load_plan(directory, args.warmup, 0, args.seed + 2000)
            plan = load_plan(directory, side.creates, 0, args.seed + 3000)
            loads.append(("sladesk", ours, warmup, rounds_of(plan, side.rounds)))
        if peer is not None:
            kind = "sync worker(s)" if peer.threads == 1 else f"gthread worker(s) of {peer.threads} threads"
            console.print(
                f"django-helpdesk {HELPDESK_VERSION} under gunicorn, {peer.workers} {kind} on 127.0.0.1, "
                f"database {peer.database!r} on the same server (dropped afterwards), venv {args.peer_venv}"
            )
            theirs = Server(peer.base, peer.pid)
            warmup = peer_plan(peer, args.warmup, args.seed + 2000)
            plan = peer_plan(peer, side.creates, args.seed + 3000)
            loads.append(("peer", theirs, warmup, rounds_of(plan, side.rounds)))
        for _, server, warmup, _ in loads:
            if warmup:
                asyncio.run(run_calls(server, warmup, side.clients))
        mixes: dict[str, list[Mix]] = {name: [] for name, *_ in loads}
        for number in range(side.rounds):
            for name, server, _, rounds in loads:
                if number < len(rounds):
                    mixes[name].append(asyncio.run(run_calls(server, rounds[number], side.clients)))
    if mixes.get("sladesk"):
        side.sladesk = combine(mixes["sladesk"])
    if mixes.get("peer"):
        side.peer = combine(mixes["peer"])


def quotient(numerator: float | None, denominator: float | None, digits: int = 2) -> str:
    if numerator is None or denominator is None or not denominator or math.isnan(numerator / denominator):
        return "-"
    return f"{numerator / denominator:,.{digits}f}x"


def print_side_by_side(console: Console, side: SideBySide, warmup: int) -> bool:
    """The side-by-side table; True if a request failed or the peer could not be run."""
    table = latency_table(
        f"Side by side: {side.clients} concurrent clients, {side.creates:,} ticket creations against each server, "
        f"{side.workers} worker process(es) each",
        "server",
        ("wall s", "API cores", "API CPU ms/req", "busy cores"),
    )
    rows = []
    if side.sladesk is not None:
        rows.append(("sladesk (uvicorn)", side.sladesk, side.sladesk.kinds["create"]))
    if side.peer is not None:
        rows.append((f"django-helpdesk {HELPDESK_VERSION} (gunicorn)", side.peer, side.peer.kinds["helpdesk"]))
    if side.peer_error is not None:
        console.print(f"[bold red]django-helpdesk could not be run:[/bold red] {side.peer_error}", highlight=False)
    if not rows:
        return True
    for label, mix, kind in rows:
        table.add_row(*latency_row(label, kind, mix.seconds, *mix.usage()))
    if side.sladesk is not None and side.peer is not None:
        ours, theirs = side.sladesk.kinds["create"], side.peer.kinds["helpdesk"]
        (ours_p50, ours_p99, ours_max), (their_p50, their_p99, their_max) = (
            percentiles(ours.latencies),
            percentiles(theirs.latencies),
        )
        table.add_row(
            "sladesk / django-helpdesk",
            "",
            "",
            "",
            f"[bold]{quotient(side.ratio(), 1.0, 1)}[/bold]",
            quotient(ours_p50, their_p50),
            quotient(ours_p99, their_p99),
            quotient(ours_max, their_max),
            "",
            "",
            quotient(side.sladesk.cpu_per_request(), side.peer.cpu_per_request()),
            "",
            end_section=True,
        )
    console.print(table)
    console.print(
        f"Ticket creations only, with the same client; both servers are up, only one is loaded at a time. Each "
        f"gets {warmup} untimed creations, then the timed ones in {side.rounds} round(s) that alternate between "
        "the two; req/s = requests / the summed wall time of its rounds. sladesk: "
        "POST /api/v1/tickets as a random customer (severity drawn 3/17/50/30 %). django-helpdesk: its DRF API, "
        "POST /api/tickets/ with a staff user's token (it needs staff), the same subjects and text, a random "
        "customer's address as the submitter (who is mailed, to Django's in-memory backend), priority 1-4 drawn "
        "with the same weights. The ratio row divides sladesk's figure by django-helpdesk's in every column "
        "(below 1 in the latency and CPU columns: sladesk's figure is the lower)."
    )
    failed = False
    for label, _, kind in rows:
        print_failures(console, f"{label}:", kind)
        failed |= bool(kind.failures)
    return failed or side.peer_error is not None


# 3. 100,000 open tickets straight into the database


@dataclass
class Loaded:
    count: int
    seconds: float
    clock_rows: int
    ticket_ids: list[int]
    now: datetime


def openings_for(rng: random.Random, directory: Directory, count: int, now: datetime) -> list[Opening]:
    """`count` tickets from the directory's customers, opened at random over the last three weeks."""
    window = int(OPENED_WITHIN.total_seconds())
    openings = []
    for number in range(count):
        customer = directory.customers[rng.randrange(len(directory.customers))]
        policy = load_policy(customer.policy_id)
        ranks = [s.rank for s in policy.severities]
        openings.append(
            Opening(
                organisation_id=customer.organisation_id,
                requester_id=customer.user_id,
                subject=SUBJECTS[number % len(SUBJECTS)],
                description=DESCRIPTION,
                severity=rng.choices(ranks, weights=severity_weights(policy))[0],
                opened_at=now - timedelta(seconds=rng.randrange(60, window)),
            )
        )
    return openings


def bulk_load(
    console: Console,
    engine: Engine,
    sessions: sessionmaker[Session],
    directory: Directory,
    count: int,
    batch: int,
    seed: int,
    now: datetime,
) -> Loaded:
    """Open `count` tickets through the library's bulk path (the same checks and seam as one opening), in
    transactions of `batch`."""
    rng = random.Random(seed)
    began = time.perf_counter()
    ids: list[int] = []
    columns = [
        TextColumn("[bold]bulk opening[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("tickets"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=not console.is_terminal) as progress:
        task = progress.add_task("tickets", total=count)
        for start in range(0, count, batch):
            chunk = openings_for(rng, directory, min(batch, count - start), now)
            done = len(ids)

            def advance(opened: int, done: int = done) -> None:
                progress.update(task, completed=done + opened)

            with transaction(sessions) as session:
                ids += open_tickets(session, actor_of(session, directory.agent_id), chunk, progress=advance)
    with sessions() as session:
        loaded_clocks = select(func.count()).select_from(SlaClock).where(SlaClock.ticket_id.between(min(ids), max(ids)))
        clock_rows = session.scalar(loaded_clocks) or 0
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE tickets; ANALYZE sla_clocks; ANALYZE ticket_events; ANALYZE organisations")
        )
    return Loaded(count, time.perf_counter() - began, clock_rows, ids, now)


def fixed(instants: ClockInstants) -> ClockInstants:
    """A clock's instants without where its counting was last written (the reading at `now` covers it)."""
    return replace(instants, counted=timedelta(), counting_from=None)


def check_against_replay(sessions: sessionmaker[Session], loaded: Loaded, sample: int, seed: int) -> list[str]:
    """A random sample of the loaded tickets, read as the API reads them, must equal a full replay at `now`."""
    problems: list[str] = []
    chosen = random.Random(seed).sample(loaded.ticket_ids, min(sample, len(loaded.ticket_ids)))
    admin = Actor(0, Role.ADMIN, None)
    with sessions() as session:
        for ticket_id in chosen:
            view = ticket_view(session, admin, ticket_id, loaded.now)
            report = replay_ticket(session, session.get_one(Ticket, ticket_id), loaded.now)
            # what the events fixed (counting goes on from the opening in the store, from now in the replay)
            stored = {clock.metric: (fixed(clock.instants), clock.reading) for clock in view.clocks}
            replayed = {metric_id: (fixed(m.instants), m.reading) for metric_id, m in report.metrics.items()}
            if stored != replayed:
                problems.append(f"ticket {ticket_id}: stored clocks {stored!r} differ from a replay {replayed!r}")
            if view.next_due_at != next_pending_due(report):
                problems.append(
                    f"ticket {ticket_id} next_due_at: {view.next_due_at}, replay {next_pending_due(report)}"
                )
            if view.status != report.history.status:
                problems.append(f"ticket {ticket_id} status: written {view.status}, replay {report.history.status}")
    return problems


# 4. the queue's first page at 100,000 open tickets


def queue_sql(limit: int) -> Any:
    """The queue's query as the queue page runs it (`sladesk.services.views.queue_order`), to time the database alone."""
    return queue_order(select(Ticket)).limit(limit + 1)


def time_queue_http(base: str, headers: dict[str, str], limit: int, repeat: int, warmup: int) -> Kind:
    kind = Kind(f"GET /api/v1/queue?limit={limit}")
    with httpx2.Client(base_url=base, timeout=60) as client:
        for index in range(warmup + repeat):
            began = time.perf_counter()
            response = client.get("/api/v1/queue", headers=headers, params={"limit": limit})
            elapsed = time.perf_counter() - began
            if response.status_code != 200 or len(response.json()) != limit:
                kind.failures.append(f"{response.status_code}: {response.text[:300]}")
            elif index >= warmup:
                kind.latencies.append(elapsed)
    return kind


def time_queue_sql(sessions: sessionmaker[Session], limit: int, repeat: int, warmup: int) -> tuple[Kind, Kind]:
    """The route's query through the ORM (rows to objects), and the same statement's plain rows."""
    orm = Kind(f"queue SQL, ORM objects (LIMIT {limit + 1})")
    core = Kind(f"queue SQL, plain rows (LIMIT {limit + 1})")
    statement = queue_sql(limit)
    with sessions() as session:
        for index in range(warmup + repeat):
            began = time.perf_counter()
            session.execute(statement).all()
            elapsed = time.perf_counter() - began
            session.expunge_all()
            if index >= warmup:
                orm.latencies.append(elapsed)
        connection = session.connection()
        for index in range(warmup + repeat):
            began = time.perf_counter()
            connection.exec_driver_sql(
                str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
            ).all()
            elapsed = time.perf_counter() - began
            if index >= warmup:
                core.latencies.append(elapsed)
    return orm, core


def queue_plan(sessions: sessionmaker[Session], limit: int) -> list[str]:
    with sessions() as session:
        connection = session.connection()
        sql = str(queue_sql(limit).compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        return [str(line) for line in connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").scalars()]


# output


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def percentiles(latencies: Sequence[float]) -> tuple[float, float, float]:
    if not latencies:
        return (float("nan"),) * 3
    p50, p99 = np.percentile(np.asarray(latencies), [50, 99])
    return float(p50), float(p99), max(latencies)


def latency_row(label: str, kind: Kind, seconds: float | None, *rest: str) -> list[str]:
    p50, p99, worst = percentiles(kind.latencies)
    done = len(kind.latencies) + len(kind.failures)
    rate = f"{done / seconds:,.0f}" if seconds else "-"
    failed = f"[red]{len(kind.failures):,}[/red]" if kind.failures else "0"
    return [label, kind.name, f"{done:,}", failed, rate, ms(p50), ms(p99), ms(worst), *rest]


def latency_table(title: str, first: str, rest: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first)
    table.add_column("request")
    for column in ("requests", "failed", "req/s", "p50 ms", "p99 ms", "max ms", *rest):
        table.add_column(column, justify="right" if column != "how" else "left")
    return table


def print_failures(console: Console, label: str, kind: Kind) -> None:
    if kind.failures:
        console.print(f"[red]{label} {kind.name}: {len(kind.failures)} failed[/red]; the first ones:")
        for failure in kind.failures[:5]:
            console.print(f"  {failure}")


def postgres_version(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.execute(text("SHOW server_version")).scalar_one())


def run_load(
    console: Console,
    args: argparse.Namespace,
    url: URL,
    engine: Engine,
    directory: Directory,
    worker_counts: Sequence[int],
) -> tuple[list[LoadRun], bool]:
    """The load mix for each worker count, its table and failures; (runs, whether a request failed)."""
    failed = False
    runs: list[LoadRun] = []
    for number, workers in enumerate(worker_counts):
        with serve(url, workers) as server:
            warmup = load_plan(directory, args.warmup, 0, args.seed + 1000 + number)
            asyncio.run(run_calls(server, warmup, args.clients))
            ceiling = asyncio.run(run_calls(server, [HEALTH] * args.ceiling_requests, args.clients))
            plan = load_plan(directory, args.creates, args.queue_reads, args.seed + number)
            mix = asyncio.run(run_calls(server, plan, args.clients))
        runs.append(LoadRun(workers, ceiling, mix))
    with engine.connect() as connection:
        opened_by_api = connection.execute(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)).scalar()
    load_table = latency_table(
        f"Load: {args.clients} concurrent clients, {args.creates:,} openings + {args.queue_reads:,} queue reads (limit=50) "
        "per run, shuffled",
        "workers",
        ("wall s", "API cores", "API CPU ms/req", "busy cores"),
    )
    for run in runs:
        for key in ("create", "queue"):
            if key in run.mix.kinds:
                load_table.add_row(
                    *latency_row(str(run.workers), run.mix.kinds[key], run.mix.seconds, *run.mix.usage())
                )
        health = run.ceiling.kinds["health"]
        load_table.add_row(
            *latency_row(str(run.workers), health, run.ceiling.seconds, *run.ceiling.usage()), end_section=True
        )
    console.print(load_table)
    console.print(
        "req/s = that kind's requests / the wall time of its run (openings and queue reads share one run); "
        "latency from send to full response. The client ceiling is the same client and concurrency on "
        f"GET /api/health ({args.ceiling_requests:,} requests): no database, the most this client gets "
        f"from this server. {args.warmup} untimed openings before each run; {opened_by_api or 0:,} tickets "
        "opened through the API in all, so the queue grows during the runs. CPU from /proc over the same wall "
        "time: API = the uvicorn processes (CPU ms/req over all requests of the run); machine = every busy "
        "core, PostgreSQL, this client and anything else running included."
    )
    for run in runs:
        for kind in [*run.mix.kinds.values(), *run.ceiling.kinds.values()]:
            print_failures(console, f"{run.workers} worker(s):", kind)
            failed |= bool(kind.failures)
    return runs, failed


def run_queue(
    console: Console,
    args: argparse.Namespace,
    url: URL,
    engine: Engine,
    sessions: sessionmaker[Session],
    directory: Directory,
    limit: int,
) -> tuple[Kind, bool]:
    """Bulk-load the open tickets, check a sample against a replay, time the queue's first page; (the HTTP
    timings, whether anything failed)."""
    failed = False
    now = datetime.now(UTC).replace(microsecond=0)
    loaded = bulk_load(console, engine, sessions, directory, args.open_tickets, args.batch, args.seed, now)
    with engine.connect() as connection:
        open_count = connection.execute(
            select(func.count()).select_from(Ticket).where(Ticket.is_open.is_(True))
        ).scalar_one()
    console.print(
        f"Loaded {loaded.count:,} open tickets, {loaded.count:,} events and {loaded.clock_rows:,} clock rows in "
        f"{loaded.seconds:.1f} s ({loaded.count / loaded.seconds:,.0f} tickets/s, ANALYZE included); "
        f"{open_count:,} open tickets in the schema now."
    )
    problems = check_against_replay(sessions, loaded, args.check_sample, args.seed)
    if problems:
        failed = True
        console.print(f"[red]{len(problems)} differences between the loaded rows and a replay:[/red]")
        for problem in problems[:20]:
            console.print(f"  {problem}")
    else:
        console.print(
            f"{min(args.check_sample, loaded.count)} loaded tickets replayed through the services at the same "
            "now: clocks, next_due_at and status all agree."
        )

    # the queue's first page
    with serve(url, 1) as server:
        http = time_queue_http(server.base, directory.agent_headers, limit, args.queue_repeat, warmup=5)
    orm, core = time_queue_sql(sessions, limit, args.queue_repeat, warmup=5)
    query_plan = queue_plan(sessions, limit)
    queue_table = latency_table(
        f"The queue's first page at {open_count:,} open tickets, {args.queue_repeat} reads one after another",
        "what",
        ("how",),
    )
    queue_table.add_row(*latency_row("API", http, None, "uvicorn, 1 worker, HTTP on loopback"))
    queue_table.add_row(*latency_row("database", orm, None, "the route's query, SQLAlchemy ORM rows"))
    queue_table.add_row(*latency_row("database", core, None, "the same SQL, plain driver rows"))
    console.print(queue_table)
    console.print("Plan of the queue's query (EXPLAIN ANALYZE, BUFFERS):")
    for line in query_plan:
        console.print(f"  {line}", markup=False, highlight=False)
    print_failures(console, "queue:", http)
    failed |= bool(http.failures)
    return http, failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url", default=DEFAULT_DATABASE_URL, help="PostgreSQL (a schema is made and dropped)"
    )
    parser.add_argument("--creates", type=int, default=5_000, help="ticket openings in the load mix and side by side")
    parser.add_argument("--queue-reads", type=int, default=500, help="queue reads in the load mix")
    parser.add_argument("--clients", type=int, default=50, help="concurrent HTTP clients")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts to run the load with, e.g. 1,2,4")
    parser.add_argument("--warmup", type=int, default=200, help="untimed openings before each load run")
    parser.add_argument("--ceiling-requests", type=int, default=3_000, help="GET /api/health calls for the ceiling")
    parser.add_argument("--open-tickets", type=int, default=100_000, help="open tickets to load for the queue")
    parser.add_argument("--batch", type=int, default=5_000, help="tickets per insert transaction")
    parser.add_argument("--queue-repeat", type=int, default=200, help="timed first-page queue reads")
    parser.add_argument("--check-sample", type=int, default=300, help="loaded tickets replayed to check their rows")
    parser.add_argument("--seed", type=int, default=2026, help="random seed")
    peer = parser.add_argument_group("side by side with django-helpdesk")
    peer.add_argument(
        "--compare-workers", type=int, default=2, help="worker processes of each server in the side-by-side run"
    )
    peer.add_argument(
        "--compare-rounds",
        type=int,
        default=5,
        help="rounds the side-by-side creations are split into, alternating between the two servers",
    )
    peer.add_argument(
        "--peer-threads",
        type=int,
        default=PEER_THREADS,
        help="threads per gunicorn worker for django-helpdesk: gthread workers, or with 1 gunicorn's sync "
        "workers (default: %(default)s)",
    )
    peer.add_argument(
        "--peer-venv",
        type=Path,
        default=default_venv(),
        help="venv for django-helpdesk, made and filled with pip the first time (default: %(default)s)",
    )
    peer.add_argument(
        "--peer-database",
        default=PEER_DATABASE,
        help="django-helpdesk's database on the same server, dropped and created again (default: %(default)s)",
    )
    modes = peer.add_mutually_exclusive_group()
    modes.add_argument("--no-peer", action="store_true", help="skip the side-by-side run")
    modes.add_argument(
        "--compare-only", action="store_true", help="only the side-by-side run (no mix, no 100,000-ticket queue)"
    )
    modes.add_argument("--peer-only", action="store_true", help="only django-helpdesk's half of the side-by-side run")
    args = parser.parse_args(argv)
    worker_counts = [int(part) for part in args.workers.split(",") if part.strip()]
    if not worker_counts or min(worker_counts) < 1:
        parser.error("--workers takes positive counts, e.g. 1,2")
    if (
        min(
            args.creates,
            args.clients,
            args.open_tickets,
            args.batch,
            args.queue_repeat,
            args.compare_workers,
            args.compare_rounds,
        )
        < 1
    ):
        parser.error(
            "--creates, --clients, --open-tickets, --batch, --queue-repeat, --compare-workers and --compare-rounds "
            "must be at least 1"
        )

    console = Console(width=None if sys.stdout.isatty() else 150)
    limit = 50
    failed = False
    runs: list[LoadRun] = []
    http: Kind | None = None
    side = SideBySide(args.compare_workers, args.clients, args.creates, args.compare_rounds)
    if args.peer_only:
        side_by_side(console, args, side, None, None)
        failed |= print_side_by_side(console, side, args.warmup)
    else:
        with fresh_schema(args.database_url) as url:
            engine = make_engine(url)
            try:
                upgrade(engine)
                sessions = make_sessions(engine)
                directory = seed_directory(sessions)
                served = sorted(
                    ({args.compare_workers} if not args.no_peer else set())
                    | (set(worker_counts) if not args.compare_only else set())
                )
                console.print(
                    f"[bold]sladesk API on PostgreSQL {postgres_version(engine)}[/bold] "
                    f"(schema {url.query['options']!s} on the URL, dropped afterwards); "
                    f"uvicorn {', '.join(map(str, served))} worker(s) on 127.0.0.1; "
                    f"Python {platform.python_version()}, machine CPUs = {os.cpu_count()}\n"
                    f"{len(directory.organisations)} organisations under {len({p for p, _ in ORGANISATIONS})} policies, "
                    f"{len(directory.customers)} customers, 1 agent"
                )

                # 2b. side by side with django-helpdesk, first, while both desks are nearly empty
                if not args.no_peer:
                    side_by_side(console, args, side, url, directory)
                    failed |= print_side_by_side(console, side, args.warmup)

                if not args.compare_only:
                    runs, load_failed = run_load(console, args, url, engine, directory, worker_counts)
                    failed |= load_failed
                    try:
                        http, queue_failed = run_queue(console, args, url, engine, sessions, directory, limit)
                        failed |= queue_failed
                    except SystemExit as stop:  # the bulk load refuses rows that do not match the model
                        console.print(f"[bold red]The queue at scale was not measured:[/bold red] {stop.code}")
                        failed = True
            finally:
                engine.dispose()

    goals: list[Goal] = []
    if runs:
        best = max(runs, key=lambda run: run.mix.rate("create"))
        create_rate = best.mix.rate("create")
        create_p99 = percentiles(best.mix.kinds["create"].latencies)[1] * 1000
        goals += [
            (
                f">= {GOAL_CREATE_RATE} ticket openings/s",
                f"{create_rate:,.0f}/s ({best.workers} worker(s))",
                create_rate >= GOAL_CREATE_RATE,
            ),
            (
                f"opening p99 < {GOAL_CREATE_P99_MS:.0f} ms",
                f"{create_p99:,.1f} ms ({best.workers} worker(s))",
                create_p99 < GOAL_CREATE_P99_MS,
            ),
        ]
    else:
        goals += [
            (f">= {GOAL_CREATE_RATE} ticket openings/s", "not run", None),
            (f"opening p99 < {GOAL_CREATE_P99_MS:.0f} ms", "not run", None),
        ]
    queue_goal = f"queue first page p99 < {GOAL_QUEUE_P99_MS:.0f} ms at {args.open_tickets:,} open"
    if http is not None and http.latencies:
        queue_p50, queue_p99, _ = percentiles(http.latencies)
        goals.append(
            (
                queue_goal,
                f"{queue_p99 * 1000:,.1f} ms (p50 {queue_p50 * 1000:,.1f} ms)",
                queue_p99 * 1000 < GOAL_QUEUE_P99_MS,
            )
        )
    else:
        goals.append((queue_goal, "not run", None))
    ratio = side.ratio()
    peer_goal = f"openings >= {GOAL_PEER_RATIO:g}x django-helpdesk"
    if ratio is not None and side.sladesk is not None and side.peer is not None:
        goals.append(
            (
                peer_goal,
                f"{ratio:,.1f}x ({side.sladesk.rate('create'):,.0f} vs {side.peer.rate('helpdesk'):,.0f}/s, "
                f"{side.workers} worker(s) each)",
                ratio >= GOAL_PEER_RATIO,
            )
        )
    else:
        goals.append((peer_goal, "not run" if side.peer_error is None else "django-helpdesk failed", None))
    print_goals(console, goals)
    if failed:
        console.print(
            "[bold red]FAILED: requests failed, django-helpdesk or the bulk load could not be run, or the loaded "
            "rows disagree with a replay (see above).[/bold red]"
        )
        return 1
    console.print(
        "[bold green]Every request succeeded[/bold green]"
        + (" and the loaded tickets agree with a replay." if http is not None else ".")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
