"""Benchmark: SLA reports over many closed tickets on PostgreSQL, and the what-if replay in bulk.

    python benchmarks/reports.py [--tickets 20000] [--sample 1000] [--database-url URL]

1. A database of the run's own (`sladesk_reports_bench_<random>`, migrated, dropped at the end) on the
   PostgreSQL server of --database-url gets one Choozle organisation, a customer and an agent through the
   services, then --tickets closed tickets with about ten events each through the library's bulk path:
   `services.bulk.open_tickets` opens each batch, and every later event (replies, notes, waits on the
   customer and on engineering, severity changes, outside-incident marks, the resolve and the close) is
   prepared on the history before it (`services.record.prepare_change`) and written with the batch's
   other changes by `services.record.record_changes`, the seam for many changes at once, with a progress
   bar. Then ANALYZE.
2. The attainment report (`services.reports.attainment_report`, counted in SQL from the stored clocks)
   over the whole period, by severity, --repeat times; its best and median time.
3. The what-if: every ticket replayed under another version of its policy (Choozle with S2 resolution due
   in 2 business days instead of 3 and S1's first response in 1 hour). Its histories are read from the
   store into columns (one COPY, decoded with `reports.bulk.kind_of` per distinct event shape) and replayed
   at once by `reports.bulk.replay_many`; tickets it leaves to the one-at-a-time replay are replayed so.
4. The baseline beside it, in the same run: the one-at-a-time replay (`sla.replay`, typed events as the
   what-if service reads them) of --sample tickets, timed and extrapolated to all tickets (stated as such).
   On that sample every clock of the bulk replay must equal the single replay's, or the script exits 1.

The table gives each step's time, tickets per second and the ratio of the bulk what-if to the baseline.
Goals (printed, not the exit status): the attainment report in < 2 s, the what-if >= 17,000 ticket
histories per second (1,000,000 in < 60 s).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine, select, text
from sqlalchemy import Table as SqlTable
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from databases import postgres_database
from goals import print_goals
from sladesk.errors import SladeskError
from sladesk.policy import Policy
from sladesk.reports.bulk import NO_INSTANT, Histories, Kind, kind_of, replay_many
from sladesk.reports.model import Period
from sladesk.services import Role, actor_of, create_organisation, create_user
from sladesk.services.bulk import open_tickets
from sladesk.services.clocks import facts_of
from sladesk.services.policies import policy_at
from sladesk.services.record import Change, prepare_change, record_changes
from sladesk.services.reports import attainment_report
from sladesk.services.tickets import Opening
from sladesk.services.whatif import Candidate, candidate_policy
from sladesk.sla import Event, event_of, replay
from sladesk.sla.events import (
    OutsideIncidentEvent,
    ReplyEvent,
    SeverityEvent,
    StatusEvent,
)
from sladesk.store import make_engine, make_sessions, transaction
from sladesk.store.tables import SlaClock, Ticket, TicketEvent, User

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POLICY = "choozle"
CANDIDATE_OVERRIDES = (
    "severities.S2.targets.resolution.due=2 business days",
    "severities.S1.targets.first_response=1h",
)
FIRST_OPENED = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
OPENED_WITHIN = timedelta(days=150)
PERIOD = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))
NOW = PERIOD.end
SEVERITY_WEIGHTS = (0.1, 0.6, 0.3)  # S1, S2, S3

GOAL_REPORT_S = 2.0
GOAL_WHATIF_RATE = 17_000  # ticket histories per second: 1,000,000 in under 60 s


def minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


def later_events(rng: random.Random, opened_at: datetime) -> list[Event]:
    """A closed Choozle ticket's history after its opening: about nine events, as a desk sees them."""
    at = opened_at + minutes(rng, 5, 300)
    events: list[Event] = [ReplyEvent(at=at, by="agent"), StatusEvent(at=at, to="awaiting_customer")]
    at += minutes(rng, 30, 2 * 1440)
    events.append(ReplyEvent(at=at, by="customer"))  # back to open
    at += minutes(rng, 1, 120)
    events.append(ReplyEvent(at=at, by="agent", public_reply=False))
    if rng.random() < 0.15:
        at += minutes(rng, 1, 240)
        events.append(SeverityEvent(at=at, to=rng.choice((1, 2, 3)), reason="re-assessed"))
    if rng.random() < 0.05:
        at += minutes(rng, 1, 60)
        events.append(OutsideIncidentEvent(at=at, reason="ad exchange outage"))
    at += minutes(rng, 10, 600)
    events.append(StatusEvent(at=at, to=rng.choice(("waiting_on_engineering", "waiting_on_partner"))))
    at += minutes(rng, 60, 4 * 1440)
    events.append(StatusEvent(at=at, to="open"))
    at += minutes(rng, 10, 1440)
    events += [ReplyEvent(at=at, by="agent"), StatusEvent(at=at + minutes(rng, 0, 5), to="resolved")]
    events.append(StatusEvent(at=events[-1].at + minutes(rng, 1440, 4 * 1440), to="closed"))
    return events


