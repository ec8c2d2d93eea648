"""The customer wants a person: asked for one, or accepted the one the bot offered.

This is the hook the handoff to the agent console completes; for now it gives the team's contact
details. It records why a person was wanted (`handoff_reason`), so the agent and analytics can tell an
explicit request from an offer the sentiment policy made.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import sentiment_trend

ASKED = "asked"


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        offered_for = tracker.get_slot("handoff_offer_reason")
        accepted_offer = offered_for and _previous_bot_action(tracker) == "utter_offer_human"
        reason = offered_for if accepted_offer else ASKED
        dispatcher.utter_message(response="utter_ask_human")
        return [
            SlotSet("handoff_reason", reason),
            SlotSet("handoff_offer_reason", None),
            SlotSet("sentiment_trend", sentiment_trend(tracker).as_dict()),
        ]


def _previous_bot_action(tracker: Tracker) -> str | None:
    """The last action before the customer's latest message (ignoring listening)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None
