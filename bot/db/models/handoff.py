"""Handoff's tables (bot/handoff, bot/console): agents and their sessions, who owns a conversation, handoffs to
people and what was said during them."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.orm import relationship

from bot.db.models.base import EVENT_ID, MONEY, Base, one_of, utcnow

AGENT_ROLES = ("agent", "admin", "cx")  # cx: the customer-experience team (insights), no queue
# waiting: in a queue for a person; assigned: a person has it; follow_up: nobody was online, a person gets back
# later; handed_back: the person gave the conversation back to the bot; resolved: the person closed the problem;
# cancelled: the customer no longer wanted a person.
HANDOFF_STATUSES = ("waiting", "assigned", "follow_up", "handed_back", "resolved", "cancelled")
OPEN_HANDOFF_STATUSES = ("waiting", "assigned", "follow_up")
HANDOFF_MESSAGE_KINDS = ("customer", "agent", "note", "system")


class Agent(Base):
    """A support agent or admin of the console (`tandem agents create`)."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(f"role IN ({one_of(AGENT_ROLES)})", name="role"),)

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(100), nullable=False)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False, default="agent")
    queues = Column(JSON, nullable=False, default=list)  # the topic queues an agent works; admins see all
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=True)  # presence: a console open and connected


class AgentSession(Base):
    """A signed-in console session; only the token's SHA-256 is stored."""

    __tablename__ = "agent_sessions"

    token_hash = Column(String(64), primary_key=True)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)


class ChatConversation(Base):
    """Who a chat conversation (a Rasa sender id) belongs to, so nobody else can join or read it."""

    __tablename__ = "chat_conversations"

    conversation_id = Column(String(128), primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=True, index=True)
    channel = Column(String(32), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow)


class Handoff(Base):
    """One request for a person, from the moment the bot steps aside until the bot answers again."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint(f"status IN ({one_of(HANDOFF_STATUSES)})", name="status"),
        CheckConstraint("priority BETWEEN 0 AND 100", name="priority"),
        # One open handoff per conversation: a second request joins the first.
        Index(
            "uq_handoffs_conversation_id_open",
            "conversation_id",
            unique=True,
            sqlite_where=sql_text(f"status IN ({one_of(OPEN_HANDOFF_STATUSES)})"),
            postgresql_where=sql_text(f"status IN ({one_of(OPEN_HANDOFF_STATUSES)})"),
        ),
        # The live queue: open handoffs of a topic, by priority and wait.
        Index("ix_handoffs_status_queue", "status", "queue"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(32), nullable=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), nullable=True, index=True)
    journey_id = Column(Integer, ForeignKey("journeys.id", ondelete="SET NULL"), nullable=True)
    reason = Column(String(64), nullable=False)
    queue = Column(String(32), nullable=False)
    priority = Column(Integer, nullable=False)
    sentiment = Column(Float, nullable=True)  # the conversation's mood when it was handed off, -1..1
    customer_value = Column(MONEY, nullable=True)  # spend in the last year, one input of the priority
    status = Column(String(16), nullable=False, default="waiting")
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True, index=True)
    expected_wait_seconds = Column(Integer, nullable=True)  # what the customer was told
    summary = Column(Text, nullable=True)  # the agent's summary when handing back or resolving
    requested_at = Column(DateTime, nullable=False, default=utcnow)
    claimed_at = Column(DateTime, nullable=True)
    closed_at = Column(DateTime, nullable=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow, index=True)  # the console's change feed
    version = Column(Integer, nullable=False, default=1)  # compare-and-set: two agents cannot both claim

    agent = relationship("Agent")


class HandoffMessage(Base):
    """What was said during a handoff: the customer, the agent, the agents' internal notes, system notices."""

    __tablename__ = "handoff_messages"
    __table_args__ = (CheckConstraint(f"kind IN ({one_of(HANDOFF_MESSAGE_KINDS)})", name="kind"),)

    id = Column(EVENT_ID, primary_key=True, autoincrement=True)  # increasing: the console's feed cursor
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    author = Column(String(100), nullable=True)  # the agent's display name for agent messages and notes
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True)
    text = Column(Text, nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow)
    delivered_at = Column(DateTime, nullable=True)  # agent messages: when Rasa took it for the customer
