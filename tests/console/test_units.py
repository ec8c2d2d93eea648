"""The console's small pieces on their own: the login brake, the feed's message cursor, the timeline merge."""

from __future__ import annotations

from datetime import datetime

from bot.console.feed import MessageCursor
from bot.console.throttle import LoginThrottle
from bot.console.timeline import epoch, merge, sentiment_points, transcript
from bot.handoff.store import MessageView
from tests.console.console_support import bot_event, user_event


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_username_is_locked_after_repeated_failures_and_unlocked_later():
    clock = Ticks()
    throttle = LoginThrottle(delay_seconds=0, max_failures=3, lock_seconds=300, clock=clock)
    for _ in range(2):
        throttle.failed("alice")
    assert throttle.locked_for("alice") == 0
    throttle.failed("alice")
    assert throttle.locked_for("alice") == 300
    assert throttle.locked_for("bob") == 0  # per username
    clock.now = 301
    assert throttle.locked_for("alice") == 0
    throttle.failed("alice")  # counting starts again after the lock
    assert throttle.locked_for("alice") == 0


def test_a_success_forgets_the_failures():
    throttle = LoginThrottle(delay_seconds=0, max_failures=2)
    throttle.failed("alice")
    throttle.succeeded("alice")
    throttle.failed("alice")
    assert throttle.locked_for("alice") == 0


def message(
    id_: int,
    kind: str = "customer",
    text: str = "hi",
    at: datetime = datetime(2026, 11, 1, 12, 0),
    delivered: bool = False,
) -> MessageView:
    return MessageView(id_, 1, "conv", kind, None, None, text, at, at if delivered else None)


def test_the_cursor_pushes_each_message_once_even_when_ids_commit_out_of_order():
    clock = Ticks()
    cursor = MessageCursor(10, settle=5, clock=clock)
    assert [m.id for m in cursor.fresh([message(11), message(13)])] == [11, 13]
    clock.now = 1
    # 12 committed after 13 (two writers): still pushed, and 11/13 are not pushed again
    assert [m.id for m in cursor.fresh([message(11), message(12), message(13)])] == [12]
    clock.now = 10
    assert cursor.fresh([message(11), message(12), message(13), message(14)])[0].id == 14
    assert cursor.low >= 13  # settled ids are no longer read


def test_the_transcript_marks_agent_messages_and_describes_what_is_not_text():
    events = [
        user_event("where is my order", -0.3, 1000.0),
        {"event": "action", "name": "action_listen"},
        bot_event("Here it is", 1001.0),
        {
            "event": "bot",
            "text": None,
            "timestamp": 1002.0,
            "data": {"custom": {"type": "handoff", "status": "waiting"}},
        },
        bot_event("Hi, I'm Alice", 1003.0, **{"from": "agent", "agent_name": "Alice"}),
        {"event": "bot", "text": "", "timestamp": 1004.0},  # nothing to show
    ]
    entries = transcript(events)
    assert [(e.sender, e.text) for e in entries] == [
        ("customer", "where is my order"),
        ("bot", "Here it is"),
        ("bot", ""),
        ("agent", "Hi, I'm Alice"),
    ]
    assert entries[2].detail == "Handoff notice: waiting"
    assert entries[3].author == "Alice"


def test_the_merge_shows_each_message_once_and_keeps_notes_and_undelivered_replies():
    at = datetime(2026, 11, 1, 12, 0)
    ts = epoch(at)
    rasa = transcript(
        [user_event("it is broken", -0.8, ts), bot_event("On it", ts + 5, **{"from": "agent", "agent_name": "Al"})]
    )
    log = [
        message(1, "customer", "it is broken", at),
        message(2, "agent", "On it", at, delivered=True),
        message(3, "note", "customer is upset", at),
        message(4, "agent", "Still there?", at),
    ]
    merged = merge(rasa, log)
    assert [(e.sender, e.text, e.message_id) for e in merged] == [
        ("customer", "it is broken", 1),
        ("note", "customer is upset", 3),
        ("agent", "Still there?", 4),
        ("agent", "On it", 2),
    ]
    assert merged[2].delivered is False and merged[3].delivered is True


def test_without_rasa_the_log_is_the_timeline():
    log = [message(1, "customer", "hello"), message(2, "note", "n")]
    assert [e.message_id for e in merge([], log)] == [1, 2]


def test_one_sentiment_point_per_customer_message_with_a_mood():
    events = [user_event("a", -0.9, 1.0), bot_event("x", 2.0), user_event("b", None, 3.0), user_event("c", 0.4, 4.0)]
    points = sentiment_points(events)
    assert [(p["text"], p["score"]) for p in points] == [("a", -0.9), ("c", 0.4)]
