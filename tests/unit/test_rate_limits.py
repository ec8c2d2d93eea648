"""Rate limits: token buckets in memory and shared through the real Redis, and whose address a request counts
against (X-Forwarded-For only from a trusted proxy)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from bot.ratelimit import (
    MemoryLimiter,
    Rate,
    RedisLimiter,
    client_address,
    make_limiter,
    parse_networks,
    retry_after,
)

REDIS_URL = "redis://127.0.0.1:6379/15"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def takes(limiter, key: str, rate: Rate, count: int) -> list[float]:
    async def run() -> list[float]:
        try:
            return [await limiter.take(key, rate) for _ in range(count)]
        finally:
            await limiter.close()

    return asyncio.run(run())


@pytest.fixture
def redis_prefix():
    """A prefix of this test's own keys in the real Redis (db 15), removed afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("these tests need the Redis server on 127.0.0.1:6379 (apt-get install redis-server)")
    prefix = f"tandem-test:{uuid.uuid4().hex}:"
    yield prefix
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    client.close()


def test_a_bucket_takes_a_burst_of_the_limit_then_says_how_long_to_wait():
    clock = Clock()
    waits = takes(MemoryLimiter(clock=clock), "customer:a", Rate(3, 60.0), 4)
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(20.0)  # one token comes back every 60 / 3 s
    assert retry_after(waits[3]) == 20 and retry_after(0.01) == 1


def test_a_bucket_refills_with_time_and_each_key_has_its_own():
    clock = Clock()
    limiter = MemoryLimiter(clock=clock)
    rate = Rate(2, 60.0)

    async def run() -> list[float]:
        out = [await limiter.take("a", rate) for _ in range(3)]  # 0, 0, 30
        out.append(await limiter.take("b", rate))  # another key: its own bucket
        clock.now += 30.0
        out.append(await limiter.take("a", rate))  # one token back
        out.append(await limiter.take("a", rate))  # and none more yet
        return out

    waits = asyncio.run(run())
    assert waits[:2] == [0.0, 0.0] and waits[2] == pytest.approx(30.0)
    assert waits[3] == 0.0 and waits[4] == 0.0 and waits[5] == pytest.approx(30.0)


def test_rates_from_settings_zero_means_no_limit():
    assert Rate.per_minute(0) is None
    assert Rate.per_minute(20) == Rate(20, 60.0)


def test_redis_buckets_behave_like_memory_ones(redis_prefix):
    clock = Clock()
    waits = takes(RedisLimiter(REDIS_URL, clock=clock, prefix=redis_prefix), "customer:a", Rate(3, 60.0), 4)
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(20.0)
    keys = redis.Redis.from_url(REDIS_URL).keys(redis_prefix + "*")
    assert keys == [f"{redis_prefix}customer:a".encode()]
    assert 0 < redis.Redis.from_url(REDIS_URL).pttl(keys[0]) <= 120_000  # idle buckets expire on their own


def test_two_instances_share_one_bucket_through_redis(redis_prefix):
    """Two Rasa instances behind one address: a customer cannot double the limit by landing on both."""
    clock = Clock()
    rate = Rate(4, 60.0)

    async def run() -> list[float]:
        first = RedisLimiter(REDIS_URL, clock=clock, prefix=redis_prefix)
        second = RedisLimiter(REDIS_URL, clock=clock, prefix=redis_prefix)
        try:
            waits = []
            for i in range(6):
                waits.append(await (first if i % 2 else second).take("address:203.0.113.9", rate))
            clock.now += 15.0  # one token back, seen by both
            waits.append(await first.take("address:203.0.113.9", rate))
            waits.append(await second.take("address:203.0.113.9", rate))
            return waits
        finally:
            await first.close()
            await second.close()

    waits = asyncio.run(run())
    assert waits[:4] == [0.0] * 4
    assert all(w > 0 for w in waits[4:6])
    assert waits[6] == 0.0 and waits[7] == pytest.approx(15.0)


def test_when_redis_is_down_each_process_still_limits_on_its_own(caplog):
    limiter = RedisLimiter("redis://127.0.0.1:9/0", clock=Clock())  # nothing listens on port 9
    waits = takes(limiter, "customer:a", Rate(2, 60.0), 3)
    assert waits[:2] == [0.0, 0.0] and waits[2] > 0
    assert "limiting in this process meanwhile" in caplog.text
    assert sum("Redis at" in r.message for r in caplog.records) == 1  # logged once, not per message


def test_redis_is_used_only_when_a_url_is_set():
    assert isinstance(make_limiter(None), MemoryLimiter)
    limiter = make_limiter(REDIS_URL)
    assert isinstance(limiter, RedisLimiter)
    asyncio.run(limiter.close())


TRUSTED = parse_networks(["10.0.0.0/8", "127.0.0.1", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.7", None, "203.0.113.7"),
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # an untrusted peer's header is ignored
        ("127.0.0.1", "198.51.100.1", "198.51.100.1"),  # nginx on this machine
        ("127.0.0.1", "1.2.3.4, 198.51.100.1", "198.51.100.1"),  # the client wrote 1.2.3.4 itself
        ("127.0.0.1", "198.51.100.1, 10.0.0.5", "198.51.100.1"),  # two trusted proxies
        ("127.0.0.1", "garbage, 198.51.100.1", "198.51.100.1"),
        ("127.0.0.1", "198.51.100.1, garbage", "127.0.0.1"),  # a malformed hop: stop at the last trusted one
        ("127.0.0.1", "10.0.0.1", "10.0.0.1"),  # only proxies: the farthest one
        ("::1", "2001:db8::1", "2001:db8::1"),
        ("127.0.0.1", None, "127.0.0.1"),
        (None, "198.51.100.1", "unknown"),
    ],
)
def test_the_client_address_comes_from_x_forwarded_for_only_through_a_trusted_proxy(peer, forwarded, client):
    assert client_address(peer, forwarded, TRUSTED) == client


def test_a_bad_trusted_proxy_entry_is_named():
    with pytest.raises(ValueError, match="'nginx' is not an IP address"):
        parse_networks(["127.0.0.1", "nginx"])
