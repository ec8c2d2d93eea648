"""Rasa's command line in a child process, as `bot.training` runs it: Rasa stays out of this process (its imports
take half a minute and its TensorFlow a gigabyte), its output goes to a log, and it dies with its caller."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.processes import runtime_env
from bot.run_lock import die_with_parent
from bot.settings import PROJECT_ROOT


@dataclass(frozen=True)
class RasaRun:
    returncode: int  # -1: it ran out of time
    log: Path
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, characters: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-characters:]
        except OSError:
            return ""


def run_rasa(
    arguments: Sequence[str], log: Path, timeout: float, env: dict[str, str] | None = None, root: Path = PROJECT_ROOT
) -> RasaRun:
    """`python -m bot.rasa_cli <arguments>` in `root`; never raises for Rasa's own failures (see `returncode`)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.rasa_cli", *arguments],
            cwd=root,
            env=runtime_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = -1
    return RasaRun(code, log, time.monotonic() - started)
