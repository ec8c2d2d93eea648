"""Two Rasa instances sharing one Redis lock store run one message of a conversation at a time: no ticket is handed
out twice, no turn overlaps another, and the lock goes away only when nobody waits. Against the real Redis."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import read_endpoint_config

from bot.channels.lock_store import AtomicRedisLockStore
from tests.support.rasa_model import ROOT

REDIS_DB = 15


@pytest.fixture
def key_prefix():
    prefix = f"t{uuid.uuid4().hex}"  # Rasa takes only alphanumeric prefixes
    yield prefix
    client = redis.Redis(db=REDIS_DB)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def instance(key_prefix: str) -> AtomicRedisLockStore:
    """One Rasa instance's lock store: its own connection to the shared Redis."""
    return AtomicRedisLockStore(host="127.0.0.1", port=6379, db=REDIS_DB, key_prefix=key_prefix)


def test_two_instances_taking_tickets_at_once_never_get_the_same_number(key_prefix):
    stores = [instance(key_prefix), instance(key_prefix)]

    def take(i: int) -> int:
        return stores[i % 2].issue_ticket("conversation-a")

    with ThreadPoolExecutor(16) as pool:
        tickets = list(pool.map(take, range(400)))
    assert Counter(tickets).most_common(1)[0][1] == 1
    assert sorted(tickets) == list(range(400))


def test_messages_of_one_conversation_at_two_instances_never_overlap(key_prefix):
    """Each "message" holds the lock a little while, as a turn does; at most one is inside at any moment."""
    inside, most_inside, handled = 0, 0, 0
    guard = threading.Lock()

    async def messages(store: AtomicRedisLockStore, count: int) -> None:
        nonlocal inside, most_inside, handled
        for _ in range(count):
            async with store.lock("conversation-b", wait_time_in_seconds=0.002):
                with guard:
                    inside += 1
                    most_inside = max(most_inside, inside)
                await asyncio.sleep(0.003)
                with guard:
                    inside -= 1
                    handled += 1

    async def one_instance(store: AtomicRedisLockStore) -> None:
        await asyncio.gather(*(messages(store, 10) for _ in range(4)))

    threads = [threading.Thread(target=asyncio.run, args=(one_instance(instance(key_prefix)),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert handled == 80 and most_inside == 1
    assert instance(key_prefix).get_lock("conversation-b") is None  # the last one out removed the lock


def test_the_lock_stays_while_someone_waits_and_goes_when_nobody_does(key_prefix):
    first, second = instance(key_prefix), instance(key_prefix)
    serving = first.issue_ticket("conversation-c")
    waiting = second.issue_ticket("conversation-c")
    lock = first.get_lock("conversation-c")
    assert lock is not None and not lock.is_locked(serving) and lock.is_locked(waiting)

    first.cleanup("conversation-c", serving)
    lock = second.get_lock("conversation-c")
    assert lock is not None and not lock.is_locked(waiting)  # the waiting message is served next
    second.cleanup("conversation-c", waiting)
    assert second.get_lock("conversation-c") is None


def test_an_expired_ticket_no_longer_holds_the_conversation(key_prefix):
    store = instance(key_prefix)
    store.issue_ticket("conversation-d", lock_lifetime=0.05)  # an instance that died mid-turn
    fresh = store.issue_ticket("conversation-d")
    assert store.get_lock("conversation-d").is_locked(fresh)  # behind the stuck one at first
    asyncio.run(asyncio.sleep(0.1))
    store.update_lock("conversation-d")
    assert not store.get_lock("conversation-d").is_locked(fresh)


def test_production_endpoints_build_this_lock_store(monkeypatch: pytest.MonkeyPatch):
    # Rasa expands every variable of the file; only Redis's need to be real here.
    for name in ("ACTION_ENDPOINT_URL", "BROKER_HOST", "BROKER_PASSWORD", "BROKER_PORT", "BROKER_USER"):
        monkeypatch.setenv(f"TANDEM_{name}", "unused")
    for name in ("DB_HOST", "DB_NAME", "DB_PASSWORD", "DB_PORT", "DB_USER"):
        monkeypatch.setenv(f"TANDEM_TRACKER_{name}", "unused")
    monkeypatch.setenv("TANDEM_REDIS_HOST", "127.0.0.1")
    monkeypatch.setenv("TANDEM_REDIS_PORT", "6379")
    config = read_endpoint_config(str(ROOT / "config/endpoints.production.yml"), "lock_store")
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.red.connection_pool.connection_kwargs["db"] == 1 and store.key_prefix == "tandem:lock:"
    assert store.red.ping()
