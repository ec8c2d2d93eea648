"""The shared shape of actions that read the shop's database."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.db.session import DatabaseUnavailable, unit_of_work
from bot.sentiment.escalation import FAILURE_SLOT

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)


def failed(reason: str) -> dict[str, Any]:
    """The event an action returns when it could not do what the customer asked."""
    return SlotSet(FAILURE_SLOT, reason)


class ShopAction(Action, ABC):
    """Runs `handle` in a unit of work, committed before the customer hears anything; the one base of Tandem's
    actions that touch the database.

    A database that is down gets a clear answer, not silence, and nothing said inside `handle` is sent (it was
    not stored). `retry_on` errors mean the state changed under the turn: it runs again on the fresh state, up
    to `attempts` times. `refusals` are answered by `refused`. Handlers return `failed(reason)` among their
    events when they could not help; any other outcome clears the failure, unless `reports_failure` is off.

    Abstract, so that rasa-sdk registers only the concrete actions.
    """

    attempts: int = 1
    retry_on: tuple[type[Exception], ...] = ()
    refusals: tuple[type[Exception], ...] = ()
    reports_failure: bool = True

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]: ...

    def unavailable(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        """The answer when the database failed or the turn kept losing races."""
        dispatcher.utter_message(response="utter_service_unavailable")
        return [failed("service_unavailable")] if self.reports_failure else []

    def refused(self, error: Exception, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        """The answer to one of `refusals`."""
        raise error

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        for attempt in range(self.attempts):
            attempt_dispatcher = CollectingDispatcher()  # "Done: ..." is said only once it is stored
            try:
                with unit_of_work() as session:
                    events = self.handle(attempt_dispatcher, tracker, session)
            except self.retry_on:
                logger.info("%s: the state changed meanwhile, running the turn again (%d)", self.name(), attempt + 1)
                continue
            except self.refusals as error:
                return self.refused(error, dispatcher, tracker)
            except DatabaseUnavailable:
                logger.exception("%s: the database failed", self.name())
                return self.unavailable(dispatcher, tracker)
            dispatcher.messages.extend(attempt_dispatcher.messages)
            if self.reports_failure and not any(
                e.get("event") == "slot" and e.get("name") == FAILURE_SLOT for e in events
            ):
                events.append(SlotSet(FAILURE_SLOT, None))
            return events
        return self.unavailable(dispatcher, tracker)
