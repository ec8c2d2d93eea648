"""The handoff store on SQLite and PostgreSQL: one open handoff per conversation, claims that cannot be doubled,
the queue's order, the live feed's cursor, presence and waits, and who owns a conversation."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from bot.db import models
from bot.db.models import Agent, utcnow
from bot.db.session import session_scope
from bot.handoff import conversations, service, store
from bot.handoff.routing import load_rules
from bot.shop.customers import customer_pk


def conversation() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def make_agent(url: str, *, role: str = "agent", queues=("general",), online: bool = True) -> int:
    with session_scope(url) as session:
        agent = Agent(
            username=f"a-{uuid.uuid4().hex[:8]}",
            display_name="Agent",
            password_hash="-",
            role=role,
            queues=list(queues),
        )
        session.add(agent)
        session.flush()
        if online:
            store.touch_agent(session, agent.id)
        return agent.id


def open_one(url: str, conversation_id: str, **fields) -> store.HandoffView:
    with session_scope(url) as session:
        handoff, _ = store.open_handoff(
            session,
            conversation_id=conversation_id,
            reason=fields.pop("reason", "asked"),
            queue=fields.pop("queue", "general"),
            priority=fields.pop("priority", 40),
            **fields,
        )
        return handoff


def test_the_store_and_the_schema_agree_on_statuses():
    assert models.OPEN_HANDOFF_STATUSES == ("waiting", "assigned", "follow_up")
    assert set(store.QUEUED_STATUSES + store.CLOSED_STATUSES + ("assigned",)) == set(models.HANDOFF_STATUSES)


def test_asking_again_joins_the_open_handoff_and_a_closed_one_makes_room_for_a_new_one(fresh_shop_db):
    conv = conversation()
    first = open_one(fresh_shop_db, conv)
    again = open_one(fresh_shop_db, conv, reason="bot_stuck")
    assert again.id == first.id and again.reason == "asked"
    with session_scope(fresh_shop_db) as session:
        store.close(session, first.id, "cancelled")
    assert open_one(fresh_shop_db, conv).id != first.id


def test_two_messages_racing_to_open_a_handoff_open_one(fresh_shop_db):
    conv, barrier, ids, errors = conversation(), threading.Barrier(4), [], []

    def ask() -> None:
        try:
            barrier.wait()
            ids.append(open_one(fresh_shop_db, conv).id)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids)) == 1


def test_only_one_of_two_agents_gets_a_claim(fresh_shop_db):
    handoff = open_one(fresh_shop_db, conversation())
    alice, bob = make_agent(fresh_shop_db), make_agent(fresh_shop_db)
    with session_scope(fresh_shop_db) as session:
        claimed = store.claim(session, handoff.id, alice)
    assert claimed.status == "assigned" and claimed.agent_id == alice and claimed.claimed_at
    with session_scope(fresh_shop_db) as session:
        assert store.claim(session, handoff.id, alice).version == claimed.version, "claiming again is harmless"
        with pytest.raises(store.HandoffConflict, match="already assigned"):
            store.claim(session, handoff.id, bob)
        with pytest.raises(store.HandoffConflict, match="handled by"):
            store.close(session, handoff.id, "handed_back", agent_id=bob)


def test_a_stale_read_cannot_overwrite_a_claim(fresh_shop_db):
    handoff = open_one(fresh_shop_db, conversation())
    alice, bob = make_agent(fresh_shop_db), make_agent(fresh_shop_db)
    with session_scope(fresh_shop_db) as session:
        store.claim(session, handoff.id, alice)
    with session_scope(fresh_shop_db) as session:
        with pytest.raises(store.HandoffConflict):
            store._compare_and_set(session, handoff, status="assigned", agent_id=bob)  # the version read before


def test_the_queue_puts_waiting_first_by_priority_then_by_wait(fresh_shop_db):
    now = utcnow()
    low = open_one(fresh_shop_db, conversation(), priority=30, now=now - timedelta(minutes=10))
    high = open_one(fresh_shop_db, conversation(), priority=80, now=now)
    older_high = open_one(fresh_shop_db, conversation(), priority=80, now=now - timedelta(minutes=1))
    later = open_one(fresh_shop_db, conversation(), status="follow_up", priority=99)
    billing = open_one(fresh_shop_db, conversation(), queue="billing", priority=90)
    with session_scope(fresh_shop_db) as session:
        mine = [
            h.id for h in store.open_queue(session, ["general"]) if h.id in {low.id, high.id, older_high.id, later.id}
        ]
        assert mine == [older_high.id, high.id, low.id, later.id]
        assert billing.id not in {h.id for h in store.open_queue(session, ["general"])}
        assert billing.id in {h.id for h in store.open_queue(session, None)}
        assert store.open_queue(session, []) == []
        assert store.ahead_of(session, "general", 30, low.requested_at, exclude_id=low.id) >= 2


def test_the_feed_cursor_returns_each_message_once_in_order(fresh_shop_db):
    handoff = open_one(fresh_shop_db, conversation())
    with session_scope(fresh_shop_db) as session:
        cursor = store.last_message_id(session)
        store.add_message(session, handoff.id, "customer", "  hello  ")
        store.add_message(session, handoff.id, "note", "VIP customer")
        with pytest.raises(ValueError):
            store.add_message(session, handoff.id, "agent", "   ")
    with session_scope(fresh_shop_db) as session:
        new = store.messages_after(session, cursor)
        assert [(m.kind, m.text, m.conversation_id) for m in new] == [
            ("customer", "hello", handoff.conversation_id),
            ("note", "VIP customer", handoff.conversation_id),
        ]
        assert store.messages_after(session, new[-1].id) == []
        assert handoff.id in {h.id for h in store.changed_since(session, handoff.updated_at)}


def test_undelivered_agent_messages_wait_for_delivery(fresh_shop_db):
    handoff = open_one(fresh_shop_db, conversation())
    with session_scope(fresh_shop_db) as session:
        first = store.add_message(session, handoff.id, "agent", "one", author="Alice")
        store.add_message(session, handoff.id, "agent", "two", author="Alice")
        store.mark_delivered(session, [first.id])
    with session_scope(fresh_shop_db) as session:
        assert [m.text for m in store.undelivered_agent_messages(session, handoff.id)] == ["two"]


def test_agents_count_as_online_for_their_queues_while_their_console_checks_in(fresh_shop_db):
    rules = load_rules()
    make_agent(fresh_shop_db, queues=("billing",))
    make_agent(fresh_shop_db, queues=("billing",), online=False)
    make_agent(fresh_shop_db, role="admin", queues=())
    with session_scope(fresh_shop_db) as session:
        now = utcnow()
        window = rules.agent_online_seconds
        assert store.agents_online(session, "billing", within_seconds=window, now=now) == 2
        assert store.agents_online(session, "returns", within_seconds=window, now=now) == 1
        assert store.agents_online(session, "billing", within_seconds=window, now=now + timedelta(minutes=5)) == 0


def test_the_expected_wait_learns_the_queues_handling_time(fresh_shop_db):
    rules = load_rules()
    agent = make_agent(fresh_shop_db, queues=("returns",))
    now = utcnow()
    for _ in range(5):
        handoff = open_one(fresh_shop_db, conversation(), queue="returns", now=now - timedelta(hours=1))
        with session_scope(fresh_shop_db) as session:
            store.claim(session, handoff.id, agent, now=now - timedelta(minutes=30))
            store.close(session, handoff.id, "resolved", agent_id=agent, now=now - timedelta(minutes=20))
    with session_scope(fresh_shop_db) as session:
        assert store.handle_seconds(session, "returns", days=1, now=now) == 600
        assert store.handle_seconds(session, "billing", days=1, now=now) is None
        assert service.expected_wait_seconds(session, rules, "returns", ahead=3, agents=2, now=now) == 2 * 600
        assert service.expected_wait_seconds(session, rules, "billing", ahead=0, agents=1, now=now) == 6 * 60
        assert service.expected_wait_seconds(session, rules, "billing", ahead=0, agents=0, now=now) is None


def test_a_customers_conversation_cannot_be_joined_by_anyone_else(fresh_shop_db):
    with session_scope(fresh_shop_db) as session:
        ana, ben = customer_pk(session, "CUST-00001"), customer_pk(session, "CUST-00002")
        visitor, owned = conversation(), conversation()
        conversations.bind_conversation(session, visitor, None, "tandem_socket")
        conversations.bind_conversation(session, visitor, None, "tandem_socket")  # the visitor comes back
        conversations.bind_conversation(session, visitor, ana, "tandem_socket")  # and signs in: it becomes theirs
        assert conversations.conversation_customer(session, visitor) == ana
        conversations.bind_conversation(session, owned, ben, "tandem_socket")
        for intruder in (ana, None):
            with pytest.raises(conversations.ConversationOwned):
                conversations.bind_conversation(session, owned, intruder, "tandem_socket")
