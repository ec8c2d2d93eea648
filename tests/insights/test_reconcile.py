"""Events Rasa stored in its tracker store but never published to RabbitMQ (a Rasa process killed between saving a
turn and its Pika broker's background publish, or a broker restarting) are still counted, once, by the consumer's
comparison with the tracker store; the queue's copy and the tracker store's never count twice (both databases,
Rasa's own SQLTrackerStore and PikaEventBroker, the machine's RabbitMQ)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

from bot.insights.consumer import consume_rabbitmq
from bot.insights.reconcile import ReconcileSettings, reconcile
from bot.insights.store import BatchResult
from tests.insights.conversations import at, button_conversation, first_conversation, published, second_conversation, ts
from tests.insights.figures import tables
from tests.insights.test_backfill import Trackers, trackers  # noqa: F401 (a fixture)
from tests.insights.test_consumer import _customer, _publish_with_rasa, rabbit, rabbit_config  # noqa: F401

SETTLED = ReconcileSettings(every_seconds=60, settle_seconds=60)
BUTTON_TURN = 5  # button_conversation's events from its customer message on: one whole turn


def _store_everything(trackers: Trackers, customer: str) -> None:
    trackers.save("c1", first_conversation(customer) + second_conversation())
    trackers.save("c2", button_conversation())


def _published_before_the_crash(customer: str) -> list[dict]:
    """What reached the queue: c1's second session and c2's last turn were stored, then Rasa died (or RabbitMQ was
    restarting) before its broker published them."""
    return published("c1", first_conversation(customer)) + published("c2", button_conversation()[:-BUTTON_TURN])


def _new(result: BatchResult) -> int:
    """Events not seen before (counted, or of no interest to the tables)."""
    return result.events - result.duplicates


def test_the_consumer_counts_what_rasa_stored_but_never_published(fresh_shop_db, trackers, rabbit):
    from tests.insights.test_store import expected

    queue, exchange = rabbit
    pk, external = _customer(fresh_shop_db)
    _store_everything(trackers, external)
    asyncio.run(_publish_with_rasa(queue, exchange, _published_before_the_crash(external)))
    config = replace(rabbit_config(queue), tracker_db_url=trackers.url)

    consume_rabbitmq(fresh_shop_db, config, threading.Event(), once=True)

    assert tables(fresh_shop_db) == expected(pk)
    again = reconcile(fresh_shop_db, trackers.url, SETTLED)
    assert again.counted == 0  # nothing is counted twice, and nothing new was stored


def test_each_event_counts_once_whichever_copy_comes_first(fresh_shop_db, trackers, rabbit):
    """The tracker store's copy counted first (the queue was slow): the queue's copies are duplicates."""
    from tests.insights.test_store import expected

    queue, exchange = rabbit
    pk, external = _customer(fresh_shop_db)
    _store_everything(trackers, external)
    everything = published("c1", first_conversation(external) + second_conversation()) + published(
        "c2", button_conversation()
    )
    asyncio.run(_publish_with_rasa(queue, exchange, everything[:1]))  # the partition: a live source has counted
    consume_rabbitmq(fresh_shop_db, rabbit_config(queue), threading.Event(), once=True)

    by_tracker = reconcile(fresh_shop_db, trackers.url, SETTLED)
    asyncio.run(_publish_with_rasa(queue, exchange, everything[1:]))
    progress = consume_rabbitmq(fresh_shop_db, rabbit_config(queue), threading.Event(), once=True)

    assert by_tracker.events == len(everything) and by_tracker.duplicates == 1
    assert progress.totals.duplicates == len(everything) - 1 and progress.totals.counted == 0
    assert tables(fresh_shop_db) == expected(pk)


def test_rows_younger_than_the_settling_time_are_left_to_the_queue(fresh_shop_db, trackers, rabbit):
    queue, exchange = rabbit
    _, external = _customer(fresh_shop_db)
    _store_everything(trackers, external)
    first = published("c1", first_conversation(external))
    asyncio.run(_publish_with_rasa(queue, exchange, first[:1]))
    consume_rabbitmq(fresh_shop_db, rabbit_config(queue), threading.Event(), once=True)

    # One minute after the first customer message (1 s in), only the rows of the first second have settled.
    early = reconcile(fresh_shop_db, trackers.url, SETTLED, now=ts(at(1)) + SETTLED.settle_seconds)
    late = reconcile(fresh_shop_db, trackers.url, SETTLED)

    session_start_rows = 3  # action_session_start, session_started, action_listen at 0 s; the first is the queue's
    assert _new(early) == session_start_rows - 1
    stored = len(first_conversation(external)) + len(second_conversation()) + len(button_conversation())
    assert _new(early) + _new(late) == stored - 1


def test_before_any_live_event_there_is_nothing_to_compare(fresh_shop_db, trackers):
    _, external = _customer(fresh_shop_db)
    _store_everything(trackers, external)
    result = reconcile(fresh_shop_db, trackers.url, SETTLED)
    assert result.events == 0  # the history belongs to `tandem insights backfill`
    assert tables(fresh_shop_db) == []
