"""`tandem insights consume`: Rasa's published events into the analytics tables, until stopped.

Two sources, one per way Rasa publishes (bot/insights/config.py says which):
- `sql`: the table `events` of Rasa's SQL event broker (endpoints.yml), read in id order after the offset that is
  committed with each batch's rows; rows counted are then deleted there (they hold what customers wrote);
- `rabbitmq`: the durable queue of Rasa's Pika broker (config/endpoints.production.yml), a batch at a time
  (prefetch), acknowledged only after its rows are committed; a redelivery is recognised by the events' keys.
Between batches it rebuilds the daily rollup's days that are over (bot/insights/rollup.py) and, on RabbitMQ, counts
what Rasa stored in its tracker store but never published (bot/insights/reconcile.py). A stop (SIGTERM,
Ctrl-C) lets the batch in hand finish. A database or broker that is away is waited for with
back-off; nothing of a batch is stored until all of it is, so nothing is lost or counted twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.db import rasa_tables
from bot.db.models import utcnow
from bot.db.session import DatabaseUnavailable
from bot.insights.config import InsightsConfig
from bot.insights.events import interpret
from bot.insights.reconcile import ReconcileSchedule, ReconcileSettings
from bot.insights.rollup import refresh
from bot.insights.store import EMPTY, BatchResult, SourcedEvent, ingest_batch, prune_seen_keys, read_offset
from bot.text import storable

log = logging.getLogger(__name__)

BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds between tries while a database or the broker is away
PROGRESS_SECONDS = 10.0  # at most one progress line this often
PRUNE_SECONDS = 3600.0
BROKER_TIMEOUT_SECONDS = 15.0  # connecting to RabbitMQ, and then opening a channel and the queue's consumer
BATCH_WAIT_SECONDS = 0.2  # how long a RabbitMQ batch waits for more messages once it has one
ROLLUP_SECONDS = 60.0  # how often the daily rollup's stale days are looked for
ROLLUP_DAYS = 7  # days rebuilt per pass, between batches


@dataclass
class Progress:
    """What a consumer has done so far, and a line for its log."""

    source: str
    totals: BatchResult = EMPTY
    batches: int = 0
    lag: int | None = None  # events waiting at the source, when it says
    started: float = field(default_factory=time.monotonic)
    _printed: float = 0.0

    def add(self, result: BatchResult) -> None:
        self.totals += result
        self.batches += 1

    def line(self) -> str:
        t = self.totals
        rate = t.events / max(time.monotonic() - self.started, 1e-9)
        lag = f", {self.lag} waiting" if self.lag is not None else ""
        return (
            f"insights ({self.source}): {t.events} events in {self.batches} batches ({t.counted} counted, "
            f"{t.duplicates} already counted, {t.skipped} skipped; {rate:.0f}/s){lag}"
        )

    def maybe_log(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._printed >= PROGRESS_SECONDS:
            self._printed = now
            log.info(self.line())


class Backoff:
    def __init__(self) -> None:
        self.failures = 0

    def next(self) -> float:
        self.failures += 1
        return BACKOFF[min(self.failures, len(BACKOFF)) - 1]

    def reset(self) -> None:
        self.failures = 0


class RollupSchedule:
    """When the consumer rebuilds the daily rollup's stale days that are over (bot/insights/rollup.py): every
    ROLLUP_SECONDS, and again at once while days are left (the first run after an upgrade catches up)."""

    def __init__(self) -> None:
        self.due = 0.0

    def run(self, database_url: str) -> None:
        if time.monotonic() < self.due:
            return
        try:
            _, left = refresh(database_url, limit=ROLLUP_DAYS)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:  # the next batch waits for the database
            log.warning("insights: could not roll up the days that are over yet: %s", _reason(exc))
            left = 0
        self.due = time.monotonic() + (0.0 if left else ROLLUP_SECONDS)


def sql_source_name(events_db_url: str) -> str:
    """The offset's name: the broker database, without its password."""
    return f"sql-broker:{make_url(events_db_url).render_as_string(hide_password=True)}"[:255]


