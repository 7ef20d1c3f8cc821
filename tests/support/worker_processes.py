"""`sladesk worker` processes on one database for the length of a test: started, killed with SIGKILL,
replaced, and stopped at the end.

    with WorkerProcesses(worker_environment(url, smtp), logs) as workers:
        first = workers.start()
        workers.wait_until_ready()
        workers.kill(first)    # SIGKILL: no chance to finish the job in hand
        workers.start()        # a replacement picks up what the killed one left

Each process writes its output to its own file in `logs`; at the end every process still running gets
SIGTERM (it finishes the job in hand), and SIGKILL after 20 s.
"""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from tests.support import ROOT
from tests.support.processes import env, executable
from tests.support.receivers import SmtpReceiver

MAIL_FROM = "support@desk.example"
READY = '"message": "worker started"'  # the log line of a worker entering its loop


def worker_environment(database_url: str, smtp: SmtpReceiver, lease: timedelta | None = None) -> dict[str, str]:
    """A user's environment for `sladesk worker` on `database_url`, mailing through `smtp`; with `lease`, the
    outbox lease (how long a killed worker's messages wait before another worker sends them again)."""
    values = env()
    values.update(
        SLADESK_DATABASE_URL=database_url,
        SLADESK_SMTP_HOST=smtp.host,
        SLADESK_SMTP_PORT=str(smtp.port),
        SLADESK_MAIL_FROM=MAIL_FROM,
    )
    if lease is not None:
        values["SLADESK_DELIVERY_LEASE_SECONDS"] = str(lease.total_seconds())
    return values


class WorkerProcesses:
    """`sladesk worker` processes with `environment`, their output in `logs`; `running` are the ones alive."""

    def __init__(self, environment: dict[str, str], logs: Path) -> None:
        self.environment = environment
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []
        self.log_of: dict[int, Path] = {}  # each process's output, by pid
        self.started = 0
        self.killed = 0

    def start(self) -> subprocess.Popen[bytes]:
        """One more worker, its output in `worker-<n>.log`."""
        log = self.logs / f"worker-{self.started}.log"
        self.started += 1
        with log.open("wb") as output:
            process = subprocess.Popen(
                [executable(), "worker"], stdout=output, stderr=subprocess.STDOUT, env=self.environment, cwd=ROOT
            )
        self.running.append(process)
        self.log_of[process.pid] = log
        return process

    def ready(self) -> list[subprocess.Popen[bytes]]:
        """The running workers that have started their loop."""
        return [process for process in self.running if READY in self.log_of[process.pid].read_text()]

    def wait_until_ready(self, timeout_s: float = 120) -> None:
        """Until every running worker has started its loop (its imports and the database check take seconds)."""
        deadline = time.monotonic() + timeout_s
        while len(self.ready()) < len(self.running):
            self.check_alive()
            assert time.monotonic() < deadline, f"the workers did not start within {timeout_s:g} s: see {self.logs}"
            time.sleep(0.05)

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL `process` and wait for it to be gone."""
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
        self.running.remove(process)
        self.killed += 1

    def check_alive(self) -> None:
        """Fail if a worker ended by itself."""
        for process in self.running:
            assert process.poll() is None, f"a worker ended with {process.returncode}: see {self.logs}"

    def stop(self) -> None:
        """SIGTERM every running worker (it finishes the job in hand), SIGKILL after 20 s."""
        for process in self.running:
            if process.poll() is None:
                process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running.clear()

    def __enter__(self) -> WorkerProcesses:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