@dataclass
class Desk:
    organisation_id: int
    customer_id: int
    agent_id: int


def seed_desk(sessions: sessionmaker[Session]) -> Desk:
    with transaction(sessions) as session:
        organisation = create_organisation(session, None, name="Choozle customer", policy_id=POLICY)
        customer = create_user(
            session,
            None,
            email="customer@example.com",
            name="Customer",
            role=Role.CUSTOMER,
            organisation_id=organisation.id,
        )
        agent = create_user(session, None, email="agent@example.com", name="Agent", role=Role.AGENT)
    return Desk(organisation.id, customer.id, agent.id)


def load(console: Console, sessions: sessionmaker[Session], desk: Desk, count: int, batch: int, seed: int) -> float:
    """Open `count` closed tickets with their histories through the bulk path; the seconds it took."""
    rng = random.Random(seed)
    window = int(OPENED_WITHIN.total_seconds())
    columns = [
        TextColumn("[bold]loading closed tickets[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    began = time.perf_counter()
    with Progress(*columns, console=console, transient=not console.is_terminal) as progress:
        task = progress.add_task("tickets", total=count)
        for start in range(0, count, batch):
            size = min(batch, count - start)
            openings = [
                Opening(
                    organisation_id=desk.organisation_id,
                    requester_id=desk.customer_id,
                    subject="Campaign stopped delivering",
                    description="Spend is not going out since this morning.",
                    severity=rng.choices((1, 2, 3), weights=SEVERITY_WEIGHTS)[0],
                    opened_at=FIRST_OPENED + timedelta(seconds=rng.randrange(window)),
                )
                for _ in range(size)
            ]
            with transaction(sessions) as session:
                agent = actor_of(session, desk.agent_id)
                # held for the batch: the session keeps only referenced rows, and every public reply reads it
                customer = session.get_one(User, desk.customer_id)
                ids = open_tickets(session, agent, openings)
                tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
                opened = {
                    row.ticket_id: event_of(row.type, row.at, row.data)
                    for row in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id.in_(ids)))
                }
                policies: dict[int, Policy] = {}
                changes: list[Change] = []
                for ticket_id in ids:
                    ticket = tickets[ticket_id]
                    if ticket.policy_version not in policies:
                        policies[ticket.policy_version] = policy_at(session, POLICY, ticket.policy_version)
                    policy = policies[ticket.policy_version]
                    history: list[Event] = [opened[ticket_id]]
                    for event in later_events(rng, history[0].at):
                        actor_id = desk.customer_id if event.by == "customer" else desk.agent_id
                        changes.append(prepare_change(ticket, event, actor_id=actor_id, prior=history, policy=policy))
                        history.append(event)
                record_changes(session, changes)
                del customer
            progress.update(task, completed=start + size)
    return time.perf_counter() - began


