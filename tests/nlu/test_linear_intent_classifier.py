"""The intent classifier learns from dense and sparse sentence features, weighs n-grams that every message has
less than distinctive ones (TF-IDF), and keeps what it learnt across a save and load."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_intent_classifier import LinearIntentClassifier

# Sparse columns: 0 is an n-gram every message has ("my"), 1-3 mark the intents, 4 is noise.
VOCABULARY = 5


def message(text: str, counts: dict[int, int], dense: list[float], intent: str | None = None) -> Message:
    data = {TEXT: text}
    if intent:
        data["intent"] = intent
    msg = Message(data=data)
    row = sp.coo_matrix((list(counts.values()), ([0] * len(counts), list(counts.keys()))), shape=(1, VOCABULARY))
    msg.add_features(Features(row, "sentence", TEXT, "CountVectorsFeaturizer"))
    msg.add_features(Features(np.array([dense], dtype=np.float32), "sentence", TEXT, "SentenceEncoderFeaturizer"))
    return msg


def training_data() -> TrainingData:
    examples = []
    for i in range(6):
        examples.append(message(f"track {i}", {0: 3, 1: 1}, [1.0, 0.1 * i], "order_status"))
        examples.append(message(f"refund {i}", {0: 3, 2: 1}, [0.1 * i, 1.0], "refund"))
        examples.append(message(f"hello {i}", {0: 3, 3: 1, 4: i % 2}, [0.5, 0.5], "greet"))
    return TrainingData(examples)


@pytest.fixture
def storage(tmp_path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def classifier(storage, **config) -> LinearIntentClassifier:
    return LinearIntentClassifier.create(
        {**LinearIntentClassifier.get_default_config(), **config}, storage, Resource("intent"), ExecutionContext(None)
    )


@pytest.mark.parametrize("idf", [False, True])
def test_it_learns_the_intents_and_ranks_them(storage, idf):
    model = classifier(storage, sparse_idf=idf)
    model.train(training_data())
    [parsed] = model.process([message("where is it", {0: 3, 1: 1}, [0.9, 0.2])])
    assert parsed.get("intent")["name"] == "order_status"
    assert [r["name"] for r in parsed.get("intent_ranking")][0] == "order_status"
    assert abs(sum(r["confidence"] for r in parsed.get("intent_ranking")) - 1.0) < 1e-5


@pytest.mark.parametrize("idf", [False, True])
def test_a_message_without_tokens_gets_an_intent_not_an_error(storage, idf):
    """Only spaces: the sentence encoder still gives a vector, the n-gram featurizer nothing at all."""
    model = classifier(storage, sparse_idf=idf)
    model.train(training_data())
    blank = Message(data={TEXT: "   "})
    blank.add_features(
        Features(np.array([[0.9, 0.2]], dtype=np.float32), "sentence", TEXT, "SentenceEncoderFeaturizer")
    )
    [parsed] = model.process([blank])
    assert parsed.get("intent")["name"] == "order_status"  # the dense features alone decide


def test_a_message_without_a_sentence_vector_gets_an_intent_not_an_error(storage):
    """Only spaces, the other way round: n-gram features (all zero) but no sentence vector."""
    model = classifier(storage)
    model.train(training_data())
    blank = Message(data={TEXT: "   "})
    blank.add_features(Features(sp.coo_matrix((1, VOCABULARY)), "sentence", TEXT, "CountVectorsFeaturizer"))
    [parsed] = model.process([blank])
    assert parsed.get("intent")["name"] in {"order_status", "refund", "greet"}


def test_tf_idf_weighs_an_ngram_every_message_has_least(storage):
    model = classifier(storage, sparse_idf=True)
    model.train(training_data())
    assert model.idf[0] == model.idf.min() and model.idf[4] > model.idf[1]  # rarer columns weigh more
    weighted = model._tf_idf(sp.csr_matrix(np.array([[3, 1, 0, 0, 0]], dtype=float))).toarray()[0]
    assert weighted[0] / weighted[1] < 3  # three "my" count less than three times one "track"


def test_what_it_learnt_survives_a_save_and_load(storage):
    model = classifier(storage, sparse_idf=True)
    model.train(training_data())
    loaded = LinearIntentClassifier.load(
        {**LinearIntentClassifier.get_default_config(), "sparse_idf": True},
        storage,
        Resource("intent"),
        ExecutionContext(None),
    )
    probe = [message("refund please", {0: 3, 2: 1}, [0.2, 0.9])]
    assert np.allclose(loaded.idf, model.idf)
    assert np.allclose(loaded.predict_proba(probe), model.predict_proba(probe))
