"""Background work: the worker that fires timers, delivers the outbox and keeps house."""

from sladesk.jobs.worker import Pass, Worker, WorkerThread

__all__ = ["Pass", "Worker", "WorkerThread"]
