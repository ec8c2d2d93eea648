"""SQLAlchemy ORM models of the shop (see docs/architecture.md, "Shop data model").

Conventions, so that both SQLite (laptop) and PostgreSQL (production) behave the same:
- datetimes are timezone-naive and always UTC (`utcnow()`); dates (`estimated_delivery`) are calendar dates;
- money is `Numeric(10, 2)` (Decimal in Python, never float);
- constraint names follow a fixed naming convention, so Alembic batch migrations on SQLite can find them.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import declarative_base, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

ORDER_STATUSES = (
    "placed",
    "processing",
    "shipped",
    "out_for_delivery",
    "delivered",
    "cancelled",
    "returned",
)
# Orders still on their way to the customer (neither delivered nor closed).
OPEN_ORDER_STATUSES = ("placed", "processing", "shipped", "out_for_delivery")
PLAN_STATUSES = ("active", "cancelled")
# What the behaviour store records (docs/personalization.md). impression/click/dismissal carry the strategy
# and request id of the recommendation they belong to, so strategies can be compared.
BEHAVIOUR_KINDS = ("view", "purchase", "return", "rating", "impression", "click", "dismissal", "mention")
NEXT_BEST_ACTIONS = ("retention_offer", "upsell", "none")

MONEY = Numeric(10, 2)


def utcnow() -> datetime:
    """Current UTC time as a naive datetime: the one representation stored in every DateTime column."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    external_id = Column(String(32), nullable=False, unique=True, index=True)
    name = Column(String(120), nullable=False)
    email = Column(String(254), nullable=False)
    phone = Column(String(32), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    orders = relationship(
        "Order",
        back_populates="customer",
        order_by="Order.placed_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    devices = relationship(
        "CustomerDevice", back_populates="customer", cascade="all, delete-orphan", passive_deletes=True
    )
    plans = relationship(
        "CustomerPlan", back_populates="customer", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Customer {self.external_id}>"


class ProductCompatibility(Base):
    """Accessory or plan (`product_id`) fits device (`compatible_product_id`)."""

    __tablename__ = "product_compatibility"

    product_id = Column(
        Integer, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    compatible_product_id = Column(
        Integer, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Product(Base):
    __tablename__ = "products"

    id = Column(Integer, primary_key=True)
    sku = Column(String(32), nullable=False, unique=True, index=True)
    name = Column(String(200), nullable=False)
    category = Column(String(32), nullable=False, index=True)
    brand = Column(String(64), nullable=False, index=True)
    price = Column(MONEY, nullable=False)
    description = Column(Text, nullable=False, default="")
    attributes = Column(JSON, nullable=False, default=dict)
    family = Column(String(32), nullable=True, index=True)
    active = Column(Boolean, nullable=False, default=True)

    # Devices this accessory/plan fits, and (the other way round) accessories/plans that fit this device.
    compatible_with = relationship(
        "Product",
        secondary="product_compatibility",
        primaryjoin="Product.id == ProductCompatibility.product_id",
        secondaryjoin="Product.id == ProductCompatibility.compatible_product_id",
        back_populates="accessories",
        order_by="Product.id",
    )
    accessories = relationship(
        "Product",
        secondary="product_compatibility",
        primaryjoin="Product.id == ProductCompatibility.compatible_product_id",
        secondaryjoin="Product.id == ProductCompatibility.product_id",
        back_populates="compatible_with",
        order_by="Product.id",
    )

    def __repr__(self) -> str:
        return f"<Product {self.sku} {self.name!r}>"


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(ORDER_STATUSES)})", name="status"),
        # Serves "orders of this customer" (every lookup is scoped by customer) and their newest-first listing.
        Index("ix_orders_customer_id_placed_at", "customer_id", "placed_at"),
    )

    id = Column(Integer, primary_key=True)
    order_number = Column(String(16), nullable=False, unique=True, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    status = Column(String(20), nullable=False, default="placed")
    placed_at = Column(DateTime, nullable=False, default=utcnow)
    shipped_at = Column(DateTime, nullable=True)
    estimated_delivery = Column(Date, nullable=True)
    delivered_at = Column(DateTime, nullable=True)
    cancelled_at = Column(DateTime, nullable=True)
    carrier = Column(String(40), nullable=True)
    tracking_number = Column(String(40), nullable=True)
    total = Column(MONEY, nullable=False)
    shipping_address = Column(Text, nullable=False)

    customer = relationship("Customer", back_populates="orders")
    lines = relationship(
        "OrderLine",
        back_populates="order",
        order_by="OrderLine.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<Order {self.order_number} {self.status}>"


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False, index=True)
    quantity = Column(Integer, nullable=False, default=1)
    unit_price = Column(MONEY, nullable=False)

    order = relationship("Order", back_populates="lines")
    product = relationship("Product")


class CustomerDevice(Base):
    __tablename__ = "customer_devices"

    id = Column(Integer, primary_key=True)
    customer_id = Column(
        Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False, index=True)
    acquired_at = Column(DateTime, nullable=False)
    serial_number = Column(String(40), nullable=False, unique=True, index=True)
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="SET NULL"), nullable=True, index=True)

    customer = relationship("Customer", back_populates="devices")
    product = relationship("Product")
    order = relationship("Order")


