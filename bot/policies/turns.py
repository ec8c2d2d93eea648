"""Where the bot's turn ends and where the latest one began, shared by the custom policies.

Policies that act "at the end of the bot's turn" (SentimentPolicy's offer of a person, JourneyPolicy's
return to the pending question) cannot ask Rasa which action ends a turn: they learn it from the
training data, where such an action is always followed by listening, and keep it with the model.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME, RULE_SNIPPET_ACTION_NAME
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

# The file name SentimentPolicy has always used: models trained before the move still load.
TERMINAL_ACTIONS_FILE = "terminal_actions.json"


def learn_terminal_actions(training_trackers: Iterable[DialogueStateTracker]) -> set[str]:
    """The actions that the stories and rules always follow with listening."""
    followers: dict[str, set[str]] = {}
    for tracker in training_trackers:
        # Rules mark "anything may follow" with the snippet action "...": that is no evidence either way.
        actions = [
            e.action_name
            for e in tracker.events
            if isinstance(e, ActionExecuted) and e.action_name and e.action_name != RULE_SNIPPET_ACTION_NAME
        ]
        for current, following in zip(actions, actions[1:]):
            followers.setdefault(current, set()).add(following)
    return {
        action for action, nexts in followers.items() if nexts == {ACTION_LISTEN_NAME} and action != ACTION_LISTEN_NAME
    }


def save_terminal_actions(model_storage: ModelStorage, resource: Resource, actions: set[str]) -> None:
    with model_storage.write_to(resource) as directory:
        (Path(directory) / TERMINAL_ACTIONS_FILE).write_text(json.dumps(sorted(actions)))


def load_terminal_actions(model_storage: ModelStorage, resource: Resource) -> set[str] | None:
    """What `save_terminal_actions` kept, or None when the policy was never trained (the caller warns)."""
    try:
        with model_storage.read_from(resource) as directory:
            return set(json.loads((Path(directory) / TERMINAL_ACTIONS_FILE).read_text()))
    except (ValueError, OSError):
        return None


def latest_turn_start(tracker: DialogueStateTracker) -> Event | None:
    """The latest user message or action, skipping the slots `action_extract_slots` set.

    A raw backwards scan (it stops at once); after a rewound message the latest action comes first.
    """
    for event in reversed(tracker.events):
        if isinstance(event, (UserUttered, ActionExecuted)):
            return event
    return None


@dataclass(frozen=True)
class Turn:
    """The latest user message, the bot's turn it answered, and what happened since."""

    message: UserUttered
    answered: list[Event]  # the bot's previous turn: the events between the message before and this one
    events: list[Event]  # after the message

    @property
    def answered_action(self) -> str | None:
        """The action that ended the bot's previous turn."""
        return next(
            (
                e.action_name
                for e in reversed(self.answered)
                if isinstance(e, ActionExecuted) and e.action_name != ACTION_LISTEN_NAME
            ),
            None,
        )

    @property
    def actions(self) -> list[str]:
        return [e.action_name for e in self.events if isinstance(e, ActionExecuted) and e.action_name]

    def ran_any(self, names: Collection[str]) -> bool:
        return any(name in names for name in self.actions)


def latest_turn(tracker: DialogueStateTracker) -> Turn | None:
    """The turn that began with the latest user message; None before the first one.

    Reverted messages and actions do not count (applied events), so a rephrased message starts the turn.
    """
    events = tracker.applied_events()
    messages = [i for i, e in enumerate(events) if isinstance(e, UserUttered)]
    if not messages:
        return None
    latest = messages[-1]
    before = messages[-2] + 1 if len(messages) > 1 else 0
    return Turn(message=events[latest], answered=events[before:latest], events=events[latest + 1 :])
