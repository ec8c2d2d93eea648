"""A mild brake on password guessing: per username, a delay after each failure and a lock after many.

In memory, per console process: enough to make guessing slow, without a table to clean. (A lock on a
username also locks out its owner for a few minutes; that is the price, and an admin can see it in the log.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


@dataclass
class LoginThrottle:
    delay_seconds: float = 1.0  # every failed attempt answers this much later
    max_failures: int = 10  # consecutive failures before the username is locked
    lock_seconds: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, _Failures] = field(default_factory=dict)

    def locked_for(self, username: str) -> float:
        """Seconds until `username` may try again; 0 when it may try now."""
        entry = self._failures.get(username)
        if entry is None:
            return 0.0
        return max(0.0, entry.locked_until - self.clock())

    def failed(self, username: str) -> None:
        entry = self._failures.setdefault(username, _Failures())
        if entry.locked_until and entry.locked_until <= self.clock():
            entry.count, entry.locked_until = 0, 0.0  # the lock expired: start counting again
        entry.count += 1
        if entry.count >= self.max_failures:
            entry.locked_until = self.clock() + self.lock_seconds
        if len(self._failures) > 10_000:  # a flood of made-up usernames must not grow without bound
            self._sweep()

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)

    def _sweep(self) -> None:
        now = self.clock()
        for name in [n for n, e in self._failures.items() if e.locked_until <= now]:
            del self._failures[name]
