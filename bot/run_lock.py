"""Who is running Tandem here: `tandem up` records itself and its children, so a second `up` names the first
instead of failing on a busy port, and `tandem down` stops whatever `up` started (also after `up` itself was
killed). The children die with `up` (`die_with_parent`), so a SIGKILL of `up` leaves no orphans behind.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

PID_FILE = "up.json"
_PR_SET_PDEATHSIG = 1


class AlreadyRunning(RuntimeError):
    """Another `tandem up` is alive in this state folder."""


class PortBusy(RuntimeError):
    """A port `up` needs is taken by some other program."""


@dataclass(frozen=True)
class ServiceRecord:
    """One process `up` supervises, as `tandem status` reports it."""

    name: str
    pid: int | None
    health_url: str | None  # None: a worker without HTTP; running is healthy
    restarts: int = 0
    log: str | None = None


@dataclass(frozen=True)
class Record:
    pid: int
    children: tuple[int, ...] = ()
    # When each process started (kernel clock ticks): a PID the system reused for another program is not ours.
    started: tuple[tuple[int, str], ...] = ()
    services: tuple[ServiceRecord, ...] = ()

    def ours(self, pid: int) -> bool:
        recorded = dict(self.started).get(pid)
        return alive(pid) and (recorded is None or recorded == start_time(pid))


def die_with_parent() -> None:
    """In a child before exec: the kernel sends it SIGTERM when `up` dies, however `up` dies (Linux only)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: `tandem down` still stops the children
        pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited: it only waits for its parent to read its status
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def start_time(pid: int) -> str | None:
    """The process's start time from /proc (None where there is no /proc, or no such process)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def read(state_dir: Path) -> Record | None:
    try:
        data = json.loads((state_dir / PID_FILE).read_text())
        started = tuple((int(p), str(t)) for p, t in (data.get("started") or {}).items())
        services = tuple(ServiceRecord(**service) for service in data.get("services") or ())
        return Record(int(data["pid"]), tuple(int(p) for p in data.get("children") or ()), started, services)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write(state_dir: Path, children: Iterable[int] = (), services: Iterable[ServiceRecord] = ()) -> None:
    path = state_dir / PID_FILE
    pids = sorted(set(children))
    started = {str(p): t for p in [os.getpid(), *pids] if (t := start_time(p)) is not None}
    record = {"pid": os.getpid(), "children": pids, "started": started, "services": [asdict(s) for s in services]}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)


def claim(state_dir: Path) -> None:
    """Record this `up`; AlreadyRunning when another one is alive. Children left by a killed `up` are stopped."""
    state_dir.mkdir(parents=True, exist_ok=True)
    record = read(state_dir)
    if record is not None and record.pid != os.getpid() and record.ours(record.pid):
        raise AlreadyRunning(f"Tandem is already running, PID {record.pid}; stop it with `./tandem down`")
    if record is not None:
        _stop_groups([p for p in record.children if record.ours(p)])
    write(state_dir)


def release(state_dir: Path) -> None:
    record = read(state_dir)
    if record is not None and record.pid == os.getpid():
        (state_dir / PID_FILE).unlink(missing_ok=True)


def check_ports(ports: Iterable[tuple[str, str, int]]) -> None:
    """PortBusy, naming the first (name, host, port) some other program holds."""
    for name, host, port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                raise PortBusy(
                    f"port {port} ({name}) is already in use by another program: stop it, or give {name} another port"
                ) from None


def _stop_groups(pids: list[int], timeout: float = 15.0) -> list[int]:
    for pid in pids:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    for pid in pids:
        if alive(pid):
            _signal_group(pid, signal.SIGKILL)
    return pids


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)  # each child leads its own group (its own children go with it)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def down(state_dir: Path, timeout: float = 30.0) -> str:
    """Stop the `up` recorded here and its children; what was done, in one line."""
    record = read(state_dir)
    if record is None:
        return "Tandem is not running (nothing recorded in " + str(state_dir / PID_FILE) + ")"
    stopped = []
    if record.ours(record.pid):
        os.kill(record.pid, signal.SIGTERM)  # `up` stops its children itself
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(record.pid):
            time.sleep(0.2)
        if alive(record.pid):
            os.kill(record.pid, signal.SIGKILL)
        stopped.append(f"tandem up (PID {record.pid})")
    left = [p for p in record.children if record.ours(p)]
    if left:
        _stop_groups(left)
        stopped.append(f"{len(left)} leftover process(es) (PIDs {', '.join(map(str, left))})")
    (state_dir / PID_FILE).unlink(missing_ok=True)
    return "stopped " + " and ".join(stopped) if stopped else "Tandem was not running (a stale record was removed)"
