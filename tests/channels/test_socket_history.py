"""A widget that (re)joins a conversation during a turn still gets every message of that turn: the turn sends its
messages before it stores them, so the history is read once the turn has ended (docs/widget-protocol.md)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered

from bot.channels import admission
from bot.channels.socket import history


def _app(lock_store: InMemoryLockStore, tracker_store: InMemoryTrackerStore) -> SimpleNamespace:
    return SimpleNamespace(
        ctx=SimpleNamespace(agent=SimpleNamespace(lock_store=lock_store, tracker_store=tracker_store))
    )


def test_the_history_read_waits_for_the_turn_in_progress_and_includes_what_it_sent():
    async def scenario() -> None:
        lock_store, tracker_store = InMemoryLockStore(), InMemoryTrackerStore(Domain.empty())
        tracker = await tracker_store.get_or_create_tracker("c1")
        tracker.update(UserUttered("where is my order"))
        await tracker_store.save(tracker)
        app = _app(lock_store, tracker_store)

        async with lock_store.lock("c1"):  # a turn: its answer was sent to the room, not stored yet
            read = asyncio.create_task(admission.settled_events(app, "c1"))
            await asyncio.sleep(0.6)
            assert not read.done(), "the history was read in the middle of a turn"
            tracker.update(BotUttered("It left the warehouse today."))
            await tracker_store.save(tracker)
        events = await asyncio.wait_for(read, 5)
        assert [m["text"] for m in history(events, since=None)] == ["where is my order", "It left the warehouse today."]

    asyncio.run(scenario())


def test_without_a_turn_in_progress_the_history_is_read_at_once():
    async def scenario() -> None:
        lock_store, tracker_store = InMemoryLockStore(), InMemoryTrackerStore(Domain.empty())
        tracker = await tracker_store.get_or_create_tracker("c2")
        tracker.update(BotUttered("Hi! How can I help?"))
        await tracker_store.save(tracker)
        events = await asyncio.wait_for(admission.settled_events(_app(lock_store, tracker_store), "c2"), 1)
        assert [m["text"] for m in history(events, since=None)] == ["Hi! How can I help?"]

    asyncio.run(scenario())
