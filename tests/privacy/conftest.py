"""A small shop with one customer who has used every part of Tandem (and another who must stay untouched),
and a Rasa tracker store written by Rasa's own SQLTrackerStore, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.engine import make_url

from bot.db.models import (
    BehaviourEvent,
    Customer,
    CustomerDevice,
    CustomerSegment,
    Feedback,
    Handoff,
    HandoffMessage,
    Journey,
    JourneyCsat,
    JourneyFollowUp,
    JourneyStep,
    MarketingPreference,
    Order,
    PersonalizationConsent,
    RecommendationExclusion,
    SurveyAsk,
    utcnow,
)
from bot.db.session import session_scope
from bot.handoff.conversations import bind_conversation
from bot.privacy import requests as privacy_requests
from bot.privacy.config import DataLocations

SECRET = "privacy-tests-secret"


class TrackerStore:
    """A tracker database that Rasa's SQLTrackerStore created and writes, as Rasa does in production."""

    def __init__(self, url: str) -> None:
        from rasa.core.tracker_store import SQLTrackerStore

        u = make_url(url)
        with warnings.catch_warnings():  # Rasa 3.6 builds its URL with SQLAlchemy 1.4's deprecated constructor
            warnings.simplefilter("ignore", DeprecationWarning)
            if u.get_backend_name() == "sqlite":
                self._store = SQLTrackerStore(dialect="sqlite", db=u.database)
            else:
                self._store = SQLTrackerStore(
                    dialect="postgresql",
                    host=u.host,
                    port=u.port,
                    db=u.database,
                    username=u.username,
                    password=u.password,
                )
        self.url = url

    def save(self, conversation_id: str, texts: Iterable[str], *, at: datetime) -> None:
        """A conversation: each text from the customer, answered by the bot, one second apart from `at`."""
        from rasa.shared.core.events import BotUttered, UserUttered
        from rasa.shared.core.trackers import DialogueStateTracker

        events = []
        t = at.replace(tzinfo=UTC).timestamp()
        for i, text in enumerate(texts):
            events.append(UserUttered(text, {"name": "inform", "confidence": 1.0}, timestamp=t + 2 * i))
            events.append(BotUttered(f"Thanks, noted: {text}", timestamp=t + 2 * i + 1))
        asyncio.run(self._store.save(DialogueStateTracker.from_events(conversation_id, events)))

    def senders(self) -> set[str]:
        with self._store.engine.connect() as conn:
            return {r[0] for r in conn.exec_driver_sql("SELECT DISTINCT sender_id FROM events")}

    def close(self) -> None:
        self._store.engine.dispose()


@pytest.fixture
def tracker(db_factory, tmp_path: Path) -> Iterator[TrackerStore]:
    url = (
        f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
        if db_factory.backend == "sqlite"
        else db_factory.create(migrate=False)
    )
    store = TrackerStore(url)
    yield store
    store.close()


@dataclass(frozen=True)
class Person:
    external_id: str
    name: str
    email: str
    order_numbers: tuple[str, ...]
    conversations: tuple[str, ...]

    @property
    def needles(self) -> list[str]:
        return [self.external_id, self.name, self.email, *self.order_numbers, *self.conversations]


@dataclass(frozen=True)
class World:
    url: str
    tracker: TrackerStore
    where: DataLocations
    subject: Person
    other: Person


def _conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:12]}"


def _pick_customers(url: str) -> tuple[int, int]:
    with session_scope(url) as session:
        with_devices = select(CustomerDevice.customer_id)
        ids = session.execute(
            select(Customer.id)
            .join(Order, Order.customer_id == Customer.id)
            .where(Customer.id.in_(with_devices))
            .group_by(Customer.id)
            .order_by(Customer.id)
            .limit(2)
        ).scalars()
        first, second = list(ids)
        return first, second


