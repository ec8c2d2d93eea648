"""A piece of information on its own ("TD104233", "the galaxy s24") outside any question of the bot's."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction
from actions.context import latest_entity
from actions.orders import ActionOrderStatus
from actions.products import ActionProductLookup


class ActionHandleInform(ShopAction):
    """An order number means "where is it?"; a product, brand or category means "tell me about it"."""

    def name(self) -> Text:
        return "action_handle_inform"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Any) -> List[Dict[Text, Any]]:
        if latest_entity(tracker, "order_id"):
            return ActionOrderStatus().handle(dispatcher, tracker, session)
        if any(latest_entity(tracker, e) for e in ("product", "product_category", "brand", "device")):
            return ActionProductLookup().handle(dispatcher, tracker, session)
        dispatcher.utter_message(response="utter_ask_what_to_do")
        return []
