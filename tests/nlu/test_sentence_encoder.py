"""The sentence encoder gives the intent classifier the same embeddings in ONNX Runtime as in TensorFlow, from an
export made once per machine."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.shared.exceptions import InvalidConfigException

from bot.nlu.sentence_encoder import (
    OnnxSentenceEncoder,
    SentenceEncoderFeaturizer,
    TransformerSentenceEncoder,
    default_model_path,
    onnx_export_path,
)

TEXTS = [
    "where is my order TD123456?",
    "my wifi keeps dropping every evening, tried restarting the router twice",
    "hi",
    "",
    "refund " * 200,
]


@pytest.fixture(scope="module")
def onnx_encoder(tmp_path_factory) -> OnnxSentenceEncoder:
    return OnnxSentenceEncoder(default_model_path(), cache_dir=tmp_path_factory.mktemp("encoder-cache"))


def test_onnx_runtime_gives_the_tensorflow_embeddings(onnx_encoder):
    expected = TransformerSentenceEncoder(default_model_path()).embed(TEXTS)
    got = onnx_encoder.embed(TEXTS)
    assert got.shape == expected.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.all((got * expected).sum(axis=1) > 0.9999)  # cosine: the classifier sees the same vectors
    assert onnx_encoder.embed([]).shape == (0, 384)


def test_the_export_is_made_once_per_machine_and_reused(onnx_encoder, tmp_path_factory):
    cache = tmp_path_factory.mktemp("second-cache")
    first = OnnxSentenceEncoder(default_model_path(), cache_dir=cache)
    export = onnx_export_path(default_model_path(), cache)
    made = export.stat().st_mtime_ns
    again = OnnxSentenceEncoder(default_model_path(), cache_dir=cache)
    assert export.stat().st_mtime_ns == made and list(cache.iterdir()) == [export]  # no half-written leftovers
    assert np.allclose(first.embed(TEXTS[:2]), again.embed(TEXTS[:2]))


def test_an_unknown_runtime_is_refused_when_the_config_is_read():
    with pytest.raises(InvalidConfigException, match="runtime"):
        SentenceEncoderFeaturizer.validate_config({"runtime": "gpu-please"})
