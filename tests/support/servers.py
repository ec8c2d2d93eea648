"""Real Rasa and action server processes for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.processes import ServiceFailed, free_port, wait_until_answers
from tests.support.rasa_model import RASA, ROOT

__all__ = ["action_server_command", "free_port", "rasa_server_command", "running", "wait_until_up", "write_endpoints"]


# How long a server may take to answer after its start; a machine busy with other test runs may need longer.
START_TIMEOUT = float(os.environ.get("TANDEM_TEST_START_TIMEOUT") or 180)


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT) -> None:
    try:
        wait_until_answers(url, process, timeout)
    except ServiceFailed as exc:
        raise RuntimeError(f"{exc}:\n{log.read_text()[-3000:]}") from exc


@contextmanager
def running(command: list[str], health_url: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
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


def action_server_command(port: int) -> list[str]:
    return [RASA, "run", "actions", "--actions", "actions", "--port", str(port)]


def rasa_server_command(model: Path, port: int, endpoints: Path) -> list[str]:
    """Rasa as production runs it: `bot.rasa_cli` adds `--auth-token` from the settings of the environment the
    process is given, so its HTTP API takes `?token=<that Settings.rasa_api_token>` and refuses anything else."""
    return [
        sys.executable,
        "-m",
        "bot.rasa_cli",
        "run",
        "--model",
        str(model),
        "--port",
        str(port),
        "--enable-api",
        "--cors",
        "*",
        "--credentials",
        "credentials.yml",
        "--endpoints",
        str(endpoints),
    ]


def write_endpoints(path: Path, actions_port: int, tracker_db: Path, events_db: Path | None = None) -> Path:
    """endpoints.yml's settings at test addresses; with `events_db`, Rasa also publishes every event to its SQL event
    broker there, as endpoints.yml has it (a test of the insights consumer)."""
    broker = f"event_broker:\n  type: SQL\n  dialect: sqlite\n  db: {events_db}\n" if events_db else ""
    path.write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n  enable_selective_domain: true\n"
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tracker_db}\n"
        "lock_store:\n  type: in_memory\n" + broker
    )
    return path
