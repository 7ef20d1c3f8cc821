"""Benchmark: how fast the web pages answer with 10,000 open tickets on PostgreSQL.

    python benchmarks/pages.py [--database-url URL] [--tickets 10000] [--requests 200]

The desk. A new PostgreSQL database (created, migrated and dropped by the script) with one organisation under
each of the five built-in policies, a customer of each and an agent, all with passwords, and --tickets open
tickets spread evenly over the organisations and over the last 10 days, opened through the bulk seam
(`services.bulk.open_tickets`: the same checks, replay and clock rows as one by one). The ticket read most,
the queue's number one, gets a conversation of 20 comments.

The server. `sladesk serve` on a free loopback port with `SLADESK_DATABASE_URL` on that database and no
embedded worker (nothing else competes for the 2 cores while the pages are read). An HTTP client signs in
through the sign-in form, as a browser does, as the agent and as the first organisation's customer.

What is timed. Each page is read --requests times one after another, each request timed from send to full
response: the agent's queue (`/queue`, its first 100 tickets in the total order), a ticket page
(`/tickets/{id}`, cycling over the first 50 tickets of the queue), and the customer's portal list
(`/portal`, the organisation's newest 50 requests out of its 2,000). The baseline, in the same run on the
same server: the API's queue (`GET /api/v1/queue?limit=100`, JSON of the same tickets with a bearer token),
so the ratio says what rendering a page costs beyond reading the same data.

Goal (reported, never the exit status): every page answers in under 200 ms at p99. The script exits 1 only
if it cannot run (no PostgreSQL, a page that does not answer 200).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
from rich.console import Console
from rich.table import Table
from sqlalchemy import make_url, text
from sqlalchemy.engine import URL

from databases import postgres_database
from goals import Goal, print_goals
from sladesk.services import Role, actor_of, create_organisation, create_user, issue_token, reply
from sladesk.services.bulk import open_tickets
from sladesk.services.tickets import Opening
from sladesk.services.views import queue_page
from sladesk.store import make_engine, make_sessions, reading, transaction

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "benchmark password"
# (policy, tier, severity) of each organisation
POLICIES: tuple[tuple[str, str | None, int | str], ...] = (
    ("alli", None, "P2"),
    ("alleo", None, 2),
    ("aspenware", None, 2),
    ("sourcegraph", "enterprise", 2),
    ("choozle", None, "S2"),
)
GOAL_MS = 200
ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf" value="([^"]*)"')

console = Console(highlight=False, width=150)


class BenchmarkError(Exception):
    """The benchmark cannot run: no database, a server that does not start, a page that fails."""


def set_up_desk(url: URL, tickets: int, now: datetime) -> tuple[str, int]:
    """The organisations, people and open tickets; the agent's API token and the queue's number one."""
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        with transaction(sessions) as session:
            agent = create_user(
                session, None, email="agent@desk.example", name="Agent", role=Role.AGENT, password=PASSWORD, now=now
            )
            people = []
            for index, (policy_id, tier, severity) in enumerate(POLICIES):
                organisation = create_organisation(
                    session, None, name=f"Customer {index} ({policy_id})", policy_id=policy_id, tier=tier, now=now
                )
                customer = create_user(
                    session,
                    None,
                    email=f"customer{index}@customer.example",
                    name=f"Customer {index}",
                    role=Role.CUSTOMER,
                    organisation_id=organisation.id,
                    password=PASSWORD,
                    now=now,
                )
                people.append((organisation.id, customer.id, severity))
            session.flush()
            token = issue_token(session, agent.id, "benchmark", now)
            agent_id = agent.id
        openings = [
            Opening(
                organisation_id=people[number % len(people)][0],
                requester_id=people[number % len(people)][1],
                subject=f"Reports are slow to load ({number})",
                description="The campaign report takes minutes to open.",
                severity=people[number % len(people)][2],
                opened_at=now - timedelta(days=10) * (number + 1) / (tickets + 1),
            )
            for number in range(tickets)
        ]
        with transaction(sessions) as session:
            open_tickets(session, actor_of(session, agent_id), openings)
        with reading(sessions) as session:
            first = queue_page(session, actor_of(session, agent_id), now, 1)[0].ticket_id
        for number in range(20):
            with transaction(sessions) as session:
                reply(
                    session,
                    actor_of(session, agent_id),
                    first,
                    f"Looking into it, step {number}.",
                    public=True,
                    now=now,
                )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
        return token, first
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(url: URL, logs: Path) -> Iterator[str]:
    """`sladesk serve` on the database at `url` until the block ends; its base URL."""
    command = shutil.which("sladesk", path=str(Path(sys.executable).parent)) or shutil.which("sladesk")
    if command is None:
        raise BenchmarkError("the sladesk command is not installed (pip install -e .)")
    port = free_port()
    env = {
        **os.environ,
        "SLADESK_DATABASE_URL": url.render_as_string(hide_password=False),
        "SLADESK_EMBEDDED_WORKER": "false",
    }
    log = logs / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise BenchmarkError(f"sladesk serve exited {server.returncode}:\n{log.read_text()[-2000:]}")
            try:
                if httpx2.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise BenchmarkError(f"sladesk serve did not answer within 60 s:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def signed_in(base: str, email: str) -> httpx2.Client:
    """A client holding the session cookie of `email`, signed in through the sign-in form."""
    client = httpx2.Client(base_url=base, follow_redirects=False, timeout=30)
    page = client.get("/sign-in")
    found = CSRF.search(page.text)
    if found is None:
        raise BenchmarkError(f"no sign-in form at {base}/sign-in")
    answer = client.post("/sign-in", data={"csrf": html.unescape(found.group(1)), "email": email, "password": PASSWORD})
    if answer.status_code != 303:
        raise BenchmarkError(f"signing in as {email} answered {answer.status_code}")
    return client


def timed(client: httpx2.Client, paths: list[str], requests: int, headers: dict[str, str] | None = None) -> list[float]:
    """Milliseconds of each of `requests` GETs cycling over `paths`, after 5 untimed ones."""
    for path in paths[:5]:
        client.get(path, headers=headers)
    took = []
    for number in range(requests):
        path = paths[number % len(paths)]
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        took.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise BenchmarkError(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")
    return took


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("SLADESK_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--tickets", type=int, default=10_000, help="open tickets (default 10,000)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (default 200)")
    options = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        with tempfile.TemporaryDirectory() as logs, postgres_database(make_url(options.database_url), "pages") as url:
            console.print(f"opening {options.tickets:,} tickets under the five built-in policies ...")
            started = time.perf_counter()
            token, first = set_up_desk(url, options.tickets, now)
            console.print(f"  done in {time.perf_counter() - started:.1f} s; sladesk serve starts")
            with serving(url, Path(logs)) as base:
                agent = signed_in(base, "agent@desk.example")
                customer = signed_in(base, "customer0@customer.example")
                api = httpx2.Client(base_url=base, timeout=30)
                api_queue = api.get("/api/v1/queue?limit=50", headers={"Authorization": f"Bearer {token}"}).json()
                ticket_ids = [item["ticket_id"] for item in api_queue] or [first]
                runs = {
                    "queue page (/queue, 100 tickets)": timed(agent, ["/queue"], options.requests),
                    "ticket page (/tickets/{id}, 50 tickets in turn)": timed(
                        agent, [f"/tickets/{ticket_id}" for ticket_id in ticket_ids], options.requests
                    ),
                    "portal list (/portal, 50 of 2,000 requests)": timed(customer, ["/portal"], options.requests),
                    "baseline: API queue (GET /api/v1/queue?limit=100)": timed(
                        api, ["/api/v1/queue?limit=100"], options.requests, {"Authorization": f"Bearer {token}"}
                    ),
                }
    except BenchmarkError as error:
        console.print(f"[red]cannot run:[/red] {error}")
        return 1
    baseline = statistics.median(runs["baseline: API queue (GET /api/v1/queue?limit=100)"])
    table = Table(title=f"Pages at {options.tickets:,} open tickets, PostgreSQL ({options.requests} requests each)")
    for column in ("page", "p50 ms", "p99 ms", "max ms", "p50 / API queue p50"):
        table.add_column(column, justify="left" if column == "page" else "right")
    goals: list[Goal] = []
    for name, values in runs.items():
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        table.add_row(name, f"{p50:.1f}", f"{p99:.1f}", f"{max(values):.1f}", f"{p50 / baseline:.2f}x")
        if not name.startswith("baseline"):
            goals.append((f"{name} p99 under {GOAL_MS} ms", f"{p99:.0f} ms", p99 < GOAL_MS))
    console.print(table)
    print_goals(console, goals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
