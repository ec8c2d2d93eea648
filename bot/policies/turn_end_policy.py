"""Listens after an action that always ends the bot's turn, so the turn never ends in Rasa's fallback.

Stories and rules follow some actions with listening every time (`turns.learn_terminal_actions`): an answer
to "where is my order?", a confirmed cancellation. When the conversation reaches such an action by a way no
rule spells out (an order number typed on its own, a second "cancel it" as the yes), RulePolicy has no rule
to finish the turn and TED may be unsure, and RulePolicy then answers "Sorry, I'm not sure how to help" after
a perfectly good answer. This policy predicts listening there, with full confidence and the lowest priority:
any rule, the sentiment policy's offer or the journey's reprompt (equal confidence, higher priority) still
win, and so does anything the ensemble is surer of.

config.yml:
    - name: bot.policies.turn_end_policy.TurnEndPolicy
      priority: 2
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
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.policies.turns import learn_terminal_actions, load_terminal_actions, save_terminal_actions

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class TurnEndPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 2}

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
        self.terminal_actions: set[str] = terminal_actions or set()

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
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
    ) -> TurnEndPolicy:
        terminal = load_terminal_actions(model_storage, resource)
        if terminal is None:
            logger.warning("TurnEndPolicy: no trained turn-ending actions found; it will abstain")
        return cls(config, model_storage, resource, execution_context, terminal_actions=terminal)

    def predict_action_probabilities(
        self, tracker: DialogueStateTracker, domain: Domain, rule_only_data: dict[str, Any] | None = None, **kwargs: Any
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if tracker.latest_action_name in self.terminal_actions:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities)
