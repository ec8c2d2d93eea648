"""The sentiment policy: slots right after each message, and a person offered at the end of a bad turn."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.policies.sentiment_policy import SentimentPolicy
from tests.support.rasa_model import ROOT

OFFER = "utter_offer_human"


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


@pytest.fixture
def policy(tmp_path, domain: Domain) -> SentimentPolicy:
    storage = LocalModelStorage(tmp_path)
    config = {**SentimentPolicy.get_default_config(), "offer_action": OFFER}
    policy = SentimentPolicy.create(
        config, storage, Resource("sentiment_policy"), ExecutionContext(GraphSchema({}), "test")
    )
    trackers = [
        TrackerWithCachedStates.from_events(
            "story",
            [
                ActionExecuted("action_listen"),
                UserUttered(intent={"name": "report_problem"}),
                ActionExecuted("utter_report_problem"),
                ActionExecuted("action_listen"),
                UserUttered(intent={"name": "order_status"}),
                ActionExecuted("action_order_status"),
                ActionExecuted("action_listen"),
                UserUttered(intent={"name": "delivery_problem"}),
                ActionExecuted("action_delivery_problem"),
                ActionExecuted("action_listen"),
            ],
            domain=domain,
        ),
        # A rule with `wait_for_user_input: false` ends in the snippet action "...": no evidence.
        TrackerWithCachedStates.from_events(
            "rule",
            [
                ActionExecuted("..."),
                ActionExecuted("action_listen"),
                UserUttered(intent={"name": "delivery_problem"}),
                ActionExecuted("action_delivery_problem"),
                ActionExecuted("..."),
            ],
            domain=domain,
            is_rule_tracker=True,
        ),
        # An action followed by another one does not end a turn.
        TrackerWithCachedStates.from_events(
            "multi",
            [
                ActionExecuted("action_listen"),
                UserUttered(intent={"name": "cancel_order"}),
                ActionExecuted("action_cancel_order_check"),
                ActionExecuted("utter_ok"),
                ActionExecuted("action_listen"),
            ],
            domain=domain,
        ),
    ]
    policy.train(trackers, domain)
    return policy


def message(text: str, label: str, score: float, intent: str = "report_problem") -> list[Event]:
    parse = {
        "intent": {"name": intent, "confidence": 0.9},
        "entities": [],
        "text": text,
        "sentiment": {"label": label, "score": score, "confidence": 0.9},
    }
    return [ActionExecuted("action_listen"), UserUttered(text, parse["intent"], [], parse_data=parse)]


def turn(text: str, label: str, score: float, action: str = "utter_report_problem") -> list[Event]:
    return message(text, label, score) + [ActionExecuted(action), BotUttered("...")]


def predict(policy: SentimentPolicy, domain: Domain, events: list[Event]):
    tracker = DialogueStateTracker.from_events("customer", events, slots=domain.slots)
    return policy.predict_action_probabilities(tracker, domain)


def predicted(prediction, domain: Domain) -> str | None:
    if prediction.max_confidence <= 0:
        return None
    return domain.action_names_or_texts[prediction.max_confidence_index]


def test_training_learns_which_actions_end_a_turn(policy: SentimentPolicy) -> None:
    assert policy.terminal_actions == {
        "utter_report_problem",
        "action_order_status",
        "action_delivery_problem",
        "utter_ok",
    }


def test_right_after_a_message_its_sentiment_fills_the_slots(policy, domain) -> None:
    prediction = predict(policy, domain, turn("hm", "neutral", 0.0) + message("this is awful", "negative", -0.9))
    assert predicted(prediction, domain) is None  # the other policies choose the action
    assert prediction.events == [SlotSet("sentiment", "negative"), SlotSet("sentiment_score", -0.9)]


def test_an_unchanged_label_is_not_set_again(policy, domain) -> None:
    events = turn("no", "negative", -0.5) + [SlotSet("sentiment", "negative")] + message("nope", "negative", -0.7)
    assert predict(policy, domain, events).events == [SlotSet("sentiment_score", -0.7)]


def test_a_streak_of_negative_messages_offers_a_person_at_the_end_of_the_turn(policy, domain) -> None:
    events = turn("no", "negative", -0.5) + turn("still no", "negative", -0.6)
    assert predicted(predict(policy, domain, events), domain) is None
    events += turn("useless", "negative", -0.5)
    prediction = predict(policy, domain, events)
    assert predicted(prediction, domain) == OFFER
    assert prediction.policy_priority == 7
    assert SlotSet("handoff_offer_reason", "negative_streak") in prediction.events
    # After the offer it waits for the answer.
    after = predict(policy, domain, events + [ActionExecuted(OFFER), BotUttered("offer")])
    assert predicted(after, domain) == "action_listen"


def test_it_offers_once_per_streak(policy, domain) -> None:
    events = (
        turn("a", "negative", -0.5)
        + turn("b", "negative", -0.5)
        + turn("c", "negative", -0.5)
        + [ActionExecuted(OFFER), BotUttered("offer")]
        + turn("d", "negative", -0.5)
    )
    assert predicted(predict(policy, domain, events), domain) is None


def test_one_very_negative_message_offers_only_while_the_flow_fails(policy, domain) -> None:
    angry = turn("where is it?!", "negative", -0.95, action="action_order_status")
    assert predicted(predict(policy, domain, turn("hi", "neutral", 0.0) + angry), domain) is None
    failing = turn("TD1", "neutral", 0.0, action="action_order_status") + [SlotSet("flow_failure", "order_not_found")]
    prediction = predict(policy, domain, failing + angry)
    assert predicted(prediction, domain) == OFFER
    assert SlotSet("handoff_offer_reason", "very_negative_while_failing") in prediction.events


def test_mid_turn_actions_are_never_interrupted(policy, domain) -> None:
    events = (
        turn("a", "negative", -0.5)
        + turn("b", "negative", -0.5)
        + turn("c", "negative", -0.5, action="action_cancel_order_check")
    )
    assert predicted(predict(policy, domain, events), domain) is None


def test_no_offer_to_someone_already_asking_for_a_person(policy, domain) -> None:
    events = (
        turn("a", "negative", -0.5)
        + turn("b", "negative", -0.5)
        + turn("a person now", "negative", -0.9, action="action_request_human")
    )
    assert predicted(predict(policy, domain, events), domain) is None


def test_a_trained_policy_loads_with_what_it_learned(policy, domain, tmp_path) -> None:
    loaded = SentimentPolicy.load(
        {**SentimentPolicy.get_default_config(), "offer_action": OFFER},
        policy._model_storage,
        policy._resource,
        ExecutionContext(GraphSchema({}), "test"),
    )
    assert loaded.terminal_actions == policy.terminal_actions


def test_an_offer_action_missing_from_the_domain_fails_training(tmp_path, domain) -> None:
    from rasa.shared.exceptions import InvalidConfigException

    config = {**SentimentPolicy.get_default_config(), "offer_action": "utter_nope"}
    policy = SentimentPolicy.create(
        config, LocalModelStorage(tmp_path), Resource("p"), ExecutionContext(GraphSchema({}), "test")
    )
    with pytest.raises(InvalidConfigException, match="utter_nope"):
        policy.train([], domain)
