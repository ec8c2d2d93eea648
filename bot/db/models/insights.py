"""Analytics tables (bot/insights): conversations and turns as Rasa's event broker reported them, and what the
consumer needs to count every event exactly once."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, text

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
    last_event_at = Column(DateTime, nullable=False)  # its latest event's: never before any of its messages
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

# The messages the unknown-questions panel reads with config/dashboard.yml's default `low_confidence_below` (0.6):
# fallbacks, and the NLU unsure. A lower threshold reads a part of the same index; a higher one, a wider scan.
UNSURE_BELOW = 0.6


class InsightTurn(Base):
    """One customer message with what the NLU made of it and what answered it."""

    __tablename__ = "insight_turns"
    __table_args__ = (
        # The dashboard's message panels read a range of time (bot/insights/scope.py, `scoped_turns`); on PostgreSQL
        # the index carries what they read, so a period is an index-only scan.
        Index("ix_insight_turns_at_intent", "at", "intent", postgresql_include=list(TURN_FIGURES)),
        # A conversation's turns in order: its latest one (the dashboard: how a negative conversation ended).
        Index("ix_insight_turns_conversation_id_at", "conversation_id", "at"),
        # The messages the bot did not understand, by time (bot/insights/unknown.py): a tenth of the table.
        Index(
            "ix_insight_turns_unsure_at",
            "at",
            postgresql_include=["text", "confidence", "fallback", "conversation_id"],
            postgresql_where=text(f"fallback IS true OR confidence < {UNSURE_BELOW}"),
            sqlite_where=text(f"fallback IS 1 OR confidence < {UNSURE_BELOW}"),
        ),
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


class InsightDay(Base):
    """A calendar day (UTC) of customer messages and of conversations' starts, and whether its rollup rows (the
    `insight_day_*` tables) are current. Whatever writes messages marks the days it touched stale, in its own transaction; that row's lock
    orders it with a rebuild of the day (bot/insights/rollup.py), which only ever rebuilds days that are over."""

    __tablename__ = "insight_days"

    day = Column(Date, primary_key=True)
    stale = Column(Boolean, nullable=False, default=True)
    built_at = Column(DateTime, nullable=True)


class InsightDayIntent(Base):
    """Customer messages of one day and channel with one intent (the rollup of `insight_turns`)."""

    __tablename__ = "insight_day_intents"

    day = Column(Date, primary_key=True)
    channel = Column(String(32), primary_key=True)  # "" for none
    intent = Column(String(64), primary_key=True)  # "(none)" for none
    messages = Column(Integer, nullable=False)


class InsightDayMood(Base):
    """Customer messages of one day and channel with one sentiment label, and their scores' sum."""

    __tablename__ = "insight_day_moods"

    day = Column(Date, primary_key=True)
    channel = Column(String(32), primary_key=True)  # "" for none
    label = Column(String(16), primary_key=True)  # "" for none
    messages = Column(Integer, nullable=False)
    scored = Column(Integer, nullable=False)  # with a score
    score_sum = Column(Float, nullable=False)


class InsightDayAnswer(Base):
    """The bot's answers to one day's customer messages of one channel, counted per response-time bucket
    (bot/insights/histogram.py: each 1 % wide)."""

    __tablename__ = "insight_day_answers"

    day = Column(Date, primary_key=True)
    channel = Column(String(32), primary_key=True)  # "" for none
    bucket = Column(Integer, primary_key=True, autoincrement=False)
    answers = Column(Integer, nullable=False)


class InsightDayOutcome(Base):
    """Conversations that started on one day in one channel and turned negative, by how they ended (handed to a
    person, recovered, abandoned: bot/insights/scope.py, `negative_outcome`)."""

    __tablename__ = "insight_day_outcomes"

    day = Column(Date, primary_key=True)
    channel = Column(String(32), primary_key=True)  # "" for none
    outcome = Column(String(16), primary_key=True)
    conversations = Column(Integer, nullable=False)


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