def consume_sql(
    database_url: str,
    config: InsightsConfig,
    stop: threading.Event,
    *,
    once: bool = False,
    on_batch: Callable[[BatchResult], None] | None = None,
) -> Progress:
    """Read Rasa's SQL event broker table after the committed offset until `stop` (or, with `once`, until caught
    up). `on_batch` runs after each commit (tests and the benchmark use it)."""
    source = sql_source_name(config.events_db_url)
    progress = Progress("sql")
    backoff = Backoff()
    rollup = RollupSchedule()
    position: int | None = None
    while not stop.is_set():
        rollup.run(database_url)
        try:
            if position is None:
                position = read_offset(database_url, source)
                log.info("insights: reading %s after event %d", source, position)
            rows, last = rasa_tables.broker_events_after(config.events_db_url, position, config.batch_size)
            if last == position:
                progress.lag = 0
                progress.maybe_log()
                if once:
                    break
                stop.wait(config.poll_seconds)
                continue
            result = ingest_batch(database_url, [(r.sender_id, r.event) for r in rows], position=(source, last))
        except (DatabaseUnavailable, SQLAlchemyError, OSError) as exc:
            position = None  # read it again: the last commit may or may not have happened
            delay = backoff.next()
            log.warning("insights: %s; trying again in %.0f s", _reason(exc), delay)
            stop.wait(delay)
            continue
        backoff.reset()
        position = last
        _forget_counted(config.events_db_url, last)
        progress.add(result)
        if on_batch is not None:
            on_batch(result)
        if progress.batches % 20 == 1 or stop.is_set():
            try:
                progress.lag = max(rasa_tables.broker_last_id(config.events_db_url) - position, 0)
            except SQLAlchemyError:
                progress.lag = None
        progress.maybe_log()
    progress.maybe_log(force=True)
    return progress


def _forget_counted(events_db_url: str, last: int) -> None:
    """The broker's rows up to the committed offset are never read again: they go (what customers wrote is not
    kept twice). A failure leaves them for the next batch's turn."""
    try:
        rasa_tables.forget_broker_events_through(events_db_url, last)
    except SQLAlchemyError as exc:
        log.debug("insights: could not delete counted broker rows yet: %s", _reason(exc))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _sourced(body: bytes) -> SourcedEvent | None:
    """The event a message carries; None, logged, for a message that is not a Rasa event Tandem can read: it is
    acknowledged with its batch, so it is never delivered again (a message that failed every time would otherwise
    come back for ever). What it says is not logged: it may be a customer's words."""
    reason = ""
    try:
        event = json.loads(body)
    except ValueError:  # not JSON, or not text at all
        reason = "is not JSON"
    else:
        if not isinstance(event, dict) or not event.get("sender_id"):
            reason = "is not an event of a conversation (no sender_id)"
        else:
            sender = storable(str(event["sender_id"]))
            try:
                interpret(event, sender)
            except Exception as exc:  # any field of an unexpected type: this message, not the batch
                reason = f"is an event Tandem cannot read ({type(exc).__name__})"
            else:
                return sender, event
    log.warning("insights: a RabbitMQ message of %d bytes %s; acknowledged without counting it", len(body), reason)
    return None


async def _rabbitmq(
    database_url: str,
    config: InsightsConfig,
    stop: threading.Event,
    once: bool,
    on_batch: Callable[[BatchResult], None] | None,
) -> Progress:
    import aio_pika
    from aiormq.exceptions import AMQPError, ChannelInvalidStateError
    from yarl import URL

    # A broker that went away surfaces as any of these, depending on when.
    broker_away = (OSError, TimeoutError, AMQPError, ChannelInvalidStateError, ConnectionError)
    progress = Progress("rabbitmq")
    backoff = Backoff()
    rollup = RollupSchedule()
    reconciler = ReconcileSchedule(config.tracker_db_url, ReconcileSettings(every_seconds=config.reconcile_seconds))
    pruned_at = 0.0
    while not stop.is_set():
        try:
            # aio_pika's own timeout leaves its last step unbounded: a broker still starting may answer nothing.
            # The name goes in the URL: aio_pika ignores `client_properties` beside a URL.
            named = URL(config.amqp_url).update_query(name=connection_name(config))
            connection = await asyncio.wait_for(aio_pika.connect(named, timeout=10), BROKER_TIMEOUT_SECONDS)
        except broker_away as exc:
            delay = backoff.next()
            log.warning("insights: RabbitMQ: %s; trying again in %.0f s", _reason(exc), delay)
            await asyncio.to_thread(stop.wait, delay)
            continue
        try:
            async with connection:
                inbox: asyncio.Queue[Any] = asyncio.Queue()
                channel, queue, tag = await asyncio.wait_for(
                    _subscribe(connection, config, inbox), BROKER_TIMEOUT_SECONDS
                )
                log.info("insights: consuming RabbitMQ queue %s (%d waiting)", config.queue, _waiting(queue))
                while not stop.is_set():
                    if connection.is_closed or channel.is_closed:  # nothing would ever be delivered again
                        raise ConnectionError("RabbitMQ closed the connection (restarted?)")
                    if time.monotonic() - pruned_at >= PRUNE_SECONDS:
                        await _prune(database_url, config)
                        pruned_at = time.monotonic()
                    await asyncio.to_thread(rollup.run, database_url)
                    if inbox.empty():  # caught up with the queue: what it never got is in the tracker store only
                        await asyncio.to_thread(reconciler.run, database_url)
                    batch = await _collect(inbox, config, stop)
                    if not batch:
                        if once:
                            await asyncio.to_thread(lambda: reconciler.run(database_url, now=True))
                            stop.set()
                        continue
                    events = [e for e in (_sourced(m.body) for m in batch) if e is not None]
                    result = await _store_until_done(database_url, events, stop, backoff)
                    if result is None:  # stopped while the database was away: not acknowledged, redelivered later
                        break
                    unreadable = len(batch) - len(events)  # not an event: acknowledged with the rest, never retried
                    result = BatchResult(len(batch), result.counted, result.duplicates, result.skipped + unreadable)
                    await batch[-1].ack(multiple=True)  # after the commit: a crash in between redelivers, keys skip
                    backoff.reset()
                    progress.add(result)
                    if on_batch is not None:
                        on_batch(result)
                    progress.lag = inbox.qsize()
                    progress.maybe_log()
                await queue.cancel(tag)
        except broker_away as exc:
            delay = backoff.next()
            log.warning("insights: RabbitMQ: %s; reconnecting in %.0f s", _reason(exc), delay)
            await asyncio.to_thread(stop.wait, delay)
    progress.maybe_log(force=True)
    return progress


