"""Low-confidence messages: ask to rephrase once, then offer the main topics."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the customer's latest messages in a row the bot did not understand."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent != "nlu_fallback":
            break
        count += 1
    return count


class ActionHandleFallback(Action):
    def name(self) -> Text:
        return "action_handle_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        if consecutive_fallbacks(tracker) >= 2:
            dispatcher.utter_message(response="utter_offer_help")
        else:
            dispatcher.utter_message(response="utter_ask_rephrase")
        # The misunderstood message should not steer the dialogue that follows; the failure is kept
        # (after the revert) so the sentiment policy knows the conversation is going badly.
        return [UserUtteranceReverted(), SlotSet("flow_failure", "not_understood")]
