"""Product questions: search the catalog; a product the customer names is remembered as interest.

An accessory asked for a device ("a case for my iPhone 13", "charger for the Pixel 8") is answered from the
compatibility table for that exact model and that type, never the device family: `accessories_answer`, used by
the suggestion action too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import formatting as fmt
from actions.base import ShopAction
from actions.context import latest_entity, verified_customer
from bot.personalization.engine import default_engine
from bot.settings import get_settings
from bot.shop import catalog
from bot.shop.customers import customer_devices

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# The devices whose accessories each accessory category holds (a phone's case, a laptop's bag).
_ACCESSORY_DEVICES = {
    "phone_accessories": ("phones",),
    "laptop_accessories": ("laptops",),
    "chargers_cables": catalog.DEVICE_CATEGORIES,
}


def _describe(products: list[Any]) -> str:
    return fmt.bullet_list(f"{p.name}: {fmt.money(p.price)}" for p in products)


def _entity_text(tracker: Tracker, entity: str, value: str) -> str | None:
    """What the customer typed for an entity ("cases"), before synonyms mapped it to `value`
    ("phone_accessories")."""
    message = tracker.latest_message or {}
    text = str(message.get("text") or "")
    for found in message.get("entities") or []:
        if (
            found.get("entity") == entity
            and catalog.normalize_category(str(found.get("value"))) == value
            and isinstance(found.get("start"), int)
            and isinstance(found.get("end"), int)
        ):
            return text[found["start"] : found["end"]]
    return None


# Slot: the products last suggested or shown as cards, with the request that found them ({"request_id", "skus"}
# from the engine; {"model", "own", "category", "kind", "skus"} from an accessory answer), so a click counts
# only for what was shown and "anything cheaper?" narrows the same request.
LAST_RECOMMENDATIONS = "last_recommendations"
SEARCH_REASON = "Matches what you asked for"  # the one reason true of every search result


def accessories_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, max_price: Any = None
) -> list[dict[str, Any]] | None:
    """Accessories of the asked type for the exact device named, or the customer's own device of the right
    kind; None when the message asks for no accessory of a device (the caller answers as usual)."""
    # "a case for my phone" names two categories: the accessory is what is asked for.
    named = [catalog.normalize_category(str(v)) for v in tracker.get_latest_entity_values("product_category")]
    category = next((c for c in named if c in catalog.ACCESSORY_CATEGORIES), None)
    if category is None:
        return None
    text = (tracker.latest_message or {}).get("text") or ""
    model, own = catalog.model_named_in(session, text), False
    customer = verified_customer(tracker)
    if model is None and customer is not None:
        devices = [d for d in customer_devices(session, customer) if d.category in _ACCESSORY_DEVICES[category]]
        product = catalog.get_product(session, devices[0].sku) if devices else None
        model, own = (product.attributes.get("model") if product else None), True
    if model is None:
        return None
    kind = catalog.accessory_kind(_entity_text(tracker, "product_category", category))
    return show_accessories(
        dispatcher, session, {"model": model, "own": own, "category": category, "kind": kind}, max_price
    )


def for_another_device(
    dispatcher: CollectingDispatcher, tracker: Tracker, session: Session
) -> list[dict[str, Any]] | None:
    """ "For my iPhone 15 Pro" right after accessories were shown: the same request for that device (the same one
    again when it was theirs already). None when the message names a kind of product of its own, or no device
    model, or no accessories were just shown."""
    last = tracker.get_slot(LAST_RECOMMENDATIONS)
    if not isinstance(last, dict) or "model" not in last or latest_entity(tracker, "product_category"):
        return None
    model = catalog.model_named_in(session, (tracker.latest_message or {}).get("text"))
    if model is None:
        return None
    request = {key: last.get(key) for key in ("category", "kind")}
    return show_accessories(dispatcher, session, {**request, "model": model, "own": _owns(session, tracker, model)})


def _owns(session: Session, tracker: Tracker, model: str) -> bool:
    customer = verified_customer(tracker)
    if customer is None:
        return False
    products = (catalog.get_product(session, d.sku) for d in customer_devices(session, customer))
    return model in {p.attributes.get("model") for p in products if p is not None}


def goes_with_own_device(
    dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, max_price: Any = None
) -> list[dict[str, Any]] | None:
    """ "Just got the Moto G84, what should I get with it?": accessories made for a device of the customer's own
    that the request names; None when it names none of theirs (the caller suggests as usual)."""
    model = catalog.model_named_in(session, (tracker.latest_message or {}).get("text"))
    if model is None or not _owns(session, tracker, model):
        return None
    return show_accessories(
        dispatcher, session, {"model": model, "own": True, "category": None, "kind": None}, max_price
    )


def show_accessories(
    dispatcher: CollectingDispatcher, session: Session, request: dict[str, Any], max_price: Any = None
) -> list[dict[str, Any]]:
    """The accessories `request` asks for ({model, own, category, kind}), under `max_price` when given; the
    request is remembered for a follow-up ("anything cheaper?")."""
    model, category, kind = request["model"], request["category"], request.get("kind")
    found = catalog.accessories_for_model(session, model, category=category, kind=kind, max_price=max_price)
    if not found and kind and max_price is None:  # the type has nothing for this model: what there is
        found = catalog.accessories_for_model(session, model, category=category)
    if not found:
        things = (
            f"{kind.replace('_', ' ')}s"
            if kind
            else catalog.CATEGORY_NAMES[category].lower()
            if category
            else "accessories"
        )
        what = f"{things} for the {model}"
        dispatcher.utter_message(
            response="utter_no_products",
            query=f"{what} under {fmt.money(max_price)}" if max_price is not None else what,
        )
        return [SlotSet("product_category", category)]
    reason = f"Fits your {model}" if request.get("own") else f"Made for the {model}"
    dispatcher.utter_message(
        response="utter_accessories_for_model",
        model=model,
        products=_describe(found),
        json_message=product_cards(found, reason),
    )
    return [
        SlotSet("product_category", category),
        SlotSet(LAST_RECOMMENDATIONS, {**request, "skus": [p.sku for p in found]}),
    ]


def product_cards(products: list[Any], reason: str) -> dict[str, Any]:
    """Cards for the web widget (docs/widget-protocol.md): the same `reason` is true of every product."""
    images = get_settings().asset_base_url
    return {
        "type": "product_cards",
        "products": [
            {
                "sku": p.sku,
                "name": p.name,
                "price": fmt.money(p.price),
                "reason": reason,
                "image": f"{images}products/{catalog.picture_of(p.category)}.svg",
            }
            for p in products
        ],
    }


class ActionProductLookup(ShopAction):
    def name(self) -> str:
        return "action_product_lookup"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        product = latest_entity(tracker, "product") or latest_entity(tracker, "device")
        category = catalog.normalize_category(latest_entity(tracker, "product_category") or "")
        brand = latest_entity(tracker, "brand")
        device = catalog.device_named_in(session, product) if product and category else None
        if device is not None and device[1] != category:
            product = None  # "earphones? my iPhone 13 came without": the phone is what they have, not what they ask
        answered = accessories_answer(dispatcher, tracker, session)
        if answered is None:
            answered = for_another_device(dispatcher, tracker, session)
        if answered is not None:
            return answered
        if not (product or category or brand):
            dispatcher.utter_message(response="utter_ask_which_product")
            return []
        found = catalog.find_products(session, query=product, category=category, brand=brand, limit=5)
        matched = bool(found)
        if not found and product:
            # A name we do not sell; the category or brand alone may still help.
            found = (
                catalog.find_products(session, category=category, brand=brand, limit=5) if (category or brand) else []
            )
        if not found:
            dispatcher.utter_message(
                response="utter_no_products",
                query=product or brand or catalog.CATEGORY_NAMES.get(category or "", "that"),
            )
            return []
        events = [SlotSet("product", product), SlotSet("product_category", category), SlotSet("brand", brand)]
        if not matched:  # near things, not what was asked for: a list, no cards saying they match
            dispatcher.utter_message(response="utter_product_results", products=_describe(found))
            return events
        dispatcher.utter_message(
            response="utter_product_results",
            products=_describe(found),
            json_message=product_cards(found, SEARCH_REASON),
        )
        events.append(
            SlotSet(LAST_RECOMMENDATIONS, {"category": category or found[0].category, "skus": [p.sku for p in found]})
        )
        if product:
            # The product the customer named is interest the recommender learns from ("more like this" too).
            default_engine().record_mention(session, verified_customer(tracker), found[0].sku)
            events.append(SlotSet("product_sku", found[0].sku))
        return events
