"""A piece of information on its own ("TD104233", "the galaxy s24") outside any question of the bot's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction
from actions.context import latest_entity, previous_bot_action
from actions.orders import ActionCancelOrderCheck, ActionDeliveryProblem, ActionOrderStatus
from actions.products import ActionProductLookup

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# "sorry, I meant TD105880": an order number right after one of these answered about another order asks the
# same again about this one (a cancellation is still only asked, never done, until the customer confirms).
REPEATED_FOR_ANOTHER_ORDER = {action().name(): action for action in (ActionCancelOrderCheck, ActionDeliveryProblem)}


class ActionHandleInform(ShopAction):
    """An order number means "where is it?" (or, right after a request about another order, that request again);
    a product, brand or category means "tell me about it"."""

    def name(self) -> str:
        return "action_handle_inform"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        if latest_entity(tracker, "order_id"):
            repeated = REPEATED_FOR_ANOTHER_ORDER.get(previous_bot_action(tracker) or "")
            return (repeated or ActionOrderStatus)().handle(dispatcher, tracker, session)
        if any(latest_entity(tracker, e) for e in ("product", "product_category", "brand", "device")):
            return ActionProductLookup().handle(dispatcher, tracker, session)
        dispatcher.utter_message(response="utter_ask_what_to_do")
        return []