def connection_name(config: InsightsConfig) -> str:
    """How RabbitMQ lists the consumer's connection (rabbitmqctl, the management page)."""
    return f"tandem insights consumer ({config.queue})"


async def _subscribe(connection: Any, config: InsightsConfig, inbox: asyncio.Queue[Any]) -> tuple[Any, Any, str]:
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=config.batch_size)
    # The same declaration as Rasa's (durable): whichever starts first creates it.
    queue = await channel.declare_queue(config.queue, durable=True)
    tag = await queue.consume(inbox.put, no_ack=False)
    return channel, queue, tag


def _waiting(queue: Any) -> int:
    declaration = getattr(queue, "declaration_result", None)
    return int(getattr(declaration, "message_count", 0) or 0)


async def _collect(inbox: asyncio.Queue, config: InsightsConfig, stop: threading.Event) -> list[Any]:
    """Up to a batch of delivered messages: waits up to the poll interval for the first, then briefly for more."""
    batch: list[Any] = []
    try:
        batch.append(await asyncio.wait_for(inbox.get(), timeout=config.poll_seconds))
    except TimeoutError:
        return batch
    deadline = time.monotonic() + BATCH_WAIT_SECONDS
    while len(batch) < config.batch_size and not stop.is_set():
        if inbox.empty():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(inbox.get(), timeout=remaining))
            except TimeoutError:
                break
        else:
            batch.append(inbox.get_nowait())
    return batch


async def _store_until_done(
    database_url: str, events: list[SourcedEvent], stop: threading.Event, backoff: Backoff
) -> BatchResult | None:
    """The batch committed, trying again while the database is away; None when stopped before it could be."""
    while True:
        try:
            return await asyncio.to_thread(ingest_batch, database_url, events, dedupe=True)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            delay = backoff.next()
            log.warning("insights: %s; trying again in %.0f s", _reason(exc), delay)
            if await asyncio.to_thread(stop.wait, delay):
                return None


async def _prune(database_url: str, config: InsightsConfig) -> None:
    try:
        removed = await asyncio.to_thread(prune_seen_keys, database_url, utcnow() - timedelta(days=config.seen_days))
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        log.warning("insights: could not prune old event keys: %s", _reason(exc))
        return
    if removed:
        log.info("insights: forgot %d event keys older than %g days", removed, config.seen_days)


def consume_rabbitmq(
    database_url: str,
    config: InsightsConfig,
    stop: threading.Event,
    *,
    once: bool = False,
    on_batch: Callable[[BatchResult], None] | None = None,
) -> Progress:
    """Consume RabbitMQ's queue until `stop` (or, with `once`, until it stays empty for the poll interval)."""
    return asyncio.run(_rabbitmq(database_url, config, stop, once, on_batch))


def consume(database_url: str, config: InsightsConfig, stop: threading.Event, *, once: bool = False) -> Progress:
    if config.source == "rabbitmq":
        return consume_rabbitmq(database_url, config, stop, once=once)
    return consume_sql(database_url, config, stop, once=once)
