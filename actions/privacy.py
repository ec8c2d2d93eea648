"""Customers' data rights in the chat: a signed-in customer's copy of their data, and a deletion that they
confirm first and a person carries out (docs/privacy.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction
from actions.context import verified_customer
from bot.privacy import requests as privacy_requests
from bot.shop.customers import customer_pk

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

PENDING = "privacy_pending"
ERASURE = "erasure"
ASK_ACTION = "action_privacy_erasure_ask"
DATA_EXPORT_MESSAGE = {"type": "data_export"}  # the widget shows a Download button for the customer's own copy


def _signed_in(session: Session, tracker: Tracker) -> int | None:
    """The customer's row id from their verified token only (never an id typed in the chat); None if anonymous."""
    return customer_pk(session, verified_customer(tracker))


def _answers_the_question(tracker: Tracker) -> bool:
    """A "yes" counts only as the answer to the bot's own question just before it, never after a detour."""
    if tracker.get_slot(PENDING) != ERASURE:
        return False
    events = tracker.events
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=None)
    if last_user is None:
        return False
    for event in reversed(events[:last_user]):
        if event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name") == ASK_ACTION
    return False


class ActionPrivacyExport(ShopAction):
    """A copy at once: recorded as a request already done, then offered as a download in the widget."""

    def name(self) -> str:
        return "action_privacy_export"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer_id = _signed_in(session, tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_privacy_sign_in_needed")
            return []
        privacy_requests.record_request(session, customer_id, "export", tracker.sender_id, status="done")
        dispatcher.utter_message(response="utter_privacy_export_ready", json_message=DATA_EXPORT_MESSAGE)
        return []


class ActionPrivacyErasureAsk(ShopAction):
    """Says what a deletion does and asks first; a request already waiting is named instead of asked again."""

    def name(self) -> str:
        return ASK_ACTION

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer_id = _signed_in(session, tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_privacy_sign_in_needed")
            return [SlotSet(PENDING, None)]
        waiting = privacy_requests.pending_request(session, customer_id, ERASURE)
        if waiting is not None:
            dispatcher.utter_message(response="utter_privacy_erasure_already", reference=waiting.reference)
            return [SlotSet(PENDING, None)]
        dispatcher.utter_message(response="utter_privacy_erasure_confirm")
        return [SlotSet(PENDING, ERASURE)]


class ActionPrivacyErasureConfirm(ShopAction):
    """The customer's yes: the erasure is recorded for a person to carry out, and its reference given."""

    def name(self) -> str:
        return "action_privacy_erasure_confirm"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer_id = _signed_in(session, tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_privacy_sign_in_needed")
            return [SlotSet(PENDING, None)]
        if not _answers_the_question(tracker):
            dispatcher.utter_message(response="utter_nothing_to_confirm")
            return [SlotSet(PENDING, None)]
        request = privacy_requests.record_request(session, customer_id, ERASURE, tracker.sender_id)
        dispatcher.utter_message(response="utter_privacy_erasure_recorded", reference=request.reference)
        return [SlotSet(PENDING, None)]


class ActionPrivacyErasureAbort(ShopAction):
    """The customer's no: nothing is recorded."""

    def name(self) -> str:
        return "action_privacy_erasure_abort"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_privacy_erasure_kept")
        return [SlotSet(PENDING, None)]
