"""One Rasa event -> what it changes: the reading of parse data, actions, agents' messages and handoffs."""

from __future__ import annotations

from rasa.shared.core.events import SlotSet, UserUttered

from bot.insights.events import (
    ActionRun,
    BotMessage,
    CustomerMessage,
    HandedOff,
    OtherEvent,
    SentimentSlot,
    SessionStarted,
    event_key,
    interpret,
)
from tests.insights.conversations import T0, action, at, bot, first_conversation, published, second_conversation, ts


def test_a_customer_message_keeps_what_the_nlu_made_of_it():
    body = published("c1", first_conversation("CUST-00042"))[3]
    update = interpret(body)
    assert update == CustomerMessage(
        sender_id="c1",
        at=at(1),
        text="where is my order TD100001",
        intent="order_status",
        confidence=0.9,
        margin=0.85,  # 0.9 - 0.05, the runner-up
        entities=("order_id",),
        sentiment=0.0,
        sentiment_label="neutral",
        language=None,
        channel="tandem",
        customer="CUST-00042",
        fallback=False,
    )


def test_the_nlu_not_being_sure_is_a_fallback_and_so_is_rasas_core_fallback():
    events = published("c1", first_conversation("CUST-1"))
    fallback = interpret(events[7])
    assert isinstance(fallback, CustomerMessage) and fallback.fallback and fallback.intent == "nlu_fallback"
    assert round(fallback.margin or 0, 6) == 0.05
    core = interpret(published("c1", second_conversation())[4])
    assert core == ActionRun("c1", core.at, "action_default_fallback", "RulePolicy", True)


def test_actions_name_their_policy_without_its_place_in_the_config():
    assert interpret(published("c", [action(1, "action_order_status", "policy_5_RulePolicy")])[0]) == ActionRun(
        "c", at(1), "action_order_status", "RulePolicy", False
    )


def test_listening_marks_activity_and_the_session_start_action_belongs_to_no_conversation():
    assert interpret(published("c", [action(1, "action_listen")])[0]) == OtherEvent("c", at(1))
    assert interpret(published("c", [action(1, "action_session_start")])[0]) is None


def test_an_agents_message_is_told_from_the_bots():
    mine, theirs = published("c", [bot(1, "hi"), bot(2, "Hi, I'm Sam", agent=True)])
    assert interpret(mine) == BotMessage("c", at(1), False)
    assert interpret(theirs) == BotMessage("c", at(2), True)


def test_a_pause_or_the_handoff_slot_is_a_handoff_and_a_cancelled_one_is_not():
    assert interpret({"sender_id": "c", "event": "pause", "timestamp": ts(at(3))}) == HandedOff("c", at(3))
    asked, cancelled = published(
        "c",
        [SlotSet("handoff_reason", "asked", timestamp=ts(at(4))), SlotSet("handoff_reason", None, timestamp=ts(at(5)))],
    )
    assert interpret(asked) == HandedOff("c", at(4))
    assert interpret(cancelled) == OtherEvent("c", at(5))


def test_sentiment_slots_are_read_for_messages_without_parse_sentiment():
    label, score = published(
        "c",
        [SlotSet("sentiment", "negative", timestamp=ts(at(1))), SlotSet("sentiment_score", -0.4, timestamp=ts(at(2)))],
    )
    assert interpret(label) == SentimentSlot("c", at(1), "negative", None)
    assert interpret(score) == SentimentSlot("c", at(2), None, -0.4)


def test_a_message_the_server_made_up_is_not_the_customers():
    external = UserUttered.create_external("journey_follow_up", [], "tandem")
    external.timestamp = ts(T0)
    assert interpret(published("c", [external])[0]) == OtherEvent("c", T0)


def test_session_start_and_events_without_a_sender_or_time():
    assert interpret({"sender_id": "c", "event": "session_started", "timestamp": ts(T0)}) == SessionStarted("c", T0)
    assert interpret({"event": "session_started", "timestamp": ts(T0)}) is None
    assert interpret({"sender_id": "c", "event": "user"}) is None


def test_the_key_is_the_same_for_the_brokers_copy_and_the_tracker_stores():
    event = first_conversation("CUST-1")[3]
    broker = {"sender_id": "c1", **event.as_dict()}
    tracker = event.as_dict()
    assert event_key("c1", broker) == event_key("c1", tracker)
    assert event_key("c1", tracker) != event_key("c2", tracker)
    assert event_key("c1", tracker) != event_key("c1", {**tracker, "timestamp": tracker["timestamp"] + 1})
