"""The journey policy: answers go to the waiting journey, detours come back to its question, and it
never fights the sentiment policy's offer of a person."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.core.constants import RULE_POLICY_PRIORITY
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from bot.policies.journey_policy import (
    ACTION_JOURNEY_CONTINUE,
    ACTION_JOURNEY_REPROMPT,
    JOURNEY_ACTIONS,
    SLOT_JOURNEY,
    JourneyPolicy,
)
from bot.policies.sentiment_policy import SentimentPolicy
from tests.support.rasa_model import ROOT

LISTEN = "action_listen"
OFFER = "utter_offer_human"
# What the journeys need from the domain, merged in so the tests do not depend on the lead's edits.
JOURNEY_DOMAIN: dict[str, Any] = {
    "intents": ["workflow_answer", "list_issues", "close_issue", "resume_issue", "rate_journey", "journey_follow_up"],
    "slots": {SLOT_JOURNEY: {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]}},
    "actions": sorted(JOURNEY_ACTIONS),
}


def journey(waiting_for_customer: bool = True) -> dict[str, Any]:
    return {
        "id": 7,
        "workflow": "no_internet",
        "title": "No internet",
        "step": "restart_router",
        "waiting_for_customer": waiting_for_customer,
    }


WAITING = [SlotSet(SLOT_JOURNEY, journey())]
FOR_COMPANY = [SlotSet(SLOT_JOURNEY, journey(waiting_for_customer=False))]


def message(intent: str, text: str = "...", label: str = "neutral", score: float = 0.0) -> list[Event]:
    parse = {
        "intent": {"name": intent, "confidence": 0.9},
        "entities": [],
        "text": text,
        "sentiment": {"label": label, "score": score, "confidence": 0.9},
    }
    return [ActionExecuted(LISTEN), UserUttered(text, parse["intent"], [], parse_data=parse)]


def bot(action: str, *events: Event) -> list[Event]:
    return [ActionExecuted(action), *events, BotUttered("...")]


# The journey asked its question and waits for the answer.
ASKED = message("report_problem", "my internet is down") + bot("action_journey_start") + WAITING


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.from_dict(JOURNEY_DOMAIN).merge(Domain.load(str(ROOT / "domain")))


def training_trackers(domain: Domain) -> list[TrackerWithCachedStates]:
    story = (
        message("greet")
        + [ActionExecuted("action_greet")]
        + message("product_question")
        + [ActionExecuted("action_product_lookup")]
        + message("affirm")
        + [ActionExecuted("utter_ok")]
        + message("goodbye")
        + [ActionExecuted("utter_goodbye")]
        + message("report_problem")
        + [ActionExecuted("action_request_human"), ActionExecuted(LISTEN)]
    )
    offer = (
        [ActionExecuted(OFFER)]
        + message("deny")
        + [ActionExecuted("utter_offer_human_declined")]
        + [ActionExecuted(LISTEN)]
    )
    # The check may go on to ask; its rule ends with "..." (no evidence), and in a story an action follows it.
    cancel = message("cancel_order") + [
        ActionExecuted("action_cancel_order_check"),
        ActionExecuted("utter_ok"),
        ActionExecuted(LISTEN),
    ]
    return [
        TrackerWithCachedStates.from_events(name, events, domain=domain)
        for name, events in (("story", story), ("offer", offer), ("cancel", cancel))
    ]


def make(policy_class, tmp_path, domain: Domain, **config: Any):
    tmp_path.mkdir(parents=True, exist_ok=True)
    policy = policy_class.create(
        {**policy_class.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource(policy_class.__name__),
        ExecutionContext(GraphSchema({}), "test"),
    )
    policy.train(training_trackers(domain), domain)
    return policy


@pytest.fixture
def policy(tmp_path, domain: Domain) -> JourneyPolicy:
    return make(JourneyPolicy, tmp_path / "journey", domain)


def tracker_of(domain: Domain, events: list[Event]) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("customer", events, slots=domain.slots)


def predict(policy, domain: Domain, events: list[Event]) -> PolicyPrediction:
    return policy.predict_action_probabilities(tracker_of(domain, events), domain)


def predicted(prediction: PolicyPrediction, domain: Domain) -> str | None:
    if prediction.max_confidence <= 0:
        return None
    return domain.action_names_or_texts[prediction.max_confidence_index]


def test_training_learns_the_actions_that_end_a_turn(policy: JourneyPolicy) -> None:
    assert policy.terminal_actions == {
        "action_greet",
        "action_product_lookup",
        "utter_ok",
        "utter_goodbye",
        "action_request_human",
        "utter_offer_human_declined",
        OFFER,
    }


@pytest.mark.parametrize("intent", ["affirm", "deny", "inform", "workflow_answer"])
def test_an_answer_while_the_journey_waits_continues_the_journey(policy, domain, intent) -> None:
    prediction = predict(policy, domain, ASKED + message(intent))
    assert predicted(prediction, domain) == ACTION_JOURNEY_CONTINUE
    assert prediction.max_confidence == 1.0
    assert prediction.policy_priority == 8


def test_answer_intents_come_from_the_config(tmp_path, domain) -> None:
    policy = make(JourneyPolicy, tmp_path, domain, answer_intents=["workflow_answer"])
    assert predicted(predict(policy, domain, ASKED + message("affirm")), domain) is None
    assert predicted(predict(policy, domain, ASKED + message("workflow_answer")), domain) == ACTION_JOURNEY_CONTINUE


@pytest.mark.parametrize("intent", ["product_question", "greet", "nlu_fallback"])
def test_a_message_that_is_no_answer_is_left_to_the_other_policies(policy, domain, intent) -> None:
    assert predicted(predict(policy, domain, ASKED + message(intent)), domain) is None


@pytest.mark.parametrize("action", sorted(JOURNEY_ACTIONS))
def test_the_bot_listens_after_every_journey_action(policy, domain, action) -> None:
    for journey_events in ([], WAITING, FOR_COMPANY):
        prediction = predict(policy, domain, message("list_issues") + journey_events + bot(action))
        assert predicted(prediction, domain) == LISTEN
        assert prediction.policy_priority == 6


def test_after_a_question_mid_journey_the_bot_comes_back_to_the_journey(policy, domain) -> None:
    events = ASKED + message("product_question", "do you sell routers?") + bot("action_product_lookup")
    prediction = predict(policy, domain, events)
    assert predicted(prediction, domain) == ACTION_JOURNEY_REPROMPT
    assert (prediction.max_confidence, prediction.policy_priority) == (1.0, 6)
    # The reprompt ends the turn, and an answer to it goes to the journey.
    events += bot(ACTION_JOURNEY_REPROMPT)
    assert predicted(predict(policy, domain, events), domain) == LISTEN
    assert predicted(predict(policy, domain, events + message("affirm")), domain) == ACTION_JOURNEY_CONTINUE


def test_chitchat_and_a_misunderstood_message_also_come_back(policy, domain) -> None:
    for intent, action in (("greet", "action_greet"), ("nlu_fallback", "utter_ok")):
        events = ASKED + message(intent) + bot(action)
        assert predicted(predict(policy, domain, events), domain) == ACTION_JOURNEY_REPROMPT


def test_it_reprompts_at_most_once_per_turn(policy, domain) -> None:
    events = ASKED + message("greet") + bot("action_greet") + bot(ACTION_JOURNEY_REPROMPT) + bot("utter_ok")
    assert predicted(predict(policy, domain, events), domain) is None


def test_no_reprompt_in_the_middle_of_a_turn(policy, domain) -> None:
    events = ASKED + message("cancel_order") + bot("action_cancel_order_check")
    assert predicted(predict(policy, domain, events), domain) is None


@pytest.mark.parametrize(
    "intent, action",
    [
        ("goodbye", "utter_goodbye"),
        ("ask_human", "action_request_human"),
        ("report_problem", "utter_ok"),
        ("personalization_opt_out", "utter_ok"),
    ],
)
def test_no_reprompt_after_messages_that_start_something_else(policy, domain, intent, action) -> None:
    assert predicted(predict(policy, domain, ASKED + message(intent) + bot(action)), domain) is None


def test_no_reprompt_after_an_answer_to_the_journey(policy, domain) -> None:
    # The journey took the answer and then an ordinary action ended the turn (e.g. a follow-up action).
    events = ASKED + message("affirm") + bot("utter_ok")
    assert predicted(predict(policy, domain, events), domain) is None


@pytest.mark.parametrize("journey_events", [[], FOR_COMPANY, [SlotSet(SLOT_JOURNEY, None)]])
def test_without_a_journey_waiting_for_the_customer_it_abstains(policy, domain, journey_events) -> None:
    start = message("report_problem") + bot("action_journey_start") + journey_events
    assert predicted(predict(policy, domain, start + message("affirm")), domain) is None
    assert predicted(predict(policy, domain, start + message("greet") + bot("action_greet")), domain) is None


def test_inside_a_form_the_answers_are_the_forms(policy, domain) -> None:
    events = ASKED + [ActiveLoop("some_form")] + message("affirm")
    assert predicted(predict(policy, domain, events), domain) is None


def test_a_question_another_flow_asked_gets_the_answer_and_the_journey_comes_back_after(policy, domain) -> None:
    events = (
        ASKED
        + message("cancel_order", "cancel TD1")
        + bot("action_cancel_order_check", SlotSet("awaiting", "cancel_confirmation"))
    )
    # Turn-ending or not, there is no reprompt on top of the flow's question ...
    assert predicted(predict(policy, domain, events + bot("utter_ok")), domain) is None
    # ... its "yes" goes to the flow ...
    events += message("affirm")
    assert predicted(predict(policy, domain, events), domain) is None
    # ... and once the flow is done, the bot comes back to the journey.
    events += bot("utter_ok", SlotSet("awaiting", None))
    assert predicted(predict(policy, domain, events), domain) == ACTION_JOURNEY_REPROMPT


def combine(domain: Domain, events: list[Event], *policies) -> str | None:
    """What the ensemble runs, with the rules' action_listen at the end of a turn as in the real model."""
    tracker = tracker_of(domain, events)
    predictions = [p.predict_action_probabilities(tracker, domain) for p in policies]
    if tracker.latest_action_name != LISTEN:
        rule = PolicyPrediction.for_action_name(domain, LISTEN, "RulePolicy")
        rule.policy_priority = RULE_POLICY_PRIORITY
        predictions.append(rule)
    best = DefaultPolicyPredictionEnsemble().combine_predictions(predictions, tracker, domain)
    return predicted(best, domain)