def grow(console: Console, engine: Engine, copies: int) -> int:
    """Copy the loaded tickets' rows (ticket, events, clocks) `copies - 1` times under new ids, in SQL: each
    copy holds exactly what the seam wrote for the same history. How many tickets there are then."""
    with engine.begin() as connection:
        span = int(connection.execute(text("SELECT max(id) FROM tickets")).scalar_one())
    tables = [(Ticket, "id"), (TicketEvent, "ticket_id"), (SlaClock, "ticket_id")]
    statements = []
    for model, key in tables:
        table = cast(SqlTable, model.__table__)
        kept = [c.name for c in table.columns if c.name != key and not (model is TicketEvent and c.name == "id")]
        names = ", ".join([key, *kept])
        statements.append(
            f"INSERT INTO {table.name} ({names}) SELECT {key} + :offset, {', '.join(kept)} "
            f"FROM {table.name} WHERE {key} <= :span"
        )
    columns = [TextColumn("[bold]copying the loaded tickets[/bold]"), BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=not console.is_terminal) as progress:
        task = progress.add_task("copies", total=copies)
        progress.update(task, completed=1)
        for copy in range(1, copies):
            with engine.begin() as connection:
                for statement in statements:
                    connection.execute(text(statement), {"offset": copy * span, "span": span})
            progress.update(task, completed=copy + 1)
    with engine.begin() as connection:
        connection.execute(
            text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT max(id) FROM tickets))")
        )
        return int(connection.execute(text("SELECT count(*) FROM tickets")).scalar_one())


def analyze(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE tickets; ANALYZE sla_clocks; ANALYZE ticket_events")
        )


def time_attainment(sessions: sessionmaker[Session], agent_id: int, repeat: int) -> tuple[list[float], Any]:
    timings = []
    report = None
    for _ in range(repeat):
        with sessions() as session:
            actor = actor_of(session, agent_id)
            began = time.perf_counter()
            report = attainment_report(session, actor, PERIOD, by=("severity",), now=NOW)
            timings.append(time.perf_counter() - began)
    return timings, report


# the what-if's histories as columns

_COPY = """
COPY (
    SELECT e.ticket_id, e.sequence, e.type, (extract(epoch FROM e.at) * 1000000)::bigint,
           CASE WHEN e.type IN ({kinds}) THEN e.data END
    FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
    WHERE t.policy_id = '{policy}'
) TO STDOUT (FORMAT csv)
"""
_NAMES = ["ticket_id", "sequence", "type", "at_us", "data"]
# the event types whose data the clocks read; the others are read by their type alone
_READ_DATA = ("opened", "reply", "attachment", "status", "severity", "outside_incident")


def read_histories(engine: Engine, policy: Policy) -> Histories:
    """Every ticket of the policy's history from the store, as the bulk replay's columns.

    The data goes out as its JSON text, which costs the server far less than picking fields out of it,
    and each distinct (type, data) is read once: a desk's replies, status changes and the like repeat.
    """
    buffer = io.BytesIO()
    connection = engine.raw_connection()
    kinds = ", ".join(f"'{kind}'" for kind in _READ_DATA)
    try:
        cursor = connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(_COPY.format(kinds=kinds, policy=policy.id)) as copy:
            for block in copy:
                buffer.write(block)
    finally:
        connection.close()
    buffer.seek(0)
    frame = pd.read_csv(
        buffer,
        names=_NAMES,
        dtype={
            "ticket_id": np.int64,
            "sequence": np.int64,
            "at_us": np.int64,
            "type": "category",
            "data": "category",
        },
        keep_default_na=False,
    )
    grouped = frame.groupby(["type", "data"], sort=False, observed=True)
    shape = grouped.ngroup().to_numpy()
    distinct = grouped.head(1)[["type", "data"]]
    codes = np.zeros((len(distinct), 3), dtype=np.int64)  # kind, value, severity at opening
    for number, (kind_name, stored) in enumerate(distinct.itertuples(index=False)):
        data = json.loads(stored) if stored else {}
        kind, value = kind_of(policy, kind_name, data)
        opened_rank = _rank(policy, data.get("severity")) if kind_name == "opened" else -1
        codes[number] = (kind, value, opened_rank)
    # in history order: sorted here, which is cheaper than a sort of the wide rows in the server
    order = np.lexsort((frame["sequence"].to_numpy(), frame["ticket_id"].to_numpy()))
    shape = shape[order]
    ticket_ids, event_ticket = np.unique(frame["ticket_id"].to_numpy()[order], return_inverse=True)
    kind = codes[shape, 0].astype(np.int8)
    opened = kind == Kind.OPENED
    severity = np.full(len(ticket_ids), -1, dtype=np.int64)
    severity[event_ticket[opened]] = codes[shape[opened], 2]
    return Histories(
        ticket_ids=ticket_ids.astype(np.int64),
        severity=severity,
        event_ticket=event_ticket.astype(np.int64),
        kind=kind,
        at_us=frame["at_us"].to_numpy()[order],
        value=codes[shape, 1],
    )


