"""Labels every user message negative, neutral or positive, with a score, from a transformers model.

The result is part of the parse data (`sentiment` in `/model/parse`, and so in every `user` event of the
tracker store); `bot.policies.sentiment_policy` turns it into slots and escalation. It is deliberately not
an entity: an entity without a span would fail every text-based conversation test (`rasa test`).

Configuration (config.yml):
    model: default        # Tandem's own build (`tandem sentiment build`), or a folder, or a hub id
    labels: {}            # model label -> negative/neutral/positive, for models with other label names
    onnx_file: null       # serve this ONNX export inside `model` instead of transformers/PyTorch
    threads: 1            # ONNX Runtime threads per message; 1 keeps concurrent requests fair

The model files are copied into the trained Rasa model, so any Rasa instance serving it needs nothing
else; configuration mistakes fail `rasa train` (or the server's start) with a message saying what to fix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.sentiment.model import (
    METADATA_FILE,
    SentimentModel,
    SentimentModelError,
    load_sentiment_model,
    model_signature,
    read_metadata,
)

logger = logging.getLogger(__name__)

SENTIMENT = "sentiment"
DEFAULT_MODEL = "default"
_SOURCE_FILE = "source.json"
# What an ONNX build needs at serving time; the PyTorch weights and other exports stay behind.
_SERVING_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "merges.txt",
    "special_tokens_map.json",
    "vocab.json",
    "sentencepiece.bpe.model",
    METADATA_FILE,
)


def resolve_model(configured: str | None) -> str:
    """The model a config names: `default` means Tandem's build for this machine (bot.sentiment.defaults)."""
    if configured in (None, "", DEFAULT_MODEL):
        from bot.sentiment.defaults import default_model_path

        return str(default_model_path())
    return str(configured)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class SentimentAnalyzer(GraphComponent):
    """Adds `sentiment: {label, confidence, score, probabilities}` to each message's parse data."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"model": DEFAULT_MODEL, "labels": {}, "onnx_file": None, "threads": 1}

    @classmethod
    def required_packages(cls) -> list[str]:
        return ["transformers", "onnxruntime"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when the model behind `model` changes, even if config.yml does not."""
        try:
            source = resolve_model(config.get("model"))
        except SentimentModelError as exc:
            return f"unresolved:{exc}"
        return hashlib.sha256(model_signature(source).encode()).hexdigest()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: SentimentModel | None = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentimentAnalyzer:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Check the configured model loads and maps its labels, then copy it into the Rasa model."""
        source = self._resolve()
        model = self._load(source)
        with self._model_storage.write_to(self._resource) as directory:
            path = Path(source)
            onnx_file = None
            if path.is_dir():
                onnx_file = self._config.get("onnx_file") or read_metadata(path).get("onnx_file")
            if onnx_file:
                for name in _SERVING_FILES:
                    if (path / name).exists():
                        shutil.copy2(path / name, directory / name)
                target = directory / onnx_file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path / onnx_file, target)
            else:
                model.save(directory)  # type: ignore[attr-defined]
            (directory / _SOURCE_FILE).write_text(json.dumps({"model": source, "onnx_file": onnx_file}))
        self._model = model
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentimentAnalyzer:
        try:
            with model_storage.read_from(resource) as directory:
                source = json.loads((directory / _SOURCE_FILE).read_text())
                model = load_sentiment_model(
                    directory, config.get("labels"), source.get("onnx_file"), int(config.get("threads", 1))
                )
        except (ValueError, OSError, SentimentModelError) as exc:
            raise InvalidConfigException(
                f"SentimentAnalyzer: the sentiment model inside the trained Rasa model cannot be loaded "
                f"({exc}). Retrain with `rasa train`."
            ) from exc
        return cls(config, model_storage, resource, model)

    def _resolve(self) -> str:
        try:
            return resolve_model(self._config.get("model"))
        except SentimentModelError as exc:
            raise InvalidConfigException(f"SentimentAnalyzer: {exc}") from exc

    def _load(self, source: str) -> SentimentModel:
        try:
            return load_sentiment_model(
                source, self._config.get("labels"), self._config.get("onnx_file"), int(self._config["threads"])
            )
        except SentimentModelError as exc:
            raise InvalidConfigException(f"SentimentAnalyzer (model: {source}): {exc}") from exc

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:
            raise InvalidConfigException("SentimentAnalyzer was used before it was trained or loaded.")
        texts = [m.get(TEXT) for m in messages]
        # Button payloads ("/affirm") are clicks, not the customer's words.
        indexed = [(i, t) for i, t in enumerate(texts) if isinstance(t, str) and t.strip() and not t.startswith("/")]
        if not indexed:
            return messages
        results = self._model.predict_batch([t for _, t in indexed])
        for (index, _), result in zip(indexed, results):
            messages[index].set(SENTIMENT, result.as_dict(), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Training examples need no sentiment: nothing downstream learns from it.
        return training_data
