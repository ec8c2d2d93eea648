"""A conversation through a real Rasa (the trained project model, the action server, PostgreSQL) that publishes to
its SQL event broker as endpoints.yml has it: the consumer turns what Rasa published into the analytics rows, and
the backfill from Rasa's tracker store gives the same rows."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import Customer, Order
from bot.db.session import session_scope
from bot.identity import sign_customer
from bot.insights.backfill import backfill
from bot.insights.config import InsightsConfig
from bot.insights.consumer import consume_sql
from tests.conftest import DatabaseFactory
from tests.insights.figures import tables
from tests.support.stack import seed_test_shop, tandem_stack

pytestmark = pytest.mark.slow

SENDER = "insights-live-1"


def say(url: str, text: str, token: str) -> list[dict[str, Any]]:
    body = json.dumps({"sender": SENDER, "message": text, "metadata": {"customer_token": token}}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as reply:
        return json.loads(reply.read())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    factory = DatabaseFactory("postgresql", tmp_path_factory.mktemp("insights-db"))
    url = factory.create()
    seed_test_shop(url, customers=20)
    workdir = tmp_path_factory.mktemp("insights-live")
    with session_scope(url) as session:
        customer_pk, customer, order = session.execute(
            select(Customer.id, Customer.external_id, Order.order_number).join(Order).order_by(Order.id).limit(1)
        ).one()
    with tandem_stack(url, workdir, events_db=workdir / "events.db") as state:
        token = sign_customer(customer)
        replies = [
            say(state["url"], text, token)
            for text in ("hello", f"where is my order {order}?", "this is terrible, nothing works")
        ]
        yield {
            "url": url,
            "factory": factory,
            "workdir": workdir,
            "customer_pk": customer_pk,
            "replies": replies,
        }
    factory.close()


def test_a_conversation_through_rasa_ends_up_in_the_tables(live):
    config = InsightsConfig("sql", f"sqlite:///{live['workdir'] / 'events.db'}", "", "", poll_seconds=0.1)
    progress = consume_sql(live["url"], config, threading.Event(), once=True)
    assert progress.totals.events > 10 and progress.totals.duplicates == 0
    [conversation] = [c for c in tables(live["url"]) if c["sender_id"] == SENDER]
    assert conversation["customer_id"] == live["customer_pk"]
    assert conversation["channel"] == "tandem"
    assert conversation["user_turns"] == 3
    assert conversation["bot_messages"] >= sum(1 for reply in live["replies"] if reply)
    turns = conversation["turns"]
    assert [t["text"] for t in turns] == [
        "hello",
        turns[1]["text"],
        "this is terrible, nothing works",
    ] and "where is my order" in turns[1]["text"]
    assert turns[0]["intent"] == "greet"
    assert turns[1]["intent"] == "order_status" and "order_id" in turns[1]["entities"]
    for turn in turns:  # what the NLU and the policies said, for every message
        assert turn["confidence"] is not None and turn["sentiment_label"] in ("negative", "neutral", "positive")
        assert turn["action"] and turn["policy"] and turn["answered_at"] is not None
        assert turn["answered_at"] >= turn["at"]
    assert turns[2]["sentiment_label"] == "negative"
    assert conversation["turned_negative_at"] == turns[2]["at"]
    assert conversation["sentiment_min"] == min(t["sentiment"] for t in turns)


def test_the_backfill_from_rasas_tracker_store_gives_the_same_rows(live):
    other: DatabaseFactory = live["factory"]
    fresh = other.create()
    seed_test_shop(fresh, customers=20)  # the same customers: the same ids
    report = backfill(fresh, f"sqlite:///{live['workdir'] / 'tracker.db'}")
    assert report.sessions_added >= 1
    live_rows = [c for c in tables(live["url"]) if c["sender_id"] == SENDER]
    assert [c for c in tables(fresh) if c["sender_id"] == SENDER] == live_rows


def test_the_stack_wrote_its_events_to_its_own_file(live):
    workdir: Path = live["workdir"]
    assert (workdir / "events.db").exists() and (workdir / "tracker.db").exists()
