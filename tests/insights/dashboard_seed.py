"""A small, hand-counted week for the dashboard: conversations and turns written straight into the analytics tables,
with the journeys, handoffs, survey answers, segments, orders and recommendation events that go with them.

The period is the week from Monday 2 November 2026 (`SINCE`) to Monday 9 November (`UNTIL`); the previous period is
the week before. Every figure the dashboard tests expect is counted by hand in `EXPECTED` from the rows below, so a
reader can check each one without running anything.

Customers (of the small demo shop): A = CUST-00001 (champions, churn risk 0.1), B = CUST-00002 (at_risk, 0.8),
C = CUST-00003 (no segment), D = CUST-00004 (at_risk, 0.7); E = CUST-00011..20 only see recommendations.

This period:
  c1  socketio  A  Mon 00:00 (the period's first moment)  3 messages, all answered, moods +0.3 0 +0.5; journey j1
  c2  socketio  B  Tue 09:00  4 messages: two fallbacks about PayPal, all negative; handed off at 09:05 (h1)
  c3  rest      -  Wed 15:00  2 messages: a fallback (where is the London shop), then a negative one never answered
  c4  socketio  A  Thu 18:00  2 messages: an unsure one (confidence 0.5) about the London store, negative; then positive
  c5  socketio  C  Fri 08:00  no customer message (a widget opened): not a conversation
  c6  rest      B  Sat 11:50  2 neutral messages; journey j2 escalated, handed off at 12:00 (h2)
  c7  socketio  A  Mon 9 Nov 00:00 (= UNTIL): the next period's
Previous period:
  p1  socketio  A  Wed 28 Oct  2 messages, one fallback ("paypal payment possible?")
  p2  rest      D  Fri 30 Oct  3 messages, two negative; handed off (h3)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import (
    BehaviourEvent,
    Customer,
    CustomerSegment,
    Handoff,
    HandoffMessage,
    InsightConversation,
    InsightTurn,
    Journey,
    JourneyCsat,
    JourneyStep,
    Order,
    Product,
)
from bot.db.session import dispose_engine, session_factory, session_scope
from bot.insights.scope import Filters

SINCE = datetime(2026, 11, 2)
UNTIL = datetime(2026, 11, 9)
WEEK = Filters(SINCE, UNTIL)
S = timedelta(seconds=1)


def _at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    month = 11 if day < 20 else 10
    return datetime(2026, month, day, hour, minute, second)


# (sender, channel, customer letter, started, [turns], handed_off_at, agent_messages, first_agent_reply_at)
# A turn: (at, text, intent, confidence, fallback, sentiment, label, seconds to the answer or None)
CONVERSATIONS = [
    (
        "c1",
        "socketio",
        "A",
        _at(2, 0, 0),
        [
            (_at(2, 0, 0, 5), "hi", "greet", 0.95, False, 0.3, "positive", 1),
            (_at(2, 0, 1), "where is my order", "order_status", 0.9, False, 0.0, "neutral", 2),
            (_at(2, 0, 2), "thanks", "thank", 0.97, False, 0.5, "positive", 3),
        ],
        None,
        0,
        None,
    ),
    (
        "c2",
        "socketio",
        "B",
        _at(3, 9, 0),
        [
            (_at(3, 9, 0, 10), "Can I pay with PayPal", "nlu_fallback", 0.3, True, -0.5, "negative", 1),
            (_at(3, 9, 1), "do you accept paypal?", "nlu_fallback", 0.25, True, -0.6, "negative", 2),
            (_at(3, 9, 2), "I was charged twice", "billing_question", 0.92, False, -0.7, "negative", 4),
            (_at(3, 9, 4), "I want a person", "request_human", 0.98, False, -0.4, "negative", 1),
        ],
        _at(3, 9, 5),
        2,
        _at(3, 9, 8),
    ),
    (
        "c3",
        "rest",
        None,
        _at(4, 15, 0),
        [
            (_at(4, 15, 0, 5), "where is your shop in london", "nlu_fallback", 0.2, True, 0.0, "neutral", 2),
            (_at(4, 15, 1), "this is useless", "complaint", 0.8, False, -0.8, "negative", None),
        ],
        None,
        0,
        None,
    ),
    (
        "c4",
        "socketio",
        "A",
        _at(5, 18, 0),
        [
            (_at(5, 18, 0, 5), "where is your london store?", "product_question", 0.5, False, -0.3, "negative", 5),
            (_at(5, 18, 1), "ok great thanks", "thank", 0.9, False, 0.6, "positive", 1),
        ],
        None,
        0,
        None,
    ),
    ("c5", "socketio", "C", _at(6, 8, 0), [], None, 0, None),
    (
        "c6",
        "rest",
        "B",
        _at(7, 11, 50),
        [
            (_at(7, 11, 50, 10), "you charged me wrong", "report_problem", 0.88, False, -0.1, "neutral", 2),
            (_at(7, 11, 56), "yes the 40 pound one", "inform", 0.7, False, 0.1, "neutral", 3),
        ],
        _at(7, 12, 0),
        1,
        _at(7, 12, 15),
    ),
    (
        "c7",
        "socketio",
        "A",
        datetime(2026, 11, 9),
        [(datetime(2026, 11, 9, 0, 0, 5), "can i pay with paypal", "nlu_fallback", 0.3, True, 0.0, "neutral", 1)],
        None,
        0,
        None,
    ),
    (
        "p1",
        "socketio",
        "A",
        _at(28, 10, 0),
        [
            (_at(28, 10, 0, 5), "paypal payment possible?", "nlu_fallback", 0.3, True, 0.0, "neutral", 2),
            (_at(28, 10, 1), "ok bye", "goodbye", 0.9, False, 0.0, "neutral", 1),
        ],
        None,
        0,
        None,
    ),
    (
        "p2",
        "rest",
        "D",
        _at(30, 14, 0),
        [
            (_at(30, 14, 0, 5), "I want to talk to someone", "request_human", 0.95, False, -0.5, "negative", 1),
            (_at(30, 14, 1), "now please", "request_human", 0.9, False, -0.6, "negative", 1),
            (_at(30, 14, 2), "order status", "order_status", 0.9, False, 0.0, "neutral", 1),
        ],
        _at(30, 14, 3),
        1,
        _at(30, 14, 5),
    ),
]

SEGMENTS = {"A": ("champions", 0.1), "B": ("at_risk", 0.8), "D": ("at_risk", 0.7)}
CUSTOMERS = {"A": "CUST-00001", "B": "CUST-00002", "C": "CUST-00003", "D": "CUST-00004"}
RECS_CUSTOMERS = [f"CUST-{n:05d}" for n in range(11, 21)]

# Recommendation arms: 120 impressions each; hybrid 30 bought, 12 clicked, 6 "not interested"; popularity 6, 10, 3.
ARMS = {"hybrid": (120, 30, 12, 6), "popularity": (120, 6, 10, 3)}

# Every figure the tests check, counted by hand from the rows above (this period, then the previous one).
EXPECTED = {
    "conversations": (5, 2),  # c1 c2 c3 c4 c6 | p1 p2 (c5 has no message, c7 starts at UNTIL)
    "customers": (2, 2),  # A B | A D
    "anonymous": (1, 0),  # c3
    "customer_messages": (13, 5),  # 3+4+2+2+2 | 2+3
    "per_day": [1, 1, 1, 1, 0, 1, 0],  # Mon..Sun
    "contained": (3, 1),  # c1 c3 c4 | p1
    "fallbacks": (3, 1),  # c2 x2, c3 | p1
    "conversations_with_fallback": (2, 1),
    "handed_off": (2, 1),  # c2 c6 | p2
    "handoffs_by_reason": {"bot_stuck": 1, "workflow_escalation": 1},
    "billing_waits": (360.0, 552.0),  # claims after 120 s and 600 s: median, p90 = 120 + 0.9 * 480
    # The 12 answered messages' seconds: 1 2 3 | 1 2 4 1 | 2 | 5 1 | 2 3 -> sorted 1 1 1 1 2 2 2 2 3 3 4 5.
    "bot_answered": 12,
    "bot_median": 2.0,
    "bot_p90": 3.9,  # between the 10th (3) and the 11th (4) value
    "agent_first_response": (540.0, 828.0),  # 180 s and 900 s
    "resolution": (1, 900.0),  # h1 only, resolved 15 min after the request
    "moods": {"negative": 6, "neutral": 4, "positive": 3, "unknown": 0},
    "daily_mood": [0.8 / 3, -0.55, -0.4, 0.15, None, 0.0, None],
    "turned_negative": (3, 1),
    "outcomes": {"handed_off": 1, "recovered": 1, "abandoned": 1},  # c2 | c4 | c3
    "returning": (1, 0),  # A (p1 before the week) | nobody talked to the bot before 26 Oct
    "resolved_customers": 2,  # A (j1), B (j3)
    "repurchased_after_resolution": 1,  # A ordered on 10 November
    "clicked_customers": 11,  # B, and the ten customers E who clicked a recommendation
    "repurchased_after_click": 0,
    "churn_risk": (2, 1),  # B and D are at risk; B talked to the bot this week
    "previous_churn_contacted": 1,  # D
    "unknown_messages": (4, 1),  # c2 x2, c3, c4 (confidence 0.5 < 0.6) | p1
}


def _ids(session: Session, external_ids: list[str]) -> dict[str, int]:
    rows = session.execute(select(Customer.external_id, Customer.id).where(Customer.external_id.in_(external_ids)))
    return dict(rows.all())


def seed_week(session: Session) -> None:
    """Writes the week described above into a database holding the small demo shop."""
    ids = _ids(session, [*CUSTOMERS.values(), *RECS_CUSTOMERS])
    who = {letter: ids[external] for letter, external in CUSTOMERS.items()}
    senders: dict[str, InsightConversation] = {}
    for sender, channel, letter, started, turns, handed, agent_messages, first_reply in CONVERSATIONS:
        scores = [t[5] for t in turns]
        negative = [t[0] for t in turns if t[6] == "negative"]
        last = max([started] + [t[0] + S * (t[7] or 0) for t in turns])
        conversation = InsightConversation(
            sender_id=f"{sender}-sender",
            channel=channel,
            customer_id=who[letter] if letter else None,
            started_at=started,
            last_event_at=last,
            user_turns=len(turns),
            bot_messages=sum(1 for t in turns if t[7] is not None),
            agent_messages=agent_messages,
            fallbacks=sum(1 for t in turns if t[4]),
            handed_off_at=handed,
            first_agent_reply_at=first_reply,
            sentiment_min=min(scores) if scores else None,
            sentiment_last=scores[-1] if scores else None,
            turned_negative_at=min(negative) if negative else None,
        )
        session.add(conversation)
        session.flush()
        senders[sender] = conversation
        for at, text, intent, confidence, fallback, score, label, answer in turns:
            session.add(
                InsightTurn(
                    conversation_id=conversation.id,
                    at=at,
                    text=text,
                    intent=intent,
                    confidence=confidence,
                    margin=None,
                    entities=[],
                    sentiment=score,
                    sentiment_label=label,
                    language="en",
                    action="utter_x",
                    policy="RulePolicy",
                    fallback=fallback,
                    answered_at=at + S * answer if answer is not None else None,
                )
            )
    for letter, (segment, risk) in SEGMENTS.items():
        session.add(
            CustomerSegment(
                customer_id=who[letter],
                recency_score=3,
                frequency_score=3,
                monetary_score=3,
                rfm_segment=segment,
                cluster=0,
                cluster_label="everyone",
                churn_risk=risk,
                model_version="test",
            )
        )
    _journeys(session, who)
    _handoffs(session, who)
    # A orders again on 10 November (after j1's resolution on the 2nd); nobody else orders after 1 November.
    session.add(
        Order(
            order_number="TD-INSIGHTS-1",
            customer_id=who["A"],
            status="placed",
            placed_at=datetime(2026, 11, 10, 9, 0),
            total=Decimal("19.99"),
            shipping_address="1 Test Street",
        )
    )
    _recommendations(session, who, [ids[e] for e in RECS_CUSTOMERS])
    session.flush()


def _journey(session: Session, customer: int, workflow: str, opened: datetime, steps, **values) -> Journey:  # type: ignore[no-untyped-def]
    journey = Journey(
        customer_id=customer,
        workflow=workflow,
        problem_key=f"{workflow}-{customer}-{opened.isoformat()}",
        state=values.pop("state"),
        current_step=steps[-1][0],
        context={},
        opened_at=opened,
        updated_at=opened,
        quiet_since=opened,
        step_count=len(steps),
        **values,
    )
    session.add(journey)
    session.flush()
    for seq, (step, at, conversation) in enumerate(steps, start=1):
        session.add(
            JourneyStep(
                journey_id=journey.id,
                seq=seq,
                step=step,
                at=at,
                channel=values.get("last_channel"),
                conversation_id=conversation,
                state_after="open",
                messages=[],
            )
        )
    return journey


def _journeys(session: Session, who: dict[str, int]) -> None:
    # j1 late_delivery (A, in c1): resolved by the customer in 2 h, first contact; CSAT 5.
    j1 = _journey(
        session,
        who["A"],
        "late_delivery",
        _at(2, 0, 1),
        [
            ("ask_order", _at(2, 0, 1), "c1-sender"),
            ("check_status", _at(2, 0, 1, 30), "c1-sender"),
            ("confirm", _at(2, 0, 2), "c1-sender"),
        ],
        state="resolved",
        resolved_at=_at(2, 2, 1),
        resolved_by="customer",
        last_channel="socketio",
        last_conversation_id="c1-sender",
    )
    session.add(JourneyCsat(journey_id=j1.id, score=5, at=_at(2, 2, 5)))
    # j3 late_delivery (B, began in c2): an agent resolved it a day later; CSAT 2.
    j3 = _journey(
        session,
        who["B"],
        "late_delivery",
        _at(3, 9, 1),
        [("ask_order", _at(3, 9, 1), "c2-sender"), ("check_status", _at(4, 9, 0), "b-elsewhere")],
        state="resolved",
        resolved_at=_at(4, 9, 1),
        resolved_by="agent:alice",
        last_channel="socketio",
        last_conversation_id="b-elsewhere",
    )
    session.add(JourneyCsat(journey_id=j3.id, score=2, at=_at(4, 10, 0)))
    # j2 wrong_charge (B, in c6): escalated at its second step, not resolved.
    _journey(
        session,
        who["B"],
        "wrong_charge",
        _at(7, 11, 55),
        [("ask_charge", _at(7, 11, 55), "c6-sender"), ("check_charge", _at(7, 11, 56), "c6-sender")],
        state="escalated",
        escalation_reason="agent_needed",
        last_channel="rest",
        last_conversation_id="c6-sender",
    )
    # j4 late_delivery (D, previous week): given up at its first step.
    _journey(
        session,
        who["D"],
        "late_delivery",
        _at(30, 14, 0),
        [("ask_order", _at(30, 14, 0, 30), "p2-sender")],
        state="closed",
        closed_at=_at(30, 15, 0),
        last_channel="rest",
        last_conversation_id="p2-sender",
    )


def _handoffs(session: Session, who: dict[str, int]) -> None:
    wrong_charge = session.execute(select(Journey.id).where(Journey.workflow == "wrong_charge")).scalar_one()
    rows = [
        # (sender, channel, customer, journey, reason, queue, status, requested, claimed after, agent reply after, closed after)
        ("c2-sender", "socketio", who["B"], None, "bot_stuck", "billing", "resolved", _at(3, 9, 5), 120, 180, 900),
        (
            "c6-sender",
            "rest",
            who["B"],
            wrong_charge,
            "workflow_escalation",
            "billing",
            "handed_back",
            _at(7, 12, 0),
            600,
            900,
            1800,
        ),
        ("p2-sender", "rest", who["D"], None, "asked", "general", "resolved", _at(30, 14, 3), 60, 120, 420),
    ]
    for sender, channel, customer, journey, reason, queue, status, requested, claimed, reply, closed in rows:
        handoff = Handoff(
            conversation_id=sender,
            channel=channel,
            customer_id=customer,
            journey_id=journey,
            reason=reason,
            queue=queue,
            priority=50,
            status=status,
            requested_at=requested,
            claimed_at=requested + S * claimed,
            closed_at=requested + S * closed,
            updated_at=requested + S * closed,
        )
        session.add(handoff)
        session.flush()
        session.add(HandoffMessage(handoff_id=handoff.id, kind="customer", text="hello?", at=requested + S * 30))
        session.add(HandoffMessage(handoff_id=handoff.id, kind="agent", text="Hi, I'm here", at=requested + S * reply))
        session.add(HandoffMessage(handoff_id=handoff.id, kind="agent", text="Done", at=requested + S * (reply + 60)))


def _recommendations(session: Session, who: dict[str, int], customers: list[int]) -> None:
    products = session.execute(select(Product.id).order_by(Product.id).limit(40)).scalars().all()
    pairs = [(c, p) for p in products for c in customers]  # each impression its own pair; customers take turns
    start = _at(3, 8, 0)
    n = 0
    for strategy, (shown, bought, clicked, dismissed) in ARMS.items():
        for i in range(shown):
            customer, product = pairs[n]
            at = start + timedelta(minutes=n)
            n += 1
            request = f"{strategy}-{i}"
            session.add(_event(customer, product, "impression", at, strategy=strategy, request_id=request))
            if i < bought:
                session.add(_event(customer, product, "purchase", at + timedelta(hours=1)))
            if i < clicked:
                session.add(_event(customer, product, "click", at + S * 30, strategy=strategy, request_id=request))
            if i < dismissed:
                session.add(_event(customer, product, "dismissal", at + S * 40, strategy=strategy))
    # B clicks a suggestion on Thursday that no impression of this week explains, and does not buy.
    session.add(_event(who["B"], products[0], "click", _at(5, 12, 0), strategy="hybrid", request_id="b-click"))


def _event(customer: int, product: int, kind: str, at: datetime, **values) -> BehaviourEvent:  # type: ignore[no-untyped-def]
    return BehaviourEvent(customer_id=customer, product_id=product, kind=kind, occurred_at=at, source="chat", **values)


@pytest.fixture(scope="module")
def week_db(db_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A database of the small demo shop and the hand-counted week (one per module and backend; read only)."""
    from tests.conftest import seed_small_shop

    url = db_factory.create()
    seed_small_shop(url)
    with session_scope(url) as session:
        seed_week(session)
    yield url
    dispose_engine(url)


@pytest.fixture
def week(week_db: str) -> Iterator[Session]:
    """A session on the week's database; anything a test changes is rolled back."""
    session = session_factory(week_db)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
