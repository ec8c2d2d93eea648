"""When the customer's mood means the bot should offer a person.

Two triggers, both configurable in config.yml (`bot.policies.sentiment_policy.SentimentPolicy`):
a streak of negative messages, or one very negative message while the conversation is failing
(the bot did not understand, or could not do what was asked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.sentiment.labels import NEGATIVE
from bot.sentiment.trend import MessageSentiment

# The slot that says the conversation is failing: actions set it when they could not help (actions.base.failed),
# the fallback when it did not understand; the sentiment policy reads it.
FAILURE_SLOT = "flow_failure"

STREAK = "negative_streak"
VERY_NEGATIVE_WHILE_FAILING = "very_negative_while_failing"


@dataclass(frozen=True)
class EscalationRules:
    negative_streak: int = 3
    very_negative_score: float = -0.8

    def __post_init__(self) -> None:
        if self.negative_streak < 1:
            raise ValueError("negative_streak must be at least 1")
        if not -1.0 <= self.very_negative_score <= 0.0:
            raise ValueError("very_negative_score must lie between -1 and 0")


def escalation_reason(
    since_last_offer: Sequence[MessageSentiment], failing: bool, rules: EscalationRules
) -> str | None:
    """Why to offer a person now (None: don't), given the messages since the last offer."""
    if not since_last_offer:
        return None
    streak = 0
    for message in reversed(since_last_offer):
        if message.label != NEGATIVE:
            break
        streak += 1
    if streak >= rules.negative_streak:
        return STREAK
    latest = since_last_offer[-1]
    if failing and latest.label == NEGATIVE and latest.score <= rules.very_negative_score:
        return VERY_NEGATIVE_WHILE_FAILING
    return None
