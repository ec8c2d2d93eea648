"""The values that flow between the workflow runner, the journey store and the Rasa actions.

Plain frozen dataclasses, JSON-friendly (`as_dict`), so they cross process boundaries (action server,
scheduler) and land in JSON columns unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from bot.db.models import journey_states

# A journey's life (docs/journeys.md), as the database constrains it (the values live with the schema).
JOURNEY_STATES = journey_states.JOURNEY_STATES
OPEN_STATES = journey_states.OPEN_JOURNEY_STATES
FALLBACK_INTENT = "nlu_fallback"  # Rasa's FallbackClassifier: "not sure", not a guess of what was meant
STEP_KINDS = ("ask", "check", "instruct", "branch", "operation", "follow_up", "escalate", "resolve")


@dataclass(frozen=True)
class UserInput:
    """What the customer just said, as the runner needs it: intent, entities, a button payload's value."""

    intent: str | None = None
    entities: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""
    sentiment: float | None = None  # the message's sentiment score (-1..1), when known
    channel: str | None = None
    ranking: tuple[tuple[str, float], ...] = ()  # the NLU's intents with their confidence, best first

    @property
    def guesses(self) -> tuple[tuple[str, float], ...]:
        """The ranking without Rasa's fallback: what the NLU thinks was meant, best first."""
        return tuple((name, confidence) for name, confidence in self.ranking if name != FALLBACK_INTENT)

    @classmethod
    def from_parse_data(cls, parse_data: Mapping[str, Any], channel: str | None = None) -> UserInput:
        """A message as Rasa's NLU parsed it (a tracker's latest message): entities by name (the first value
        of each), the intent ranking, the sentiment score when the pipeline gave one."""
        entities: dict[str, Any] = {}
        for entity in parse_data.get("entities") or []:
            if isinstance(entity, Mapping):
                # Rasa's message schema requires every entity to name itself with a string.
                entities.setdefault(cast(str, entity.get("entity")), entity.get("value"))
        ranking = tuple(
            (str(item["name"]), float(item.get("confidence") or 0.0))
            for item in parse_data.get("intent_ranking") or []
            if isinstance(item, Mapping) and item.get("name")
        )
        sentiment = (parse_data.get("sentiment") or {}).get("score")
        return cls(
            intent=(parse_data.get("intent") or {}).get("name"),
            entities=entities,
            text=str(parse_data.get("text") or "")[:2000],
            sentiment=float(sentiment) if isinstance(sentiment, (int, float)) else None,
            channel=channel,
            ranking=ranking,
        )


@dataclass(frozen=True)
class BotMessage:
    """A response to send: a domain response name (`utter_...`) with its template values and buttons."""

    response: str
    values: Mapping[str, Any] = field(default_factory=dict)
    buttons: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class FollowUpRequest:
    """A message or workflow to start after `delay_seconds`, unless the journey moved on meanwhile."""

    delay_seconds: int
    response: str | None = None
    workflow: str | None = None
    step: str | None = None  # the step to continue at when it fires


@dataclass(frozen=True)
class StepResult:
    """What the runner decided for one turn (or one automatic step chain).

    `steps_taken` lists every step id passed through, in order (each becomes a journey step record);
    `state` is the journey's state afterwards; `current_step` the step now waiting (None when ended).
    """

    workflow: str
    current_step: str | None
    state: str
    messages: tuple[BotMessage, ...] = ()
    steps_taken: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)  # answers and operation results so far
    follow_ups: tuple[FollowUpRequest, ...] = ()
    escalation_reason: str | None = None
    outcome: str | None = None  # resolved: how ("fixed_by_restart", "refund_issued", ...)
    unexpected_answer: bool = False  # the customer's answer did not fit the step: asked again

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
