"""Conversation retention: only conversations idle past the retention period are purged (tracker events, who
owned them, the messages of their closed handoffs), by the CLI and by the follow-up scheduler's hourly hook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.db.models import ChatConversation, Handoff, HandoffMessage, InsightConversation, InsightTurn, utcnow
from bot.db.rasa_tables import tracker_conversation
from bot.db.session import session_scope
from bot.handoff.conversations import bind_conversation
from bot.insights.store import ingest
from bot.journeys.scheduler import FollowUpScheduler
from bot.privacy.retention import PurgeReport, RetentionHook, purge_idle_conversations
from tests.privacy.conftest import World, _conversation


def _handoff(url: str, conversation_id: str, status: str) -> int:
    with session_scope(url) as session:
        handoff = Handoff(conversation_id=conversation_id, reason="asked", queue="general", priority=40, status=status)
        session.add(handoff)
        session.flush()
        session.add(HandoffMessage(handoff_id=handoff.id, kind="customer", text="hello?"))
        return handoff.id


def _messages(url: str, handoff_id: int) -> int:
    with session_scope(url) as session:
        return len(session.execute(select(HandoffMessage).where(HandoffMessage.handoff_id == handoff_id)).all())


def _bound(url: str) -> set[str]:
    with session_scope(url) as session:
        return set(session.execute(select(ChatConversation.conversation_id)).scalars())


@pytest.fixture
def aged(world: World) -> dict[str, str]:
    """Besides the world's recent conversations: one idle for 40 days with a closed handoff, one idle with a
    handoff still open, one bound 40 days ago with no events, one bound long ago but active yesterday."""
    now = utcnow()
    old, old_open, quiet, revived = (_conversation() for _ in range(4))
    with session_scope(world.url) as session:
        for conv in (old, old_open, quiet, revived):
            bind_conversation(session, conv, None, "tandem", now=now - timedelta(days=40))
    world.tracker.save(old, ["an old question"], at=now - timedelta(days=40))
    world.tracker.save(old_open, ["still waiting"], at=now - timedelta(days=35))
    world.tracker.save(revived, ["long ago"], at=now - timedelta(days=60))
    world.tracker.save(revived, ["long ago", "and again yesterday"], at=now - timedelta(days=1))
    with session_scope(world.url) as session:  # the insights backfill's counts of them (before its partition)
        for conv in (old, revived):
            ingest(session, [(conv, e.event) for e in tracker_conversation(world.tracker.url, conv)], live=False)
    return {
        "old": old,
        "old_open": old_open,
        "quiet": quiet,
        "revived": revived,
        "closed_handoff": str(_handoff(world.url, old, "resolved")),
        "open_handoff": str(_handoff(world.url, old_open, "waiting")),
    }


def test_only_conversations_idle_past_the_retention_are_purged(world: World, aged: dict[str, str]):
    report = purge_idle_conversations(timedelta(days=30), world.where)

    assert report.conversations == 3  # old, old_open, quiet
    assert report.tracker_events == 4 and report.ownership_rows == 3 and report.handoff_messages == 1
    senders = world.tracker.senders()
    assert aged["old"] not in senders and aged["old_open"] not in senders
    assert {aged["revived"], *world.subject.conversations, *world.other.conversations} <= senders
    assert _bound(world.url).isdisjoint({aged["old"], aged["old_open"], aged["quiet"]})
    assert aged["revived"] in _bound(world.url)
    assert _messages(world.url, int(aged["closed_handoff"])) == 0
    assert _messages(world.url, int(aged["open_handoff"])) == 1  # a person is still on it
    assert purge_idle_conversations(timedelta(days=30), world.where) == PurgeReport()  # nothing more to do
    assert _insight_texts(world.url, aged["old"]) == [None]  # the analytics keep the count, not the words
    assert "and again yesterday" in _insight_texts(world.url, aged["revived"])


def _insight_texts(url: str, conversation_id: str) -> list[str | None]:
    with session_scope(url) as session:
        return list(
            session.execute(
                select(InsightTurn.text)
                .join(InsightConversation, InsightConversation.id == InsightTurn.conversation_id)
                .where(InsightConversation.sender_id == conversation_id)
                .order_by(InsightTurn.at)
            ).scalars()
        )


def test_the_cli_purges_and_refuses_a_bad_number_of_days(world: World, aged: dict[str, str], capsys):
    common = ["--database-url", world.url, "--tracker-url", world.tracker.url]
    assert main(["privacy", "purge", "--older-than", "30", *common]) == 0
    assert "3 conversations purged" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["privacy", "purge", "--older-than", "-1", *common])
    assert exit_.value.code == 2


class NoSender:
    def send(self, follow_up):
        raise AssertionError("nothing is due")


def test_the_scheduler_runs_the_purge_hourly_and_survives_its_failure(world: World, aged: dict[str, str]):
    now = utcnow()
    clock = [now]
    hook = RetentionHook(timedelta(days=30), world.where)
    scheduler = FollowUpScheduler(world.url, NoSender(), clock=lambda: clock[0], housekeeping=hook)

    scheduler.tick()
    assert aged["old"] not in world.tracker.senders()
    world.tracker.save(aged["old"], ["back again"], at=now - timedelta(days=40))
    clock[0] = now + timedelta(minutes=10)
    scheduler.tick()  # within the hour: not again
    assert aged["old"] in world.tracker.senders()
    clock[0] = now + timedelta(minutes=61)
    scheduler.tick()
    assert aged["old"] not in world.tracker.senders()

    def broken(*args, **kwargs):
        raise RuntimeError("tracker store down")

    failing = RetentionHook(timedelta(days=30), world.where, purge=broken)
    FollowUpScheduler(world.url, NoSender(), clock=lambda: now, housekeeping=failing).tick()  # logged, not raised
