"""Brakes on password guessing: per username, a delay after each failure and a lock after many; per client
address, a rate limit on sign-in attempts (429 with `Retry-After`).

The username brake is in memory, per console process: enough to make guessing slow, without a table to clean.
(A lock on a username also locks out its owner for a few minutes; that is the price, and an admin can see it
in the log.) The address limit (`TANDEM_RATE_LOGIN_PER_ADDRESS` a minute) is shared through Redis when
`TANDEM_REDIS_URL` is set, so several console processes count together (`bot.ratelimit`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.ratelimit import Limiter, Network, Rate, client_address, make_limiter, parse_networks
from bot.settings import Settings


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


@dataclass
class LoginLimit:
    """Sign-in attempts per client address (X-Forwarded-For counts only from a trusted proxy)."""

    limiter: Limiter
    rate: Rate | None
    trusted_proxies: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimit:
        return cls(
            make_limiter(settings.redis_url or None),
            Rate.per_minute(settings.rate_login_per_address),
            parse_networks(settings.trusted_proxies),
        )

    async def wait(self, peer: str | None, forwarded_for: str | None) -> float:
        """Count one attempt: 0.0 when it may go on, else the seconds until the address may try again."""
        if self.rate is None:
            return 0.0
        address = client_address(peer, forwarded_for, self.trusted_proxies)
        return await self.limiter.take(f"console:login:{address}", self.rate)
