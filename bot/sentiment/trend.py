"""A conversation's sentiment over time, read back from its tracker events.

Works on event dicts (rasa-sdk trackers, Rasa's HTTP API, the tracker store), so actions, the agent
console and analytics all compute the same figures. Each user message counts once: its parse data's
`sentiment` (from `bot.nlu.sentiment_analyzer`), or, where the message came without one (a conversation
test, a button), the `sentiment` / `sentiment_score` slots set in its turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bot.sentiment.labels import NEGATIVE, NEUTRAL, POSITIVE

SLOT_LABEL = "sentiment"
SLOT_SCORE = "sentiment_score"
_DEFAULT_SCORES = {NEGATIVE: -1.0, NEUTRAL: 0.0, POSITIVE: 1.0}


@dataclass(frozen=True)
class MessageSentiment:
    label: str
    score: float
    timestamp: float | None = None
    text: str | None = None


@dataclass(frozen=True)
class SentimentTrend:
    """last / mean / worst score, slope per message (least squares), and the current negative streak."""

    count: int
    last: float | None
    mean: float | None
    worst: float | None
    slope: float | None
    negative_streak: int
    last_label: str | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def message_sentiments(events: Iterable[Mapping[str, Any]]) -> list[MessageSentiment]:
    """One entry per user message that has a sentiment, oldest first."""
    result: list[MessageSentiment] = []
    pending: dict[str, Any] | None = None  # a user message still waiting for its slots

    def flush() -> None:
        nonlocal pending
        if pending and pending.get("label") in _DEFAULT_SCORES:
            score = pending.get("score")
            if score is None:
                score = _DEFAULT_SCORES[pending["label"]]
            result.append(
                MessageSentiment(pending["label"], float(score), pending.get("timestamp"), pending.get("text"))
            )
        pending = None

    for event in events:
        kind = event.get("event")
        if kind == "user":
            flush()
            sentiment = (event.get("parse_data") or {}).get(SLOT_LABEL) or {}
            pending = {
                "label": sentiment.get("label"),
                "score": sentiment.get("score"),
                "timestamp": event.get("timestamp"),
                "text": event.get("text"),
                "from_parse": bool(sentiment),
            }
        elif kind == "slot" and pending is not None and not pending["from_parse"]:
            if event.get("name") == SLOT_LABEL:
                pending["label"] = event.get("value")
            elif event.get("name") == SLOT_SCORE and event.get("value") is not None:
                pending["score"] = float(event["value"])
        elif kind == "bot":
            flush()
    flush()
    return result


def trend(history: list[MessageSentiment]) -> SentimentTrend:
    if not history:
        return SentimentTrend(0, None, None, None, None, 0, None)
    scores = [m.score for m in history]
    n = len(scores)
    mean = sum(scores) / n
    slope: float | None = None
    if n >= 2:
        x_mean = (n - 1) / 2
        denominator = sum((i - x_mean) ** 2 for i in range(n))
        slope = sum((i - x_mean) * (s - mean) for i, s in enumerate(scores)) / denominator
    streak = 0
    for message in reversed(history):
        if message.label != NEGATIVE:
            break
        streak += 1
    return SentimentTrend(n, scores[-1], mean, min(scores), slope, streak, history[-1].label)


def conversation_trend(events: Iterable[Mapping[str, Any]]) -> SentimentTrend:
    return trend(message_sentiments(events))
