"""Rate limits on the input channels, through real HTTP and socket.io clients against the channels served
in-process (Sanic, as Rasa serves them) on a real database: 429 with `Retry-After` (REST) or `retry_after`
(socket.io), per client address and per customer, behind a trusted proxy, and shared by two instances through
the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
import redis
import socketio
from sanic import Sanic

from bot.channels.limits import ChannelLimits
from bot.channels.signed_rest import TandemInput
from bot.channels.socket import TandemSocketInput
from bot.handoff.relay import HandoffRelay
from bot.identity import sign_customer
from bot.processes import free_port
from bot.ratelimit import MemoryLimiter, Rate, RedisLimiter, parse_networks
from tests.conftest import seed_small_shop

REDIS_URL = "redis://127.0.0.1:6379/15"
ALICE, BOB = "CUST-00001", "CUST-00002"


@pytest.fixture(scope="module")
def channel_db(db_factory) -> str:
    """The small shop (its customers sign in), private to this module: the channels record conversations."""
    url = db_factory.create()
    seed_small_shop(url)
    return url


@pytest.fixture(scope="module", autouse=True)
def sanic_test_mode():
    """Sanic rewrites its request handling once per process unless in test mode (as sanic-testing sets it),
    and a second app in the same process then fails to start."""
    before = Sanic.test_mode
    Sanic.test_mode = True
    yield
    Sanic.test_mode = before


class Instance:
    """One Rasa instance's channels: the REST webhook and the socket.io server, answering every message."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.received: list[str] = []

    async def rest(self, session: aiohttp.ClientSession, sender: str, text: str = "hello", **kw: Any):
        body = {"sender": sender, "message": text}
        if kw.get("customer"):
            body["metadata"] = {"customer_token": sign_customer(kw["customer"])}
        headers = {"X-Forwarded-For": kw["forwarded"]} if kw.get("forwarded") else None
        async with session.post(f"{self.url}/webhooks/tandem/webhook", json=body, headers=headers) as reply:
            return reply.status, reply.headers.get("Retry-After"), await reply.json()


@asynccontextmanager
async def serving(database_url: str, limits: ChannelLimits) -> AsyncIterator[Instance]:
    relay = HandoffRelay(database_url, "http://127.0.0.1:9", "wake-token")
    app = Sanic(f"limits_{uuid.uuid4().hex[:12]}")
    instance: Instance

    async def on_new_message(message) -> None:
        instance.received.append(message.text)
        await message.output_channel.send_text_message(message.sender_id, "got it")

    app.blueprint(TandemInput(relay, limits).blueprint(on_new_message), url_prefix="/webhooks/tandem")
    app.blueprint(TandemSocketInput(relay=relay, limits=limits).blueprint(on_new_message))
    port = free_port()  # Sanic reads port 0 as "the default", 8000
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    instance = Instance(f"http://127.0.0.1:{port}")
    try:
        yield instance
    finally:
        server.close()
        await server.wait_closed()
        await limits.close()


