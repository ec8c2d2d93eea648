"""Analytics tables (bot/insights): conversations and turns as Rasa's event broker reported them, and what the
consumer needs to count every event exactly once."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text

from bot.db.models.base import EVENT_ID, Base, utcnow
from bot.db.models.journeys import JourneyStep


class InsightConversation(Base):
    """One Rasa session of one sender: from its `session_started` event (or its first event) to the next one.

    Counters and moments are kept here as events arrive, so the dashboard's panels read one row per conversation
    instead of its turns.
    """

    __tablename__ = "insight_conversations"
    __table_args__ = (Index("ix_insight_conversations_sender_started", "sender_id", "started_at", unique=True),)

    id = Column(EVENT_ID, primary_key=True, autoincrement=True)
    sender_id = Column(String(128), nullable=False)
    channel = Column(String(32), nullable=True)  # Rasa's input_channel of its first message
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), nullable=True, index=True)
    started_at = Column(DateTime, nullable=False, index=True)
    last_event_at = Column(DateTime, nullable=False)
    user_turns = Column(Integer, nullable=False, default=0)
    bot_messages = Column(Integer, nullable=False, default=0)  # the bot's own, not an agent's
    agent_messages = Column(Integer, nullable=False, default=0)
    fallbacks = Column(Integer, nullable=False, default=0)
    handed_off_at = Column(DateTime, nullable=True)  # the bot stepped aside for a person (first time)
    first_agent_reply_at = Column(DateTime, nullable=True)
    sentiment_min = Column(Float, nullable=True)  # -1..1, over the customer's messages
    sentiment_last = Column(Float, nullable=True)
    turned_negative_at = Column(DateTime, nullable=True)  # first message at or below the negative threshold


# What the dashboard reads of a turn besides its moment and intent (the columns ix_insight_turns_at_intent carries).
TURN_FIGURES = ("answered_at", "sentiment", "sentiment_label", "fallback", "confidence", "conversation_id")


class InsightTurn(Base):
    """One customer message with what the NLU made of it and what answered it."""

    __tablename__ = "insight_turns"
    __table_args__ = (
        # The dashboard's message panels read a range of time (bot/insights/scope.py, `scoped_turns`); on PostgreSQL
        # the index carries what they read, so a period is an index-only scan.
        Index("ix_insight_turns_at_intent", "at", "intent", postgresql_include=list(TURN_FIGURES)),
        # A conversation's turns in order: its latest one (the dashboard: how a negative conversation ended).
        Index("ix_insight_turns_conversation_id_at", "conversation_id", "at"),
    )

    id = Column(EVENT_ID, primary_key=True, autoincrement=True)
    conversation_id = Column(EVENT_ID, ForeignKey("insight_conversations.id", ondelete="CASCADE"), nullable=False)
    at = Column(DateTime, nullable=False)
    text = Column(Text, nullable=True)  # for the clusters of unknown questions; erased with the customer
    intent = Column(String(64), nullable=True)
    confidence = Column(Float, nullable=True)
    margin = Column(Float, nullable=True)  # top intent's confidence minus the runner-up's
    entities = Column(JSON, nullable=False, default=list)  # entity names
    sentiment = Column(Float, nullable=True)  # -1..1
    sentiment_label = Column(String(16), nullable=True)
    language = Column(String(8), nullable=True)
    action = Column(String(64), nullable=True)  # the first action that answered (not action_listen)
    policy = Column(String(128), nullable=True)  # the policy that chose it
    fallback = Column(Boolean, nullable=False, default=False)
    answered_at = Column(DateTime, nullable=True)  # the first bot message after it: the bot's response time


class InsightEventSeen(Base):
    """Events already counted, for a source that may deliver one twice (RabbitMQ redelivers what was not
    acknowledged before a crash); pruned after a few days, far longer than any redelivery."""

    __tablename__ = "insight_events_seen"

    key = Column(String(64), primary_key=True)  # SHA-256 of the sender and the event's canonical JSON
    seen_at = Column(DateTime, nullable=False, default=utcnow, index=True)


class InsightOffset(Base):
    """How far the consumer has read an ordered source (Rasa's SQL event broker table), committed with the rows
    it produced: a crash between two batches repeats nothing and skips nothing."""

    __tablename__ = "insight_offsets"

    source = Column(String(255), primary_key=True)
    position = Column(EVENT_ID, nullable=False, default=0)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


# The dashboard's workflow filter asks, per conversation, whether it went through a journey of that workflow: journey
# steps name the conversation's Rasa sender id and their moment (bot/insights/scope.py, `went_through`).
Index("ix_journey_steps_conversation_id_at", JourneyStep.conversation_id, JourneyStep.at)
