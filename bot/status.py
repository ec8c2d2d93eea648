"""What `tandem status` reports: each process `tandem up` supervises, whether it runs and answers, its restarts.

Read from the state folder `up` writes (bot.run_lock) and one HTTP request per service, so it works from any
terminal, also while `up` runs in the background, and says plainly when nothing is running.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bot import run_lock
from bot.processes import answers

PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class ProcessStatus:
    name: str
    pid: int | None
    state: str  # answering | running (a worker) | not answering | down (restarting)
    restarts: int
    answer_ms: float | None = None
    log: str | None = None

    @property
    def healthy(self) -> bool:
        return self.state in ("answering", "running")


@dataclass(frozen=True)
class StackStatus:
    supervisor_pid: int | None  # None: no `tandem up` runs here
    processes: tuple[ProcessStatus, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.supervisor_pid is not None and all(p.healthy for p in self.processes)


def _answers(url: str) -> float | None:
    """Milliseconds to an answer (any HTTP status: the process is serving), None when there is none."""
    started = time.perf_counter()
    if not answers(url, PROBE_TIMEOUT, any_status=True):
        return None
    return (time.perf_counter() - started) * 1000


def _process(record: run_lock.Record, service: run_lock.ServiceRecord) -> ProcessStatus:
    if service.pid is None or not record.ours(service.pid):
        return ProcessStatus(service.name, None, "down (restarting)", service.restarts, log=service.log)
    if service.health_url is None:
        return ProcessStatus(service.name, service.pid, "running", service.restarts, log=service.log)
    answer_ms = _answers(service.health_url)
    state = "answering" if answer_ms is not None else "not answering"
    return ProcessStatus(service.name, service.pid, state, service.restarts, answer_ms, service.log)


def stack_status(state_dir: Path) -> StackStatus:
    record = run_lock.read(state_dir)
    if record is None or not record.ours(record.pid):
        return StackStatus(None)
    return StackStatus(record.pid, tuple(_process(record, service) for service in record.services))
