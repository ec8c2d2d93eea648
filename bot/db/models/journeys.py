"""Issue journeys' tables (bot/journeys): journeys, their steps, scheduled follow-ups and satisfaction answers."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.orm import relationship

from bot.db.models.base import EVENT_ID, Base, one_of, utcnow
from bot.db.models.journey_states import JOURNEY_STATES, OPEN_JOURNEY_STATES

FOLLOW_UP_KINDS = ("follow_up", "nudge")
# `sending`: claimed by a scheduler that is sending it right now (reclaimed if that scheduler died).
FOLLOW_UP_STATUSES = ("pending", "sending", "sent", "cancelled", "failed")


class Journey(Base):
    """One customer problem from the first report to the confirmed fix, across conversations and channels."""

    __tablename__ = "journeys"
    __table_args__ = (
        CheckConstraint(f"state IN ({one_of(JOURNEY_STATES)})", name="state"),
        # "My open issues" and "has this customer an open problem?" (every turn asks).
        Index("ix_journeys_customer_id_state", "customer_id", "state"),
        # One open journey per problem: two messages racing to open the same one cannot both succeed.
        Index(
            "uq_journeys_customer_id_problem_key_open",
            "customer_id",
            "problem_key",
            unique=True,
            sqlite_where=sql_text(f"state IN ({one_of(OPEN_JOURNEY_STATES)})"),
            postgresql_where=sql_text(f"state IN ({one_of(OPEN_JOURNEY_STATES)})"),
        ),
        # The scheduler's nudge scan: journeys waiting on the customer, quiet for longest first.
        Index("ix_journeys_state_quiet_since", "state", "quiet_since"),
    )

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    workflow = Column(String(64), nullable=False)
    problem_key = Column(String(200), nullable=False)  # "the same problem" for reopening: workflow + order/device
    state = Column(String(24), nullable=False, default="open")
    current_step = Column(String(64), nullable=True)
    context = Column(JSON, nullable=False, default=dict)
    escalation_reason = Column(String(64), nullable=True)  # set once escalated, kept for the KPIs
    outcome = Column(String(64), nullable=True)
    resolved_by = Column(String(64), nullable=True)  # "customer" (confirmed in the chat) or the agent's name
    opened_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    quiet_since = Column(DateTime, nullable=False, default=utcnow)  # last turn or nudge: nudges count from it
    resolved_at = Column(DateTime, nullable=True)
    closed_at = Column(DateTime, nullable=True)
    reopened_count = Column(Integer, nullable=False, default=0)
    last_conversation_id = Column(String(128), nullable=True)  # the Rasa sender id follow-ups go to
    last_channel = Column(String(32), nullable=True)
    unanswered_nudges = Column(Integer, nullable=False, default=0)
    step_count = Column(Integer, nullable=False, default=0)  # the last step record's seq
    version = Column(Integer, nullable=False, default=1)  # compare-and-set on every change

    customer = relationship("Customer")


class JourneyStep(Base):
    """One step a journey went through, written before the bot answers: the journey's audit trail."""

    __tablename__ = "journey_steps"
    __table_args__ = (
        CheckConstraint(f"state_after IN ({one_of(JOURNEY_STATES)})", name="state_after"),
        # Two writers can never both append step n.
        Index("uq_journey_steps_journey_id_seq", "journey_id", "seq", unique=True),
    )

    id = Column(EVENT_ID, primary_key=True, autoincrement=True)
    journey_id = Column(Integer, ForeignKey("journeys.id", ondelete="CASCADE"), nullable=False)
    seq = Column(Integer, nullable=False)
    step = Column(String(64), nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow)
    channel = Column(String(32), nullable=True)
    conversation_id = Column(String(128), nullable=True)
    intent = Column(String(64), nullable=True)
    text = Column(Text, nullable=True)  # the customer's message, truncated
    sentiment = Column(Float, nullable=True)  # -1..1, when known
    state_after = Column(String(24), nullable=False)
    messages = Column(JSON, nullable=False, default=list)  # what the bot answered (BotMessage dicts)
    unexpected = Column(Boolean, nullable=False, default=False)


class JourneyFollowUp(Base):
    """A message the bot sends later by itself (a follow-up or a nudge), kept until a scheduler sends it."""

    __tablename__ = "journey_follow_ups"
    __table_args__ = (
        CheckConstraint(f"kind IN ({one_of(FOLLOW_UP_KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({one_of(FOLLOW_UP_STATUSES)})", name="status"),
        # The scheduler's poll: pending follow-ups that are due.
        Index("ix_journey_follow_ups_status_due_at", "status", "due_at"),
    )

    id = Column(Integer, primary_key=True)
    journey_id = Column(Integer, ForeignKey("journeys.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    due_at = Column(DateTime, nullable=False)
    response = Column(String(64), nullable=True)
    workflow = Column(String(64), nullable=True)
    step = Column(String(64), nullable=True)  # the step to continue at when it fires
    scheduled_at_step = Column(String(64), nullable=True)  # obsolete once the journey leaves this step
    status = Column(String(16), nullable=False, default="pending")
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(String(500), nullable=True)
    claim_token = Column(String(32), nullable=True, index=True)  # which scheduler run claimed it
    claimed_at = Column(DateTime, nullable=True)
    sent_at = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class JourneyCsat(Base):
    """The one-question satisfaction survey after a journey is resolved (the latest answer counts)."""

    __tablename__ = "journey_csat"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score"),)

    journey_id = Column(Integer, ForeignKey("journeys.id", ondelete="CASCADE"), primary_key=True)
    score = Column(Integer, nullable=False)
    comment = Column(Text, nullable=True)
    at = Column(DateTime, nullable=False, default=utcnow)
