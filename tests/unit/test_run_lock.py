"""One Tandem per state folder, no orphans: a killed `tandem up` takes its children with it, a second `up` names
the first instead of dying on a busy port, and `tandem down` stops whatever `up` started.

The supervisor here is the real `bot.stack` code (as `up` runs it, with `run_lock`) over small HTTP servers.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot import run_lock
from bot.processes import free_port
from tests.conftest import ROOT
from tests.unit.test_stack_supervisor import SERVER, _answers

SUPERVISOR = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bot import run_lock
    from bot.stack import Service, stop_on_signals, supervise

    stop_on_signals()
    server, state, ports = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    try:
        run_lock.claim(state)
    except run_lock.AlreadyRunning as exc:
        sys.exit(str(exc))
    services = [Service(f"web {p}", [sys.executable, "-c", server, p, f"{state}/{p}.pid"],
                        f"http://127.0.0.1:{p}/") for p in ports]
    try:
        sys.exit(supervise(services, {}, "RUNNING", state_dir=state))
    finally:
        run_lock.release(state)
    """
)


def _supervisor(tmp_path: Path, ports: list[int], name: str = "supervisor") -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    with log.open("w") as out:  # the child keeps its own copy of the file
        process = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR, SERVER, str(tmp_path), *map(str, ports)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, log


def _wait_running(process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while "RUNNING" not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not run_lock.alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_children_die_with_a_supervisor_killed_outright(tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    process, log = _supervisor(tmp_path, ports)
    _wait_running(process, log)
    children = run_lock.read(tmp_path).children
    assert len(children) == 2 and all(run_lock.alive(p) for p in children)
    process.send_signal(signal.SIGKILL)  # a closed terminal, the OOM killer: no chance to stop anything
    process.wait(timeout=10)
    assert all(_gone(p) for p in children)
    assert not any(_answers(p) for p in ports)


def test_a_second_up_names_the_first_and_down_stops_it(tmp_path: Path) -> None:
    ports = [free_port()]
    first, log = _supervisor(tmp_path, ports)
    _wait_running(first, log)
    second, second_log = _supervisor(tmp_path, [free_port()], name="second")
    assert second.wait(timeout=30) == 1
    said = second_log.read_text().strip()
    assert said == f"Tandem is already running, PID {first.pid}; stop it with `./tandem down`"
    assert _answers(ports[0])  # the first is untouched

    message = run_lock.down(tmp_path)
    assert message.startswith(f"stopped tandem up (PID {first.pid})")
    assert first.wait(timeout=10) == 0 and not _answers(ports[0])
    assert run_lock.read(tmp_path) is None
    assert run_lock.down(tmp_path).startswith("Tandem is not running")


def test_down_stops_children_left_by_an_up_that_did_not_take_them(tmp_path: Path) -> None:
    """Orphans of an older `up` (or one whose children outlived it): recorded, so `down` finds them."""
    port = free_port()
    orphan = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(tmp_path / "orphan.pid")], start_new_session=True
    )
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / run_lock.PID_FILE).write_text(f'{{"pid": {dead.pid}, "children": [{orphan.pid}]}}')
    assert run_lock.down(tmp_path) == f"stopped 1 leftover process(es) (PIDs {orphan.pid})"
    assert orphan.wait(timeout=20) is not None


def test_a_busy_port_is_one_line_naming_it() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(run_lock.PortBusy) as caught:
            run_lock.check_ports([("rasa", "0.0.0.0", port)])
    assert str(caught.value) == (
        f"port {port} (rasa) is already in use by another program: stop it, or give rasa another port"
    )
    run_lock.check_ports([("rasa", "0.0.0.0", port)])  # free again


def test_a_recorded_pid_the_system_gave_to_another_program_is_left_alone(tmp_path: Path) -> None:
    """A stale record after a reboot: its PIDs may belong to anything now; only our own processes are stopped."""
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / run_lock.PID_FILE).write_text(
            f'{{"pid": {stranger.pid}, "children": [{stranger.pid}], "started": {{"{stranger.pid}": "1"}}}}'
        )
        run_lock.claim(tmp_path)  # not "already running": that PID is not the recorded process
        assert stranger.poll() is None
        assert run_lock.read(tmp_path).pid != stranger.pid
    finally:
        stranger.kill()
