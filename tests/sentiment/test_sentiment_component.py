"""The NLU component with a real (small) fine-tuned model: output, persistence, and configuration errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.sentiment_analyzer import SentimentAnalyzer
from bot.sentiment.model import OnnxSentimentModel, TransformersSentimentModel, load_sentiment_model
from tests.support.rasa_model import small_sentiment_model

pytestmark = pytest.mark.slow

CLEARLY = {
    "negative": ["this is terrible, my flight was cancelled and nobody helps", "worst service ever, I'm furious"],
    "positive": ["thank you so much, you were amazing!", "great service, love it, thanks"],
}


@pytest.fixture(scope="module")
def small_model() -> Path:
    return small_sentiment_model()


def component(tmp_path: Path, **config: Any) -> SentimentAnalyzer:
    (tmp_path / "storage").mkdir(exist_ok=True)
    storage = LocalModelStorage(tmp_path / "storage")
    return SentimentAnalyzer.create(
        {**SentimentAnalyzer.get_default_config(), **config},
        storage,
        Resource("sentiment"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def reload(trained: SentimentAnalyzer, **config: Any) -> SentimentAnalyzer:
    return SentimentAnalyzer.load(
        {**SentimentAnalyzer.get_default_config(), **config},
        trained._model_storage,
        trained._resource,
        ExecutionContext(GraphSchema({}), "test"),
    )


def parse(analyzer: SentimentAnalyzer, text: str) -> dict[str, Any]:
    message = Message(data={"text": text})
    analyzer.process([message])
    return message.as_dict(only_output_properties=True)


def test_every_message_gets_a_label_and_score_in_the_parse_output(tmp_path, small_model) -> None:
    analyzer = component(tmp_path, model=str(small_model))
    analyzer.train(TrainingData())
    output = parse(analyzer, "where is my parcel")
    sentiment = output["sentiment"]
    assert sentiment["label"] in {"negative", "neutral", "positive"}
    assert -1.0 <= sentiment["score"] <= 1.0
    assert sentiment["confidence"] == pytest.approx(sentiment["probabilities"][sentiment["label"]], abs=1e-3)
    assert sum(sentiment["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)


def test_the_trained_model_reads_clear_moods_right_after_a_reload(tmp_path, small_model) -> None:
    trained = component(tmp_path, model=str(small_model))
    trained.train(TrainingData())
    loaded = reload(trained)
    for label, texts in CLEARLY.items():
        for text in texts:
            assert parse(loaded, text)["sentiment"]["label"] == label, text
    assert (
        parse(loaded, CLEARLY["negative"][0])["sentiment"]["score"]
        < parse(loaded, CLEARLY["positive"][0])["sentiment"]["score"]
    )


def test_the_rasa_model_carries_only_what_serving_needs(tmp_path, small_model) -> None:
    trained = component(tmp_path, model=str(small_model))
    trained.train(TrainingData())
    with trained._model_storage.read_from(trained._resource) as directory:
        names = {p.name for p in Path(directory).rglob("*") if p.is_file()}
    served = Path(json.loads((small_model / "tandem-sentiment.json").read_text())["onnx_file"]).name
    assert served in names
    assert not names & ({"model.safetensors", "model.onnx", "model_quantized.onnx"} - {served})
    assert "config.json" in names and "tokenizer.json" in names


def test_button_payloads_and_empty_texts_get_no_sentiment(tmp_path, small_model) -> None:
    analyzer = component(tmp_path, model=str(small_model))
    analyzer.train(TrainingData())
    assert "sentiment" not in parse(analyzer, "/affirm")
    assert "sentiment" not in parse(analyzer, "   ")


def test_a_missing_model_folder_fails_training_with_a_clear_message(tmp_path) -> None:
    analyzer = component(tmp_path, model=str(tmp_path / "no-such-model"))
    with pytest.raises(InvalidConfigException, match="does not exist"):
        analyzer.train(TrainingData())


def test_the_default_model_unbuilt_says_how_to_build_it(tmp_path, monkeypatch) -> None:
    from bot.settings import get_settings

    monkeypatch.delenv("TANDEM_SENTIMENT_MODEL", raising=False)
    monkeypatch.setenv("TANDEM_MODELS_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    try:
        with pytest.raises(InvalidConfigException, match="tandem sentiment build"):
            component(tmp_path, model="default").train(TrainingData())
    finally:
        get_settings.cache_clear()


def relabelled_copy(small_model: Path, tmp_path: Path, labels: list) -> Path:
    copy = tmp_path / "relabelled"
    shutil.copytree(small_model, copy)
    config = json.loads((copy / "config.json").read_text())
    config["id2label"] = {str(i): label for i, label in enumerate(labels)}
    config["label2id"] = {label: i for i, label in enumerate(labels)}
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def test_unknown_labels_fail_training_and_a_mapping_fixes_them(tmp_path, small_model) -> None:
    model = relabelled_copy(small_model, tmp_path, ["LABEL_0", "LABEL_1", "LABEL_2"])
    with pytest.raises(InvalidConfigException, match="LABEL_0"):
        component(tmp_path, model=str(model)).train(TrainingData())
    with pytest.raises(InvalidConfigException, match="not polarities"):
        component(tmp_path, model=str(model), labels={"LABEL_0": "furious"}).train(TrainingData())
    mapped = component(
        tmp_path, model=str(model), labels={"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"}
    )
    mapped.train(TrainingData())
    assert (
        parse(
            reload(mapped, labels={"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"}),
            CLEARLY["positive"][0],
        )["sentiment"]["label"]
        == "positive"
    )


def test_a_corrupt_onnx_file_fails_training(tmp_path, small_model) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(small_model, broken)
    served = json.loads((broken / "tandem-sentiment.json").read_text())["onnx_file"]
    (broken / served).write_bytes(b"not an onnx model")
    with pytest.raises(InvalidConfigException, match="not a loadable ONNX model"):
        component(tmp_path, model=str(broken)).train(TrainingData())


def test_a_corrupt_file_inside_the_trained_model_fails_at_start(tmp_path, small_model) -> None:
    trained = component(tmp_path, model=str(small_model))
    trained.train(TrainingData())
    with trained._model_storage.write_to(trained._resource) as directory:
        (Path(directory) / "config.json").write_text("{ not json")
    with pytest.raises(InvalidConfigException, match="Retrain"):
        reload(trained)


def test_a_plain_hugging_face_folder_is_served_by_transformers(tmp_path, small_model) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(small_model, plain, ignore=shutil.ignore_patterns("onnx", "tandem-sentiment.json"))
    model = load_sentiment_model(plain)
    assert isinstance(model, TransformersSentimentModel)
    onnx = load_sentiment_model(small_model)
    assert isinstance(onnx, OnnxSentimentModel)
    texts = CLEARLY["negative"] + CLEARLY["positive"]
    assert [r.label for r in model.predict_batch(texts)] == [r.label for r in onnx.predict_batch(texts)]
    # ...and the component copies it into the Rasa model with save_pretrained.
    analyzer = component(tmp_path, model=str(plain))
    analyzer.train(TrainingData())
    assert parse(reload(analyzer), CLEARLY["negative"][1])["sentiment"]["label"] == "negative"


def test_a_huge_message_is_truncated_not_refused(tmp_path, small_model) -> None:
    # The channel refuses over 5,000 characters, but /model/parse and other channels may pass anything.
    analyzer = component(tmp_path, model=str(small_model))
    analyzer.train(TrainingData())
    sentiment = parse(analyzer, "this is awful and nobody helps " * 330)["sentiment"]
    assert sentiment["label"] in {"negative", "neutral", "positive"}
