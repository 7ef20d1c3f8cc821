"""Benchmark: SLA reports over many closed tickets on PostgreSQL, and the what-if over all of them.

    python benchmarks/reports.py [--tickets 20000] [--copies 1] [--sample 1000] [--database-url URL]

1. A database of the run's own (`sladesk_reports_bench_<random>`, migrated, dropped at the end) on the
   PostgreSQL server of --database-url gets one Choozle organisation, a customer and an agent through the
   services, then --tickets closed tickets with about ten events each (replies, notes, waits on the
   customer and on engineering, severity changes, outside-incident marks, the resolve and the close)
   through the library's bulk path for whole histories, `services.history_import.import_histories`:
   each ticket checked by one replay of its history and written exactly as recording its events one by
   one would, a batch per transaction, with a progress bar. `--copies N` then copies those rows N - 1
   times under new ids in SQL. Then ANALYZE.
2. The attainment report (`services.reports.attainment_report`) over the whole period, by severity, as the
   dashboard asks for it (the counts, without ticket lists), --repeat times: its best and median; the
   tickets behind one count read on their own (`tickets_behind`), as a click on a figure reads them; and
   the report with the first 100 tickets of every count listed, once.
3. The what-if (`services.whatif.whatif_report`): every ticket replayed under another version of its
   policy (Choozle with S2 resolution due in 2 business days instead of 3 and S1's first response in
   1 hour) beside its own, read and replayed many at once, with a progress bar.
4. The baseline beside it, in the same run: the one-at-a-time what-if (`reports.whatif.compare_ticket`, both
   sides replayed with `sla.replay`) of --sample tickets, timed and extrapolated to all tickets (stated as
   such). On that sample the changed outcomes must equal the bulk what-if's, or the script exits 1.

Goals (printed, not the exit status): the attainment report in < 2 s, the what-if >= 17,000 ticket
histories per second (1,000,000 in < 60 s).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine, select, text
from sqlalchemy import Table as SqlTable
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from databases import postgres_database
from goals import print_goals
from sladesk.policy import Policy
from sladesk.reports.model import AttainmentReport, Outcome, Period, TicketLabels
from sladesk.reports.whatif import TicketHistory, WhatIfReport, compare_ticket, what_if
from sladesk.services import Role, actor_of, create_organisation, create_user
from sladesk.services.clocks import facts_of
from sladesk.services.history_import import History, PastEvent, import_histories
from sladesk.services.policies import policy_at
from sladesk.services.reports import attainment_report, tickets_behind
from sladesk.services.tickets import Opening
from sladesk.services.whatif import Candidate, candidate_policy, whatif_report
from sladesk.sla import Event, event_of
from sladesk.sla.events import (
    OutsideIncidentEvent,
    ReplyEvent,
    SeverityEvent,
    StatusEvent,
)
from sladesk.store import make_engine, make_sessions, transaction
from sladesk.store.tables import SlaClock, Ticket, TicketEvent

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POLICY = "choozle"
CANDIDATE_OVERRIDES = (
    "severities.S2.targets.resolution.due=2 business days",
    "severities.S1.targets.first_response=1h",
)
CANDIDATE = Candidate(version=POLICY, overrides=CANDIDATE_OVERRIDES)
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
    """Import `count` closed tickets with their histories through the bulk path; the seconds it took."""
    rng = random.Random(seed)
    window = int(OPENED_WITHIN.total_seconds())
    columns = [
        TextColumn("[bold]importing closed tickets[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    began = time.perf_counter()
    with Progress(*columns, console=console, transient=not console.is_terminal) as progress:
        task = progress.add_task("tickets", total=count)

        def told(start: int) -> Callable[[int], None]:
            return lambda done: progress.update(task, completed=start + done)

        for start in range(0, count, batch):
            size = min(batch, count - start)
            histories = []
            for _ in range(size):
                opening = Opening(
                    organisation_id=desk.organisation_id,
                    requester_id=desk.customer_id,
                    subject="Campaign stopped delivering",
                    description="Spend is not going out since this morning.",
                    severity=rng.choices((1, 2, 3), weights=SEVERITY_WEIGHTS)[0],
                    opened_at=FIRST_OPENED + timedelta(seconds=rng.randrange(window)),
                )
                events = [
                    PastEvent(event, desk.customer_id if event.by == "customer" else desk.agent_id)
                    for event in later_events(rng, opening.opened_at)
                ]
                histories.append(History(opening, events))
            with transaction(sessions) as session:
                import_histories(session, actor_of(session, desk.agent_id), histories, progress=told(start))
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


def time_reports(sessions: sessionmaker[Session], agent_id: int, repeat: int) -> Reports:
    """The attainment report as the dashboard asks for it, one count's tickets, and the report with lists."""
    counts: list[float] = []
    behind: list[float] = []
    report = None
    ids: list[int] = []
    for _ in range(repeat):
        with sessions() as session:
            actor = actor_of(session, agent_id)
            began = time.perf_counter()
            report = attainment_report(session, actor, PERIOD, by=("severity",), now=NOW, tickets_per_cell=0)
            counts.append(time.perf_counter() - began)
            began = time.perf_counter()
            ids = tickets_behind(
                session,
                actor,
                PERIOD,
                metric="resolution",
                group=(("severity", "S1"),),
                outcome=Outcome.BREACHED,
                now=NOW,
                limit=100,
            )
            behind.append(time.perf_counter() - began)
    with sessions() as session:
        actor = actor_of(session, agent_id)
        began = time.perf_counter()
        attainment_report(session, actor, PERIOD, by=("severity",), now=NOW, tickets_per_cell=100)
        listed = time.perf_counter() - began
    assert report is not None
    return Reports(counts, behind, listed, report, len(ids))


