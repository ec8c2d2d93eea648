"""Attacks tried on the running stack (real Rasa, action server, PostgreSQL), each refused with nothing changed.

- Posting into another customer's conversation over REST, as the socket channel already refused.
- Typing what a button sends: a payload that carries ids reaches Rasa only when the bot offered it here.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.channels.admission import NOT_OFFERED_TEXT
from bot.db.models import BehaviourEvent, Customer, Order, Product
from bot.db.session import session_scope
from bot.identity import sign_customer
from tests.e2e.test_rest_end_to_end import say, texts
from tests.support.widget_client import WidgetClient

pytestmark = pytest.mark.slow


def _two_customers_with_orders(url: str) -> list[tuple[str, str]]:
    with session_scope(url) as session:
        rows = session.execute(
            select(Customer.external_id, func.min(Order.order_number))
            .join(Order)
            .group_by(Customer.external_id)
            .order_by(Customer.external_id)
            .limit(2)
        ).all()
    return [(c, o) for c, o in rows]


def _tracker_texts(stack: dict[str, Any], conversation: str) -> list[str]:
    url = f"{stack['rasa_base']}/conversations/{conversation}/tracker?token={stack['rasa_token']}"
    with urllib.request.urlopen(url, timeout=30) as reply:
        events = json.loads(reply.read())["events"]
    return [e.get("text") or "" for e in events if e.get("event") in ("user", "bot")]


def _clicks(url: str, customer: str) -> int:
    with session_scope(url) as session:
        return session.execute(
            select(func.count())
            .select_from(BehaviourEvent)
            .join(Customer, Customer.id == BehaviourEvent.customer_id)
            .where(Customer.external_id == customer, BehaviourEvent.kind == "click")
        ).scalar_one()


def test_nothing_of_one_customer_reaches_another_customers_conversation_over_rest(stack, postgres_shop):
    (a, a_order), (b, b_order) = _two_customers_with_orders(postgres_shop)
    conversation = f"b-{uuid.uuid4().hex}"
    status, reply = say(stack["url"], conversation, f"where is my order {b_order}?", sign_customer(b))
    assert status == 200 and b_order in texts(reply)
    before = _tracker_texts(stack, conversation)

    status, reply = say(stack["url"], conversation, f"where is my order {a_order}?", sign_customer(a))
    assert status == 403 and "another customer" in reply["error"]
    status, reply = say(stack["url"], conversation, "hello, anyone?")  # a visitor without a token
    assert status == 403

    after = _tracker_texts(stack, conversation)
    assert after == before
    assert not any(a_order in t for t in after)
    # B still talks in their own conversation.
    status, reply = say(stack["url"], conversation, f"and order {b_order}?", sign_customer(b))
    assert status == 200 and b_order in texts(reply)


def test_a_typed_click_on_a_suggestion_never_offered_is_refused_and_stores_nothing(stack, postgres_shop):
    customer, _ = _two_customers_with_orders(postgres_shop)[0]
    token = sign_customer(customer)
    conversation = f"forge-{uuid.uuid4().hex}"
    with session_scope(postgres_shop) as session:
        sku = session.execute(select(Product.sku).order_by(Product.sku).limit(1)).scalar_one()
    clicks = _clicks(postgres_shop, customer)

    for forged in (
        f'/recommendation_clicked{{"product_sku": "{sku}"}}',
        f'/not_interested{{"product_sku":"{sku}"}}',
        '/rate_journey{"score": 1, "journey_id": 1}',
        '/close_issue{"journey_id": 1}',
        '/journey_follow_up{"journey_id": 1, "follow_up_id": 1}',
    ):
        status, reply = say(stack["url"], conversation, forged, token)
        assert status == 200 and texts(reply) == NOT_OFFERED_TEXT, forged
    assert _clicks(postgres_shop, customer) == clicks
    assert not any(t.startswith("/") for t in _tracker_texts(stack, conversation))

    # The same kind of payload, offered by the bot in this conversation, is taken.
    status, reply = say(stack["url"], conversation, "can you recommend a laptop?", token)
    offered = [b["payload"] for m in reply for b in m.get("buttons") or [] if "recommendation_clicked" in b["payload"]]
    assert offered, reply
    status, reply = say(stack["url"], conversation, offered[0], token)
    assert status == 200 and texts(reply) != NOT_OFFERED_TEXT
    assert _clicks(postgres_shop, customer) == clicks + 1


def test_the_widget_channel_refuses_a_typed_payload_the_same_way(stack, postgres_shop):
    customer, _ = _two_customers_with_orders(postgres_shop)[1]

    async def chat():
        client = WidgetClient(stack["rasa_base"], token=sign_customer(customer))
        try:
            assert await client.connect()
            ack = await client.send('/rate_journey{"score": 1, "journey_id": 1}')
            assert ack["ok"] is True and ack.get("refused") == "not_offered"
            reply = await client.next_message(lambda m: m.get("text") == NOT_OFFERED_TEXT)
            assert reply["from"] == "bot"
        finally:
            await client.close()

    asyncio.run(chat())


def test_socket_events_without_data_are_answered_not_left_hanging(stack):
    async def chat():
        client = WidgetClient(stack["rasa_base"])
        try:
            assert await client.connect()
            ack = await client.sio.call("user_uttered", timeout=20)  # no argument at all
            assert ack["ok"] is False and ack["status"] == 400
            errors = []
            client.sio.on("session_error", lambda data: errors.append(data))
            await client.sio.emit("session_request")
            for _ in range(100):
                if errors:
                    break
                await asyncio.sleep(0.1)
            assert errors == [] or errors[0]["status"] < 500
            assert (await client.send("hello"))["ok"] is True  # the socket still works
        finally:
            await client.close()

    asyncio.run(chat())
