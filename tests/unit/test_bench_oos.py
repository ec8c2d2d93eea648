"""The out-of-scope benchmark scores fallbacks the way Rasa's FallbackClassifier makes them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def oos():
    spec = importlib.util.spec_from_file_location("banking77_oos", ROOT / "bench" / "banking77_oos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ranked(*pairs):
    return [{"name": name, "confidence": confidence} for name, confidence in pairs]


def test_unsure_or_too_close_to_call_falls_back(oos):
    assert oos.falls_back(ranked(("a", 0.30), ("b", 0.10)), threshold=0.35, ambiguity=0.05)
    assert oos.falls_back(ranked(("a", 0.50), ("b", 0.47)), threshold=0.35, ambiguity=0.05)
    assert not oos.falls_back(ranked(("a", 0.50), ("b", 0.40)), threshold=0.35, ambiguity=0.05)
    assert oos.falls_back([], threshold=0.35, ambiguity=0.05)


def test_the_curve_counts_right_answers_fallbacks_and_caught_out_of_scope_messages(oos):
    results = [
        {"gold": "a", "out_of_scope": False, "ranking": ranked(("a", 0.9), ("b", 0.05))},  # right, sure
        {"gold": "a", "out_of_scope": False, "ranking": ranked(("b", 0.6), ("a", 0.3))},  # wrong, sure
        {"gold": "b", "out_of_scope": False, "ranking": ranked(("b", 0.4), ("a", 0.2))},  # right, unsure
        {"gold": "x", "out_of_scope": True, "ranking": ranked(("a", 0.3), ("b", 0.2))},  # caught at 0.35
        {"gold": "x", "out_of_scope": True, "ranking": ranked(("b", 0.7), ("a", 0.1))},  # never caught
    ]
    low, high = oos.curve(results, ambiguity=0.05, thresholds=[0.1, 0.5])
    assert low == {"threshold": 0.1, "in_scope_accuracy": 2 / 3, "in_scope_fallback": 0.0, "out_of_scope_recall": 0.0}
    assert high == {
        "threshold": 0.5,
        "in_scope_accuracy": 1 / 3,
        "in_scope_fallback": 1 / 3,
        "out_of_scope_recall": 0.5,
    }


def test_the_held_out_intents_are_fixed(oos):
    intents = [f"intent_{i}" for i in range(77)]
    assert oos.held_out_intents(intents) == oos.held_out_intents(list(reversed(intents)))
    assert len(oos.held_out_intents(intents)) == 10