def test_the_rules_listening_does_not_stop_the_reprompt(policy, domain) -> None:
    events = ASKED + message("greet") + bot("action_greet")
    assert combine(domain, events, policy) == ACTION_JOURNEY_REPROMPT


def test_an_offer_of_a_person_wins_over_the_reprompt_and_takes_its_answer(policy, domain, tmp_path) -> None:
    sentiment = make(SentimentPolicy, tmp_path / "sentiment", domain)
    unhappy = [
        message("product_question", "useless", "negative", -0.6) + bot("action_product_lookup") for _ in range(3)
    ]
    # Unhappy all along: a detour, an answer that did not fit, another detour.
    not_fitting = message("deny", "useless", "negative", -0.6) + bot(ACTION_JOURNEY_CONTINUE)
    events = ASKED + unhappy[0] + bot(ACTION_JOURNEY_REPROMPT) + not_fitting + unhappy[2]
    # Both want to act at the end of the third unhappy turn: the offer comes first ...
    assert predicted(predict(policy, domain, events), domain) == ACTION_JOURNEY_REPROMPT
    assert combine(domain, events, policy, sentiment) == OFFER
    # ... then the bot waits for the answer to the offer, with no reprompt ...
    events += bot(OFFER)
    assert predicted(predict(policy, domain, events), domain) is None
    assert combine(domain, events, policy, sentiment) == LISTEN
    # ... a "yes" is the offer's, not the journey's ...
    assert predicted(predict(policy, domain, events + message("affirm")), domain) is None
    # ... and after a "no, thanks" the bot comes back to the journey.
    events += message("deny") + bot("utter_offer_human_declined")
    assert combine(domain, events, policy, sentiment) == ACTION_JOURNEY_REPROMPT


