"""Throughput of the insights consumer (events per second), Rasa's SQL event broker -> SQLite and PostgreSQL, and
RabbitMQ -> both.

N synthetic conversations (each 19 events in the shape Rasa 3.6 publishes them: a session start, four customer
messages with parse data and sentiment, the actions and policies that answered, a handoff, an agent's replies) are
written to a SQL event broker table (SQLite, as endpoints.yml has it) or published to a RabbitMQ queue of the
benchmark's own, then counted by `bot.insights.consumer` into a fresh, migrated Tandem database, batch by batch as
`tandem insights consume` does; the clock runs from the consumer's start to its last commit.

    .venv/bin/python bench/insights_consumer.py                       # 1,000 conversations, SQL broker and RabbitMQ
    .venv/bin/python bench/insights_consumer.py --conversations 5000 --batch 1000 --no-rabbitmq

Figures go to stdout and bench/results/insights_consumer.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from bot.db import rasa_tables
from bot.db.migrate import upgrade
from bot.db.session import dispose_engine
from bot.insights.config import InsightsConfig
from bot.insights.consumer import consume_rabbitmq, consume_sql

RESULTS = Path(__file__).resolve().parent / "results"
POSTGRES = os.environ.get("TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
AMQP = os.environ.get("TANDEM_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
INTENTS = ("order_status", "return_item", "ask_recommendation", "nlu_fallback", "greet", "complaint")
LABELS = (("negative", -0.7), ("neutral", 0.0), ("positive", 0.6))


def _action(sender: str, t: float, name: str, policy: str | None) -> dict[str, Any]:
    return {
        "sender_id": sender,
        "event": "action",
        "timestamp": t,
        "name": name,
        "policy": policy,
        "confidence": 0.98 if policy else None,
        "action_text": None,
        "hide_rule_turn": False,
    }


def conversation(i: int, start: float, rng: random.Random) -> list[dict[str, Any]]:
    """One conversation's events as Rasa's brokers publish them (the event's JSON with `sender_id`)."""
    sender = f"bench-{i:07d}"
    events = [
        _action(sender, start, "action_session_start", None),
        {"sender_id": sender, "event": "session_started", "timestamp": start + 0.001},
        _action(sender, start + 0.002, "action_listen", None),
    ]
    t = start + 1
    for turn in range(4):
        intent = rng.choice(INTENTS)
        label, score = rng.choice(LABELS)
        parse = {
            "text": f"message {turn} of conversation {i}",
            "intent": {"name": intent, "confidence": 0.8},
            "intent_ranking": [{"name": intent, "confidence": 0.8}, {"name": "greet", "confidence": 0.1}],
            "entities": [{"entity": "order_id", "value": f"TD{i:06d}", "start": 0, "end": 8}] if turn == 1 else [],
            "sentiment": {"label": label, "score": score, "confidence": 0.9},
        }
        events.append(
            {
                "sender_id": sender,
                "event": "user",
                "timestamp": t,
                "metadata": {"customer_id": f"CUST-{i % 500:05d}"},
                "text": parse["text"],
                "parse_data": parse,
                "input_channel": "tandem",
                "message_id": uuid.UUID(int=rng.getrandbits(128)).hex,
            }
        )
        if turn < 3:
            events.append(_action(sender, t + 0.2, f"action_{intent}", "policy_5_RulePolicy"))
            events.append({"sender_id": sender, "event": "bot", "timestamp": t + 0.3, "text": "ok", "data": {}})
            events.append(_action(sender, t + 0.4, "action_listen", "policy_5_RulePolicy"))
        else:
            events.append({"sender_id": sender, "event": "pause", "timestamp": t + 0.2})
            for k in range(2):
                events.append(
                    {
                        "sender_id": sender,
                        "event": "bot",
                        "timestamp": t + 30 + k,
                        "text": "an agent's reply",
                        "data": {},
                        "metadata": {"from": "agent", "agent_name": "Sam"},
                    }
                )
        t += 10
    return events


def all_events(n: int) -> list[dict[str, Any]]:
    rng = random.Random(17)
    base = time.time() - 86_400
    return [e for i in range(n) for e in conversation(i, base + i * 0.5, rng)]


def _postgres() -> str:
    name = f"tandem_bench_insights_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    dispose_engine(url)
    if make_url(url).get_backend_name() != "postgresql":
        return
    admin = create_engine(POSTGRES, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _database(backend: str, workdir: Path) -> str:
    url = f"sqlite:///{workdir / f'tandem-{uuid.uuid4().hex[:6]}.db'}" if backend == "sqlite" else _postgres()
    upgrade(url)
    return url


def _fill_broker_table(path: Path, events: list[dict[str, Any]]) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url, future=True)
    rasa_tables.broker_events.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(rasa_tables.broker_events), [{"sender_id": e["sender_id"], "data": json.dumps(e)} for e in events]
        )
    engine.dispose()
    return url


