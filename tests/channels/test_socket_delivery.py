"""A message for a customer that cannot cross to the other Rasa instances (Redis away) fails loudly, not silently;
an instance whose Redis subscription was lost asks its widgets to fetch what they may have missed."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import redis
import socketio
from aiohttp import web

from bot.channels.socket import DeliveringRedisManager, DeliveryFailed
from bot.processes import free_port

REDIS_URL = "redis://127.0.0.1:6379/15"  # the machine's Redis, as tests/channels/test_rate_limits.py


def test_a_message_published_through_redis_reaches_the_other_instances():
    channel = "tandem-test-delivery"
    listener = redis.Redis.from_url(REDIS_URL).pubsub()
    listener.subscribe(channel)
    listener.get_message(timeout=1)  # the subscription's confirmation
    manager = DeliveringRedisManager(REDIS_URL, channel=channel, write_only=True)
    asyncio.run(manager._publish({"method": "emit", "event": "bot_uttered", "data": {"text": "hi"}}))
    message = listener.get_message(timeout=5)
    assert message is not None and json.loads(message["data"])["data"] == {"text": "hi"}
    listener.close()


def test_when_redis_is_away_publishing_raises_so_rasa_stores_nothing_and_the_sender_retries():
    manager = DeliveringRedisManager(f"redis://127.0.0.1:{free_port()}/0", write_only=True)
    with pytest.raises(DeliveryFailed):
        asyncio.run(manager._publish({"method": "emit", "event": "bot_uttered", "data": {"text": "hi"}}))


async def _serve(manager: DeliveringRedisManager) -> tuple[socketio.AsyncServer, web.AppRunner, int]:
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return sio, runner, port


def _kill_named(admin: redis.Redis, name: str) -> int:
    killed = 0
    for client in admin.client_list():
        if client.get("name") == name:
            admin.client_kill_filter(_id=client["id"])
            killed += 1
    return killed


def test_after_its_redis_subscription_is_lost_an_instance_asks_its_widgets_to_resync_and_delivers_again():
    """Between Redis coming back and the subscription being made again, messages are published to nobody: the
    widgets must ask for the history (docs/widget-protocol.md, `resync`)."""
    name = f"tandem-test-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        manager = DeliveringRedisManager(REDIS_URL, channel=f"{name}-channel", redis_options={"client_name": name})
        sio, runner, port = await _serve(manager)
        client = socketio.AsyncClient(reconnection=False)
        heard: list[str] = []
        resync = asyncio.Event()

        @client.on("resync")
        async def _resync(*_: object) -> None:
            resync.set()

        @client.on("bot_uttered")
        async def _message(data: dict) -> None:
            heard.append(data["text"])

        try:
            await client.connect(f"http://127.0.0.1:{port}", transports=["polling"])
            await asyncio.sleep(0.5)  # the manager's listener subscribes in the background
            await sio.emit("bot_uttered", {"text": "before"})
            for _ in range(50):
                if heard:
                    break
                await asyncio.sleep(0.1)
            assert heard == ["before"]
            assert await asyncio.to_thread(_kill_named, redis.Redis.from_url(REDIS_URL), name) >= 1
            await asyncio.wait_for(resync.wait(), 15)
            await sio.emit("bot_uttered", {"text": "after"})
            for _ in range(50):
                if len(heard) == 2:
                    break
                await asyncio.sleep(0.1)
            assert heard == ["before", "after"]
        finally:
            await client.disconnect()
            await runner.cleanup()

    asyncio.run(scenario())
