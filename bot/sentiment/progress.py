"""A build's progress in a small JSON file, for a process that watches a build running in another one."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    elapsed: float  # seconds since the first step was written

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def seconds_left(self) -> float | None:
        return self.elapsed / self.done * (self.total - self.done) if self.done else None


class ProgressFile:
    """Written by the build after every step (atomically: a reader never sees half a file), read by a watcher."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._started: float | None = None

    def write(self, done: int, total: int) -> None:
        now = time.time()
        if self._started is None:
            self._started = now
        staging = self.path.with_name(self.path.name + ".tmp")
        staging.write_text(json.dumps({"done": done, "total": total, "started": self._started, "at": now}))
        os.replace(staging, self.path)

    def read(self) -> Progress | None:
        """The latest progress, or None before the first step (or when the file is not there)."""
        try:
            data = json.loads(self.path.read_text())
            return Progress(int(data["done"]), int(data["total"]), float(data["at"]) - float(data["started"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