@dataclass
class Reports:
    counts: list[float]  # the report without ticket lists, each run
    behind: list[float]  # one count's tickets, each run
    listed: float  # the report with 100 tickets per count
    report: AttainmentReport
    behind_found: int


def run_whatif(console: Console, sessions: sessionmaker[Session], agent_id: int) -> tuple[float, WhatIfReport]:
    columns = [TextColumn("[bold]what-if[/bold]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=not console.is_terminal) as progress:
        task = progress.add_task("tickets", total=None)

        def told(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        with sessions() as session:
            actor = actor_of(session, agent_id)
            began = time.perf_counter()
            report = whatif_report(session, actor, PERIOD, CANDIDATE, now=NOW, progress=told)
            return time.perf_counter() - began, report


def one_at_a_time(
    sessions: sessionmaker[Session], candidate: Policy, words: str, ids: Sequence[int]
) -> tuple[float, WhatIfReport]:
    """The sample's what-if compared one ticket at a time (both sides replayed), timed without the reading."""
    with sessions() as session:
        tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(list(ids))))}
        own = {version: policy_at(session, POLICY, version) for version in {t.policy_version for t in tickets.values()}}
        rows = session.execute(
            select(TicketEvent.ticket_id, TicketEvent.type, TicketEvent.at, TicketEvent.data)
            .where(TicketEvent.ticket_id.in_(list(ids)))
            .order_by(TicketEvent.ticket_id, TicketEvent.sequence)
        )
        events: dict[int, list[Event]] = {}
        for ticket_id, kind, at, data in rows:
            events.setdefault(ticket_id, []).append(event_of(kind, at, data))
    histories = [
        TicketHistory(
            policy=own[tickets[ticket_id].policy_version],
            facts=facts_of(history),
            events=tuple(history),
            labels=TicketLabels(
                ticket_id=ticket_id,
                organisation_id=tickets[ticket_id].organisation_id,
                team_id=tickets[ticket_id].team_id,
                assignee_id=tickets[ticket_id].assignee_id,
                tier=tickets[ticket_id].tier,
                policy_id=tickets[ticket_id].policy_id,
                policy_version=tickets[ticket_id].policy_version,
            ),
        )
        for ticket_id, history in sorted(events.items())
    ]
    began = time.perf_counter()
    compared = [compare_ticket(history, candidate, PERIOD, now=NOW) for history in histories]
    spent = time.perf_counter() - began
    return spent, what_if(compared, PERIOD, (), words)


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=20_000, help="closed tickets to import (default 20,000)")
    parser.add_argument("--sample", type=int, default=1_000, help="tickets compared one at a time (default 1,000)")
    parser.add_argument(
        "--copies", type=int, default=1, help="copies of the imported tickets in the store, made in SQL (default 1)"
    )
    parser.add_argument("--batch", type=int, default=5_000, help="tickets per importing transaction (default 5,000)")
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
                f"Imported {args.tickets:,} closed tickets in {load_s:,.1f} s ({rate(args.tickets, load_s)}/s)."
            )
            copy_s = 0.0
            if args.copies > 1:
                began = time.perf_counter()
                stored = grow(console, engine, args.copies)
                copy_s = time.perf_counter() - began
                console.print(f"Copied them to {stored:,} tickets in {copy_s:,.1f} s.")
            analyze(engine)
            reports = time_reports(sessions, desk.agent_id, args.repeat)
            whatif_s, whatif = run_whatif(console, sessions, desk.agent_id)
            with sessions() as session:
                candidate, words = candidate_policy(session, CANDIDATE)
                all_ids = list(session.scalars(select(Ticket.id).order_by(Ticket.id)))
            chosen = sorted(random.Random(args.seed).sample(all_ids, min(args.sample, len(all_ids))))
            single_s, single = one_at_a_time(sessions, candidate, words, chosen)
        finally:
            engine.dispose()
    count = len(all_ids)
    sampled = set(chosen)
    problems = [
        f"changes differ on the sample: bulk {bulk}, one at a time {alone}"
        for bulk, alone in [
            (
                sorted(astuple(c) for c in whatif.changes if c.ticket_id in sampled),
                sorted(astuple(c) for c in single.changes),
            )
        ]
        if bulk != alone
    ]
    if whatif.compared != count - len(whatif.not_comparable):
        problems.append(f"the what-if compared {whatif.compared:,} of {count:,} tickets")
    single_all_s = single_s / len(chosen) * count
    best, median = min(reports.counts), statistics.median(reports.counts)
    table = Table(title=f"{count:,} closed {POLICY} tickets; what-if under {words}")
    for column in ("step", "tickets", "seconds", "tickets/s", "vs one at a time"):
        table.add_column(column, justify="left" if column == "step" else "right")
    table.add_row("import through the bulk path", f"{args.tickets:,}", f"{load_s:,.1f}", rate(args.tickets, load_s), "")
    if args.copies > 1:
        table.add_row(f"copies in SQL (x{args.copies})", f"{count:,}", f"{copy_s:,.1f}", "", "")
    table.add_row("attainment report, counts, best", f"{count:,}", f"{best:.3f}", rate(count, best), "")
    table.add_row("attainment report, counts, median", f"{count:,}", f"{median:.3f}", "", "")
    table.add_row(
        "one count's tickets (S1 resolution breached), best",
        f"{reports.behind_found:,}",
        f"{min(reports.behind):.3f}",
        "",
        "",
    )
    table.add_row("attainment report, 100 tickets per count", f"{count:,}", f"{reports.listed:.3f}", "", "")
    table.add_row(
        "what-if (read, both sides replayed, compared)",
        f"{count:,}",
        f"{whatif_s:.2f}",
        rate(count, whatif_s),
        f"{single_all_s / whatif_s:.0f}x",
    )
    table.add_row(
        f"one at a time: {len(chosen):,} compared",
        f"{len(chosen):,}",
        f"{single_s:.2f}",
        rate(len(chosen), single_s),
        "",
    )
    table.add_row(
        "one at a time, extrapolated to all", f"{count:,}", f"{single_all_s:,.0f}", rate(count, single_all_s), "1x"
    )
    console.print(table)
    for row in [r for r in reports.report.rows if r.group != ()][:6]:
        figure = f"{row.attainment:.1%}" if row.attainment is not None else "-"
        console.print(f"  {row.metric} {dict(row.group)}: met {row.met:,}, breached {row.breached:,}, {figure}")
    for side in whatif.rows[:6]:
        console.print(
            f"  what-if {side.metric} {dict(side.group)}: breached {side.actual.breached:,} -> "
            f"{side.candidate.breached:,} ({side.more_breaches:+,})"
        )
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
        for problem in problems:
            console.print(f"[red]{problem}[/red]")
        return 1
    console.print(
        f"The bulk what-if's changes equal the one-at-a-time what-if's on the {len(chosen):,} sampled tickets."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
