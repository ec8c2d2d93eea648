"""A conversation is stored in the tracker store or the message fails: never kept in one Rasa process's memory."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core import agent
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_cli import TrackerStoreUnavailable, persist_or_fail


class DatabaseDown(InMemoryTrackerStore):
    """A tracker store whose database is gone (PostgreSQL restarting)."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        raise ConnectionError("server closed the connection unexpectedly")

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        raise ConnectionError("server closed the connection unexpectedly")

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        raise ConnectionError("server closed the connection unexpectedly")


@pytest.fixture
def rasa_agent_module(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(agent, "FailSafeTrackerStore", FailSafeTrackerStore)
    persist_or_fail()
    return agent


def test_rasa_alone_would_keep_the_message_in_memory_and_call_it_saved():
    """What the fix is for: Rasa's own wrapper swallows the error (the channel would acknowledge a lost message)."""
    store = FailSafeTrackerStore(DatabaseDown(Domain.empty()))
    tracker = DialogueStateTracker.from_events("c1", [UserUttered("hello")])
    asyncio.run(store.save(tracker))  # no error: the message lives only in this process
    assert asyncio.run(store.retrieve("c1")) is None  # and a read failure looks like a new conversation


def test_with_tandem_a_failed_save_or_read_fails_the_message(rasa_agent_module):
    store = rasa_agent_module.Agent._create_tracker_store(DatabaseDown(Domain.empty()), Domain.empty())
    tracker = DialogueStateTracker.from_events("c1", [UserUttered("hello")])
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(store.save(tracker))
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(store.retrieve("c1"))
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(store.retrieve_full_tracker("c1"))


def test_a_working_tracker_store_is_used_as_before(rasa_agent_module):
    store = rasa_agent_module.Agent._create_tracker_store(InMemoryTrackerStore(Domain.empty()), Domain.empty())
    asyncio.run(store.save(DialogueStateTracker.from_events("c1", [UserUttered("hello")])))
    assert [e.text for e in asyncio.run(store.retrieve("c1")).events if isinstance(e, UserUttered)] == ["hello"]
