"""Rasa NLU component: a message in a language Tandem recognises but does not speak (bot/language.py).

It runs last in the pipeline and, when sure, replaces the English classifier's guess, which on foreign text is
noise: a request for a person becomes `ask_human`, a bare "sí" / "oui" `affirm` (the answer to the offer of a
person), a thanks-and-goodbye ("merci, au revoir") `goodbye`, anything else `other_language`, answered honestly in English with that offer (data/rules/handoff.yml). The
language is in the parse data under `language`.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.language import LanguageDetector as Detector
from bot.language import load_languages

LANGUAGE = "language"
OTHER_LANGUAGE_INTENT = "other_language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageDetector(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def required_packages(cls) -> list[str]:
        return ["langid", "spacy"]

    def __init__(self, detector: Detector | None = None) -> None:
        self._detector = detector or Detector(load_languages())

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or text.startswith("/"):  # a button's payload is no language
                continue
            detected = self._detector.detect(text)
            if detected is None:
                continue
            message.set(LANGUAGE, detected.as_dict(), add_to_output=True)
            intent = (
                "ask_human"
                if detected.asks_for_person
                else "affirm"
                if detected.says_yes
                else "goodbye"
                if detected.says_goodbye
                else OTHER_LANGUAGE_INTENT
            )
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != intent]
            message.set(INTENT, {"name": intent, "confidence": 1.0}, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": 1.0}, *ranking], add_to_output=True)
        return messages