def _live_a_little(
    url: str, tracker: TrackerStore, customer_id: int, name: str, email: str, *, now: datetime
) -> Person:
    """Give the customer a unique name and email, and a conversation in every part of Tandem."""
    chat, earlier = _conversation(), _conversation()
    with session_scope(url) as session:
        customer = session.get(Customer, customer_id)
        customer.name, customer.email, customer.phone = name, email, "+44 7700 900123"
        numbers = tuple(session.execute(select(Order.order_number).where(Order.customer_id == customer_id)).scalars())
        bind_conversation(session, chat, customer_id, "tandem", now=now)
        order = numbers[0]
        journey = Journey(
            customer_id=customer_id,
            workflow="delivery_problem",
            problem_key=f"delivery_problem:{order}",
            state="resolved",
            context={"order_id": order, "note": f"{name} says the parcel never came"},
            last_conversation_id=earlier,
            last_channel="tandem",
            resolved_at=now,
            step_count=1,
        )
        session.add(journey)
        session.flush()
        session.add(
            JourneyStep(
                journey_id=journey.id,
                seq=1,
                step="ask_order",
                conversation_id=chat,
                text=f"my order {order} never arrived",
                state_after="resolved",
                messages=[{"text": f"Sorry {name}, order {order} is on its way again"}],
            )
        )
        session.add(JourneyFollowUp(journey_id=journey.id, kind="follow_up", due_at=now, status="sent"))
        session.add(JourneyCsat(journey_id=journey.id, score=4, comment=f"thanks, {name}"))
        session.add(  # the CSAT's ask, and a recommend question answered in the bound conversation
            SurveyAsk(
                kind="csat",
                customer_id=customer_id,
                conversation_id=earlier,
                journey_id=journey.id,
                workflow=journey.workflow,
                moment="journey_resolved",
                channel="tandem",
                asked_at=now,
            )
        )
        session.add(
            SurveyAsk(
                kind="nps",
                customer_id=customer_id,
                conversation_id=chat,
                moment="request_done",
                channel="tandem",
                asked_at=now,
                score=9,
                answered_at=now,
            )
        )
        handoff = Handoff(
            conversation_id=chat,
            channel="tandem",
            customer_id=customer_id,
            journey_id=journey.id,
            reason="asked",
            queue="general",
            priority=40,
            status="resolved",
            summary=f"{name} ({email}) wanted {order} resent",
            customer_value=Decimal("120.00"),
            closed_at=now,
        )
        session.add(handoff)
        session.flush()
        for kind, text in (("customer", f"I am {name}, {email}"), ("agent", f"Hello {name}"), ("note", order)):
            session.add(HandoffMessage(handoff_id=handoff.id, kind=kind, text=text, author="Agent"))
        product_id = (
            session.execute(select(CustomerDevice.product_id).where(CustomerDevice.customer_id == customer_id))
            .scalars()
            .first()
        )
        session.add(BehaviourEvent(customer_id=customer_id, product_id=product_id, kind="view", source="chat"))
        session.add(
            BehaviourEvent(
                customer_id=customer_id, product_id=product_id, kind="impression", strategy="hybrid", request_id="r1"
            )
        )
        session.add(
            RecommendationExclusion(customer_id=customer_id, category="phones", expires_at=now + timedelta(days=30))
        )
        session.add(
            Feedback(customer_id=customer_id, conversation_id=chat, topic="service", text=f"Great help! {email}")
        )
        session.add(
            CustomerSegment(
                customer_id=customer_id,
                recency_score=5,
                frequency_score=3,
                monetary_score=4,
                rfm_segment="loyal",
                cluster=1,
                cluster_label="buyers",
                churn_risk=0.2,
                model_version="test",
            )
        )
        session.add(PersonalizationConsent(customer_id=customer_id, granted=True, source="chat"))
        session.add(MarketingPreference(customer_id=customer_id, subscribed=False, source="chat"))
        privacy_requests.record_request(session, customer_id, "export", chat, status="done", now=now)
        privacy_requests.record_request(session, customer_id, "erasure", chat, now=now)
        external_id = customer.external_id
    tracker.save(chat, [f"hi, I'm {name}", f"where is {order}? write to {email}"], at=now)
    tracker.save(earlier, [f"my account is {external_id}"], at=now - timedelta(days=3))
    return Person(external_id, name, email, numbers, (chat, earlier))


def count_insights(url: str, tracker: TrackerStore, people: Iterable[Person]) -> None:
    """The insights consumer's rows for their conversations (what they wrote, as the analytics keep it), made from
    the tracker's events by the consumer's own code."""
    from bot.db.rasa_tables import tracker_conversation
    from bot.insights.store import ingest_batch

    events = [(c, e.event) for p in people for c in p.conversations for e in tracker_conversation(tracker.url, c)]
    ingest_batch(url, events, dedupe=True)


@pytest.fixture
def world(fresh_shop_db: str, tracker: TrackerStore, tmp_path: Path) -> World:
    now = utcnow()
    first, second = _pick_customers(fresh_shop_db)
    subject = _live_a_little(
        fresh_shop_db, tracker, first, "Philippa Quenneville", "philippa.q@privacy.example", now=now
    )
    other = _live_a_little(fresh_shop_db, tracker, second, "Ottoline Bramwell", "ottoline.b@privacy.example", now=now)
    count_insights(fresh_shop_db, tracker, [subject, other])
    where = DataLocations(fresh_shop_db, tracker.url, tmp_path / "models", SECRET)
    return World(fresh_shop_db, tracker, where, subject, other)


def mentions(url: str, needles: Iterable[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, value) in the database at `url` in which one of `needles` appears as a whole word,
    over all tables and columns there are (so a table added later is searched too)."""
    pattern = re.compile(r"(?<![\w])(" + "|".join(re.escape(n) for n in needles) + r")(?![\w])", re.IGNORECASE)
    engine = create_engine(url, future=True)
    found = []
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                for record in conn.execute(select(table)).mappings():
                    for column, value in record.items():
                        if value is None:
                            continue
                        text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
                        if pattern.search(text):
                            found.append((table.name, column, text[:120]))
    finally:
        engine.dispose()
    return found
