"""Serving a sentiment model: any Hugging Face sequence-classification model, or its ONNX export.

Tandem's default model (see `training.py`) is served through ONNX Runtime, a few ms per message on one
core. Any other model folder or hub id (where the hub is reachable) is served through transformers with
PyTorch; its labels are mapped onto negative / neutral / positive (`labels.map_labels`).
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.sentiment.data import normalize_text
from bot.sentiment.labels import NEGATIVE, POLARITIES, POSITIVE, LabelMappingError, map_labels

METADATA_FILE = "tandem-sentiment.json"


class SentimentModelError(ValueError):
    """A sentiment model cannot be loaded or used; the message says what to fix."""


@dataclass(frozen=True)
class SentimentResult:
    """One message's sentiment.

    `score` is the polarity, P(positive) - P(negative), from -1 (very negative) to 1 (very positive);
    it is what trends and escalation thresholds use. `confidence` is the probability of `label`.
    """

    label: str
    confidence: float
    score: float
    probabilities: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "score": round(self.score, 4),
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
        }


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class SentimentModel(ABC):
    """Texts in, polarity-mapped results out."""

    def __init__(self, model_labels: Sequence[str], label_mapping: Mapping[str, str] | None, max_length: int):
        try:
            self.labels = map_labels(model_labels, label_mapping)
        except LabelMappingError as exc:
            raise SentimentModelError(str(exc)) from exc
        self.max_length = max_length

    @abstractmethod
    def _logits(self, texts: list[str]) -> np.ndarray:
        """Raw model outputs, one row per text."""

    def predict(self, text: str) -> SentimentResult:
        return self.predict_batch([text])[0]

    def predict_batch(self, texts: Sequence[str], batch_size: int = 32) -> list[SentimentResult]:
        cleaned = [normalize_text(t) or "." for t in texts]
        results: list[SentimentResult] = []
        for start in range(0, len(cleaned), batch_size):
            probabilities = _softmax(self._logits(cleaned[start : start + batch_size]).astype(np.float64))
            results.extend(self._result(row) for row in probabilities)
        return results

    def _result(self, row: np.ndarray) -> SentimentResult:
        by_polarity = {polarity: 0.0 for polarity in POLARITIES}
        for index, polarity in self.labels.items():
            by_polarity[polarity] += float(row[index])
        label = max(by_polarity, key=by_polarity.__getitem__)
        return SentimentResult(
            label=label,
            confidence=by_polarity[label],
            score=by_polarity[POSITIVE] - by_polarity[NEGATIVE],
            probabilities=by_polarity,
        )


def _id2label(config_path: Path) -> list[str]:
    try:
        config = json.loads(config_path.read_text())
        id2label = config["id2label"]
        return [str(id2label[str(i)]) for i in range(len(id2label))]
    except (OSError, ValueError, KeyError) as exc:
        raise SentimentModelError(f"{config_path}: not a readable Hugging Face config with id2label ({exc})") from exc


class OnnxSentimentModel(SentimentModel):
    """An ONNX export beside its Hugging Face config and tokenizer (Tandem's default layout)."""

    def __init__(
        self,
        folder: Path,
        onnx_file: str | None = None,
        label_mapping: Mapping[str, str] | None = None,
        threads: int = 1,
        max_length: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        metadata = read_metadata(folder)
        relative = onnx_file or metadata.get("onnx_file")
        if not relative:
            raise SentimentModelError(f"{folder}: no ONNX file named (set `onnx_file` or add {METADATA_FILE})")
        path = folder / relative
        if not path.exists():
            raise SentimentModelError(f"{folder}: the ONNX file {relative} is missing")
        super().__init__(
            _id2label(folder / "config.json"), label_mapping, int(max_length or metadata.get("max_length") or 128)
        )
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(folder))
        except Exception as exc:  # transformers raises many types for a broken tokenizer
            raise SentimentModelError(f"{folder}: cannot load the tokenizer ({exc})") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own unexported exception types
            raise SentimentModelError(f"{path}: not a loadable ONNX model ({exc})") from exc
        self._inputs = [i.name for i in self._session.get_inputs()]
        outputs = self._logits(["warm up"]).shape[1]
        if outputs != len(self.labels):
            raise SentimentModelError(f"{path} has {outputs} outputs but its config names {len(self.labels)} labels")

    def _logits(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
        feed = {name: encoded[name].astype(np.int64) for name in self._inputs if name in encoded}
        if "token_type_ids" in self._inputs and "token_type_ids" not in feed:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        return self._session.run(None, feed)[0]


class TransformersSentimentModel(SentimentModel):
    """Any `AutoModelForSequenceClassification` (a local folder, or a hub id where the hub is reachable)."""

    def __init__(
        self, name_or_path: str, label_mapping: Mapping[str, str] | None = None, max_length: int = 128
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(name_or_path)
            self._model = AutoModelForSequenceClassification.from_pretrained(name_or_path).eval()
        except Exception as exc:  # OSError, ValueError, safetensors errors...
            raise SentimentModelError(
                f"cannot load a sequence-classification model from '{name_or_path}' ({exc}). "
                "Offline, give a local folder; hub ids need HF_HUB_OFFLINE=0 and network access."
            ) from exc
        config = self._model.config
        super().__init__([config.id2label[i] for i in range(config.num_labels)], label_mapping, max_length)
        self._torch = torch

    def save(self, directory: Path) -> None:
        """Write the model and tokenizer as a Hugging Face folder (e.g. into the trained Rasa model)."""
        self._model.save_pretrained(str(directory), safe_serialization=True)
        self._tokenizer.save_pretrained(str(directory))

    def _logits(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        with self._torch.inference_mode():
            return self._model(**encoded).logits.numpy()


def read_metadata(folder: Path) -> dict[str, Any]:
    path = folder / METADATA_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise SentimentModelError(f"{path} is corrupt ({exc})") from exc


def describe(folder: Path) -> str:
    """One line for people: which build a folder holds and how well it did on its held-out tweets."""
    metadata = read_metadata(folder)
    recipe = (metadata.get("recipe") or {}).get("name")
    if not recipe:
        return str(folder)
    served = metadata.get("onnx_file", "")
    variant = next((name for name, file in (metadata.get("onnx_files") or {}).items() if file == served), None)
    scores = (metadata.get("held_out") or {}).get(variant or "", {})
    if "macro_f1" not in scores:
        return f"'{recipe}'"
    return f"'{recipe}' (held-out macro-F1 {scores['macro_f1']:.2f}, accuracy {scores['accuracy']:.2f})"


def model_signature(source: str | os.PathLike[str]) -> str:
    """Changes whenever the model behind `source` changes (file names, sizes, times); cheap, no hashing of weights."""
    path = Path(source)
    if not path.is_dir():
        return str(source)
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return str(path) + "|" + "|".join(f"{p.relative_to(path)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)


def is_onnx_folder(folder: Path, onnx_file: str | None = None) -> bool:
    if onnx_file:
        return True
    return bool(read_metadata(folder).get("onnx_file"))


def load_sentiment_model(
    source: str | os.PathLike[str],
    label_mapping: Mapping[str, str] | None = None,
    onnx_file: str | None = None,
    threads: int = 1,
) -> SentimentModel:
    """ONNX Runtime for folders with an ONNX export (Tandem's own builds), transformers otherwise."""
    path = Path(source)
    if path.is_dir():
        if is_onnx_folder(path, onnx_file):
            return OnnxSentimentModel(path, onnx_file, label_mapping, threads)
        if not (path / "config.json").exists():
            raise SentimentModelError(f"{path} is not a Hugging Face model folder (no config.json)")
        return TransformersSentimentModel(str(path), label_mapping)
    if path.exists():
        raise SentimentModelError(f"{path} is a file; give the model's folder")
    text = str(source)
    if text.startswith((".", "/", "~")) or text.count("/") > 1:
        raise SentimentModelError(f"sentiment model folder {path} does not exist")
    # Otherwise a hub id such as cardiffnlp/twitter-roberta-base-sentiment-latest.
    return TransformersSentimentModel(text, label_mapping)
