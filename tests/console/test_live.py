"""The live feed over the websocket: pushes filtered by queue, waking, presence, and redelivery news."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models import Agent
from bot.db.session import session_scope
from bot.handoff import store
from bot.handoff.relay import WAKE_PURPOSE
from tests.console.console_support import (
    add_agent,
    customer_says,
    make_settings,
    next_message,
    no_message,
    open_handoff,
    running_console,
    until,
)


async def test_each_agent_is_pushed_only_what_their_queues_allow(console_db):
    add_agent(console_db, "bill", queues=("billing",))
    add_agent(console_db, "root", role="admin", queues=())
    billing = open_handoff(console_db, "c-live-billing", queue="billing")
    async with running_console(console_db) as console:
        bill, root = await console.agent("bill"), await console.agent("root")
        bill_ws, root_ws = await bill.ws(), await root.ws()
        first = await next_message(bill_ws, "queue")
        assert [h["id"] for h in first["handoffs"]] == [billing.id]
        await next_message(root_ws, "queue")

        delivery = open_handoff(console_db, "c-live-delivery", queue="delivery", customer="CUST-00003")
        customer_says(console_db, delivery.id, "where is my parcel?")
        console.wake()
        pushed = await next_message(root_ws, "message", where=lambda m: m["handoff_id"] == delivery.id)
        assert pushed["message"]["text"] == "where is my parcel?" and pushed["message"]["kind"] == "customer"
        queue = await next_message(root_ws, "queue", where=lambda m: len(m["handoffs"]) == 2)
        assert {h["id"] for h in queue["handoffs"]} == {billing.id, delivery.id}
        await no_message(
            bill_ws,
            lambda m: (
                delivery.id
                in ([m.get("handoff_id")] + [h["id"] for h in m.get("handoffs", [])] + [m.get("handoff", {}).get("id")])
            ),
            wait=1.0,
        )

        customer_says(console_db, billing.id, "hello?")
        console.wake()
        mine = await next_message(bill_ws, "message")
        assert mine["handoff_id"] == billing.id and mine["message"]["text"] == "hello?"
        await bill_ws.close()
        await root_ws.close()


async def test_a_connected_console_marks_its_agent_present_for_the_bot(console_db):
    add_agent(console_db, "bill", queues=("billing",))
    async with running_console(console_db) as console:
        with session_scope(console_db) as session:
            assert store.agents_online(session, "billing", within_seconds=60) == 0
        bill = await console.agent("bill")
        ws = await bill.ws()
        await next_message(ws, "queue")
        with session_scope(console_db) as session:
            assert store.agents_online(session, "billing", within_seconds=60) == 1
            assert store.agents_online(session, "delivery", within_seconds=60) == 0
            assert session.execute(select(Agent.last_seen_at).where(Agent.username == "bill")).scalar_one()
        await ws.close()


async def test_the_wake_up_call_pushes_at_once_and_history_comes_from_the_database(console_db):
    add_agent(console_db, "bill", queues=("billing",))
    h = open_handoff(console_db, "c-wake")
    customer_says(console_db, h.id, "said while no console was running")
    settings = make_settings(console_db)
    async with running_console(console_db, poll_seconds=30.0, settings=settings) as console:
        bill = await console.agent("bill")
        ws = await bill.ws()
        await next_message(ws, "queue")
        customer_says(console_db, h.id, "are you there?")
        woken = await console.client().http.post(
            "/internal/wake", headers={"Authorization": f"Bearer {settings.service_token(WAKE_PURPOSE)}"}
        )
        assert woken.status == 204
        pushed = await next_message(ws, "message", timeout=3.0)
        assert pushed["message"]["text"] == "are you there?"  # only what is new since start-up is pushed
        history = await (await bill.get(f"/api/handoffs/{h.id}")).json()
        assert [m["text"] for m in history["messages"]] == ["said while no console was running", "are you there?"]
        await ws.close()


async def test_consoles_hear_when_a_saved_reply_is_finally_delivered(console_db):
    add_agent(console_db, "bill", queues=("billing",))
    h = open_handoff(console_db, "c-delivered")
    async with running_console(console_db) as console:
        bill = await console.agent("bill")
        await bill.post(f"/api/handoffs/{h.id}/claim")
        ws = await bill.ws()
        console.rasa.fail = True
        saved = await (await bill.post(f"/api/handoffs/{h.id}/messages", {"text": "bear with me"})).json()
        await next_message(ws, "message", where=lambda m: m["message"]["id"] == saved["message"]["id"])
        console.rasa.fail = False
        delivered = await next_message(ws, "delivered")
        assert delivered["handoff_id"] == h.id and delivered["message_ids"] == [saved["message"]["id"]]
        await until(lambda: console.rasa.events_for("c-delivered"))
        await ws.close()


async def test_a_claim_elsewhere_updates_the_handoff_everywhere(console_db):
    add_agent(console_db, "bill", queues=("billing",), name="Bill Payer")
    add_agent(console_db, "root", role="admin", queues=())
    h = open_handoff(console_db, "c-claimed")
    async with running_console(console_db) as console:
        bill, root = await console.agent("bill"), await console.agent("root")
        ws = await root.ws()
        await next_message(ws, "queue")
        await bill.post(f"/api/handoffs/{h.id}/claim")
        # The feed may first push the handoff as it was opened ("waiting"); what counts is that the claim follows.
        update = await next_message(
            ws, "handoff", where=lambda m: m["handoff"]["id"] == h.id and m["handoff"]["status"] != "waiting"
        )
        assert update["handoff"]["status"] == "assigned" and update["handoff"]["agent_name"] == "Bill Payer"
        await ws.close()
