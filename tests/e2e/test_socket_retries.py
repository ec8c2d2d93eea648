"""A widget retries a message whose acknowledgement it never got; the conversation holds it, and answers it, once."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bot.identity import sign_customer
from bot.rasa_api import RasaApi
from tests.support.widget_client import WidgetClient

pytestmark = pytest.mark.slow


def test_a_retried_message_is_stored_and_answered_once(stack):
    message_id = f"u{uuid.uuid4()}"

    async def chat() -> tuple[dict, dict, list, list]:
        client = WidgetClient(stack["rasa_base"], token=sign_customer("CUST-00002"))
        api = RasaApi(stack["rasa_base"], stack.get("rasa_token"))
        try:
            await client.connect()
            first = await client.send("hello there", message_id=message_id)
            await client.next_message()
            # The widget's retry after a lost acknowledgement: the same id and words.
            again = await client.send("hello there", message_id=message_id)
            await asyncio.sleep(2)  # an answer to the retry would have come by now
            events = await api.events(client.session_id)
            return first, again, client.drain(), events
        finally:
            await api.close()
            await client.close()

    first, again, extra, events = asyncio.run(chat())
    assert first == {"ok": True}
    assert again == {"ok": True, "duplicate": True}
    assert extra == []
    stored = [(e["text"], e["message_id"]) for e in events if e["event"] == "user"]
    assert stored == [("hello there", message_id)]


def test_a_message_id_that_is_not_an_id_is_refused(stack):
    async def chat() -> list[dict]:
        client = WidgetClient(stack["rasa_base"], token=sign_customer("CUST-00002"))
        try:
            await client.connect()
            return [await client.send("hi", message_id=bad) for bad in ("", "x" * 65, "a b", "é")]
        finally:
            await client.close()

    assert [ack.get("status") for ack in asyncio.run(chat())] == [400, 400, 400, 400]
