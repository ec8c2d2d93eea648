"""The Rasa-free encoder is the NLU component's encoder: the same cached ONNX export and the same vectors, so
grouping customers' questions means what the NLU's features mean (and the component could call it instead)."""

from __future__ import annotations

import numpy as np

from bot.text_encoder import TextEncoder, default_cache_dir, default_model_path, onnx_export_path

TEXTS = ["where is my order", "Can I pay with PayPal?", "my router keeps dropping the connection every evening", "hi"]


def test_it_gives_the_nlu_components_vectors_from_the_same_export():
    from bot.nlu import sentence_encoder  # imports Rasa: only here, to compare

    model = default_model_path()
    assert onnx_export_path(model, default_cache_dir()) == sentence_encoder.onnx_export_path(
        model, sentence_encoder._default_cache_dir()
    )
    ours = TextEncoder().embed(TEXTS)
    theirs = sentence_encoder.OnnxSentenceEncoder(model).embed(TEXTS)
    assert ours.shape == (4, 384)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_similar_questions_are_close_and_unrelated_ones_far():
    v = TextEncoder().embed(["can i pay with paypal", "do you accept paypal?", "where is your london store?"])
    assert v[0] @ v[1] > 0.7
    assert v[0] @ v[2] < 0.3
