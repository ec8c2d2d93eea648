"""The NLU regression verdict: per-intent scores of the serving model and the candidate on the same held-out
messages, and the intents on which the candidate is worse than the serving model beyond the tolerance."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.model_release.heldout import Example, Predictions

EPSILON = 1e-9  # a drop of exactly the tolerance is allowed, whatever the float arithmetic says


@dataclass(frozen=True)
class IntentScore:
    intent: str
    support: int  # held-out messages of this intent
    precision: float
    recall: float
    f1: float

    def metric(self, name: str) -> float:
        return self.recall if name == "recall" else self.f1


@dataclass(frozen=True)
class IntentChange:
    intent: str
    serving: IntentScore | None  # None: nothing serves yet
    candidate: IntentScore
    delta: float  # candidate - serving on the metric (0 without a serving model)
    worse: bool  # beyond the tolerance
    newly_wrong: tuple[tuple[str, str], ...]  # (message, what the candidate predicts) the serving model got right


@dataclass(frozen=True)
class RegressionReport:
    metric: str
    tolerance: float
    serving_model: str | None
    candidate_model: str
    messages: int  # compared on
    left_out: int  # held-out messages that are training examples
    serving_accuracy: float | None
    candidate_accuracy: float
    changes: tuple[IntentChange, ...]  # the biggest drop first

    @property
    def worse(self) -> tuple[IntentChange, ...]:
        return tuple(c for c in self.changes if c.worse)

    @property
    def passed(self) -> bool:
        return not self.worse

    def reasons(self) -> list[str]:
        """One line per intent that got worse, with up to three messages it now misunderstands."""
        lines = []
        for change in self.worse:
            if change.serving is None:  # nothing served: nothing got worse
                continue
            examples = "; ".join(f"{text!r} -> {predicted}" for text, predicted in change.newly_wrong[:3])
            lines.append(
                f"{change.intent}: {self.metric} {change.serving.metric(self.metric):.2f} -> "
                f"{change.candidate.metric(self.metric):.2f} ({change.delta:+.2f}, tolerance {self.tolerance:.2f})"
                + (f"; now misunderstood: {examples}" if examples else "")
            )
        return lines

    def to_json(self) -> dict[str, Any]:
        def score(s: IntentScore | None) -> dict[str, Any] | None:
            if s is None:
                return None
            return {"support": s.support, "precision": s.precision, "recall": s.recall, "f1": s.f1}

        return {
            "metric": self.metric,
            "tolerance": self.tolerance,
            "serving_model": self.serving_model,
            "candidate_model": self.candidate_model,
            "messages": self.messages,
            "left_out": self.left_out,
            "serving_accuracy": self.serving_accuracy,
            "candidate_accuracy": self.candidate_accuracy,
            "changes": [
                {
                    "intent": c.intent,
                    "serving": score(c.serving),
                    "candidate": score(c.candidate),
                    "delta": c.delta,
                    "worse": c.worse,
                    "newly_wrong": [list(pair) for pair in c.newly_wrong],
                }
                for c in self.changes
            ],
        }


def scores(examples: Iterable[Example], predictions: Predictions) -> tuple[dict[str, IntentScore], float]:
    """Each gold intent's precision, recall and F1 on `examples`, and the accuracy over all of them."""
    examples = list(examples)
    gold: dict[str, int] = {}
    predicted: dict[str, int] = {}
    right: dict[str, int] = {}
    for example in examples:
        guess = predictions[(example.text, example.intent)]
        gold[example.intent] = gold.get(example.intent, 0) + 1
        predicted[guess] = predicted.get(guess, 0) + 1
        if guess == example.intent:
            right[guess] = right.get(guess, 0) + 1
    result = {}
    for intent, support in gold.items():
        hits = right.get(intent, 0)
        precision = hits / predicted[intent] if predicted.get(intent) else 0.0
        recall = hits / support
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[intent] = IntentScore(intent, support, precision, recall, f1)
    accuracy = sum(right.values()) / len(examples) if examples else 0.0
    return result, accuracy


def compare(
    examples: Iterable[Example],
    candidate: Predictions,
    serving: Predictions | None,
    *,
    metric: str,
    tolerance: float,
    candidate_model: str,
    serving_model: str | None = None,
    left_out: int = 0,
) -> RegressionReport:
    """The candidate against the serving model (None: nothing serves yet, so nothing can get worse)."""
    examples = list(examples)
    candidate_scores, candidate_accuracy = scores(examples, candidate)
    serving_scores: Mapping[str, IntentScore] = {}
    serving_accuracy = None
    if serving is not None:
        serving_scores, serving_accuracy = scores(examples, serving)
    changes = []
    for intent, mine in candidate_scores.items():
        theirs = serving_scores.get(intent)
        delta = mine.metric(metric) - theirs.metric(metric) if theirs is not None else 0.0
        newly_wrong: tuple[tuple[str, str], ...] = ()
        if serving is not None:
            newly_wrong = tuple(
                (e.text, candidate[(e.text, e.intent)])
                for e in examples
                if e.intent == intent
                and serving[(e.text, e.intent)] == intent
                and candidate[(e.text, e.intent)] != intent
            )
        changes.append(IntentChange(intent, theirs, mine, delta, delta < -tolerance - EPSILON, newly_wrong))
    changes.sort(key=lambda c: (c.delta, c.intent))
    return RegressionReport(
        metric=metric,
        tolerance=tolerance,
        serving_model=serving_model,
        candidate_model=candidate_model,
        messages=len(examples),
        left_out=left_out,
        serving_accuracy=serving_accuracy,
        candidate_accuracy=candidate_accuracy,
        changes=tuple(changes),
    )
