"""The consumer on both of Rasa's brokers: its SQL event broker table and RabbitMQ through its Pika broker (the real
server on this machine), each written by Rasa's own broker class. Nothing is lost or counted twice when a batch
fails between the commit and the acknowledgement, when the process is killed, or while a database is away."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.db.migrate import upgrade
from bot.db.models import InsightConversation, InsightTurn
from bot.db.session import session_scope
from bot.insights import consumer
from bot.insights.config import InsightsConfig
from bot.insights.consumer import consume_rabbitmq, consume_sql, sql_source_name
from bot.insights.store import read_offset
from tests.conftest import ROOT
from tests.insights.conversations import (
    button_conversation,
    first_conversation,
    published,
    second_conversation,
)
from tests.insights.figures import tables
from tests.insights.test_store import expected

AMQP = os.environ.get("TANDEM_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _bodies(customer: str = "CUST-NOBODY") -> list[dict]:
    return (
        published("c1", first_conversation(customer))
        + published("c1", second_conversation())
        + published("c2", button_conversation())
    )


def _customer(url: str) -> tuple[int, str]:
    from bot.db.models import Customer

    with session_scope(url) as session:
        row = session.execute(select(Customer.id, Customer.external_id).order_by(Customer.id).limit(1)).one()
        return row[0], row[1]


# --- Rasa's SQL event broker ---------------------------------------------------------------------------------


def rasa_sql_broker(path: Path):
    from rasa.core.brokers.sql import SQLEventBroker

    with warnings.catch_warnings():  # Rasa 3.6 builds its URL with SQLAlchemy 1.4's deprecated constructor
        warnings.simplefilter("ignore", DeprecationWarning)
        return SQLEventBroker(dialect="sqlite", db=str(path))


def sql_config(events_db: Path, batch: int = 500) -> InsightsConfig:
    return InsightsConfig("sql", f"sqlite:///{events_db}", AMQP, "unused", batch_size=batch, poll_seconds=0.05)


def test_rasas_sql_broker_table_becomes_the_rows_counted_by_hand(fresh_shop_db, tmp_path):
    pk, external = _customer(fresh_shop_db)
    broker = rasa_sql_broker(tmp_path / "events.db")
    for body in _bodies(external):
        broker.publish(body)
    batches = []
    progress = consume_sql(
        fresh_shop_db,
        sql_config(tmp_path / "events.db", batch=7),
        threading.Event(),
        once=True,
        on_batch=batches.append,
    )
    assert tables(fresh_shop_db) == expected(pk)
    assert progress.totals.events == len(_bodies()) and len(batches) == -(-len(_bodies()) // 7)
    assert read_offset(fresh_shop_db, sql_source_name(f"sqlite:///{tmp_path / 'events.db'}")) == len(_bodies())
    # Nothing new: a second pass reads nothing and changes nothing.
    assert consume_sql(fresh_shop_db, sql_config(tmp_path / "events.db"), threading.Event(), once=True).batches == 0
    assert tables(fresh_shop_db) == expected(pk)


def test_no_broker_table_yet_is_nothing_to_do(db_factory, tmp_path):
    url = db_factory.create()
    progress = consume_sql(url, sql_config(tmp_path / "missing.db"), threading.Event(), once=True)
    assert progress.totals.events == 0 and not (tmp_path / "missing.db").exists()


def _many(n_conversations: int) -> Iterator[dict]:
    for i in range(n_conversations):
        yield from published(f"load-{i:04d}", first_conversation("CUST-NOBODY"))


def _counts(url: str) -> tuple[int, int, int, int]:
    with session_scope(url) as session:
        conversations, turns_counted, bots = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(InsightConversation.user_turns), 0),
                func.coalesce(func.sum(InsightConversation.bot_messages), 0),
            )
        ).one()
        turns = session.execute(select(func.count()).select_from(InsightTurn)).scalar_one()
    return conversations, turns_counted, turns, bots


@pytest.mark.slow
def test_a_consumer_killed_mid_run_resumes_with_nothing_lost_or_doubled(db_factory, tmp_path):
    url = db_factory.create()
    events_db = tmp_path / "events.db"
    broker = rasa_sql_broker(events_db)
    conversations = 150
    for body in _many(conversations):
        broker.publish(body)
    env = {
        **os.environ,
        "TANDEM_EVENTS_DB": str(events_db),
        "TANDEM_INSIGHTS_BATCH": "20",
        "TANDEM_INSIGHTS_POLL_SECONDS": "0.1",
    }
    command = [sys.executable, "-m", "bot.cli", "insights", "consume", "--source", "sql", "--database-url", url]
    source = sql_source_name(f"sqlite:///{events_db}")
    total = conversations * len(first_conversation("x"))
    for attempt in range(3):  # killed at a different point each time
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            start = read_offset(url, source)
            while read_offset(url, source) < min(start + 100 * (attempt + 1), total) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert process.poll() is None
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert 0 < read_offset(url, source) <= total
    finished = subprocess.run([*command, "--once"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert read_offset(url, source) == total
    assert _counts(url) == (conversations, 4 * conversations, 4 * conversations, 3 * conversations)


def test_sigterm_finishes_the_batch_in_hand_and_stops(db_factory, tmp_path):
    url = db_factory.create()
    events_db = tmp_path / "events.db"
    broker = rasa_sql_broker(events_db)
    for body in _many(5):
        broker.publish(body)
    env = {**os.environ, "TANDEM_EVENTS_DB": str(events_db), "TANDEM_INSIGHTS_POLL_SECONDS": "0.1"}
    command = [sys.executable, "-m", "bot.cli", "insights", "consume", "--database-url", url]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    source = sql_source_name(f"sqlite:///{events_db}")
    deadline = time.monotonic() + 60
    while read_offset(url, source) < 5 * len(first_conversation("x")) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"{5 * len(first_conversation('x'))} events" in output and _counts(url) == (5, 20, 20, 15)


def test_a_database_that_is_away_is_waited_for(db_factory, tmp_path, monkeypatch):
    if db_factory.backend != "postgresql":
        pytest.skip("a PostgreSQL database that does not exist yet is the database that is away")
    monkeypatch.setattr(consumer, "BACKOFF", (0.1, 0.2))
    events_db = tmp_path / "events.db"
    broker = rasa_sql_broker(events_db)
    for body in _bodies():
        broker.publish(body)
    later = db_factory.create(migrate=False)  # created, but not yet a Tandem database
    stop = threading.Event()
    result = {}
    worker = threading.Thread(
        target=lambda: result.setdefault("p", consume_sql(later, sql_config(events_db), stop)), daemon=True
    )
    worker.start()
    time.sleep(1.0)  # a few failed tries
    assert worker.is_alive()
    upgrade(later)  # the database is back
    deadline = time.monotonic() + 30
    while (
        read_offset(later, sql_source_name(f"sqlite:///{events_db}")) < len(_bodies()) and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    stop.set()
    worker.join(timeout=30)
    assert [(c["sender_id"], c["user_turns"]) for c in tables(later)] == [("c1", 4), ("c1", 1), ("c2", 1)]


# --- RabbitMQ through Rasa's Pika broker ------------------------------------------------------------------------


async def _publish_with_rasa(queue: str, exchange: str, bodies: list[dict]) -> None:
    """Rasa's PikaEventBroker publishes (a fanout exchange of the test's own, bound to the test's queue)."""
    import aio_pika
    from rasa.core.brokers.pika import PikaEventBroker

    url = make_url(AMQP.replace("amqp://", "postgresql://"))  # (only to split the URL)
    broker = PikaEventBroker(
        url.host or "127.0.0.1",
        url.username or "guest",
        url.password or "guest",
        port=url.port or 5672,
        queues=[queue],
        exchange_name=exchange,
        event_loop=asyncio.get_running_loop(),
    )
    await broker.connect()
    for body in bodies:
        broker.publish(body)
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            declared = await channel.declare_queue(queue, durable=True, passive=True)
            if declared.declaration_result.message_count >= len(bodies):
                break
            await asyncio.sleep(0.05)
    await broker.close()


