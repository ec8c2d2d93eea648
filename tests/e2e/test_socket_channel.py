"""The widget's socket.io channel in the real stack: Rasa, the action server and PostgreSQL.

docs/widget-protocol.md from the client's side: verified customers, acknowledgements with reasons,
history after a reconnect, and a handoff during which the bot stays quiet while every message is kept.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from bot.db.models import Agent, Customer, Handoff, HandoffMessage, Order
from bot.db.session import session_scope
from bot.handoff import agent_events, store
from bot.identity import sign_customer
from bot.rasa_api import RasaApi
from tests.e2e.conftest import actions_down
from tests.support.widget_client import WidgetClient

pytestmark = pytest.mark.slow


def run(coro):
    return asyncio.run(coro)


def _customer_with_order(url: str, skip: int = 0) -> tuple[str, str]:
    with session_scope(url) as session:
        return session.execute(
            select(Customer.external_id, Order.order_number)
            .join(Order)
            .order_by(Customer.external_id, Order.order_number)
            .offset(skip)
            .limit(1)
        ).one()


def test_a_signed_in_customer_chats_and_every_message_is_acknowledged(stack, postgres_shop):
    customer, order = _customer_with_order(postgres_shop)

    async def chat():
        client = WidgetClient(stack["rasa_base"], token=sign_customer(customer))
        try:
            assert await client.connect()
            assert client.state["customer_id"] == customer and client.state["handoff"] is None
            ack = await client.send(f"where is my order {order}?")
            assert ack == {"ok": True}
            reply = await client.next_message(lambda m: order in (m.get("text") or ""))
            assert reply["from"] == "bot" and reply["timestamp"] > 0
            assert {"on": True, "from": "bot"} in client.typing and {"on": False, "from": "bot"} in client.typing
        finally:
            await client.close()

    run(chat())


def test_bad_messages_get_a_reason_and_never_reach_the_bot(stack):
    async def chat():
        client = WidgetClient(stack["rasa_base"])
        stranger = WidgetClient(stack["rasa_base"])
        try:
            assert await client.connect()
            assert (await client.send(""))["status"] == 400
            assert (await client.send("   "))["status"] == 400
            assert (await client.send("x" * 10_000))["status"] == 413
            assert (await client.send(["not", "text"]))["status"] == 400
            # a socket that never joined a conversation cannot talk in one
            await stranger.sio.connect(stack["rasa_base"], socketio_path="/socket.io", transports=["polling"])
            refused = await stranger.sio.call("user_uttered", {"session_id": client.session_id, "message": "hi"})
            assert refused["status"] == 400
            assert client.received == [], "refused messages get no answer from the bot"
            # HTML is just text to the bot
            assert await client.send("<script>alert(1)</script> hello") == {"ok": True}
            assert (await client.next_message())["text"]
        finally:
            await client.close()
            await stranger.close()

    run(chat())


def test_nobody_can_join_a_customers_conversation_without_their_token(stack, postgres_shop):
    owner, _ = _customer_with_order(postgres_shop, skip=3)
    other, _ = _customer_with_order(postgres_shop, skip=40)

    async def chat():
        client = WidgetClient(stack["rasa_base"], token=sign_customer(owner))
        try:
            session_id = await client.connect()
            intruders = [
                WidgetClient(stack["rasa_base"], token=sign_customer(other), session_id=session_id),
                WidgetClient(stack["rasa_base"], session_id=session_id),
                WidgetClient(stack["rasa_base"], token="not-a-token", session_id=session_id),
            ]
            statuses = []
            for intruder in intruders:
                try:
                    assert await intruder.connect() is None
                    statuses.append(intruder.session_error["status"])
                finally:
                    await intruder.close()
            assert statuses == [403, 403, 401]
            # a message signed for someone else is refused even on the owner's socket
            assert (await client.send("hello", token=sign_customer(other)))["status"] == 403
        finally:
            await client.close()

    run(chat())


def test_a_reconnecting_widget_gets_what_it_missed(stack, postgres_shop):
    customer, _ = _customer_with_order(postgres_shop, skip=5)
    token = sign_customer(customer)

    async def chat():
        client = WidgetClient(stack["rasa_base"], token=token)
        session_id = await client.connect()
        await client.send("hello")
        seen = await client.next_message()
        await client.close()
        # While the page is closed, a person writes (as the console does, through Rasa's API).
        api = RasaApi(stack["rasa_base"], stack["rasa_token"])
        try:
            await api.append(session_id, [agent_events.agent_message("Hi, I'm Alice from the team.", "Alice")])
        finally:
            await api.close()
        again = WidgetClient(stack["rasa_base"], token=token, session_id=session_id)
        try:
            assert await again.connect(since=seen["timestamp"]) == session_id
            missed = again.state["messages"]
            assert [(m["from"], m.get("agent_name"), m["text"]) for m in missed if m["from"] == "agent"] == [
                ("agent", "Alice", "Hi, I'm Alice from the team.")
            ]
            assert all(m["timestamp"] > seen["timestamp"] for m in missed)
        finally:
            await again.close()

    run(chat())


def test_an_unanswered_turn_gets_an_apology_that_a_reload_shows_once(stack, postgres_shop):
    """The action server is down: Rasa stores the message and answers nothing. The widget gets the apology live,
    and it is in the conversation, so a reload shows it, and a reconnect since it does not repeat it."""
    customer, order = _customer_with_order(postgres_shop, skip=7)
    token = sign_customer(customer)

    async def chat():
        client = WidgetClient(stack["rasa_base"], token=token)
        session_id = await client.connect()
        try:
            with actions_down(stack):
                assert await client.send(f"where is my order {order}") == {"ok": True}
                apology = await client.next_message(lambda m: "try again" in (m.get("text") or ""))
        finally:
            await client.close()
        reload = WidgetClient(stack["rasa_base"], token=token, session_id=session_id)
        later = WidgetClient(stack["rasa_base"], token=token, session_id=session_id)
        try:
            assert await reload.connect() == session_id
            shown = [(m["from"], m["text"]) for m in reload.state["messages"]]
            assert shown[-2:] == [("customer", f"where is my order {order}"), ("bot", apology["text"])]
            assert await later.connect(since=apology["timestamp"]) == session_id
            assert later.state["messages"] == []
        finally:
            await reload.close()
            await later.close()

    run(chat())


def test_during_a_handoff_the_bot_is_quiet_and_every_message_is_kept_until_it_is_handed_back(stack, postgres_shop):
    customer, order = _customer_with_order(postgres_shop, skip=8)
    with session_scope(postgres_shop) as session:
        agent = Agent(
            username=f"e2e-{uuid.uuid4().hex[:6]}", display_name="Alice", password_hash="-", role="admin", queues=[]
        )
        session.add(agent)
        session.flush()
        store.touch_agent(session, agent.id)

    async def chat():
        client = WidgetClient(stack["rasa_base"], token=sign_customer(customer))
        api = RasaApi(stack["rasa_base"], stack["rasa_token"])
        try:
            session_id = await client.connect()
            await client.send("I want to talk to a person")
            notice = await client.next_message(lambda m: (m.get("custom") or {}).get("type") == "handoff")
            assert notice["custom"]["status"] == "waiting" and "queue" in notice["text"]

            assert await client.send("are you there? my parcel is late") == {"ok": True}
            await asyncio.sleep(2)
            assert client.drain() == [], "the bot stays quiet while a person is coming"
            with session_scope(postgres_shop) as session:
                handoff = session.execute(select(Handoff).where(Handoff.conversation_id == session_id)).scalar_one()
                kept = session.execute(
                    select(HandoffMessage.kind, HandoffMessage.text).where(HandoffMessage.handoff_id == handoff.id)
                ).all()
                assert kept == [("customer", "are you there? my parcel is late")]
                store.close(session, handoff.id, "handed_back", summary="customer only wanted to check")
            await api.append(
                session_id,
                [
                    agent_events.resume(),
                    agent_events.listen(),
                    agent_events.bot_notice("You're back with our assistant."),
                ],
            )
            await client.next_message(lambda m: "back with our assistant" in (m.get("text") or ""))

            await client.send(f"where is my order {order}?")
            await client.next_message(lambda m: order in (m.get("text") or ""))
        finally:
            await api.close()
            await client.close()

    run(chat())
