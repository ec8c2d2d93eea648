"""Turns each message's sentiment into slots, and offers a person when the customer is unhappy.

Right after a user message it records the message's sentiment (from `bot.nlu.sentiment_analyzer`) in
the `sentiment` and `sentiment_score` slots, before any action runs, so responses can have empathetic
variants (conditional response variations on `sentiment`). It does this inside Rasa, so sentiment costs
no extra call to the action server. The trend (last, mean, worst, slope) is computed from the events
when needed (`bot.sentiment.trend`), not stored on every turn.

At the end of the bot's turn (after an action that the training data always follows with listening) it
predicts `utter_offer_human` (a response with yes/no buttons) when `bot.sentiment.escalation` says so, with a priority above the rule
policy; after the offer it waits for the customer. Otherwise it abstains (all zeros).

config.yml:
    - name: bot.policies.sentiment_policy.SentimentPolicy
      negative_streak: 3          # this many negative messages in a row offer a person
      very_negative_score: -0.8   # ...or one message this negative while the flow is failing
      priority: 7
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from itertools import islice
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from bot.policies.turns import (
    latest_turn_start,
    learn_terminal_actions,
    load_terminal_actions,
    save_terminal_actions,
)
from bot.sentiment.escalation import FAILURE_SLOT, EscalationRules, escalation_reason
from bot.sentiment.trend import SLOT_LABEL, SLOT_SCORE, message_sentiments

logger = logging.getLogger(__name__)

SLOT_OFFER_REASON = "handoff_offer_reason"


def _event_dicts(events: Iterable[Event]) -> Iterable[dict[str, Any]]:
    """The few event fields `bot.sentiment.trend` reads, without serialising whole events."""
    for event in events:
        if isinstance(event, UserUttered):
            yield {"event": "user", "parse_data": event.parse_data, "timestamp": event.timestamp, "text": event.text}
        elif isinstance(event, SlotSet):
            yield {"event": "slot", "name": event.key, "value": event.value}
        elif isinstance(event, BotUttered):
            yield {"event": "bot"}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class SentimentPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "priority": 7,
            "negative_streak": 3,
            "very_negative_score": -0.8,
            "offer_action": "utter_offer_human",
            # The customer is already on the way to a person: no offer after these.
            "no_offer_after": ["action_request_human"],
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
        try:
            self.rules = EscalationRules(int(config["negative_streak"]), float(config["very_negative_score"]))
        except (TypeError, ValueError) as exc:
            raise InvalidConfigException(f"SentimentPolicy: {exc}") from exc
        self.offer_action = str(config["offer_action"])
        self.no_offer_after = set(config["no_offer_after"]) | {self.offer_action}
        self.terminal_actions: set[str] = terminal_actions or set()

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        """Learn which actions end the bot's turn: in the stories and rules they are always followed by listening."""
        if self.offer_action not in domain.action_names_or_texts:
            raise InvalidConfigException(
                f"SentimentPolicy: the offer action '{self.offer_action}' is not in the domain's actions"
            )
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
    ) -> SentimentPolicy:
        terminal = load_terminal_actions(model_storage, resource)
        if terminal is None:
            logger.warning("SentimentPolicy: no trained turn-ending actions found; it will not offer a person")
        return cls(config, model_storage, resource, execution_context, terminal_actions=terminal)

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        latest_action = tracker.latest_action_name

        if latest_action == ACTION_LISTEN_NAME and isinstance(latest_turn_start(tracker), UserUttered):
            return self._prediction(probabilities, events=self._sentiment_slots(tracker))

        if latest_action == self.offer_action:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            return self._prediction(probabilities)

        reason = self._offer_reason(tracker, latest_action)
        if reason:
            probabilities[domain.index_for_action(self.offer_action)] = 1.0
            return self._prediction(probabilities, events=[SlotSet(SLOT_OFFER_REASON, reason)])
        return self._prediction(probabilities)

    @staticmethod
    def _sentiment_slots(tracker: DialogueStateTracker) -> list[Event]:
        """The message's label (when it changed) and score: few events, as every event is stored and replayed."""
        message = tracker.latest_message
        sentiment = message.parse_data.get(SLOT_LABEL) if message is not None else None
        if not sentiment or sentiment.get("label") is None:
            return []
        events: list[Event] = [SlotSet(SLOT_SCORE, sentiment.get("score"))]
        if tracker.get_slot(SLOT_LABEL) != sentiment["label"]:
            events.insert(0, SlotSet(SLOT_LABEL, sentiment["label"]))
        return events

    def _offer_reason(self, tracker: DialogueStateTracker, latest_action: str | None) -> str | None:
        if latest_action not in self.terminal_actions or latest_action in self.no_offer_after:
            return None
        # Only the messages since the last offer (or the start) count, and only one offer per turn.
        events = list(tracker.events)
        since = 0
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if isinstance(event, ActionExecuted) and event.action_name in self.no_offer_after:
                since = index + 1
                break
        recent = events[since:]
        if not any(isinstance(e, UserUttered) for e in recent):
            return None
        return escalation_reason(message_sentiments(_event_dicts(recent)), self._failing(tracker), self.rules)

    @staticmethod
    def _failing(tracker: DialogueStateTracker) -> bool:
        """An action reported a failure, or one of the last two messages was not understood."""
        if tracker.get_slot(FAILURE_SLOT):
            return True
        latest_two = islice((e for e in reversed(tracker.events) if isinstance(e, UserUttered)), 2)
        return any(e.intent_name == DEFAULT_NLU_FALLBACK_INTENT_NAME for e in latest_two)