def test_no_reprompt_once_a_person_was_offered_in_the_turn(policy, domain) -> None:
    events = ASKED + message("greet", "ugh", "negative", -0.9) + bot("action_greet") + bot(OFFER) + bot("utter_ok")
    assert predicted(predict(policy, domain, events), domain) is None


def test_a_trained_policy_loads_with_what_it_learned(policy, domain) -> None:
    loaded = JourneyPolicy.load(
        JourneyPolicy.get_default_config(),
        policy._model_storage,
        policy._resource,
        ExecutionContext(GraphSchema({}), "test"),
    )
    assert loaded.terminal_actions == policy.terminal_actions
    events = ASKED + message("greet") + bot("action_greet")
    assert predicted(predict(loaded, domain, events), domain) == ACTION_JOURNEY_REPROMPT


def test_a_domain_without_the_journey_actions_fails_training(tmp_path) -> None:
    bare = Domain.from_dict({"intents": ["affirm"], "slots": JOURNEY_DOMAIN["slots"]})
    with pytest.raises(InvalidConfigException, match=ACTION_JOURNEY_CONTINUE):
        make(JourneyPolicy, tmp_path, bare)


def test_a_malformed_list_in_the_config_is_refused(tmp_path) -> None:
    with pytest.raises(InvalidConfigException, match="answer_intents"):
        JourneyPolicy.create(
            {**JourneyPolicy.get_default_config(), "answer_intents": "affirm"},
            LocalModelStorage(tmp_path),
            Resource("p"),
            ExecutionContext(GraphSchema({}), "test"),
        )


