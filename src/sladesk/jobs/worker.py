"""The worker loop: fire due timers, deliver the outbox, keep house; sleep until the next instant to act.

One `Worker` runs inside `sladesk serve` (the embedded default) or as `sladesk worker` (any number of them
on PostgreSQL, on any machines). Each pass works in short units of work through the services; between
passes it sleeps until the earliest unfired timer or pending message, at most `SAFETY_POLL`, and a change
that writes an earlier timer wakes it (`sladesk.store.wakeup`: LISTEN/NOTIFY on PostgreSQL, an in-process
event on SQLite). `stop()` lets the pass in hand finish, so a graceful shutdown never leaves a half-done
job: a timer is fired and recorded in one transaction, and a message's delivery is recorded after it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sladesk.config import Settings
from sladesk.jobs.metrics import DELIVERIES, TIMER_LAG, TIMERS_FIRED
from sladesk.services.delivery import Deliver, Delivered, deliver_due
from sladesk.services.timers import fire_due_timers
from sladesk.store.tables import OutboxMessage, Timer
from sladesk.store.transaction import reading, transaction
from sladesk.store.wakeup import CHANNEL, SOON, waker

log = logging.getLogger("sladesk.worker")

SAFETY_POLL = SOON.total_seconds()
TIMER_BATCH = 100  # timers claimed in one transaction: its firings become visible (and deliverable) at its commit
OUTBOX_BATCH = 200  # messages sent in one pass: what a full timer pass queues when each firing tells two
IDLE_BACKOFF = 0.1  # seconds to wait when due rows are all held by other workers' passes
GATHER = 0.1  # seconds at least between passes that fired less than a batch: they share a pass's fixed cost
# While a backlog of due timers keeps the passes full, a worker fires first and delivers only this often:
# firing is what the clocks and histories wait on, and the messages it queues go out right after.
DELIVER_EVERY_IN_BACKLOG = timedelta(seconds=5)

Chore = Callable[[sessionmaker[Session], datetime], Any]


@dataclass(frozen=True)
class Pass:
    """What one pass did."""

    fired: int
    skipped: int
    busy: int
    claimed: int
    sent: int
    retried: int
    dead: int
    more: bool  # a batch was full: go again at once


@dataclass
class Worker:
    """A worker on `sessions`; `clock` gives `now` (the wall clock unless a test fixes it)."""

    sessions: sessionmaker[Session]
    settings: Settings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    send: Deliver | None = None  # a stand-in for the channels; None: the channels, connections shared per pass
    chores: list[tuple[timedelta, Chore]] = field(default_factory=list)  # (every, chore): housekeeping, mail
    name: str = "worker"
    _stopping: threading.Event = field(default_factory=threading.Event)
    _chores_due: dict[int, datetime] = field(default_factory=dict)
    _delivered_at: datetime | None = None

    def run_once(self) -> Pass:
        """One pass: due timers, then due messages (at least every `DELIVER_EVERY_IN_BACKLOG` while timers are
        backed up), then any chore whose turn has come."""
        now = self.clock()
        with transaction(self.sessions) as session:
            fired = fire_due_timers(session, now, limit=TIMER_BATCH)
        acted_at = self.clock()
        for timer in fired.acted:
            TIMERS_FIRED.labels(timer.kind, "acted").inc()
            TIMER_LAG.observe(max((acted_at - timer.due_at).total_seconds(), 0.0))
            log.info(
                "timer fired",
                extra={"worker": self.name, "timer": timer.id, "ticket": timer.ticket_id, "kind": timer.kind},
            )
        for timer in fired.skipped:
            TIMERS_FIRED.labels(timer.kind, "skipped").inc()
        backlog = fired.claimed >= TIMER_BATCH
        if backlog and self._delivered_at is not None and acted_at - self._delivered_at < DELIVER_EVERY_IN_BACKLOG:
            delivered = Delivered()  # more timers are due: fire them first, deliver within the second
        else:
            delivered = deliver_due(self.sessions, self.clock, self.settings, limit=OUTBOX_BATCH, send=self.send)
            self._delivered_at = acted_at
        for outcome, keys in (("sent", delivered.sent), ("retried", delivered.retried), ("dead", delivered.dead)):
            for key in keys:
                DELIVERIES.labels(delivered.kinds.get(key, "unknown"), outcome).inc()
                log.info("message " + outcome, extra={"worker": self.name, "idempotency_key": key})
        self._run_chores(self.clock())
        handled = len(delivered.sent) + len(delivered.retried) + len(delivered.dead)
        return Pass(
            fired=len(fired.acted),
            skipped=len(fired.skipped),
            busy=fired.busy,
            claimed=fired.claimed,
            sent=len(delivered.sent),
            retried=len(delivered.retried),
            dead=len(delivered.dead),
            more=fired.claimed >= TIMER_BATCH or handled >= OUTBOX_BATCH,
        )

    def seconds_to_next(self) -> float:
        """How long to sleep: until the earliest unfired timer or pending message, at most SAFETY_POLL."""
        with reading(self.sessions) as session:
            timer = session.scalar(select(func.min(Timer.due_at)).where(Timer.fired_at.is_(None)))
            pending = select(func.min(OutboxMessage.available_at)).where(OutboxMessage.status == "pending")
            if not self.settings.smtp_host:
                pending = pending.where(OutboxMessage.kind != "email")  # email waits for an SMTP server
            message = session.scalar(pending)
        now = self.clock()
        upcoming = [(instant - now).total_seconds() for instant in (timer, message) if instant is not None]
        return max(0.0, min([SAFETY_POLL, *upcoming]))

    def run(self) -> None:
        """Work until `stop()`: passes back to back while there is work, else sleep until the next instant."""
        alarm = self._alarm()
        with self._listening() as listen:
            log.info("worker started", extra={"worker": self.name})
            while not self._stopping.is_set():
                try:
                    done = self.run_once()
                except Exception:  # a database outage or a bug in one pass must not end the worker
                    log.exception("worker pass failed", extra={"worker": self.name})
                    self._stopping.wait(SAFETY_POLL)
                    continue
                if done.more:
                    continue
                if done.busy:  # tickets held by requests: try again shortly
                    self._stopping.wait(0.05)
                    continue
                wait = self.seconds_to_next()
                if wait == 0 and done.claimed == 0 and done.sent + done.retried + done.dead == 0:
                    wait = IDLE_BACKOFF  # due rows, all held by other workers' passes: do not spin on them
                elif done.claimed:
                    wait = max(wait, GATHER)  # timers falling due one by one: fire them a batch at a time
                self._sleep(wait, alarm, listen)
            log.info("worker stopped", extra={"worker": self.name})

    def stop(self) -> None:
        """Finish the pass in hand, then return from `run`."""
        self._stopping.set()
        with self.sessions() as session:
            waker(session).set()

    def _alarm(self) -> threading.Event:
        with self.sessions() as session:
            return waker(session)

    def _sleep(self, seconds: float, alarm: threading.Event, listen: Callable[[float], bool] | None) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or alarm.is_set():
                break
            if listen is not None:
                if listen(min(left, 0.25)):
                    break
            else:
                alarm.wait(left)
        alarm.clear()

    @contextlib.contextmanager
    def _listening(self) -> Iterator[Callable[[float], bool] | None]:
        """On PostgreSQL, a connection that LISTENs for new timers; elsewhere nothing (the in-process alarm)."""
        engine = self.sessions.kw["bind"]
        if engine.dialect.name != "postgresql":
            yield None
            return
        import psycopg

        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")

            def listen(timeout: float) -> bool:
                return any(True for _ in connection.notifies(timeout=timeout, stop_after=1))

            yield listen

    def _run_chores(self, now: datetime) -> None:
        for index, (every, chore) in enumerate(self.chores):
            due = self._chores_due.get(index)
            if due is not None and now < due:
                continue
            self._chores_due[index] = now + every
            try:
                chore(self.sessions, now)
            except Exception:
                log.exception("chore failed", extra={"worker": self.name, "chore": getattr(chore, "__name__", "")})


class WorkerThread:
    """A worker running in a daemon thread of this process (the embedded worker of `sladesk serve`)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.thread = threading.Thread(target=worker.run, name=f"sladesk-{worker.name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.worker.stop()
        self.thread.join(timeout)
