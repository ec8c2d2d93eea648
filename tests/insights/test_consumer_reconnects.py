"""The insights consumer notices when RabbitMQ drops its connection (a restart, a forced close) and consumes again
on a new one: without that it would wait for ever on a dead connection and count nothing more."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time

from bot.insights.consumer import connection_name, consume_rabbitmq
from tests.insights.conversations import first_conversation, published
from tests.insights.test_consumer import _bodies, _counts, _customer, _publish_with_rasa, rabbit, rabbit_config


def _close_connections_named(name: str) -> int:
    """rabbitmqctl closes the connections with this client-provided name (only the consumer's: the broker is shared)."""
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    closed = 0
    for line in listed.splitlines()[1:]:
        pid, _, properties = line.partition("\t")
        if f'{{"connection_name",{json.dumps(name)}}}' in properties:
            subprocess.run(["rabbitmqctl", "-q", "close_connection", pid, "test: restarting"], check=True)
            closed += 1
    return closed


def _wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_after_rabbitmq_closes_its_connection_the_consumer_reconnects_and_counts_what_follows(fresh_shop_db, rabbit):
    queue, exchange = rabbit
    _, external = _customer(fresh_shop_db)
    config = rabbit_config(queue)
    stop = threading.Event()
    consumer = threading.Thread(target=consume_rabbitmq, args=(fresh_shop_db, config, stop), daemon=True)
    consumer.start()
    try:
        asyncio.run(_publish_with_rasa(queue, exchange, _bodies(external)))
        assert _wait_for(lambda: _counts(fresh_shop_db)[1] > 0), "the first conversation was never counted"
        before = _counts(fresh_shop_db)
        assert _wait_for(lambda: _close_connections_named(connection_name(config)) == 1, 15)

        asyncio.run(_publish_with_rasa(queue, exchange, published("after-the-close", first_conversation(external))))
        assert _wait_for(lambda: _counts(fresh_shop_db)[0] == before[0] + 1), "nothing counted after the close"
        assert consumer.is_alive()
    finally:
        stop.set()
        consumer.join(timeout=30)
    assert not consumer.is_alive()


__all__ = ["rabbit"]  # the fixture, imported for pytest
