"""Handing off to a person: the record is stored first, the customer is told what happens next, the bot pauses.

Real actions, real trackers, the handoff store on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from actions.fallback import ActionHandleFallback
from actions.handoff import ActionCancelHandoff, ActionRequestHuman
from bot.db.models import Agent, Handoff
from bot.db.session import session_scope
from bot.handoff import store
from bot.handoff.routing import default_rules
from bot.settings import get_settings
from tests.actions.conftest import customer_with_orders, run_action, tracker


def slots(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def paused(events) -> bool:
    return any(e.get("event") == "pause" for e in events)


def unhappy(text: str, score: float, intent: str = "report_problem") -> dict:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"intent": {"name": intent}, "sentiment": {"label": "negative", "score": score}},
    }


def conversation(tr):
    tr.sender_id = f"conv-{uuid.uuid4().hex[:12]}"
    return tr


def stored(url: str, conversation_id: str) -> Handoff:
    with session_scope(url) as session:
        return session.execute(select(Handoff).where(Handoff.conversation_id == conversation_id)).scalar_one()


@pytest.fixture
def agent_online(shop_url):
    """An agent of every queue with the console open; gone again after the test."""
    name = f"agent-{uuid.uuid4().hex[:8]}"
    with session_scope(shop_url) as session:
        agent = Agent(
            username=name,
            display_name="Alice",
            password_hash="-",
            role="agent",
            queues=list(default_rules().queue_keys),
        )
        session.add(agent)
        session.flush()
        store.touch_agent(session, agent.id)
        agent_id = agent.id
    yield agent_id
    with session_scope(shop_url) as session:
        session.get(Agent, agent_id).active = False


def test_nobody_online_the_request_is_stored_as_a_follow_up_and_the_bot_keeps_helping(shop_url):
    customer = customer_with_orders(shop_url, 1)
    tr = conversation(
        tracker(
            "a person please",
            intent="ask_human",
            customer=customer,
            events=[unhappy("my bill is wrong", -0.6, "billing_question")],
        )
    )
    messages, events = run_action(ActionRequestHuman(), tr)

    handoff = stored(shop_url, tr.sender_id)
    assert (handoff.status, handoff.reason, handoff.queue) == ("follow_up", "asked", "billing")
    assert handoff.customer_value is not None and handoff.customer_value > 0
    assert [m["response"] for m in messages] == ["utter_handoff_offline"]
    assert messages[0]["buttons"] == [{"title": "No thanks, cancel it", "payload": "/handoff_cancel"}]
    assert messages[0]["custom"] == {"type": "handoff", "status": "follow_up", "queue": "Billing"}
    assert not paused(events), "the bot keeps answering while nobody is online"
    assert slots(events)["handoff_reason"] == "asked"
    assert slots(events)["sentiment_trend"]["worst"] == -0.6


def test_with_an_agent_online_the_customer_waits_with_a_position_and_the_bot_pauses(shop_url, agent_online):
    tr = conversation(
        tracker(
            "let me talk to someone",
            intent="ask_human",
            events=[unhappy("where is my parcel", -0.2, "delivery_problem")],
        )
    )
    messages, events = run_action(ActionRequestHuman(), tr)

    handoff = stored(shop_url, tr.sender_id)
    assert (handoff.status, handoff.queue, handoff.customer_id) == ("waiting", "delivery", None)
    assert handoff.expected_wait_seconds > 0
    [message] = messages
    assert message["response"] == "utter_handoff_waiting"
    assert message["queue"] == "deliveries" and message["position"] >= 1 and message["minutes"] >= 1
    assert message["custom"]["status"] == "waiting"
    assert message["custom"]["expected_wait_minutes"] == message["minutes"]
    assert paused(events)


def test_asking_twice_joins_the_same_handoff(shop_url, agent_online):
    tr = conversation(tracker("human please", intent="ask_human"))
    run_action(ActionRequestHuman(), tr)
    _, events = run_action(ActionRequestHuman(), tr)
    with session_scope(shop_url) as session:
        count = len(session.execute(select(Handoff).where(Handoff.conversation_id == tr.sender_id)).all())
    assert count == 1
    assert paused(events)


def test_an_accepted_offer_keeps_why_it_was_made_and_a_worse_mood_ranks_higher(shop_url):
    history = [
        unhappy("still broken", -0.9),
        {"event": "action", "name": "utter_report_problem"},
        {"event": "action", "name": "utter_offer_human"},
        {"event": "bot", "text": "want a person?"},
        {"event": "action", "name": "action_listen"},
    ]
    offered = conversation(
        tracker("yes", intent="affirm", events=history, slots={"handoff_offer_reason": "negative_streak"})
    )
    _, events = run_action(ActionRequestHuman(), offered)
    calm = conversation(tracker("a person please", intent="ask_human"))
    run_action(ActionRequestHuman(), calm)

    assert slots(events)["handoff_reason"] == "negative_streak"
    assert slots(events)["handoff_offer_reason"] is None
    unhappy_handoff, calm_handoff = stored(shop_url, offered.sender_id), stored(shop_url, calm.sender_id)
    assert unhappy_handoff.reason == "negative_streak"
    assert unhappy_handoff.priority > calm_handoff.priority
    assert unhappy_handoff.queue == "technical"


def test_three_misunderstood_messages_in_a_row_bring_in_a_person(shop_url, agent_online):
    fallback = {"event": "user", "text": "blorp", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    tr = conversation(tracker("zzz", intent="nlu_fallback", events=[fallback, fallback]))
    messages, events = run_action(ActionHandleFallback(), tr)

    assert [m["response"] for m in messages] == ["utter_handoff_stuck", "utter_handoff_waiting"]
    assert stored(shop_url, tr.sender_id).reason == "bot_stuck"
    assert paused(events)
    assert events[0]["event"] == "rewind", "the misunderstood message still does not steer the dialogue"


def test_two_misunderstood_messages_only_offer_the_topics(shop_url):
    fallback = {"event": "user", "text": "blorp", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    tr = conversation(tracker("zzz", intent="nlu_fallback", events=[fallback]))
    messages, events = run_action(ActionHandleFallback(), tr)
    assert [m["response"] for m in messages] == ["utter_offer_help"]
    assert not paused(events)


def test_the_customer_cancels_a_follow_up(shop_url):
    tr = conversation(tracker("a person please", intent="ask_human"))
    run_action(ActionRequestHuman(), tr)
    cancel = conversation(tracker("no thanks, cancel it", intent="handoff_cancel"))
    cancel.sender_id = tr.sender_id
    messages, events = run_action(ActionCancelHandoff(), cancel)
    assert [m["response"] for m in messages] == ["utter_handoff_cancelled"]
    assert stored(shop_url, tr.sender_id).status == "cancelled"
    assert slots(events)["handoff_reason"] is None

    messages, _ = run_action(ActionCancelHandoff(), cancel)
    assert [m["response"] for m in messages] == ["utter_handoff_nothing_to_cancel"]


def test_database_down_still_gives_a_way_to_a_person(monkeypatch):
    monkeypatch.setenv("TANDEM_DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        messages, events = run_action(ActionRequestHuman(), conversation(tracker("human", intent="ask_human")))
    finally:
        get_settings.cache_clear()
    assert [m["response"] for m in messages] == ["utter_ask_human"]
    assert slots(events)["handoff_reason"] == "asked"
    assert not paused(events)


def test_value_tiers_raise_priority():
    rules = default_rules()
    base = rules.priority(reason="asked", sentiment=0.0, spend=Decimal("0"))
    assert rules.priority(reason="asked", sentiment=0.0, spend=Decimal("3500")) == base + 20
    assert rules.priority(reason="asked", sentiment=-1.0, spend=None) == base + 30
    assert rules.priority(reason="very_negative_while_failing", sentiment=-1.0, spend=Decimal("99999")) == 100


def test_a_complaint_or_a_closed_account_is_recorded_for_a_person_before_the_customer_hears_it(shop_url):
    customer = customer_with_orders(shop_url, 1)
    for intent, text, reason, first in (
        ("complaint", "i want to make a formal complaint", "complaint", "utter_complaint_recorded"),
        ("account_close", "please delete my account", "account_closure", "utter_account_close_recorded"),
    ):
        tr = conversation(tracker(text, intent=intent, customer=customer))
        messages, events = run_action(ActionRequestHuman(), tr)
        handoff = stored(shop_url, tr.sender_id)  # the record exists once the action has answered
        assert (handoff.reason, handoff.queue, handoff.status) == (reason, "general", "follow_up")
        assert [m["response"] for m in messages] == [first, "utter_handoff_offline"]
        assert slots(events)["handoff_reason"] == reason


def test_when_can_i_reach_you_says_who_is_online_now_or_when_a_person_gets_back(shop_url):
    from actions.handoff import ActionContactHours

    # Nobody's console is open: the follow-up promise, from config/handoff.yml.
    messages, _ = run_action(ActionContactHours(), tracker("when are you open", intent="contact_hours"))
    assert messages[0]["response"] == "utter_contact_hours_offline"
    assert messages[0]["hours"] == f"{default_rules().follow_up_promise_hours:g}"


def test_when_can_i_reach_you_with_an_agent_online(shop_url, agent_online):
    from actions.handoff import ActionContactHours

    messages, _ = run_action(ActionContactHours(), tracker("when are you open", intent="contact_hours"))
    assert messages[0]["response"] == "utter_contact_hours_online"
    assert (messages[0]["agents"], messages[0]["verb"]) == ("one person", "is")
