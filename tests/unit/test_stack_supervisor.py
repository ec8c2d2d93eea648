"""`tandem up` keeps its processes running and stops them all on SIGINT or SIGTERM, also in the background.

A background job starts with SIGINT ignored, and Python keeps it so unless told otherwise: `tandem up &` used to
ignore Ctrl-C-style stops from a supervisor. And one process killed (`kill -9` of the action server) used to stop
everything. The supervisor here runs the real `bot.stack` code with two small HTTP services, in a child process
whose SIGINT is ignored exactly as a shell does it.
"""

from __future__ import annotations

import os
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

# A small web server that leaves its pid where the test can find it (to kill it).
SERVER = (
    "import http.server, os, sys; open(sys.argv[2], 'w').write(str(os.getpid())); "
    "http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.SimpleHTTPRequestHandler)"
    ".serve_forever()"
)
SUPERVISOR = textwrap.dedent(
    """
    import sys
    from bot.stack import Service, stop_on_signals, supervise

    stop_on_signals()
    server, folder, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
    services = [Service(f"web {p}", [sys.executable, "-c", server, p, f"{folder}/{p}.pid"],
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
    with log.open("w") as out:  # the child keeps its own copy of the file
        process = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR, SERVER, str(tmp_path), *map(str, ports)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
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


def _pid(tmp_path: Path, port: int) -> int:
    return int((tmp_path / f"{port}.pid").read_text())


def test_a_killed_process_is_started_again_and_the_others_carry_on(tmp_path: Path) -> None:
    crashing, steady = free_port(), free_port()
    process, log = _started_in_background(tmp_path, [crashing, steady])
    try:
        first, steady_pid = _pid(tmp_path, crashing), _pid(tmp_path, steady)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not (_answers(crashing) and _pid(tmp_path, crashing) != first):
            assert process.poll() is None, log.read_text()  # the supervisor did not give up
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert _pid(tmp_path, steady) == steady_pid and _answers(steady)  # untouched meanwhile
        assert f"web {crashing} exited with code -9; starting it again in 1 s" in log.read_text()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, log.read_text()
    assert not _answers(crashing) and not _answers(steady)
