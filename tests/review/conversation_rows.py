"""Conversations to review, written as the insights consumer, the journeys and Rasa's tracker store leave them: three
conversations with their analytics rows, a journey with its CSAT, and the tracker events of the first (personal data
in its messages), for the conversation review's service, API and browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bot.db import rasa_tables
from bot.db.models import Customer, InsightConversation, InsightTurn, Journey, JourneyCsat, JourneyStep
from bot.db.session import make_engine, session_scope

T0 = datetime(2026, 11, 2, 9, 0, 0)
PERSONAL = "pls send back TD104233, mail jo.bloggs@gmail.com or ring 07700 900123"
PERSONAL_VALUES = ("TD104233", "104233", "jo.bloggs", "07700", "900123", "Bloggs")
PERSONAL_REDACTED = "pls send back TD010001, mail customer1@example.com or ring <phone>"
NAMED = "thanks, my name is Jo Bloggs"
NAMED_REDACTED = "thanks, my name is <name> <name>"  # the customer's own names, each part
# Tables these tests write to, children first.
TABLES = (
    "review_audit",
    "review_saved_tests",
    "review_conversation_tags",
    "review_conversations",
    "review_messages",
    "insight_turns",
    "insight_conversations",
    "journey_csat",
    "journey_steps",
    "journeys",
    "agent_sessions",
    "agents",
)


@dataclass(frozen=True)
class Seeded:
    returns: int  # personal data, a journey with CSAT 2 (refund_issued), tracker events, negative sentiment
    fallback: int  # a fallback, then a handoff; chat via the REST channel
    greeting: int  # a week earlier: a greeting, nothing else
    tracker_url: str


def clear(url: str) -> None:
    with session_scope(url) as session:
        for table in TABLES:
            session.execute(text(f"DELETE FROM {table}"))
        session.execute(text("DELETE FROM customers WHERE external_id = 'CUST-REVIEW'"))


def _ts(moment: datetime) -> float:
    return (moment - datetime(1970, 1, 1)).total_seconds()


def tracker_events(start: datetime) -> list[dict]:
    """What Rasa stored of the first conversation (a session start, two messages, the actions and answers)."""

    def at(seconds: float) -> float:
        return _ts(start + timedelta(seconds=seconds))

    return [
        {"event": "action", "name": "action_session_start", "timestamp": at(-0.01), "policy": None},
        {"event": "session_started", "timestamp": at(0)},
        {"event": "action", "name": "action_listen", "timestamp": at(0.01)},
        {
            "event": "user",
            "text": PERSONAL,
            "timestamp": at(1),
            "input_channel": "socketio",
            "parse_data": {
                "intent": {"name": "return_item", "confidence": 0.81},
                "intent_ranking": [
                    {"name": "return_item", "confidence": 0.81},
                    {"name": "order_status", "confidence": 0.1},
                ],
                "entities": [{"entity": "order_id", "value": "TD104233", "start": 14, "end": 22}],
                "sentiment": {"label": "negative", "score": -0.6},
            },
        },
        {
            "event": "action",
            "name": "action_journey_start",
            "timestamp": at(1.2),
            "policy": "policy_2_RulePolicy",
            "confidence": 1.0,
        },
        {
            "event": "bot",
            "text": "I've started a return for TD104233.",
            "timestamp": at(1.3),
            "metadata": {"utter_action": "utter_return_started"},
        },
        {"event": "action", "name": "action_listen", "timestamp": at(1.4), "policy": "policy_2_RulePolicy"},
        {
            "event": "user",
            "text": NAMED,
            "timestamp": at(30),
            "input_channel": "socketio",
            "parse_data": {
                "intent": {"name": "thank", "confidence": 0.93},
                "entities": [],
                "sentiment": {"label": "positive", "score": 0.5},
            },
        },
        {
            "event": "action",
            "name": "utter_goodbye",
            "timestamp": at(30.2),
            "policy": "policy_0_MemoizationPolicy",
            "confidence": 1.0,
        },
        {"event": "bot", "text": "Bye for now!", "timestamp": at(30.3), "metadata": {"utter_action": "utter_goodbye"}},
        {"event": "action", "name": "action_listen", "timestamp": at(30.4), "policy": "policy_0_MemoizationPolicy"},
    ]


def write_tracker(path: Path, sender: str, events: list[dict]) -> str:
    """A SQLite tracker store holding `events` of `sender`, as Rasa's SQLTrackerStore writes them."""
    import json

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    rasa_tables.tracker_events.metadata.create_all(engine)
    with engine.begin() as conn:
        for event in events:
            conn.execute(
                rasa_tables.tracker_events.insert().values(
                    sender_id=sender,
                    type_name=event["event"],
                    timestamp=event["timestamp"],
                    intent_name=(event.get("parse_data") or {}).get("intent", {}).get("name"),
                    action_name=event.get("name"),
                    data=json.dumps(event),
                )
            )
    return url


