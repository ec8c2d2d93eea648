"""Product questions: search the catalog; a product the customer names is remembered as interest."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import formatting as fmt
from actions.base import ShopAction
from actions.context import latest_entity, verified_customer
from bot.personalization.engine import default_engine
from bot.shop import catalog


def _describe(products: List[Any]) -> str:
    return fmt.bullet_list(f"{p.name}: {fmt.money(p.price)}" for p in products)


class ActionProductLookup(ShopAction):
    def name(self) -> Text:
        return "action_product_lookup"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Any) -> List[Dict[Text, Any]]:
        product = latest_entity(tracker, "product") or latest_entity(tracker, "device")
        category = catalog.normalize_category(latest_entity(tracker, "product_category") or "")
        brand = latest_entity(tracker, "brand")
        if not (product or category or brand):
            dispatcher.utter_message(response="utter_ask_which_product")
            return []
        found = catalog.find_products(session, query=product, category=category, brand=brand, limit=5)
        if not found and product:
            # A name we do not sell; the category or brand alone may still help.
            found = catalog.find_products(session, category=category, brand=brand, limit=5) if (category or brand) else []
        if not found:
            dispatcher.utter_message(response="utter_no_products", query=product or brand or catalog.CATEGORY_NAMES.get(category, "that"))
            return []
        dispatcher.utter_message(response="utter_product_results", products=_describe(found))
        events = [SlotSet("product", product), SlotSet("product_category", category), SlotSet("brand", brand)]
        if product:
            # The product the customer named is interest the recommender learns from ("more like this" too).
            default_engine().record_mention(session, verified_customer(tracker), found[0].sku)
            events.append(SlotSet("product_sku", found[0].sku))
        return events