class CustomerPlan(Base):
    __tablename__ = "customer_plans"
    __table_args__ = (CheckConstraint(f"status IN ({_in(PLAN_STATUSES)})", name="status"),)

    id = Column(Integer, primary_key=True)
    customer_id = Column(
        Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False, index=True)
    started_at = Column(DateTime, nullable=False)
    status = Column(String(16), nullable=False, default="active")
    monthly_price = Column(MONEY, nullable=False)

    customer = relationship("Customer", back_populates="plans")
    product = relationship("Product")


# --- personalization (bot/personalization) --------------------------------------------------------------------

# 64-bit ids on PostgreSQL (behaviour grows without bound); SQLite's autoincrement needs plain INTEGER.
EVENT_ID = BigInteger().with_variant(Integer(), "sqlite")


class BehaviourEvent(Base):
    """One thing a customer did or was shown: the personalization engine's only source of behaviour."""

    __tablename__ = "behaviour_events"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(BEHAVIOUR_KINDS)})", name="kind"),
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
        CheckConstraint(f"topic IN ({_in(FEEDBACK_TOPICS)})", name="topic"),
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
    """"Not interested": an item (or a whole category) kept out of a customer's suggestions until `expires_at`."""

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
    __table_args__ = (
        CheckConstraint(f"next_best_action IN ({_in(NEXT_BEST_ACTIONS)})", name="next_best_action"),
    )

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


# --- issue journeys (bot/journeys) ----------------------------------------------------------------------------

from sqlalchemy import text as sql_text  # noqa: E402  (this section's own import; the columns use `text`)

# Same values as bot.journeys.types (kept here so the schema does not import the journeys package;
# tests/journeys/test_store.py checks they agree).
JOURNEY_STATES = ("open", "waiting_for_customer", "waiting_for_company", "escalated", "resolved", "closed")
OPEN_JOURNEY_STATES = ("open", "waiting_for_customer", "waiting_for_company", "escalated")
FOLLOW_UP_KINDS = ("follow_up", "nudge")
# `sending`: claimed by a scheduler that is sending it right now (reclaimed if that scheduler died).
FOLLOW_UP_STATUSES = ("pending", "sending", "sent", "cancelled", "failed")


class Journey(Base):
    """One customer problem from the first report to the confirmed fix, across conversations and channels."""

    __tablename__ = "journeys"
    __table_args__ = (
        CheckConstraint(f"state IN ({_in(JOURNEY_STATES)})", name="state"),
        # "My open issues" and "has this customer an open problem?" (every turn asks).
        Index("ix_journeys_customer_id_state", "customer_id", "state"),
        # One open journey per problem: two messages racing to open the same one cannot both succeed.
        Index(
            "uq_journeys_customer_id_problem_key_open",
            "customer_id",
            "problem_key",
            unique=True,
            sqlite_where=sql_text(f"state IN ({_in(OPEN_JOURNEY_STATES)})"),
            postgresql_where=sql_text(f"state IN ({_in(OPEN_JOURNEY_STATES)})"),
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
        CheckConstraint(f"state_after IN ({_in(JOURNEY_STATES)})", name="state_after"),
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
        CheckConstraint(f"kind IN ({_in(FOLLOW_UP_KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({_in(FOLLOW_UP_STATUSES)})", name="status"),
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


# --- handoff to people (bot/handoff, bot/console) -------------------------------------------------------------

# Same values as bot.handoff.types (tests/handoff/test_store.py checks they agree).
AGENT_ROLES = ("agent", "admin")
# waiting: in a queue for a person; assigned: a person has it; follow_up: nobody was online, a person gets back
# later; handed_back: the person gave the conversation back to the bot; resolved: the person closed the problem;
# cancelled: the customer no longer wanted a person.
HANDOFF_STATUSES = ("waiting", "assigned", "follow_up", "handed_back", "resolved", "cancelled")
OPEN_HANDOFF_STATUSES = ("waiting", "assigned", "follow_up")
HANDOFF_MESSAGE_KINDS = ("customer", "agent", "note", "system")


class Agent(Base):
    """A support agent or admin of the console (`tandem agents create`)."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(f"role IN ({_in(AGENT_ROLES)})", name="role"),)

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
        CheckConstraint(f"status IN ({_in(HANDOFF_STATUSES)})", name="status"),
        CheckConstraint("priority BETWEEN 0 AND 100", name="priority"),
        # One open handoff per conversation: a second request joins the first.
        Index(
            "uq_handoffs_conversation_id_open",
            "conversation_id",
            unique=True,
            sqlite_where=sql_text(f"status IN ({_in(OPEN_HANDOFF_STATUSES)})"),
            postgresql_where=sql_text(f"status IN ({_in(OPEN_HANDOFF_STATUSES)})"),
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
    __table_args__ = (CheckConstraint(f"kind IN ({_in(HANDOFF_MESSAGE_KINDS)})", name="kind"),)

    id = Column(EVENT_ID, primary_key=True, autoincrement=True)  # increasing: the console's feed cursor
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    author = Column(String(100), nullable=True)  # the agent's display name for agent messages and notes
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True)
    text = Column(Text, nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow)
    delivered_at = Column(DateTime, nullable=True)  # agent messages: when Rasa took it for the customer