async def _drop(queue: str, exchange: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


@pytest.fixture
def rabbit() -> Iterator[tuple[str, str]]:
    queue, exchange = f"tandem_test_{uuid.uuid4().hex[:8]}", f"tandem-test-{uuid.uuid4().hex[:8]}"
    yield queue, exchange
    asyncio.run(_drop(queue, exchange))


def rabbit_config(queue: str, batch: int = 500) -> InsightsConfig:
    return InsightsConfig("rabbitmq", "sqlite://", AMQP, queue, batch_size=batch, poll_seconds=0.5)


def test_rabbitmq_events_become_the_rows_counted_by_hand(fresh_shop_db, rabbit):
    queue, exchange = rabbit
    pk, external = _customer(fresh_shop_db)
    asyncio.run(_publish_with_rasa(queue, exchange, _bodies(external)))
    progress = consume_rabbitmq(fresh_shop_db, rabbit_config(queue, batch=9), threading.Event(), once=True)
    assert progress.totals.events == len(_bodies()) and progress.totals.duplicates == 0
    assert tables(fresh_shop_db) == expected(pk)


class Crash(Exception):
    """The process dies between the commit and the acknowledgement."""


def test_a_crash_between_commit_and_ack_is_redelivered_and_not_counted_twice(fresh_shop_db, rabbit, monkeypatch):
    queue, exchange = rabbit
    pk, external = _customer(fresh_shop_db)
    asyncio.run(_publish_with_rasa(queue, exchange, _bodies(external)))
    real = consumer.ingest_batch
    committed = []

    def commit_then_die(*args, **kwargs):
        committed.append(real(*args, **kwargs))
        if len(committed) == 2:
            raise Crash
        return committed[-1]

    monkeypatch.setattr(consumer, "ingest_batch", commit_then_die)
    with pytest.raises(Crash):
        consume_rabbitmq(fresh_shop_db, rabbit_config(queue, batch=10), threading.Event(), once=True)
    monkeypatch.setattr(consumer, "ingest_batch", real)
    progress = consume_rabbitmq(fresh_shop_db, rabbit_config(queue, batch=10), threading.Event(), once=True)
    assert progress.totals.duplicates == committed[1].events  # the batch that was stored but not acknowledged
    assert progress.totals.events == len(_bodies()) - committed[0].events
    assert tables(fresh_shop_db) == expected(pk)


async def _publish_raw(queue: str, bodies: list[bytes]) -> None:
    """Messages as anything else might put them on the queue: straight to it, through the default exchange."""
    import aio_pika

    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True)
        for body in bodies:
            message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            await channel.default_exchange.publish(message, routing_key=queue)


