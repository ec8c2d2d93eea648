"""The shared shape of actions that read the shop's database."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.db.session import DatabaseUnavailable, unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# The sentiment policy treats a set `flow_failure` as "the conversation is failing".
FAILURE_SLOT = "flow_failure"


def failed(reason: str) -> dict[str, Any]:
    """The event an action returns when it could not do what the customer asked."""
    return SlotSet(FAILURE_SLOT, reason)


class ShopAction(Action, ABC):
    """Runs `handle` in a database session; a store that is down gets a clear answer, not silence.

    Handlers return `failed(reason)` among their events when they could not help; any other outcome
    clears the failure.

    Abstract, so that rasa-sdk registers only the concrete actions.
    """

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]: ...

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        said = len(dispatcher.messages)
        try:
            with unit_of_work() as session:
                events = self.handle(dispatcher, tracker, session)
        except DatabaseUnavailable:
            logger.exception("%s: the shop database failed", self.name())
            del dispatcher.messages[said:]  # "Done: ..." was not stored, so it is not said
            dispatcher.utter_message(response="utter_service_unavailable")
            return [failed("service_unavailable")]
        if not any(e.get("event") == "slot" and e.get("name") == FAILURE_SLOT for e in events):
            events.append(SlotSet(FAILURE_SLOT, None))
        return events
