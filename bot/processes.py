"""What running Tandem's processes needs, shared by `tandem up`, the tests and the benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

# Rasa, TensorFlow and transformers must never phone home or wait on the hub: the machine is offline.
RUNTIME_DEFAULTS = {
    "RASA_TELEMETRY_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    # Rasa keeps its connections to the action server open for 15 s; Sanic closed idle ones after 5 s, so under
    # load Rasa reused a connection being closed and lost the action ("Cannot write to closing transport").
    # The servers (Sanic reads SANIC_* variables) now keep connections longer than their clients do.
    "SANIC_KEEP_ALIVE_TIMEOUT": "75",
}


class ServiceFailed(RuntimeError):
    """A process exited, or its health URL did not answer in time."""


def runtime_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the offline defaults, then `extra` on top."""
    env = dict(os.environ)
    for key, value in RUNTIME_DEFAULTS.items():
        env.setdefault(key, value)
    env.update(extra or {})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str, timeout: float = 2.0, *, any_status: bool = False) -> bool:
    """Whether `url` answers: http(s) with a 2xx (any status with `any_status`), tcp://host:port by accepting."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "tcp":
        try:
            with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=timeout):
                return True
        except OSError:
            return False
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return any_status
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def wait_until_answers(url: str, process: subprocess.Popen | None = None, timeout: float = 180) -> None:
    """Return once `url` answers (see `answers`); fail early if `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceFailed(f"{url}: the process exited with code {process.returncode}")
        if answers(url):
            return
        time.sleep(0.5)
    raise ServiceFailed(f"{url} did not answer within {timeout:.0f} s")
