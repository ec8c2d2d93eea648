"""`tandem up` stops everything on SIGINT and SIGTERM, also when a shell started it in the background.

A background job starts with SIGINT ignored, and Python keeps it so unless told otherwise: `tandem up &` used to
ignore Ctrl-C-style stops from a supervisor. The supervisor here runs the real `bot.stack` code with two small
HTTP services, in a child process whose SIGINT is ignored exactly as a shell does it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from bot.processes import free_port
from tests.conftest import ROOT

SUPERVISOR = textwrap.dedent(
    """
    import sys
    from bot.stack import Service, stop_on_signals, supervise

    stop_on_signals()
    ports = sys.argv[1:]
    services = [Service(f"web {p}", [sys.executable, "-m", "http.server", p, "--bind", "127.0.0.1"],
                        f"http://127.0.0.1:{p}/") for p in ports]
    sys.exit(supervise(services, {}, "RUNNING"))
    """
)


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
            return True
    except OSError:
        return False


def _started_in_background(tmp_path: Path, ports: list[int]) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "supervisor.log"
    process = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, *map(str, ports)], cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # what `cmd &` does in a shell
    )
    deadline = time.monotonic() + 60
    while "RUNNING" not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    return process, log


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_background_supervisor_stops_every_child_on_a_signal(tmp_path: Path, signum: int) -> None:
    ports = [free_port(), free_port()]
    process, log = _started_in_background(tmp_path, ports)
    assert all(_answers(p) for p in ports)
    process.send_signal(signum)
    assert process.wait(timeout=30) == 0, log.read_text()
    assert not any(_answers(p) for p in ports)
    assert "Traceback" not in log.read_text()
