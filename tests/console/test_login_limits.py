"""Sign-in attempts per client address: 429 with `Retry-After` on the login page, each client behind a trusted
proxy counted on its own, and the count shared by two console processes through the real Redis."""

from __future__ import annotations

import re
import uuid

import aiohttp
import pytest
import redis

from bot.console.throttle import LoginLimit, LoginThrottle
from bot.ratelimit import Rate, RedisLimiter
from tests.console.console_support import PASSWORD, add_agent, make_settings, running_console

REDIS_URL = "redis://127.0.0.1:6379/15"


async def attempt(url: str, username: str, password: str, forwarded: str | None = None) -> aiohttp.ClientResponse:
    """One sign-in as a browser makes it (the form, then the post), from `forwarded` when behind a proxy."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    async with aiohttp.ClientSession(url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # 127.0.0.1
        form = await (await http.get("/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        response = await http.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token, "next": "/"},
            headers=headers,
            allow_redirects=False,
        )
        await response.read()
        return response


async def test_too_many_sign_ins_from_one_address_get_429_with_retry_after(console_db):
    add_agent(console_db, "alice")
    settings = make_settings(console_db, rate_login_per_address=3)
    async with running_console(console_db, settings=settings) as console:
        statuses = [(await attempt(console.url, "alice", "wrong")).status for _ in range(2)]
        statuses.append((await attempt(console.url, "alice", PASSWORD)).status)  # a success counts too
        refused = await attempt(console.url, "alice", PASSWORD)
        assert statuses == [401, 401, 302]
        assert refused.status == 429
        assert refused.headers["Retry-After"] == "20"  # 3 a minute: one back every 20 s
        assert "Too many sign-in attempts from your address" in await refused.text()
        assert "tandem_console=" not in refused.headers.get("Set-Cookie", "")  # no session for the refused one


async def test_a_locked_username_also_says_when_to_retry(console_db):
    add_agent(console_db, "alice")
    throttle = LoginThrottle(delay_seconds=0.0, max_failures=2, lock_seconds=300)
    async with running_console(console_db, throttle=throttle) as console:
        for _ in range(2):
            await attempt(console.url, "alice", "wrong")
        locked = await attempt(console.url, "alice", PASSWORD)
        assert locked.status == 429 and 295 <= int(locked.headers["Retry-After"]) <= 300


async def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(console_db):
    add_agent(console_db, "alice")
    settings = make_settings(console_db, rate_login_per_address=1, trusted_proxies=("127.0.0.1",))
    async with running_console(console_db, settings=settings) as console:
        first = await attempt(console.url, "alice", "wrong", forwarded="198.51.100.1")
        other = await attempt(console.url, "alice", "wrong", forwarded="198.51.100.2")
        again = await attempt(console.url, "alice", "wrong", forwarded="198.51.100.1")
        assert (first.status, other.status, again.status) == (401, 401, 429)


async def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(console_db):
    add_agent(console_db, "alice")
    settings = make_settings(console_db, rate_login_per_address=1)
    async with running_console(console_db, settings=settings) as console:
        first = await attempt(console.url, "alice", "wrong", forwarded="198.51.100.1")
        spoofed = await attempt(console.url, "alice", "wrong", forwarded="198.51.100.2")
        assert (first.status, spoofed.status) == (401, 429)


async def test_no_limit_when_the_setting_is_zero(console_db):
    add_agent(console_db, "alice")
    settings = make_settings(console_db, rate_login_per_address=0)
    async with running_console(console_db, settings=settings) as console:
        statuses = {(await attempt(console.url, f"nobody{i}", "wrong")).status for i in range(12)}
        assert statuses == {401}


@pytest.fixture
def redis_prefix():
    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"tandem-test:{uuid.uuid4().hex}:"
    yield prefix
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    client.close()


async def test_two_console_processes_count_an_address_together_through_redis(console_db, redis_prefix):
    """Two consoles behind one load balancer: a guesser cannot double the rate by alternating between them."""
    add_agent(console_db, "alice")

    def limit() -> LoginLimit:
        return LoginLimit(RedisLimiter(REDIS_URL, prefix=redis_prefix), Rate(2))

    async with (
        running_console(console_db, login_limit=limit()) as first,
        running_console(console_db, login_limit=limit()) as second,
    ):
        statuses = [
            (await attempt(first.url, "alice", "wrong")).status,
            (await attempt(second.url, "alice", "wrong")).status,
            (await attempt(first.url, "alice", PASSWORD)).status,
            (await attempt(second.url, "alice", PASSWORD)).status,
        ]
        assert statuses == [401, 401, 429, 429]