class Widget:
    """The widget's side of the socket.io protocol."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.answers: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.sio.on("session_confirm", lambda data: self.answers.put_nowait(("confirm", data)))
        self.sio.on("session_error", lambda data: self.answers.put_nowait(("error", data)))

    async def open(self, url: str, session_id: str, customer: str | None = None) -> tuple[str, Any]:
        if not self.sio.connected:
            await self.sio.connect(url, socketio_path="/socket.io", transports=["polling"])
        token = sign_customer(customer) if customer else None
        await self.sio.emit("session_request", {"session_id": session_id, "customer_token": token})
        return await asyncio.wait_for(self.answers.get(), 10)

    async def say(self, text: str) -> dict[str, Any]:
        return await self.sio.call("user_uttered", {"message": text}, timeout=10)

    async def close(self) -> None:
        """Leave like a closed tab, without waiting for the pending long-poll (tests/support/widget_client.py)."""
        if self.sio.connected:
            eio = self.sio.eio
            await eio.disconnect(abort=True)
            task = getattr(eio, "read_loop_task", None)
            if task is not None and not task.done():
                task.cancel()
            if eio.http and not eio.external_http:
                await eio.http.close()


def memory_limits(per_customer: int | None = None, per_address: int | None = None, trusted=()) -> ChannelLimits:
    return ChannelLimits(
        MemoryLimiter(),
        Rate(per_customer) if per_customer else None,
        Rate(per_address) if per_address else None,
        parse_networks(trusted),
    )


def conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:12]}"


def run(coroutine) -> Any:
    return asyncio.run(coroutine)


def test_rest_every_request_from_an_address_counts_and_the_next_gets_429_with_retry_after(channel_db):
    async def scenario():
        async with serving(channel_db, memory_limits(per_address=3)) as rasa, aiohttp.ClientSession() as http:
            answers = [await rasa.rest(http, conversation()) for _ in range(2)]
            async with http.post(f"{rasa.url}/webhooks/tandem/webhook", data=b"not json") as bad:
                answers.append((bad.status, None, None))  # a bad request still costs its token
            answers.append(await rasa.rest(http, conversation()))
            return answers, rasa.received

    answers, received = run(scenario())
    assert [a[0] for a in answers] == [200, 200, 400, 429]
    status, retry_after, body = answers[3]
    assert retry_after == "20" and body["retry_after"] == 20  # 3 a minute: one back every 20 s
    assert "too many messages" in body["error"]
    assert len(received) == 2  # the refused message never reached Rasa


def test_rest_a_customer_is_limited_wherever_they_write_and_others_are_not(channel_db):
    async def scenario():
        async with serving(channel_db, memory_limits(per_customer=2)) as rasa, aiohttp.ClientSession() as http:
            alice = [await rasa.rest(http, conversation(), customer=ALICE) for _ in range(3)]  # new conversations
            bob = await rasa.rest(http, conversation(), customer=BOB)
            anonymous = conversation()
            visitor = [await rasa.rest(http, anonymous) for _ in range(3)]  # a visitor: per conversation
            other_visitor = await rasa.rest(http, conversation())
            return alice, bob, visitor, other_visitor

    alice, bob, visitor, other_visitor = run(scenario())
    assert [a[0] for a in alice] == [200, 200, 429] and alice[2][1] == "30"
    assert bob[0] == 200
    assert [v[0] for v in visitor] == [200, 200, 429]
    assert other_visitor[0] == 200


def test_rest_behind_a_trusted_proxy_each_client_has_its_own_limit(channel_db):
    async def scenario(trusted):
        limits = memory_limits(per_address=1, trusted=trusted)
        async with serving(channel_db, limits) as rasa, aiohttp.ClientSession() as http:
            first = await rasa.rest(http, conversation(), forwarded="198.51.100.1")
            second = await rasa.rest(http, conversation(), forwarded="198.51.100.2")
            again = await rasa.rest(http, conversation(), forwarded="198.51.100.1")
            return first[0], second[0], again[0]

    assert run(scenario(["127.0.0.1"])) == (200, 200, 429)
    # Without TANDEM_TRUSTED_PROXIES the header is the client's own claim: everyone here is 127.0.0.1.
    assert run(scenario([])) == (200, 429, 429)


def test_socket_a_customers_messages_over_the_limit_are_refused_in_the_acknowledgement(channel_db):
    async def scenario():
        async with serving(channel_db, memory_limits(per_customer=2)) as rasa:
            widget = Widget()
            try:
                assert (await widget.open(rasa.url, conversation(), ALICE))[0] == "confirm"
                acks = [await widget.say(f"message {i}") for i in range(3)]
            finally:
                await widget.close()
            return acks, rasa.received

    acks, received = run(scenario())
    assert acks[:2] == [{"ok": True}, {"ok": True}]
    assert acks[2]["ok"] is False and acks[2]["status"] == 429 and acks[2]["retry_after"] == 30
    assert "too many messages" in acks[2]["error"]
    assert received == ["message 0", "message 1"]


def test_socket_session_requests_and_messages_count_against_the_address(channel_db):
    async def scenario():
        async with serving(channel_db, memory_limits(per_address=2)) as rasa:
            widget = Widget()
            try:
                confirmed = await widget.open(rasa.url, conversation())
                said = await widget.say("hello")
                refused_message = await widget.say("hello again")
                refused_session = await widget.open(rasa.url, conversation())
            finally:
                await widget.close()
            return confirmed, said, refused_message, refused_session

    confirmed, said, refused_message, refused_session = run(scenario())
    assert confirmed[0] == "confirm" and said == {"ok": True}
    assert refused_message["status"] == 429 and refused_message["retry_after"] == 30
    kind, error = refused_session
    assert kind == "error" and error["status"] == 429 and error["retry_after"] == 30


@pytest.fixture
def redis_prefix():
    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"tandem-test:{uuid.uuid4().hex}:"
    yield prefix
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    client.close()


def test_two_instances_share_a_customers_limit_through_redis(channel_db, redis_prefix):
    """A load balancer spreads one customer over two Rasa instances: the limit holds for both together."""

    def limits() -> ChannelLimits:
        return ChannelLimits(RedisLimiter(REDIS_URL, prefix=redis_prefix), Rate(3), None)

    async def scenario():
        async with (
            serving(channel_db, limits()) as first,
            serving(channel_db, limits()) as second,
            aiohttp.ClientSession() as http,
        ):
            widget = Widget()
            try:
                assert (await widget.open(first.url, conversation(), ALICE))[0] == "confirm"
                answers: list[Any] = [await widget.say("on the first instance")]
                answers.append((await second.rest(http, conversation(), customer=ALICE))[0])
                answers.append((await first.rest(http, conversation(), customer=ALICE))[0])
                answers.append(await second.rest(http, conversation(), customer=ALICE))
                answers.append(await widget.say("once more"))
            finally:
                await widget.close()
            return answers

    answers = run(scenario())
    assert answers[0] == {"ok": True} and answers[1:3] == [200, 200]
    status, retry_after, body = answers[3]
    assert status == 429 and int(retry_after) >= 1 and body["retry_after"] == int(retry_after)
    assert answers[4]["status"] == 429
