"""Sends the customer's answers to the open journey, and brings the bot back to its question after a detour.

No story can cover a workflow's steps (they are data, `workflows/`), so this policy routes around the
stories: while the journey waits for the customer (slot `journey`, set by the journey actions), an answer
runs `action_journey_continue`; a question or chitchat is left to the rules and TED, and at the end of that
turn `action_journey_reprompt` asks the journey's question again. An answer is what the waiting step takes
(the slot's `accepts`, read by `bot.journeys.workflows.answers`, the rule the workflow runner applies too:
"tried that already" answers "is it working now?" even when the NLU's first guess is another intent), or
one of `answer_intents`, which the runner then judges (and asks again when it does not fit). The bot
listens after every journey action. In every other case it abstains, so the rest of the ensemble decides.

Surveys are routed the same way: a typed answer right after the bot asked one ("4", "pretty good" to the
satisfaction question; "7", "very easy", "9/10", "probably not" to the effort or recommend one, read by
`bot.surveys.answers`) goes to that survey's action whatever the NLU made of it; a question or anything else is
left to the rest, and the survey's buttons still work afterwards.

Two priorities, so that it never fights SentimentPolicy (7): answers are taken with `priority` (8, above
everything, as SentimentPolicy predicts no action right after a message); the end-of-turn predictions
(listening after a journey action, the reprompt) use `turn_end_priority` (6): above RulePolicy (4), so they
beat the rules' `action_listen`, and below SentimentPolicy, so when it offers a person that turn the offer
wins and there is no reprompt.

The journey's question is not always the latest one: when the bot's previous turn asked something of its
own (an offer of a person, `no_reprompt_after`; or a flow's question, marked by setting `awaiting`,
`other_question_slots`), the next yes/no answers that, and the journey comes back once that flow is done.

config.yml:
    - name: bot.policies.journey_policy.JourneyPolicy
      priority: 8
      turn_end_priority: 6
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from bot import payloads
from bot.journeys.ratings import read_rating
from bot.journeys.types import UserInput
from bot.journeys.workflows.answers import Accepts
from bot.policies.turns import (
    Turn,
    latest_turn,
    latest_turn_start,
    learn_terminal_actions,
    load_terminal_actions,
    save_terminal_actions,
)
from bot.surveys.answers import read_answer

logger = logging.getLogger(__name__)

SLOT_JOURNEY = "journey"
ACTION_JOURNEY_START = "action_journey_start"
ACTION_JOURNEY_CONTINUE = "action_journey_continue"
ACTION_JOURNEY_REPROMPT = "action_journey_reprompt"
ACTION_RATE_JOURNEY = "action_rate_journey"
SURVEY_INTENT = "rate_journey"  # the survey's buttons: `/rate_journey{"score": 4, "journey_id": 7}`
ACTION_ANSWER_SURVEY = "action_answer_survey"
# The CES and NPS surveys' buttons: `/answer_survey{"survey_id": 12, "survey_kind": "ces", "score": 6}`.
ANSWER_SURVEY_INTENT = "answer_survey"
SURVEY_INTENTS = frozenset({SURVEY_INTENT, ANSWER_SURVEY_INTENT})
# The journey actions: each ends the bot's turn (it asks or tells something), and no story covers them.
JOURNEY_ACTIONS = frozenset(
    {
        ACTION_JOURNEY_START,
        ACTION_JOURNEY_CONTINUE,
        ACTION_JOURNEY_REPROMPT,
        "action_journey_follow_up",
        "action_list_journeys",
        "action_close_journey",
        ACTION_RATE_JOURNEY,
        ACTION_ANSWER_SURVEY,  # not a journey's, but it ends the turn the same way and no story covers a typed answer
    }
)
_LIST_OPTIONS = ("answer_intents", "no_reprompt_intents", "no_reprompt_after", "other_question_slots")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class JourneyPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "priority": 8,
            "turn_end_priority": 6,
            # Messages that answer the journey's pending question.
            "answer_intents": ["affirm", "deny", "inform", "workflow_answer"],
            # Messages that start something of their own (another issue, a person, the journeys' own
            # commands, a goodbye): the bot does not come back to the question after them.
            "no_reprompt_intents": [
                "goodbye",
                "ask_human",
                "list_issues",
                "close_issue",
                "resume_issue",
                "rate_journey",
                "answer_survey",
                "journey_follow_up",
                "report_problem",
                "delivery_problem",
                "return_item",
                "billing_question",
                "personalization_opt_in",
                "personalization_opt_out",
            ],
            # After these the bot asked its own question or handed over: no reprompt, and the next
            # yes/no answers them, not the journey. SentimentPolicy's offer must be one of them.
            "no_reprompt_after": ["utter_offer_human", "utter_other_language", "action_request_human", "utter_goodbye"],
            # Slots another flow sets when it asks its own question (which order? cancel it?): in the turn
            # it sets one there is no reprompt, and the next message answers that flow, not the journey.
            "other_question_slots": ["awaiting"],
        }

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        terminal_actions: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context)
        for option in _LIST_OPTIONS:
            if not isinstance(config[option], list) or not all(isinstance(n, str) for n in config[option]):
                raise InvalidConfigException(f"JourneyPolicy: '{option}' must be a list of names")
        try:
            self.turn_end_priority = int(config["turn_end_priority"])
        except (TypeError, ValueError) as exc:
            raise InvalidConfigException(f"JourneyPolicy: turn_end_priority: {exc}") from exc
        self.answer_intents = frozenset(config["answer_intents"])
        self.no_reprompt_intents = frozenset(config["no_reprompt_intents"])
        self.no_reprompt_after = frozenset(config["no_reprompt_after"])
        self.other_question_slots = frozenset(config["other_question_slots"])
        self.terminal_actions: set[str] = terminal_actions or set()

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        """Learn which actions end the bot's turn, after checking the domain has what the policy predicts."""
        predicted = (ACTION_JOURNEY_CONTINUE, ACTION_JOURNEY_REPROMPT)
        missing = [action for action in predicted if action not in domain.action_names_or_texts]
        if missing:
            raise InvalidConfigException(f"JourneyPolicy: the domain lacks the actions {missing}")
        if SLOT_JOURNEY not in {slot.name for slot in domain.slots}:
            raise InvalidConfigException(f"JourneyPolicy: the domain lacks the slot '{SLOT_JOURNEY}'")
        self.terminal_actions = learn_terminal_actions(training_trackers)
        save_terminal_actions(self._model_storage, self._resource, self.terminal_actions)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> JourneyPolicy:
        terminal = load_terminal_actions(model_storage, resource)
        if terminal is None:
            logger.warning("JourneyPolicy: no trained turn-ending actions found; it will not reprompt")
        return cls(config, model_storage, resource, execution_context, terminal_actions=terminal)

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        latest_action = tracker.latest_action_name
        if latest_action in JOURNEY_ACTIONS:
            return self._predict(domain, ACTION_LISTEN_NAME, self.turn_end_priority)
        survey_action = self._survey_answered(tracker) if latest_action == ACTION_LISTEN_NAME else None
        if survey_action is not None:
            return self._predict(domain, survey_action, self.priority)
        # Inside a form the answers are the form's, and so is the next question.
        if not waiting_for_customer(tracker) or tracker.active_loop_name:
            return self._abstain(domain)
        turn = latest_turn(tracker)
        if turn is None:
            return self._abstain(domain)

        accepts = Accepts.from_slot((tracker.get_slot(SLOT_JOURNEY) or {}).get("accepts"))
        if latest_action == ACTION_LISTEN_NAME and isinstance(latest_turn_start(tracker), UserUttered):
            if self._answers_journey(turn, accepts):
                return self._predict(domain, ACTION_JOURNEY_CONTINUE, self.priority)
            return self._abstain(domain)

        if self._reprompts(turn, latest_action, accepts):
            return self._predict(domain, ACTION_JOURNEY_REPROMPT, self.turn_end_priority)
        return self._abstain(domain)

    def _survey_answered(self, tracker: DialogueStateTracker) -> str | None:
        """The survey action that takes a typed answer to the survey the bot asked right before: a rating ("4",
        "four stars", "pretty good") or an effort or recommend score ("7", "very easy", "9/10"), or words the NLU
        took for an answer to some survey. None for anything else, and for a tapped button (it goes by its rule)."""
        turn = latest_turn(tracker)
        if turn is None or not isinstance(latest_turn_start(tracker), UserUttered):
            return None
        text, intent = turn.message.text, turn.message.intent_name
        if payloads.is_payload(text):
            return None
        asked = payloads.offered([e.as_dict() for e in turn.answered if isinstance(e, BotUttered)])
        for offer in asked:
            if offer.intent == SURVEY_INTENT and (intent in SURVEY_INTENTS or read_rating(text) is not None):
                return ACTION_RATE_JOURNEY
            if offer.intent == ANSWER_SURVEY_INTENT and (
                intent in SURVEY_INTENTS or read_answer(offer.value("survey_kind") or "", text) is not None
            ):
                return ACTION_ANSWER_SURVEY
        return None

    def _answers_journey(self, turn: Turn, accepts: Accepts | None) -> bool:
        """What the step takes, or an answer intent; unless the bot asked its own question (an offer of a
        person, which order?) last."""
        if self._asks_other_question(turn.answered):
            return False
        if turn.message.intent_name in self.answer_intents:
            return True
        return accepts is not None and accepts.answered_by(UserInput.from_parse_data(turn.message.parse_data))

    def _reprompts(self, turn: Turn, latest_action: str | None, accepts: Accepts | None) -> bool:
        return (
            latest_action in self.terminal_actions
            and turn.message.intent_name not in self.no_reprompt_intents
            and not self._answers_journey(turn, accepts)
            # Once per turn, not after the journey spoke itself, and never on top of another question.
            and not turn.ran_any(JOURNEY_ACTIONS)
            # Once per detour: a customer who moved on after the bot came back to its question is not nagged.
            and not any(
                isinstance(e, ActionExecuted) and e.action_name == ACTION_JOURNEY_REPROMPT for e in turn.answered
            )
            and not self._asks_other_question(turn.events)
        )

    def _asks_other_question(self, events: list[Event]) -> bool:
        """The bot asked something of its own, or handed over, in these events."""
        return any(
            (isinstance(e, ActionExecuted) and e.action_name in self.no_reprompt_after)
            or (isinstance(e, SlotSet) and e.key in self.other_question_slots and e.value is not None)
            for e in events
        )

    def _predict(self, domain: Domain, action: str, priority: int) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        probabilities[domain.index_for_action(action)] = 1.0
        return PolicyPrediction(probabilities, self.__class__.__name__, priority)

    def _abstain(self, domain: Domain) -> PolicyPrediction:
        return self._prediction(self._default_predictions(domain))


def waiting_for_customer(tracker: DialogueStateTracker) -> bool:
    """The journey in the slot has asked the customer something and waits for the answer."""
    journey = tracker.get_slot(SLOT_JOURNEY)
    return isinstance(journey, dict) and journey.get("waiting_for_customer") is True
