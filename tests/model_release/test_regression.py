"""The NLU regression verdict on real small inputs: held-out messages, what each model predicted for them, and the
intents on which the candidate got worse. No model is trained or loaded here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.domain_files import load_domain
from bot.model_release.config import ReleaseConfigError, load_config, parse_config
from bot.model_release.heldout import (
    Example,
    HeldOutError,
    as_rasa_nlu,
    load_held_out,
    training_examples,
    usable,
)
from bot.model_release.regression import compare, scores
from bot.settings import PROJECT_ROOT

ORDERS = ["where is my parcel", "has my stuff shipped yet", "tracking for my order please", "any news on my delivery"]
REFUNDS = ["where is my money back", "refund still not here", "when do i get refunded", "refund status pls"]
EXAMPLES = [Example(t, "order_status") for t in ORDERS] + [Example(t, "refund_status") for t in REFUNDS]


def predicted(**wrong: str) -> dict[tuple[str, str], str]:
    """Every example right, except the texts given (text with spaces as underscores -> what was predicted)."""
    misses = {text.replace("_", " "): intent for text, intent in wrong.items()}
    return {(e.text, e.intent): misses.get(e.text, e.intent) for e in EXAMPLES}


def test_an_intent_worse_beyond_the_tolerance_is_named_with_the_messages_it_now_misunderstands():
    serving = predicted()
    candidate = predicted(where_is_my_money_back="order_status", refund_still_not_here="nlu_fallback")
    report = compare(
        EXAMPLES, candidate, serving, metric="recall", tolerance=0.25, candidate_model="new", serving_model="old"
    )
    assert not report.passed
    [worse] = report.worse
    assert worse.intent == "refund_status" and worse.delta == pytest.approx(-0.5)
    assert worse.newly_wrong == (("where is my money back", "order_status"), ("refund still not here", "nlu_fallback"))
    [reason] = report.reasons()
    assert reason.startswith("refund_status: recall 1.00 -> 0.50 (-0.50, tolerance 0.25)")
    assert "'where is my money back' -> order_status" in reason
    # order_status kept its recall: only its precision fell (it took a refund question).
    assert [c.intent for c in report.changes if c.worse] == ["refund_status"]


def test_f1_also_counts_an_intent_that_swallows_other_intents_messages():
    serving = predicted()
    candidate = predicted(where_is_my_money_back="order_status", refund_still_not_here="order_status")
    by_f1 = compare(
        EXAMPLES, candidate, serving, metric="f1", tolerance=0.1, candidate_model="new", serving_model="old"
    )
    assert {c.intent for c in by_f1.worse} == {"order_status", "refund_status"}
    by_recall = compare(
        EXAMPLES, candidate, serving, metric="recall", tolerance=0.1, candidate_model="new", serving_model="old"
    )
    assert {c.intent for c in by_recall.worse} == {"refund_status"}


def test_a_drop_up_to_the_tolerance_passes_and_one_beyond_it_does_not():
    serving = predicted()
    one_miss = predicted(refund_status_pls="nlu_fallback")  # recall 1.0 -> 0.75
    assert compare(EXAMPLES, one_miss, serving, metric="recall", tolerance=0.25, candidate_model="n").passed
    assert not compare(EXAMPLES, one_miss, serving, metric="recall", tolerance=0.24, candidate_model="n").passed


def test_a_better_candidate_passes_and_without_a_serving_model_nothing_can_get_worse():
    serving = predicted(refund_status_pls="nlu_fallback", any_news_on_my_delivery="refund_status")
    report = compare(EXAMPLES, predicted(), serving, metric="f1", tolerance=0.0, candidate_model="n", serving_model="o")
    assert report.passed and all(c.delta >= 0 for c in report.changes)
    assert report.candidate_accuracy == 1.0 and report.serving_accuracy == 0.75
    alone = compare(
        EXAMPLES, predicted(refund_status_pls="greet"), None, metric="f1", tolerance=0.0, candidate_model="n"
    )
    assert alone.passed and alone.serving_accuracy is None and alone.reasons() == []


def test_per_intent_scores_are_precision_recall_and_f1_over_the_given_messages():
    result, accuracy = scores(EXAMPLES, predicted(where_is_my_parcel="refund_status"))
    assert result["order_status"].recall == 0.75 and result["order_status"].precision == 1.0
    assert result["refund_status"].precision == pytest.approx(0.8) and result["refund_status"].recall == 1.0
    assert result["refund_status"].f1 == pytest.approx(2 * 0.8 / 1.8)
    assert accuracy == pytest.approx(7 / 8)


def test_held_out_messages_that_became_training_examples_are_left_out_of_the_comparison(tmp_path: Path):
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "orders.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: order_status\n  examples: |\n    - Where is my parcel?\n'
        "    - tracking for my order [TD123456](order_id)\n"
    )
    kept, left_out = usable(load_held_out(_held_out(tmp_path)), training_examples(nlu))
    assert [e.text for e in left_out] == ["where is my parcel"]  # case and punctuation aside, the same message
    assert len(kept) == len(EXAMPLES) - 1


def _held_out(tmp_path: Path) -> Path:
    path = tmp_path / "held_out.yml"
    by_intent: dict[str, list[str]] = {}
    for e in EXAMPLES:
        by_intent.setdefault(e.intent, []).append(e.text)
    path.write_text(yaml.safe_dump(by_intent))
    return path


def test_held_out_messages_become_rasa_nlu_data_that_reads_back_as_the_same_messages(tmp_path: Path):
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    path = tmp_path / "held_out.yml"
    path.write_text(
        yaml.safe_dump({"greet": ["hi [there]", "  hello  ", "hi [there]"], "deny": ["nope: not #1"]}, sort_keys=False)
    )
    held_out = load_held_out(path)
    assert [e.text for e in held_out.examples] == ["hi (there)", "hello", "nope: not #1"]  # no annotation, no copy
    data = RasaYAMLReader().reads(as_rasa_nlu(held_out.examples))
    assert sorted((m.get("text"), m.get("intent")) for m in data.intent_examples) == [
        ("hello", "greet"),
        ("hi (there)", "greet"),
        ("nope: not #1", "deny"),
    ]
    assert all(not m.get("entities") for m in data.intent_examples)


def test_a_changed_held_out_file_has_another_cache_key_and_a_broken_one_says_why(tmp_path: Path):
    path = tmp_path / "held_out.yml"
    path.write_text("greet: [hi]\n")
    first = load_held_out(path).key
    path.write_text("greet: [hi, hello]\n")
    assert load_held_out(path).key != first
    path.write_text("- just a list\n")
    with pytest.raises(HeldOutError, match="must map each intent"):
        load_held_out(path)


def test_the_configured_held_out_set_names_only_intents_the_assistant_knows():
    config = load_config()
    held_out = load_held_out(config.held_out)
    domain_intents = set(load_domain(PROJECT_ROOT / "domain")["intents"])
    names = {i if isinstance(i, str) else next(iter(i)) for i in domain_intents}
    assert set(held_out.intents) <= names, sorted(set(held_out.intents) - names)
    assert len(held_out.examples) >= 20 * len(held_out.intents)  # enough messages per intent for a verdict


def test_the_configuration_refuses_what_cannot_work():
    assert parse_config({"check": {"tolerance": 0.1, "metric": "recall"}}).tolerance == 0.1
    with pytest.raises(ReleaseConfigError, match="check.metric"):
        parse_config({"check": {"metric": "accuracy"}})
    with pytest.raises(ReleaseConfigError, match="keep_published must be at least 2"):
        parse_config({"registry": {"keep_published": 1}})
    with pytest.raises(ReleaseConfigError, match="unknown key check.tolerence"):
        parse_config({"check": {"tolerence": 0.1}})
