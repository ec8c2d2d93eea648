"""Conversations and customer messages written straight into the analytics tables, as the insights consumer leaves
them, for the review's tests (what the NLU said of each message is the test's to choose)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.db.models import InsightConversation, InsightTurn

T0 = datetime(2026, 11, 2, 9, 0, 0)


@dataclass(frozen=True)
class Msg:
    text: str | None
    intent: str | None = "greet"
    confidence: float | None = 0.95
    margin: float | None = 0.9
    fallback: bool = False
    minute: float = 0.0  # after the conversation's start
    action: str | None = "utter_answer"  # what the bot did (None: not yet, as the consumer leaves a turn at first)


def conversation(
    session: Session,
    sender: str,
    messages: list[Msg],
    *,
    start: datetime = T0,
    customer_id: int | None = None,
    handed_off_minute: float | None = None,
    agent_reply_minute: float | None = None,
) -> list[int]:
    """One conversation with its messages; the ids of the messages (insight_turns), in order."""

    def at(minute: float) -> datetime:
        return start + timedelta(minutes=minute)

    conv = InsightConversation(
        sender_id=sender,
        channel="socketio",
        customer_id=customer_id,
        started_at=start,
        last_event_at=at(max([m.minute for m in messages] + [0])),
        user_turns=len(messages),
        bot_messages=0,
        agent_messages=1 if agent_reply_minute is not None else 0,
        fallbacks=sum(m.fallback for m in messages),
        handed_off_at=None if handed_off_minute is None else at(handed_off_minute),
        first_agent_reply_at=None if agent_reply_minute is None else at(agent_reply_minute),
    )
    session.add(conv)
    session.flush()
    turns = [
        InsightTurn(
            conversation_id=conv.id,
            at=at(m.minute),
            text=m.text,
            intent=m.intent,
            confidence=m.confidence,
            margin=m.margin,
            entities=[],
            fallback=m.fallback,
            action=m.action,
        )
        for m in messages
    ]
    session.add_all(turns)
    session.flush()
    return [t.id for t in turns]


def unsure(text: str, minute: float = 0.0, intent: str = "order_status") -> Msg:
    """A message the NLU was unsure about (confidence 0.5: a low-confidence candidate only)."""
    return Msg(text, intent, 0.5, 0.3, False, minute)


def sure(text: str, minute: float = 0.0, intent: str = "order_status") -> Msg:
    return Msg(text, intent, 0.97, 0.9, False, minute)
