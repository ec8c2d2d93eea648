"""Personalization's tables (bot/personalization): behaviour, consent, marketing preferences, feedback,
"not interested" exclusions and customer segments."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from bot.db.models.base import EVENT_ID, Base, one_of, utcnow

# What the behaviour store records (docs/personalization.md). impression/click/dismissal carry the strategy
# and request id of the recommendation they belong to, so strategies can be compared.
BEHAVIOUR_KINDS = ("view", "purchase", "return", "rating", "impression", "click", "dismissal", "mention")
NEXT_BEST_ACTIONS = ("retention_offer", "upsell", "none")


class BehaviourEvent(Base):
    """One thing a customer did or was shown: the personalization engine's only source of behaviour."""

    __tablename__ = "behaviour_events"
    __table_args__ = (
        CheckConstraint(f"kind IN ({one_of(BEHAVIOUR_KINDS)})", name="kind"),
        CheckConstraint("product_id IS NOT NULL OR category IS NOT NULL", name="target"),
        # A customer's history, newest first (every recommendation request reads it).
        Index("ix_behaviour_events_customer_id_occurred_at", "customer_id", "occurred_at"),
        # Strategy reports scan impressions/clicks by time.
        Index("ix_behaviour_events_kind_occurred_at", "kind", "occurred_at"),
        # Re-importing a file does not duplicate its events.
        Index("uq_behaviour_events_source_external_id", "source", "external_id", unique=True),
    )

    id = Column(EVENT_ID, primary_key=True, autoincrement=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    product_id = Column(Integer, ForeignKey("products.id", ondelete="CASCADE"), nullable=True, index=True)
    category = Column(String(32), nullable=True)  # dismissals of a whole category; else the product's
    kind = Column(String(16), nullable=False)
    value = Column(Float, nullable=True)  # rating (1-5); quantity for purchases/returns
    occurred_at = Column(DateTime, nullable=False, default=utcnow)
    channel = Column(String(32), nullable=True)  # web, chat, import, ...
    strategy = Column(String(32), nullable=True)  # impression/click/dismissal: the strategy that served it
    request_id = Column(String(32), nullable=True, index=True)  # ties clicks to the impression they came from
    solicited = Column(Boolean, nullable=True)  # impression: did the customer ask for suggestions?
    source = Column(String(32), nullable=False, default="chat")  # chat, shop, import:<file name>
    external_id = Column(String(64), nullable=True)  # the event's id in its source (idempotent imports)

    customer = relationship("Customer")
    product = relationship("Product")


class PersonalizationConsent(Base):
    """A customer's answer to "may we use your behaviour to personalize?". No row means no consent."""

    __tablename__ = "personalization_consents"

    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    granted = Column(Boolean, nullable=False)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    source = Column(String(32), nullable=False, default="chat")


class MarketingPreference(Base):
    """A customer who unsubscribed from marketing (emails, texts, promotions in the chat). No row: subscribed."""

    __tablename__ = "marketing_preferences"

    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    subscribed = Column(Boolean, nullable=False)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    source = Column(String(32), nullable=False, default="chat")


# What a piece of customer feedback is about.
FEEDBACK_TOPICS = ("product", "service")


class Feedback(Base):
    """A review of a product or feedback on the service, in the customer's words, as they gave it in the chat."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint(f"topic IN ({one_of(FEEDBACK_TOPICS)})", name="topic"),
        Index("ix_feedback_created_at", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), nullable=True)
    conversation_id = Column(String(255), nullable=False)
    topic = Column(String(16), nullable=False)
    product_id = Column(Integer, ForeignKey("products.id", ondelete="SET NULL"), nullable=True)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class RecommendationExclusion(Base):
    """ "Not interested": an item (or a whole category) kept out of a customer's suggestions until `expires_at`."""

    __tablename__ = "recommendation_exclusions"
    __table_args__ = (
        CheckConstraint("product_id IS NOT NULL OR category IS NOT NULL", name="target"),
        Index("ix_recommendation_exclusions_customer_id_expires_at", "customer_id", "expires_at"),
    )

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    product_id = Column(Integer, ForeignKey("products.id", ondelete="CASCADE"), nullable=True)
    category = Column(String(32), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)

    product = relationship("Product")


class CustomerSegment(Base):
    """The latest micro-segmentation of a customer (refreshed by `tandem recs segments`)."""

    __tablename__ = "customer_segments"
    __table_args__ = (CheckConstraint(f"next_best_action IN ({one_of(NEXT_BEST_ACTIONS)})", name="next_best_action"),)

    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    recency_score = Column(Integer, nullable=False)  # 1..5, 5 = bought most recently
    frequency_score = Column(Integer, nullable=False)  # 1..5
    monetary_score = Column(Integer, nullable=False)  # 1..5
    rfm_segment = Column(String(32), nullable=False)  # champions, loyal, at_risk, ... (bot.personalization.segments)
    cluster = Column(Integer, nullable=False)  # behaviour cluster id
    cluster_label = Column(String(64), nullable=False)
    churn_risk = Column(Float, nullable=False)  # 0..1
    next_best_action = Column(String(16), nullable=False, default="none")
    next_best_action_reason = Column(String(200), nullable=False, default="")
    refreshed_at = Column(DateTime, nullable=False, default=utcnow)
    model_version = Column(String(32), nullable=False)