def _rank(policy: Policy, severity: Any) -> int:
    try:
        return policy.severity(severity).rank
    except SladeskError:
        return -1


def typed_histories(sessions: sessionmaker[Session], ids: Sequence[int]) -> dict[int, list[Event]]:
    with sessions() as session:
        rows = session.execute(
            select(TicketEvent.ticket_id, TicketEvent.type, TicketEvent.at, TicketEvent.data)
            .where(TicketEvent.ticket_id.in_(list(ids)))
            .order_by(TicketEvent.ticket_id, TicketEvent.sequence)
        )
        found: dict[int, list[Event]] = {}
        for ticket_id, kind, at, data in rows:
            found.setdefault(ticket_id, []).append(event_of(kind, at, data))
    return found


def micros(instant: datetime | None) -> int:
    return NO_INSTANT if instant is None else (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def disagreements(candidate: Policy, bulk: Any, row_of: dict[int, int], replayed: dict[int, Any]) -> list[str]:
    """Where the bulk replay's clocks differ from the single replay's, on the sample."""
    problems = []
    for ticket_id, report in replayed.items():
        row = row_of[ticket_id]
        if bulk.fell_back[row]:
            continue
        for column, metric_id in enumerate(bulk.metrics):
            metric = report.metrics[metric_id]
            mine = (
                int(bulk.counted_seconds[row, column]),
                int(bulk.due_us[row, column]),
                int(bulk.stopped_us[row, column]),
                int(bulk.earlier_breach_us[row, column]),
            )
            theirs = (
                metric.counted_seconds,
                micros(metric.due),
                micros(metric.stopped_at),
                micros(metric.instants.earlier_breach_at),
            )
            if mine != theirs:
                problems.append(f"ticket {ticket_id} {metric_id}: bulk {mine}, single {theirs}")
    return problems


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=20_000, help="closed tickets to load (default 20,000)")
    parser.add_argument("--sample", type=int, default=1_000, help="tickets replayed one at a time (default 1,000)")
    parser.add_argument(
        "--copies", type=int, default=1, help="copies of the loaded tickets in the store, made in SQL (default 1)"
    )
    parser.add_argument("--batch", type=int, default=500, help="tickets per loading transaction")
    parser.add_argument("--repeat", type=int, default=5, help="attainment report runs (default 5)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="PostgreSQL (a database is made)")
    args = parser.parse_args(argv)
    console = Console()
    admin: URL = make_url(args.database_url)
    with postgres_database(admin, "reports") as url:
        engine = make_engine(url)
        sessions = make_sessions(engine)
        try:
            desk = seed_desk(sessions)
            load_s = load(console, sessions, desk, args.tickets, args.batch, args.seed)
            console.print(
                f"Loaded {args.tickets:,} closed tickets in {load_s:,.1f} s ({rate(args.tickets, load_s)}/s)."
            )
            if args.copies > 1:
                began = time.perf_counter()
                stored = grow(console, engine, args.copies)
                console.print(f"Copied them to {stored:,} tickets in {time.perf_counter() - began:,.1f} s.")
            analyze(engine)
            report_s, report = time_attainment(sessions, desk.agent_id, args.repeat)
            with sessions() as session:
                candidate, words = candidate_policy(session, Candidate(version=POLICY, overrides=CANDIDATE_OVERRIDES))
            began = time.perf_counter()
            histories = read_histories(engine, candidate)
            read_s = time.perf_counter() - began
            began = time.perf_counter()
            bulk = replay_many(candidate, histories, NOW)
            bulk_s = time.perf_counter() - began
            fallback = [int(i) for i in bulk.fallback_ids]
            began = time.perf_counter()
            for events in typed_histories(sessions, fallback).values():
                replay(candidate, facts_of(events), events, NOW)
            fallback_s = time.perf_counter() - began
            chosen = sorted(random.Random(args.seed).sample(list(map(int, bulk.ticket_ids)), args.sample))
            sample = typed_histories(sessions, chosen)
            began = time.perf_counter()
            replayed = {
                ticket_id: replay(candidate, facts_of(events), events, NOW) for ticket_id, events in sample.items()
            }
            single_s = time.perf_counter() - began
        finally:
            engine.dispose()
    row_of = {int(t): row for row, t in enumerate(bulk.ticket_ids)}
    problems = disagreements(candidate, bulk, row_of, replayed)
    count = len(bulk.ticket_ids)
    whatif_s = read_s + bulk_s + fallback_s
    single_all_s = single_s / len(sample) * count
    table = Table(title=f"{count:,} closed {POLICY} tickets, {histories.kind.size:,} events; what-if under {words}")
    for column in ("step", "tickets", "seconds", "tickets/s", "vs one at a time"):
        table.add_column(column, justify="left" if column == "step" else "right")
    best = min(report_s)
    table.add_row("attainment report (SQL), best", f"{count:,}", f"{best:.3f}", rate(count, best), "")
    table.add_row("attainment report (SQL), median", f"{count:,}", f"{statistics.median(report_s):.3f}", "", "")
    table.add_row("what-if: read histories into columns", f"{count:,}", f"{read_s:.2f}", rate(count, read_s), "")
    table.add_row("what-if: bulk replay", f"{count - len(fallback):,}", f"{bulk_s:.2f}", rate(count, bulk_s), "")
    table.add_row("what-if: fallen back, one at a time", f"{len(fallback):,}", f"{fallback_s:.2f}", "", "")
    table.add_row(
        "what-if total", f"{count:,}", f"{whatif_s:.2f}", rate(count, whatif_s), f"{single_all_s / whatif_s:.0f}x"
    )
    table.add_row(
        f"one at a time: {len(sample):,} replayed",
        f"{len(sample):,}",
        f"{single_s:.2f}",
        rate(len(sample), single_s),
        "",
    )
    table.add_row(
        "one at a time, extrapolated to all", f"{count:,}", f"{single_all_s:,.0f}", rate(count, single_all_s), "1x"
    )
    console.print(table)
    if report is not None:
        rows = [r for r in report.rows if r.group == ()] or list(report.rows)
        for row in rows[:6]:
            figure = f"{row.attainment:.1%}" if row.attainment is not None else "-"
            console.print(f"  {row.metric} {dict(row.group)}: met {row.met:,}, breached {row.breached:,}, {figure}")
    print_goals(
        console,
        [
            (f"attainment report < {GOAL_REPORT_S:.0f} s", f"{best:.3f} s at {count:,}", best < GOAL_REPORT_S),
            (
                f"what-if >= {GOAL_WHATIF_RATE:,} histories/s",
                f"{count / whatif_s:,.0f}/s",
                count / whatif_s >= GOAL_WHATIF_RATE,
            ),
        ],
    )
    if problems:
        console.print(f"[red]{len(problems)} clocks differ between the bulk and the single replay[/red]")
        for problem in problems[:20]:
            console.print(f"  {problem}")
        return 1
    console.print(f"The bulk replay equals the single replay on every clock of the {len(sample):,} sampled tickets.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
