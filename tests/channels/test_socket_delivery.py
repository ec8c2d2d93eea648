"""A message for a customer that cannot cross to the other Rasa instances (Redis away) fails loudly, not silently."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis

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