async def _waiting(queue: str) -> int:
    import aio_pika

    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True, passive=True)
        return int(declared.declaration_result.message_count)


UNREADABLE = [  # each says "zebra": what a message says must not reach the log (it may be a customer's words)
    b"zebra, not JSON at all",
    b"\xff\xfe zebra, not even text",
    b'["zebra", 2, 3]',
    json.dumps({"event": "user", "text": "zebra without a sender", "timestamp": 1.79e9}).encode(),
]


def test_a_message_that_is_not_an_event_is_logged_and_acknowledged_not_redelivered(fresh_shop_db, rabbit, caplog):
    queue, exchange = rabbit
    pk, external = _customer(fresh_shop_db)
    odd_but_readable = [  # a NUL in the text (PostgreSQL refuses it), fields of the wrong type, a time out of range
        {"sender_id": "c9", "event": "user", "timestamp": 1.79e9, "text": "pay\u0000pal?", "parse_data": "x"},
        {"sender_id": "c9", "event": "bot", "timestamp": 1e300, "text": "when?"},
    ]
    asyncio.run(_publish_raw(queue, UNREADABLE + [json.dumps(e).encode() for e in odd_but_readable]))
    asyncio.run(_publish_with_rasa(queue, exchange, _bodies(external)))
    with caplog.at_level("WARNING", logger="bot.insights.consumer"):
        progress = consume_rabbitmq(fresh_shop_db, rabbit_config(queue, batch=4), threading.Event(), once=True)
    total = len(UNREADABLE) + len(odd_but_readable) + len(_bodies())
    assert progress.totals.events == total and progress.totals.duplicates == 0
    unreadable = [r for r in caplog.records if "acknowledged without counting it" in r.getMessage()]
    assert len(unreadable) == len(UNREADABLE)
    assert "zebra" not in caplog.text
    assert asyncio.run(_waiting(queue)) == 0  # every message acknowledged: none comes back
    again = consume_rabbitmq(fresh_shop_db, rabbit_config(queue), threading.Event(), once=True)
    assert again.totals.events == 0
    counted = tables(fresh_shop_db)
    assert [c for c in counted if c["sender_id"] != "c9"] == expected(pk)
    (odd,) = [c for c in counted if c["sender_id"] == "c9"]
    assert [t["text"] for t in odd["turns"]] == ["paypal?"]


def test_an_absent_broker_is_retried_until_stopped(db_factory, monkeypatch):
    monkeypatch.setattr(consumer, "BACKOFF", (0.1,))
    url = db_factory.create()
    config = InsightsConfig("rabbitmq", "sqlite://", "amqp://guest:guest@127.0.0.1:1/", "nowhere", poll_seconds=0.1)
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    assert consume_rabbitmq(url, config, stop).totals.events == 0
    assert time.monotonic() - started < 10
