"""`tandem status` says, from any terminal, whether each process `tandem up` supervises runs and answers, and
how often it was started again; exit 0 only when all are healthy.

The supervisor is the real `bot.stack` code over small HTTP servers (tests/unit/test_run_lock.py).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from bot import run_lock
from bot.processes import free_port
from bot.status import stack_status
from tests.unit.test_run_lock import _supervisor, _wait_running


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_nothing_running_is_not_healthy(tmp_path: Path) -> None:
    status = stack_status(tmp_path)
    assert status.supervisor_pid is None and not status.healthy


def test_each_process_is_reported_killed_restarted_and_answering_again(tmp_path: Path) -> None:
    steady, crashing = free_port(), free_port()
    process, log = _supervisor(tmp_path, [steady, crashing])
    try:
        _wait_running(process, log)
        status = stack_status(tmp_path)
        assert status.supervisor_pid == process.pid and status.healthy
        assert [(p.name, p.state, p.restarts) for p in status.processes] == [
            (f"web {steady}", "answering", 0),
            (f"web {crashing}", "answering", 0),
        ]
        victim = int((tmp_path / f"{crashing}.pid").read_text())
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: not run_lock.alive(victim))
        hurt = stack_status(tmp_path)
        assert not hurt.healthy and hurt.processes[0].healthy  # the other carries on

        def restarted() -> bool:
            now = stack_status(tmp_path)
            return now.healthy and now.processes[1].restarts == 1

        _wait_for(restarted)
        assert stack_status(tmp_path).processes[1].pid != victim
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, log.read_text()
    assert stack_status(tmp_path).supervisor_pid is None
