"""Reviews and feedback: the form asks for it in the customer's words, and it is stored before it is thanked for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction
from actions.context import verified_customer
from actions.orders import AWAITING
from bot.shop import catalog
from bot.shop.feedback import (
    FeedbackRejected,
    bought_product_named,
    clean_feedback,
    feedback_in_request,
    record_feedback,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

REQUEST = "leave_review"  # the intent of asking to give feedback
FEEDBACK_TEXT = "feedback_text"  # awaiting: the form asks for it


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


def _request_text(tracker: Tracker) -> str | None:
    """What the customer said when they asked to give feedback (the form's answer comes later)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and (event.get("parse_data") or {}).get("intent", {}).get("name") == REQUEST:
            return event.get("text")
    return None


def _reviewed_sku(session: Session, tracker: Tracker) -> str | None:
    """The product a review is about: the one the customer named ("a review of my Sony headphones"), else the one
    of their purchases that their request's words name."""
    name = tracker.get_slot("product")
    if name:
        found = catalog.find_products(session, query=name, limit=1)
        if found:
            return found[0].sku
    return bought_product_named(session, verified_customer(tracker), _request_text(tracker))


def _record(
    dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, text: str, sku: str | None
) -> list[dict[str, Any]]:
    """Keeps the feedback and thanks for it with its reference, in that order."""
    events: list[dict[str, Any]] = [SlotSet("feedback_text", None), SlotSet(AWAITING, None)]
    try:
        feedback = record_feedback(
            session,
            conversation_id=tracker.sender_id,
            text=text,
            customer_external_id=verified_customer(tracker),
            product_sku=sku,
        )
    except FeedbackRejected:  # the form validates it first; a bare word that slipped through is not kept
        dispatcher.utter_message(response="utter_feedback_dropped")
        return events
    dispatcher.utter_message(response="utter_feedback_recorded", reference=feedback.reference)
    return events


class ActionFeedbackStart(ShopAction):
    """A request to give feedback: kept at once when it already says it, else `feedback_form` asks for it."""

    def name(self) -> str:
        return "action_feedback_start"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        sku = _reviewed_sku(session, tracker)
        product = catalog.get_product(session, sku) if sku else None
        said = feedback_in_request(tracker.latest_message.get("text"), product.name if product else None)
        if said is None:
            return [SlotSet("feedback_text", None), SlotSet(AWAITING, FEEDBACK_TEXT)]
        return _record(dispatcher, tracker, session, said, sku)


class ActionRecordFeedback(ShopAction):
    def name(self) -> str:
        return "action_record_feedback"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        text = tracker.get_slot("feedback_text")
        if not text:
            dispatcher.utter_message(response="utter_feedback_dropped")
            return [SlotSet("feedback_text", None), SlotSet(AWAITING, None)]
        return _record(dispatcher, tracker, session, text, _reviewed_sku(session, tracker))
