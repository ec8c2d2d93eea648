"""Events into the analytics tables: the figures equal a hand count, and nothing is counted twice (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.db.models import Customer, InsightEventSeen, InsightTurn, utcnow
from bot.db.session import session_scope
from bot.insights import store
from bot.insights.store import BatchResult, ingest_batch, read_offset
from tests.insights.conversations import (
    SECOND_START,
    T0,
    at,
    button_conversation,
    first_conversation,
    published,
    second_conversation,
)
from tests.insights.figures import tables


def _customer(url: str) -> tuple[int, str]:
    with session_scope(url) as session:
        row = session.execute(select(Customer.id, Customer.external_id).order_by(Customer.id).limit(1)).one()
        return row[0], row[1]


def _events(customer: str) -> list[tuple[str, dict]]:
    bodies = (
        published("c1", first_conversation(customer))
        + published("c1", second_conversation())
        + published("c2", button_conversation())
    )
    return [(b["sender_id"], b) for b in bodies]


def expected(customer_pk: int) -> list[dict]:
    """Counted by hand from tests/insights/conversations.py."""
    return [
        {
            "sender_id": "c1",
            "channel": "tandem",
            "customer_id": customer_pk,
            "started_at": at(0.001),
            "last_event_at": at(80),
            "user_turns": 4,
            "bot_messages": 3,  # 1.5, 10.5, 20.4; the two at 60 and 70 are Sam's
            "agent_messages": 2,
            "fallbacks": 1,  # the NLU was not sure at 10
            "handed_off_at": at(20.3),  # handoff_reason set, before the pause at 20.5
            "first_agent_reply_at": at(60),
            "sentiment_min": -0.9,
            "sentiment_last": 0.8,
            "turned_negative_at": at(10),
            "turns": [
                {
                    "at": at(1),
                    "text": "where is my order TD100001",
                    "intent": "order_status",
                    "confidence": 0.9,
                    "margin": 0.85,
                    "entities": ["order_id"],
                    "sentiment": 0.0,
                    "sentiment_label": "neutral",
                    "language": None,
                    "action": "action_order_status",
                    "policy": "RulePolicy",
                    "fallback": False,
                    "answered_at": at(1.5),
                },
                {
                    "at": at(10),
                    "text": "this is useless",
                    "intent": "nlu_fallback",
                    "confidence": 0.45,
                    "margin": 0.05,
                    "entities": [],
                    "sentiment": -0.7,
                    "sentiment_label": "negative",
                    "language": None,
                    "action": "action_handle_fallback",
                    "policy": "RulePolicy",
                    "fallback": True,
                    "answered_at": at(10.5),
                },
                {
                    "at": at(20),
                    "text": "I want a person",
                    "intent": "ask_human",
                    "confidence": 0.95,
                    "margin": 0.95,  # no runner-up
                    "entities": [],
                    "sentiment": -0.9,
                    "sentiment_label": "negative",
                    "language": None,
                    "action": "action_request_human",
                    "policy": "TEDPolicy",
                    "fallback": False,
                    "answered_at": at(20.4),
                },
                {
                    "at": at(80),
                    "text": "thanks!",
                    "intent": "thank",
                    "confidence": 0.99,
                    "margin": 0.99,
                    "entities": [],
                    "sentiment": 0.8,
                    "sentiment_label": "positive",
                    "language": None,
                    "action": None,  # paused: a person is answering
                    "policy": None,
                    "fallback": False,
                    "answered_at": None,
                },
            ],
        },
        {
            "sender_id": "c1",
            "channel": "tandem",
            "customer_id": None,  # nothing verified in this session
            "started_at": at(0.001, SECOND_START),
            "last_event_at": at(1.3, SECOND_START),
            "user_turns": 1,
            "bot_messages": 1,
            "agent_messages": 0,
            "fallbacks": 1,  # Rasa's core fallback answered
            "handed_off_at": None,
            "first_agent_reply_at": None,
            "sentiment_min": 0.1,
            "sentiment_last": 0.1,
            "turned_negative_at": None,
            "turns": [
                {
                    "at": at(1, SECOND_START),
                    "text": "zzz qqq",
                    "intent": "greet",
                    "confidence": 0.31,
                    "margin": 0.31,
                    "entities": [],
                    "sentiment": 0.1,
                    "sentiment_label": "neutral",
                    "language": None,
                    "action": "action_default_fallback",
                    "policy": "RulePolicy",
                    "fallback": True,
                    "answered_at": at(1.2, SECOND_START),
                }
            ],
        },
        {
            "sender_id": "c2",
            "channel": "tandem",
            "customer_id": None,
            "started_at": at(0.001),
            "last_event_at": at(5.4),
            "user_turns": 1,
            "bot_messages": 1,
            "agent_messages": 0,
            "fallbacks": 0,
            "handed_off_at": None,
            "first_agent_reply_at": None,
            "sentiment_min": 0.5,  # from the slots: a button has no parse sentiment
            "sentiment_last": 0.5,
            "turned_negative_at": None,
            "turns": [
                {
                    "at": at(5),
                    "text": "/affirm",
                    "intent": "affirm",
                    "confidence": 1.0,
                    "margin": 1.0,
                    "entities": [],
                    "sentiment": 0.5,
                    "sentiment_label": "positive",
                    "language": None,
                    "action": "utter_happy",
                    "policy": "MemoizationPolicy",
                    "fallback": False,
                    "answered_at": at(5.4),
                }
            ],
        },
    ]


def test_events_become_the_rows_counted_by_hand(fresh_shop_db):
    pk, external = _customer(fresh_shop_db)
    result = ingest_batch(fresh_shop_db, _events(external), position=("test", 1))
    assert result == BatchResult(
        events=len(_events(external)), counted=len(_events(external)) - 3, duplicates=0, skipped=3
    )
    assert tables(fresh_shop_db) == expected(pk)


def test_one_event_at_a_time_gives_the_same_rows(fresh_shop_db):
    pk, external = _customer(fresh_shop_db)
    for sender, event in _events(external):
        ingest_batch(fresh_shop_db, [(sender, event)], dedupe=True)
    assert tables(fresh_shop_db) == expected(pk)


def test_a_redelivered_batch_counts_nothing_twice(fresh_shop_db):
    pk, external = _customer(fresh_shop_db)
    events = _events(external)
    first = ingest_batch(fresh_shop_db, events[:20], dedupe=True)
    again = ingest_batch(fresh_shop_db, events[10:], dedupe=True)  # 10 redelivered, then the rest
    assert again.duplicates == 10 and first.duplicates == 0
    assert ingest_batch(fresh_shop_db, events, dedupe=True).duplicates == len(events)
    assert tables(fresh_shop_db) == expected(pk)
    with session_scope(fresh_shop_db) as session:
        assert session.execute(select(func.count()).select_from(InsightEventSeen)).scalar_one() == len(events)


def test_a_batch_that_fails_stores_neither_its_rows_nor_its_offset(db_factory, monkeypatch):
    url = db_factory.create()
    events = _events("CUST-NOBODY")
    ingest_batch(url, events[:5], position=("sql-broker:test", 5))
    calls = {"n": 0}
    real = store._apply

    def failing(tables, update):
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("the process dies here")
        real(tables, update)

    monkeypatch.setattr(store, "_apply", failing)
    with pytest.raises(RuntimeError):
        ingest_batch(url, events[5:], position=("sql-broker:test", len(events)))
    monkeypatch.setattr(store, "_apply", real)
    assert read_offset(url, "sql-broker:test") == 5
    ingest_batch(url, events[5:], position=("sql-broker:test", len(events)))
    counts = [(c["sender_id"], c["user_turns"], c["bot_messages"], c["agent_messages"]) for c in tables(url)]
    assert counts == [("c1", 4, 3, 2), ("c1", 1, 1, 0), ("c2", 1, 1, 0)]


def test_live_sources_leave_the_history_before_the_partition_to_the_backfill(db_factory):
    url = db_factory.create()
    with session_scope(url) as session:
        assert store.claim_partition(session, at(15), live=False) == at(15)
    result = ingest_batch(url, _events("CUST-NOBODY"), dedupe=True)
    assert result.skipped >= 9  # c1's first 15 seconds and c2's conversation
    rows = tables(url)
    first = rows[0]
    # c1's conversation began before the partition: the live source starts one at its first own event
    assert (first["started_at"], first["user_turns"], first["handed_off_at"]) == (at(20), 2, at(20.3))
    with session_scope(url) as session:
        assert store.claim_partition(session, at(99), live=False) == at(15)  # a live source has counted: it stays


def test_a_backfill_moves_the_partition_on_until_a_live_source_counts(db_factory):
    url = db_factory.create()
    with session_scope(url) as session:
        store.claim_partition(session, at(15), live=False)
    with session_scope(url) as session:
        assert store.claim_partition(session, at(30), live=False) == at(30)
    with session_scope(url) as session:
        assert store.claim_partition(session, at(5), live=True) == at(30)


def test_old_keys_are_pruned(db_factory):
    url = db_factory.create()
    ingest_batch(url, _events("CUST-NOBODY")[:4], dedupe=True)
    assert store.prune_seen_keys(url, utcnow() - timedelta(days=7)) == 0
    assert store.prune_seen_keys(url, utcnow() + timedelta(seconds=1)) == 4


def test_turns_keep_their_order_across_batches(db_factory):
    url = db_factory.create()
    events = _events("CUST-NOBODY")
    for start in range(0, len(events), 3):
        ingest_batch(url, events[start : start + 3], position=("sql-broker:test", start + 3))
    with session_scope(url) as session:
        ats = list(session.execute(select(InsightTurn.at).order_by(InsightTurn.id)).scalars())
    assert ats == [at(1), at(10), at(20), at(80), at(1, SECOND_START), at(5)]
    assert T0 < ats[0]