async def _publish(queue: str, events: list[dict[str, Any]]) -> None:
    import aio_pika

    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True)
        for event in events:
            await channel.default_exchange.publish(
                aio_pika.Message(json.dumps(event).encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT), queue
            )


async def _delete_queue(queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)


def run_sql(backend: str, events: list[dict[str, Any]], batch: int, workdir: Path) -> dict[str, Any]:
    url = _database(backend, workdir)
    try:
        broker = _fill_broker_table(workdir / f"events-{uuid.uuid4().hex[:6]}.db", events)
        config = InsightsConfig("sql", broker, AMQP, "unused", batch_size=batch, poll_seconds=0.05)
        started = time.perf_counter()
        progress = consume_sql(url, config, threading.Event(), once=True)
        seconds = time.perf_counter() - started
    finally:
        _drop(url)
    assert progress.totals.events == len(events), progress.line()
    return {"source": "sql broker", "database": backend, "events": len(events), "seconds": round(seconds, 2)}


def run_rabbitmq(backend: str, events: list[dict[str, Any]], batch: int, workdir: Path) -> dict[str, Any]:
    url = _database(backend, workdir)
    queue = f"tandem_bench_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_publish(queue, events))
        config = InsightsConfig("rabbitmq", "sqlite://", AMQP, queue, batch_size=batch, poll_seconds=1.0)
        started = time.perf_counter()
        progress = consume_rabbitmq(url, config, threading.Event(), once=True)
        seconds = time.perf_counter() - started - config.poll_seconds  # `once` waits a poll for the empty queue
    finally:
        asyncio.run(_delete_queue(queue))
        _drop(url)
    assert progress.totals.events == len(events), progress.line()
    return {"source": "rabbitmq", "database": backend, "events": len(events), "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500, help="events per transaction (TANDEM_INSIGHTS_BATCH)")
    parser.add_argument("--no-rabbitmq", action="store_true")
    args = parser.parse_args()
    events = all_events(args.conversations)
    print(f"{args.conversations} conversations, {len(events)} events, batches of {args.batch}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tandem-bench-insights-") as tmp:
        runs = [(run_sql, "sqlite"), (run_sql, "postgresql")]
        if not args.no_rabbitmq:
            runs += [(run_rabbitmq, "sqlite"), (run_rabbitmq, "postgresql")]
        for run, backend in runs:
            row = run(backend, events, args.batch, Path(tmp))
            row["events_per_second"] = round(row["events"] / row["seconds"])
            rows.append(row)
            print(
                f"  {row['source']:<11} -> {backend:<10}  {row['events']} events in {row['seconds']:.2f} s: "
                f"{row['events_per_second']} events/s",
                flush=True,
            )
    RESULTS.mkdir(exist_ok=True)
    result = {"conversations": args.conversations, "batch": args.batch, "runs": rows}
    (RESULTS / "insights_consumer.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
