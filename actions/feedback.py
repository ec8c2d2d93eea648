"""Reviews and feedback: the form asks for it in the customer's words, and it is stored before it is thanked for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction
from actions.context import verified_customer
from bot.shop import catalog
from bot.shop.feedback import FeedbackRejected, clean_feedback, record_feedback

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class ValidateFeedbackForm(FormValidationAction):
    def name(self) -> str:
        return "validate_feedback_form"

    def validate_feedback_text(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if clean_feedback(slot_value if isinstance(slot_value, str) else None) is None:
            dispatcher.utter_message(response="utter_feedback_too_short")
            return {"feedback_text": None}
        return {"feedback_text": slot_value}


def _reviewed_sku(session: Session, tracker: Tracker) -> str | None:
    """The product a review is about, when the customer named one ("a review of my Sony headphones")."""
    name = tracker.get_slot("product")
    if not name:
        return None
    found = catalog.find_products(session, query=name, limit=1)
    return found[0].sku if found else None


class ActionRecordFeedback(ShopAction):
    def name(self) -> str:
        return "action_record_feedback"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        text = tracker.get_slot("feedback_text")
        if not text:
            dispatcher.utter_message(response="utter_feedback_dropped")
            return []
        try:
            feedback = record_feedback(
                session,
                conversation_id=tracker.sender_id,
                text=text,
                customer_external_id=verified_customer(tracker),
                product_sku=_reviewed_sku(session, tracker),
            )
        except FeedbackRejected:  # the form validates it first; a bare word that slipped through is not kept
            dispatcher.utter_message(response="utter_feedback_dropped")
            return [SlotSet("feedback_text", None)]
        dispatcher.utter_message(response="utter_feedback_recorded", reference=feedback.reference)
        return [SlotSet("feedback_text", None)]
