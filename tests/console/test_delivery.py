"""Agents' replies reach the customer exactly once, also when two console processes deliver at the same time.

Two `Delivery` objects stand for two console processes (each has its own in-process locks); the handoff's row
lock in PostgreSQL is what keeps them from sending the same reply twice. SQLite serves one console process. A
process that died halfway is followed by one whose retry looks in the conversation first.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.console.delivery import Delivery
from bot.db.models import utcnow
from bot.db.session import session_scope
from bot.handoff import store
from bot.handoff.agent_events import agent_message
from bot.rasa_api import RasaApi
from tests.console.console_support import FakeRasa, add_agent, messages, open_handoff


class SlowRasa(FakeRasa):
    """Takes a moment to store what is appended, as a busy Rasa does: long enough for two deliveries to overlap."""

    async def _append(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return await super()._append(request)


async def test_two_console_processes_send_each_reply_once(console_db, backend):
    if backend == "sqlite":
        pytest.skip("several console processes need PostgreSQL's row locks; SQLite serves one console process")
    view = open_handoff(console_db, "conv-two-consoles")
    with session_scope(console_db) as session:
        for text in ("Hi, I'm Alice.", "Let me look at your order."):
            store.add_message(session, view.id, "agent", text, author="Alice")
    rasa = SlowRasa()
    server = TestServer(rasa.app())
    await server.start_server()
    apis = [RasaApi(str(server.make_url("")), timeout=5.0) for _ in range(2)]
    try:
        first, second = (Delivery(console_db, api, utcnow) for api in apis)
        delivered = await asyncio.gather(first.deliver(view.id), second.deliver(view.id))
    finally:
        for api in apis:
            await api.close()
        await server.close()
    sent = [e["text"] for e in rasa.events_for("conv-two-consoles")]
    assert sent == ["Hi, I'm Alice.", "Let me look at your order."]  # once each, in order
    assert sorted(len(ids) for ids in delivered) == [0, 2]  # one process sent both, the other found none
    assert all(m.delivered_at is not None for m in messages(console_db, view.id) if m.kind == "agent")


async def test_a_retry_records_a_reply_rasa_already_holds_instead_of_sending_it_again(console_db):
    """A console process killed after Rasa stored its replies but before it recorded that: the next process's
    retry finds them in the conversation (by their reply ids) and sends only what Rasa does not have."""
    view = open_handoff(console_db, "conv-killed-console")
    alice = add_agent(console_db, "alice-retry")
    with session_scope(console_db) as session:
        store.claim(session, view.id, alice.id)
        taken = store.add_message(session, view.id, "agent", "Hi, I'm Alice.", author="Alice")
        fresh = store.add_message(session, view.id, "agent", "Your refund is on its way.", author="Alice")
    rasa = FakeRasa()
    rasa.trackers["conv-killed-console"] = [
        {"timestamp": 1.0, **agent_message("Hi, I'm Alice.", "Alice", reply_id=taken.id)}  # the first try's
    ]
    server = TestServer(rasa.app())
    await server.start_server()
    api = RasaApi(str(server.make_url("")), timeout=5.0)
    try:
        delivered = await Delivery(console_db, api, utcnow).retry_all()
    finally:
        await api.close()
        await server.close()
    assert delivered == 2
    assert [e["text"] for e in rasa.events_for("conv-killed-console")] == ["Your refund is on its way."]
    assert [e["metadata"]["reply_id"] for e in rasa.events_for("conv-killed-console")] == [fresh.id]
    assert all(m.delivered_at is not None for m in messages(console_db, view.id) if m.kind == "agent")
