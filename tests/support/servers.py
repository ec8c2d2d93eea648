"""Real Rasa and action server processes for end-to-end tests."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List

from tests.support.rasa_model import RASA, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up in {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def running(command: List[str], health_url: str, env: Dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until_up(health_url, process, log)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def action_server_command(port: int) -> List[str]:
    return [RASA, "run", "actions", "--actions", "actions", "--port", str(port)]


def rasa_server_command(model: Path, port: int, endpoints: Path) -> List[str]:
    return [RASA, "run", "--model", str(model), "--port", str(port), "--enable-api", "--cors", "*",
            "--credentials", "credentials.yml", "--endpoints", str(endpoints)]


def write_endpoints(path: Path, actions_port: int, tracker_db: Path) -> Path:
    path.write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n"
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tracker_db}\n"
        "lock_store:\n  type: in_memory\n"
    )
    return path
