"""Low-confidence messages: a report the NLU could not settle goes to its journey, a request for a kind of product
to the suggestions; anything else is asked to be rephrased, then the main topics are offered, then a person is
brought in."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.base import failed
from actions.handoff import BOT_STUCK, hand_off
from actions.journeys import user_input
from actions.order_edits import ActionChangeOrderCheck
from actions.orders import (
    ActionCancelOrderCheck,
    ActionChangeAddressCheck,
    ActionDeliveryProblem,
    ActionOrderStatus,
    OrderAction,
)
from bot.db.session import DatabaseUnavailable, unit_of_work
from bot.handoff.routing import default_rules
from bot.journeys.service import default_service
from bot.journeys.types import FALLBACK_INTENT, UserInput


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the customer's latest messages in a row the bot did not understand."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent != FALLBACK_INTENT:
            break
        count += 1
    return count


# Where a message the NLU could not settle goes when it reads as a report a workflow takes, or as a request for
# suggestions of a kind of product it names.
REPORT_HANDOVER = "action_journey_start"
SUGGESTIONS_HANDOVER = "action_recommend_products"
SUGGESTIONS_INTENT = "ask_recommendation"
SUGGESTIONS_MIN_CONFIDENCE = 0.25


# The actions that ask "which order?": an answer naming what is in one of the orders goes back to the one that asked.
ORDER_QUESTIONS: tuple[OrderAction, ...] = (
    ActionOrderStatus(),
    ActionDeliveryProblem(),
    ActionCancelOrderCheck(),
    ActionChangeAddressCheck(),
    ActionChangeOrderCheck(),
)


def order_question_answered(tracker: Tracker) -> str | None:
    """The action whose "which order?" this message answers by the order's items, or None."""
    asking = [action for action in ORDER_QUESTIONS if action.awaiting == tracker.get_slot("awaiting")]
    if not asking:
        return None
    try:
        with unit_of_work() as session:
            return asking[0].name() if asking[0].answers_which_order(session, tracker) else None
    except DatabaseUnavailable:
        return None


def asks_for_suggestions(message: UserInput) -> bool:
    """ "Might be time for a new phone": the NLU's first guess is a request for suggestions, close enough, and the
    message names the kind of product."""
    guesses = message.guesses
    return (
        bool(guesses)
        and guesses[0][0] == SUGGESTIONS_INTENT
        and guesses[0][1] >= SUGGESTIONS_MIN_CONFIDENCE
        and message.entities.get("product_category") is not None
    )


class ActionHandleFallback(Action):
    def name(self) -> str:
        return "action_handle_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        # "TD105859 is late": two guesses too close to call, but the words of a late delivery; not a "rephrase?"
        message = user_input(tracker)
        if default_service().report_behind_fallback(message) is not None:
            return [FollowupAction(REPORT_HANDOVER)]
        if asks_for_suggestions(message):
            return [FollowupAction(SUGGESTIONS_HANDOVER)]
        if (asked := order_question_answered(tracker)) is not None:  # "the Ugreen charger one" at "which order?"
            return [FollowupAction(asked)]
        # The misunderstood message should not steer the dialogue that follows; the failure is kept
        # (after the revert) so the sentiment policy knows the conversation is going badly.
        events: list[dict[str, Any]] = [UserUtteranceReverted(), failed("not_understood")]
        count = consecutive_fallbacks(tracker)
        stuck_after = default_rules().consecutive_fallbacks
        if count and count % stuck_after == 0:
            dispatcher.utter_message(response="utter_handoff_stuck")
            try:
                with unit_of_work() as session:
                    return events + hand_off(dispatcher, tracker, session, BOT_STUCK)
            except DatabaseUnavailable:
                dispatcher.utter_message(response="utter_ask_human")
                return events
        if count >= 2:
            dispatcher.utter_message(response="utter_offer_help")
        else:
            dispatcher.utter_message(response="utter_ask_rephrase")
        return events
