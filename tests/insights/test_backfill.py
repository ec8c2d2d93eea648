"""History from Rasa's tracker store (written by Rasa's SQLTrackerStore): the same rows as the live consumer, whole
sessions added once, and an event in both the tracker store and a broker counted by only one of them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.insights import backfill as backfill_module
from bot.insights.backfill import backfill, sessions
from bot.insights.consumer import consume_sql
from tests.conftest import ROOT
from tests.insights.conversations import (
    SECOND_START,
    at,
    button_conversation,
    first_conversation,
    published,
    second_conversation,
    ts,
    user,
)
from tests.insights.figures import tables
from tests.insights.test_consumer import _customer, rasa_sql_broker, sql_config
from tests.insights.test_store import expected


class Trackers:
    """A tracker database that Rasa's SQLTrackerStore created and writes, as Rasa does in production."""

    def __init__(self, url: str) -> None:
        from rasa.core.tracker_store import SQLTrackerStore

        u = make_url(url)
        with warnings.catch_warnings():  # Rasa 3.6 builds its URL with SQLAlchemy 1.4's deprecated constructor
            warnings.simplefilter("ignore", DeprecationWarning)
            if u.get_backend_name() == "sqlite":
                self.store = SQLTrackerStore(dialect="sqlite", db=u.database)
            else:
                self.store = SQLTrackerStore(
                    dialect="postgresql", host=u.host, port=u.port, db=u.database, username=u.username
                )
        self.url = url

    def save(self, sender: str, events: list) -> None:
        from rasa.shared.core.trackers import DialogueStateTracker

        asyncio.run(self.store.save(DialogueStateTracker.from_events(sender, events)))


@pytest.fixture
def trackers(db_factory, tmp_path: Path) -> Iterator[Trackers]:
    url = (
        f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
        if db_factory.backend == "sqlite"
        else db_factory.create(migrate=False)
    )
    store = Trackers(url)
    yield store
    store.store.engine.dispose()


def _history(trackers: Trackers, customer: str) -> None:
    trackers.save("c1", first_conversation(customer) + second_conversation())
    trackers.save("c2", button_conversation())


def test_the_backfill_gives_the_rows_counted_by_hand_and_a_second_run_adds_nothing(fresh_shop_db, trackers):
    pk, external = _customer(fresh_shop_db)
    _history(trackers, external)
    progress = []
    report = backfill(fresh_shop_db, trackers.url, on_progress=lambda done, total: progress.append((done, total)))
    assert (report.conversations, report.sessions_added, report.sessions_present) == (2, 3, 0)
    assert progress == [(1, 2), (2, 2)]
    assert tables(fresh_shop_db) == expected(pk)
    again = backfill(fresh_shop_db, trackers.url)
    assert (again.sessions_added, again.sessions_present, again.events.counted) == (0, 3, 0)
    assert tables(fresh_shop_db) == expected(pk)


def test_an_earlier_since_adds_only_the_older_sessions(fresh_shop_db, trackers):
    pk, external = _customer(fresh_shop_db)
    _history(trackers, external)
    recent = backfill(fresh_shop_db, trackers.url, since=SECOND_START - timedelta(minutes=1))
    assert recent.sessions_added == 1
    assert [c["started_at"] for c in tables(fresh_shop_db)] == [at(0.001, SECOND_START)]
    everything = backfill(fresh_shop_db, trackers.url)
    assert (everything.sessions_added, everything.sessions_present) == (2, 1)
    assert tables(fresh_shop_db) == expected(pk)


def test_an_event_in_the_tracker_store_and_the_broker_is_counted_once(fresh_shop_db, trackers, tmp_path, monkeypatch):
    """Rasa stores every event and publishes it: the backfill counts what came before the partition (here: before
    15 seconds into the first conversation), the consumer the rest, and together they equal the hand count."""
    pk, external = _customer(fresh_shop_db)
    _history(trackers, external)
    broker = rasa_sql_broker(tmp_path / "events.db")
    for body in published("c1", first_conversation(external) + second_conversation()) + published(
        "c2", button_conversation()
    ):
        broker.publish(body)
    monkeypatch.setattr(backfill_module, "utcnow", lambda: at(15))  # the backfill runs 15 s into the conversation
    report = backfill(fresh_shop_db, trackers.url)
    assert report.until == at(15) and report.sessions_added == 2  # c1's first session so far, and c2's
    consume_sql(fresh_shop_db, sql_config(tmp_path / "events.db"), threading.Event(), once=True)
    assert tables(fresh_shop_db) == expected(pk)


def test_a_tracker_from_before_sessions_is_one_session_from_its_first_message():
    events = [e.as_dict() for e in [user(3, "hello", "greet", 0.9), user(9, "bye", "goodbye", 0.9)]]
    [only] = sessions("old", events)
    assert only.started_at == at(3)
    assert only.events[0] == {"event": "session_started", "timestamp": ts(at(3))}
    listening_only = [{"event": "action", "name": "action_listen", "timestamp": ts(at(1))}]
    assert sessions("old", listening_only) == []


def test_the_command_reports_and_exits_0(fresh_shop_db, trackers):
    _, external = _customer(fresh_shop_db)
    _history(trackers, external)
    command = [sys.executable, "-m", "bot.cli", "insights", "backfill", "--database-url", fresh_shop_db]
    command += ["--tracker-url", trackers.url, "--since", "2026-01-01"]
    done = subprocess.run(command, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 conversations read; 3 sessions added, 0 already there" in done.stdout
    assert "2/2" in done.stderr  # the progress bar