def _ranked(intent: str, text: str, ranking: list[tuple]) -> list[Event]:
    parse = {
        "intent": {"name": intent, "confidence": ranking[0][1]},
        "entities": [],
        "text": text,
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
    }
    return [ActionExecuted(LISTEN), UserUttered(text, parse["intent"], [], parse_data=parse)]


def _waiting_at_instruct() -> list[Event]:
    from bot.journeys.workflows.answers import Accepts, Option
    from bot.journeys.workflows.schema import FIXED_MEANINGS, NOT_FIXED_MEANINGS

    accepts = Accepts((Option("fixed", intents=FIXED_MEANINGS), Option("lights", intents=NOT_FIXED_MEANINGS)))
    return (
        message("report_problem", "my internet is down")
        + bot("action_journey_start")
        + [SlotSet(SLOT_JOURNEY, dict(journey(), accepts=accepts.to_slot()))]
    )


def test_what_the_step_takes_is_an_answer_even_when_the_nlu_ranks_another_intent_first(policy, domain) -> None:
    """ "tried that already" at "is it working now?": report_problem ranked first, problem_persists close behind."""
    tried = _ranked("report_problem", "tried that already", [("report_problem", 0.5), ("problem_persists", 0.4)])
    assert predicted(predict(policy, domain, _waiting_at_instruct() + tried), domain) == ACTION_JOURNEY_CONTINUE
    far_behind = _ranked(
        "return_item", "what's your returns policy?", [("return_item", 0.9), ("problem_persists", 0.05)]
    )
    assert predicted(predict(policy, domain, _waiting_at_instruct() + far_behind), domain) is None


def test_a_typed_rating_answers_the_survey_the_bot_just_asked(policy, domain) -> None:
    survey = [
        ActionExecuted("action_journey_continue"),
        BotUttered(
            "How happy are you?",
            {"buttons": [{"title": "⭐⭐⭐⭐", "payload": '/rate_journey{"score": 4, "journey_id": 7}'}]},
        ),
        SlotSet(SLOT_JOURNEY, None),
    ]
    events = message("affirm", "it works") + survey
    assert predicted(predict(policy, domain, events + message("inform", "4 stars")), domain) == "action_rate_journey"
    assert (
        predicted(predict(policy, domain, events + message("thank", "pretty good thanks")), domain)
        == "action_rate_journey"
    )
    assert predicted(predict(policy, domain, events + message("order_status", "where is my order")), domain) is None
    # No survey asked: a "4" is no rating.
    assert (
        predicted(predict(policy, domain, message("greet") + bot("action_greet") + message("inform", "4")), domain)
        is None
    )


def test_it_comes_back_once_per_detour_not_after_every_turn(policy, domain) -> None:
    events = ASKED + message("product_question", "do you sell routers?") + bot("action_product_lookup")
    assert predicted(predict(policy, domain, events), domain) == ACTION_JOURNEY_REPROMPT
    events += bot(ACTION_JOURNEY_REPROMPT) + message("product_question", "and cables?") + bot("action_product_lookup")
    assert predicted(predict(policy, domain, events), domain) is None  # the customer moved on: no nagging
