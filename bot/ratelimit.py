"""Rate limits (token buckets) per customer and per client address: in memory, or shared through Redis.

One bucket per key holds up to `limit` tokens and refills at `limit` per window; each request takes a token,
and a request that finds none is refused with the seconds until one is back (HTTP 429, `Retry-After`). In
memory the buckets are per process; with `TANDEM_REDIS_URL` every instance shares them (one Lua script per
request, atomic in Redis). If Redis cannot be reached the process falls back to its own buckets and logs it:
a limit that blocks every customer because Redis is down would be worse than a per-process one.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
KEY_PREFIX = "tandem:rate:"
MAX_MEMORY_BUCKETS = 50_000  # beyond this, full (idle) buckets are dropped: a flood of addresses cannot grow memory
REDIS_TIMEOUT = 0.5  # seconds; a slow Redis must not hold every message up


@dataclass(frozen=True)
class Rate:
    """`limit` requests per `window_seconds`, in bursts of at most `limit`."""

    limit: int
    window_seconds: float = 60.0

    @property
    def per_second(self) -> float:
        return self.limit / self.window_seconds

    @classmethod
    def per_minute(cls, limit: int) -> Rate | None:
        """A limit from a setting: 0 (or less) means no limit."""
        return cls(int(limit), 60.0) if limit > 0 else None


def retry_after(seconds: float) -> int:
    """The `Retry-After` value: whole seconds, at least 1."""
    return max(1, math.ceil(seconds))


class Limiter(Protocol):
    async def take(self, key: str, rate: Rate) -> float:
        """Take a token from `key`'s bucket: 0.0 when the request may go on, else seconds until it may."""
        ...

    async def close(self) -> None: ...


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class MemoryLimiter:
    """Buckets in this process (one instance, or a fallback when Redis is down)."""

    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    async def take(self, key: str, rate: Rate) -> float:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_MEMORY_BUCKETS:
                self._sweep(now, rate)
            bucket = self._buckets[key] = _Bucket(float(rate.limit), now)
        bucket.tokens = min(float(rate.limit), bucket.tokens + max(0.0, now - bucket.at) * rate.per_second)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate.per_second

    def _sweep(self, now: float, rate: Rate) -> None:
        """Drop the buckets that have refilled (their keys are idle): they hold nothing a new bucket would not."""
        for key in [k for k, b in self._buckets.items() if now - b.at >= rate.window_seconds]:
            del self._buckets[key]

    async def close(self) -> None:
        self._buckets.clear()


# KEYS[1] the bucket; ARGV: capacity, tokens per second, now (seconds), expiry (ms). Returns the wait as a string
# (Redis turns a Lua number into an integer).
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
  at = now
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return tostring(wait)
"""


class RedisLimiter:
    """Buckets shared by every instance through Redis; this process's own buckets while Redis is unreachable."""

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time, prefix: str = KEY_PREFIX) -> None:
        import redis.asyncio

        self.url = url
        self.clock = clock  # wall-clock seconds: instances on several machines share the buckets
        self.prefix = prefix
        self.client: Any = redis.asyncio.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        self._script = self.client.register_script(_TAKE)
        self.fallback = MemoryLimiter()
        self._warned_at = -math.inf

    async def take(self, key: str, rate: Rate) -> float:
        expiry_ms = max(1000, math.ceil(rate.window_seconds * 2000))
        try:
            wait = await self._script(
                keys=[self.prefix + key], args=[rate.limit, repr(rate.per_second), repr(self.clock()), expiry_ms]
            )
        except Exception as exc:  # redis errors, timeouts, refused connections: limit in this process instead
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("rate limits: Redis at %s failed (%s); limiting in this process meanwhile", self.url, exc)
            return await self.fallback.take(key, rate)
        return float(wait)

    async def close(self) -> None:
        await self.client.close()
        await self.client.connection_pool.disconnect()


def make_limiter(redis_url: str | None) -> Limiter:
    """Shared buckets when a Redis URL is configured (several instances), else this process's own."""
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()


# --- who the client is ------------------------------------------------------------------------------------------


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`TANDEM_TRUSTED_PROXIES`: addresses or networks (`10.0.0.0/8`); a clear error names a bad entry."""
    networks = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f"TANDEM_TRUSTED_PROXIES: {entry!r} is not an IP address or network") from exc
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: Any, trusted: tuple[Network, ...]) -> bool:
    return any(address.version == n.version and address in n for n in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy, then the nearest address in
    `X-Forwarded-For` (read from the right) that is not a trusted proxy. Entries left of an untrusted or
    malformed one were written by the client and are ignored."""
    peer_address = _address(peer or "")
    if peer_address is None:
        return peer or "unknown"
    if not forwarded_for or not _trusted(peer_address, trusted):
        return str(peer_address)
    client = peer_address
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            break
        client = address
        if not _trusted(address, trusted):
            break
    return str(client)
