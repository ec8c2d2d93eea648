"""Rasa's Redis ticket lock, each change of a conversation's lock made in one Redis transaction.

Rasa's `RedisLockStore` reads a conversation's lock, changes it in Python and writes it back. Two Rasa instances
taking a ticket at the same moment both read the same lock and hand out the same number, so both process a
message of that conversation at once and their events interleave in the tracker (seen under load in
tests/production/test_topology.py). Here every read-change-write is one optimistic transaction: Redis WATCHes the
lock's key and the change is retried when another instance changed it first. The lock's format is Rasa's own, so
instances of either kind can share a Redis while a deployment rolls over.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")
Change = Callable[[TicketLock | None], tuple[TicketLock | None, T]]  # the lock to keep (None: delete) and a result


class AtomicRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose ticket, expiry and clean-up changes cannot be lost to another instance's."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        """Built by Rasa from `lock_store: type: bot.channels.lock_store.AtomicRedisLockStore` with the same keys
        as Rasa's `type: redis` (url, port, db, password, key_prefix, ...), or from keyword arguments."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def take(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, take)
        except Exception as error:  # Rasa's contract: any failure to take a ticket is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def expire(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, expire)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def done(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, done)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Give the ticket back and delete the lock if nobody waits, in one step: a ticket another instance takes
        in between is never deleted with the lock."""

        def release(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, release)

    def _change(self, conversation_id: str, change: Change[T]) -> T:
        key = self.key_prefix + conversation_id

        def attempt(pipe: Any) -> T:
            stored = pipe.get(key)
            lock, result = change(TicketLock.from_dict(json.loads(stored)) if stored else None)
            pipe.multi()
            if lock is not None:
                pipe.set(key, lock.dumps())
            elif stored:
                pipe.delete(key)
            return result

        return self.red.transaction(attempt, key, value_from_callable=True)