def seed(url: str, tracker_dir: Path) -> Seeded:
    start = T0
    with session_scope(url) as session:
        customer = Customer(external_id="CUST-REVIEW", name="Jo Bloggs", email="jo.bloggs@gmail.com")
        session.add(customer)
        session.flush()
        a = InsightConversation(
            sender_id="review-a",
            channel="socketio",
            customer_id=customer.id,
            started_at=start,
            last_event_at=start + timedelta(seconds=31),
            user_turns=2,
            bot_messages=2,
            sentiment_min=-0.6,
        )
        b = InsightConversation(
            sender_id="review-b",
            channel="rest",
            started_at=start + timedelta(hours=2),
            last_event_at=start + timedelta(hours=2, minutes=3),
            user_turns=2,
            bot_messages=1,
            agent_messages=1,
            fallbacks=1,
            handed_off_at=start + timedelta(hours=2, minutes=1),
            sentiment_min=-0.2,
        )
        c = InsightConversation(
            sender_id="review-c",
            channel="socketio",
            started_at=start - timedelta(days=7),
            last_event_at=start - timedelta(days=7) + timedelta(seconds=5),
            user_turns=1,
            bot_messages=1,
            sentiment_min=0.4,
        )
        session.add_all([a, b, c])
        session.flush()
        session.add_all(
            [
                InsightTurn(
                    conversation_id=a.id,
                    at=start + timedelta(seconds=1),
                    text=PERSONAL,
                    intent="return_item",
                    confidence=0.81,
                    entities=["order_id"],
                    sentiment=-0.6,
                    sentiment_label="negative",
                    action="action_journey_start",
                    policy="RulePolicy",
                ),
                InsightTurn(
                    conversation_id=a.id,
                    at=start + timedelta(seconds=30),
                    text=NAMED,
                    intent="thank",
                    confidence=0.93,
                    entities=[],
                    sentiment=0.5,
                    sentiment_label="positive",
                    action="utter_goodbye",
                    policy="MemoizationPolicy",
                ),
                InsightTurn(
                    conversation_id=b.id,
                    at=b.started_at,
                    text="blorp zzz",
                    intent="nlu_fallback",
                    confidence=0.3,
                    entities=[],
                    fallback=True,
                    sentiment=-0.2,
                    sentiment_label="neutral",
                    action="action_default_fallback",
                    policy="RulePolicy",
                ),
                InsightTurn(
                    conversation_id=b.id,
                    at=b.started_at + timedelta(seconds=20),
                    text="a person please",
                    intent="ask_human",
                    confidence=0.97,
                    entities=[],
                    action="action_handoff",
                    policy="RulePolicy",
                ),
                InsightTurn(
                    conversation_id=c.id,
                    at=c.started_at,
                    text="hello there",
                    intent="greet",
                    confidence=0.99,
                    entities=[],
                    sentiment=0.4,
                    sentiment_label="positive",
                    action="utter_greet",
                    policy="MemoizationPolicy",
                ),
            ]
        )
        journey = Journey(
            customer_id=customer.id,
            workflow="return_item",
            problem_key="return_item:TD104233",
            state="resolved",
            outcome="refund_issued",
            opened_at=start,
            updated_at=start,
            quiet_since=start,
        )
        session.add(journey)
        session.flush()
        session.add(
            JourneyStep(
                journey_id=journey.id,
                seq=1,
                step="start",
                at=start + timedelta(seconds=1),
                conversation_id="review-a",
                state_after="open",
            )
        )
        session.add(JourneyCsat(journey_id=journey.id, score=2, at=start + timedelta(seconds=40)))
        ids = (a.id, b.id, c.id)
    tracker = write_tracker(tracker_dir / "tracker.db", "review-a", tracker_events(start))
    return Seeded(*ids, tracker_url=tracker)
