"""`tandem up --production` as a child process on free ports, for the tests and benchmarks of the topology."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.production.backing import DATABASES, POSTGRES_USER
from bot.production.layout import Ports
from tests.support.rasa_model import CACHE, ROOT, rasa_env, trained_model

READY = "is running behind nginx"
# Variables of the developer's shell that would point the profile elsewhere than its own services.
_FOREIGN = ("TANDEM_DATABASE_URL", "TANDEM_SECRET_KEY", "TANDEM_RASA_TOKEN", "TANDEM_REDIS_URL", "TANDEM_PROFILE")


@dataclass
class Production:
    process: subprocess.Popen
    ports: Ports
    root: Path  # the state folder
    log: Path  # `up`'s own output
    env: dict[str, str]
    secret_key: str
    rasa_token: str

    @property
    def public_url(self) -> str:
        return f"http://localhost:{self.ports.public}"

    @property
    def database_url(self) -> str:
        password = (self.root / "production" / "postgres-password").read_text().strip()
        return f"postgresql+psycopg2://{POSTGRES_USER}:{password}@127.0.0.1:{self.ports.postgres}/{DATABASES[0]}"

    def rasa_url(self, instance: int) -> str:
        return f"http://127.0.0.1:{self.ports.rasa[instance]}"

    def service_log(self, name: str) -> Path:
        return self.root / "logs" / (name.replace(" ", "-") + ".log")

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def free_span(span: int, start: int = 20000, stop: int = 40000) -> int:
    """The first port of `span` consecutive ports nobody listens on."""
    rng = secrets.SystemRandom()
    for _ in range(200):
        base = rng.randrange(start, stop - span)
        try:
            for port in range(base, base + span):
                with socket.socket() as probe:
                    probe.bind(("0.0.0.0", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {span} free ports in a row between {start} and {stop}")


def _private(path: Path, text: str) -> Path:
    path.touch(mode=0o600)
    path.write_text(text + "\n")
    return path


@contextmanager
def production_profile(
    instances: int = 2, customers: int = 30, extra_env: dict[str, str] | None = None, timeout: float = 600
) -> Iterator[Production]:
    """The profile with the tests' trained models, in a state folder of its own, stopped (and checked) at exit."""
    trained_model()
    # tempfile's 0700 folders would keep PostgreSQL's own user out of its data folder.
    root = Path(tempfile.mkdtemp(prefix="tandem-production-"))
    root.chmod(0o755)
    secret_key, rasa_token = secrets.token_urlsafe(48), secrets.token_urlsafe(32)
    secrets_dir = root / "secrets"
    secrets_dir.mkdir(mode=0o700)
    ports = Ports.from_public(free_span(Ports.SPAN), instances)
    env = rasa_env(
        {
            "TANDEM_STATE_DIR": str(root),
            "TANDEM_MODELS_DIR": str(CACHE),
            "TANDEM_SECRET_KEY_FILE": str(_private(secrets_dir / "secret-key", secret_key)),
            "TANDEM_RASA_TOKEN_FILE": str(_private(secrets_dir / "rasa-token", rasa_token)),
            "TANDEM_JOURNEY_POLL_SECONDS": "1",
            **(extra_env or {}),
        }
    )
    for name in _FOREIGN:
        env.pop(name, None)
    log = root / "up-output.log"
    command = [sys.executable, "-m", "bot.cli", "up", "--production", "--customers", str(customers)]
    command += ["--instances", str(instances), "--public-port", str(ports.public), "--listen-host", "127.0.0.1"]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    production = Production(process, ports, root, log, env, secret_key, rasa_token)
    try:
        deadline = time.monotonic() + timeout
        while READY not in production.output():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`tandem up --production` did not start:\n{production.output()[-5000:]}")
            time.sleep(1)
        yield production
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
        _stop_leftovers(root)
        if os.environ.get("TANDEM_KEEP_PRODUCTION_STATE"):
            print(f"the profile's state folder (logs/ has every process's output): {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


def _stop_leftovers(root: Path) -> None:
    """Nothing may outlive the profile; a test that leaves processes behind would break the ones after it."""
    from bot import run_lock

    record = run_lock.read(root)
    for pid in record.children if record is not None else ():
        if not record.ours(pid):
            continue
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
