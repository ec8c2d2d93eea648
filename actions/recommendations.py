"""Recommendations, "not interested", "more like this", clicks and offers: thin calls into the engine.

The engine (bot/personalization/engine.py) applies every rule; these actions read what the customer said
and how the engine answered, and say it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import formatting as fmt
from actions.base import ShopAction, failed
from actions.context import from_button, latest_entity, verified_customer
from actions.orders import AWAITING
from actions.products import (
    LAST_RECOMMENDATIONS,
    accessories_answer,
    goes_with_own_device,
    product_cards,
    show_accessories,
)
from bot import payloads
from bot.personalization.budget import parse_budget
from bot.personalization.engine import (
    WITHHELD_NO_CONSENT,
    WITHHELD_OPEN_ISSUE,
    RecommendationResult,
    default_engine,
)
from bot.settings import get_settings
from bot.shop import catalog, kinds
from bot.shop.customers import customer_plans

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SUGGESTIONS_INSTEAD = "suggestions_instead"  # `awaiting`: "no offer; suggest something instead?" asked


def _channel(tracker: Tracker) -> str:
    return (tracker.get_latest_input_channel() or "chat")[:32]


def _describe(result: RecommendationResult) -> str:
    return fmt.bullet_list(f"{r.name}: {fmt.money(r.price)} ({r.reason})" for r in result.items)


def _open_payload(sku: str) -> str:
    return f'/recommendation_clicked{{"product_sku":"{sku}"}}'


def _buttons(result: RecommendationResult) -> list[dict[str, str]]:
    """One tap per suggestion: opening it is the click that closes the loop."""
    return [{"title": f"{r.name} · {fmt.money(r.price)}", "payload": _open_payload(r.sku)} for r in result.items]


# The widget's placeholder pictures per category (bot/web/static/products/); a shop with product photos puts their
# URLs here instead.


def _cards(result: RecommendationResult) -> dict[str, Any]:
    """Product cards for the web widget (docs/widget-protocol.md); other channels use the text and buttons."""
    images = get_settings().asset_base_url
    return {
        "type": "product_cards",
        "products": [
            {
                "sku": r.sku,
                "name": r.name,
                "price": fmt.money(r.price),
                "image": f"{images}products/{catalog.picture_of(r.category)}.svg",
                "reason": r.reason,
                "open_payload": _open_payload(r.sku),
                "not_interested_payload": f'/not_interested{{"product_sku":"{r.sku}"}}',
            }
            for r in result.items
        ],
    }


def _remember(
    result: RecommendationResult, category: str | None = None, budget: float | None = None, kind: str | None = None
) -> dict[str, Any]:
    return SlotSet(
        LAST_RECOMMENDATIONS,
        {
            "request_id": result.request_id,
            "skus": [r.sku for r in result.items],
            "category": category,
            "max_price": budget,
            "kind": kind,
        },
    )


def _kept_kind(tracker: Tracker, category: str | None) -> str | None:
    """The kind of product of the last suggestions, while the customer goes on about the same category ("a
    wireless mouse" then "bluetooth would be best": still mice)."""
    last = tracker.get_slot(LAST_RECOMMENDATIONS)
    if not isinstance(last, dict) or not category or last.get("category") != category:
        return None
    kind = last.get("kind")
    return kind if isinstance(kind, str) else None


def _kept_budget(tracker: Tracker, category: str | None) -> float | None:
    """The budget of the last suggestions, while the customer goes on about the same kind of product ("under
    300" then "something with GPS": still under 300)."""
    last = tracker.get_slot(LAST_RECOMMENDATIONS)
    if not isinstance(last, dict) or last.get("max_price") is None or last.get("category") != category:
        return None
    try:
        return float(last["max_price"])
    except (TypeError, ValueError):  # a slot from an older conversation, or tampered
        return None


def shown_in_conversation(tracker: Tracker) -> dict[str, str]:
    """Each product suggested in this conversation, with the request that last showed it (from the slot's history,
    which Rasa keeps in the tracker): the only impressions a click here can answer."""
    shown: dict[str, str] = {}
    for event in tracker.events:
        if event.get("event") != "slot" or event.get("name") != LAST_RECOMMENDATIONS:
            continue
        value = event.get("value")
        if not isinstance(value, dict) or not isinstance(value.get("request_id"), str):
            continue
        for sku in value.get("skus") or []:
            if isinstance(sku, str):
                shown[sku] = value["request_id"]
    return shown


def offered_to_dismiss(tracker: Tracker) -> frozenset[str]:
    """Products the customer may turn down by id: those suggested or shown with a "Not interested" button here."""
    buttons = payloads.offered_values(tracker.events, "not_interested", "product_sku")
    return buttons | frozenset(shown_in_conversation(tracker))


def _budget(tracker: Tracker) -> float | None:
    return parse_budget(latest_entity(tracker, "budget")) or parse_budget((tracker.latest_message or {}).get("text"))


def _say(dispatcher: CollectingDispatcher, result: RecommendationResult, heading: str) -> None:
    dispatcher.utter_message(
        response="utter_recommendations",
        heading=heading,
        products=_describe(result),
        buttons=_buttons(result),
        json_message=_cards(result),
    )


class ActionRecommendProducts(ShopAction):
    def name(self) -> str:
        return "action_recommend_products"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        category = catalog.normalize_category(
            latest_entity(tracker, "product_category") or tracker.get_slot("product_category") or ""
        )
        brand = latest_entity(tracker, "brand")
        budget = _budget(tracker)
        if budget is None:
            budget = _kept_budget(tracker, category)
        focus = [s for s in (latest_entity(tracker, "product_sku"),) if s]
        customer = verified_customer(tracker)
        events = [SlotSet(AWAITING, None)] if tracker.get_slot(AWAITING) == SUGGESTIONS_INSTEAD else []
        cheaper = _cheaper(dispatcher, tracker, session, customer, category)
        if cheaper is not None:
            return events + cheaper
        return events + self._suggest(dispatcher, tracker, session, customer, category, brand, budget, focus)

    def _suggest(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: Session,
        customer: str | None,
        category: str | None,
        brand: str | None,
        budget: Any,
        focus: list[str],
    ) -> list[dict[str, Any]]:
        answered = accessories_answer(dispatcher, tracker, session, max_price=budget)
        if answered is None and not (category or brand or focus):
            answered = goes_with_own_device(dispatcher, tracker, session, max_price=budget)
        if answered is not None:
            return answered
        if customer is None and not (category or brand or budget or focus):
            # Nothing to go on: a visitor who is not signed in gets asked, not a random list.
            dispatcher.utter_message(response="utter_ask_recommendation_category")
            return []
        # "a laptop bag": bags, not every laptop accessory
        kind = kinds.kind_named(session, category, (tracker.latest_message or {}).get("text"))
        kind = kind or _kept_kind(tracker, category)
        result = default_engine().recommend(
            session,
            customer,
            category=category,
            brand=brand,
            max_price=budget,
            focus_skus=focus,
            n=3,
            solicited=True,
            channel=_channel(tracker),
            within=kinds.product_ids_of_kind(session, category, kind) if category and kind else None,
        )
        if not result.items:
            what = brand or (catalog.CATEGORY_NAMES.get(category, "that").lower() if category else "that")
            dispatcher.utter_message(response="utter_no_recommendations", query=what)
            return [SlotSet("product_category", category), failed("no_recommendations")]
        what = catalog.CATEGORY_NAMES.get(category, "").lower() if category else ""
        heading = f"Some {what} you might like" if what else "Some suggestions for you"
        _say(dispatcher, result, heading + (f" under {fmt.money(budget)}:" if budget else ":"))
        return [SlotSet("product_category", category), _remember(result, category, budget, kind)]


_CHEAPER = re.compile(
    r"\b(cheaper|less expensive|more affordable|lower price|too expensive|too pricey|cost less)\b", re.IGNORECASE
)
_ABOUT_A_PLAN = re.compile(r"\b(plan|tariff|contract|sim|broadband|fibre|fiber|internet)\b", re.IGNORECASE)
_PENNY = Decimal("0.01")


def _cheaper(
    dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, customer: str | None, category: str | None
) -> list[dict[str, Any]] | None:
    """ "Anything cheaper?": about a plan, plans of its kind that cost less than the customer's own; else the last
    request again, under the cheapest price it showed. None when the message asks nothing cheaper."""
    text = str((tracker.latest_message or {}).get("text") or "")
    if not _CHEAPER.search(text):
        return None
    last = tracker.get_slot(LAST_RECOMMENDATIONS) or {}
    last = last if isinstance(last, dict) else {}
    if customer is not None and (category in catalog.PLAN_CATEGORIES or _ABOUT_A_PLAN.search(text)):
        plans = [
            p
            for p in customer_plans(session, customer, active_only=True)
            if category not in catalog.PLAN_CATEGORIES or p.category == category
        ]
        if plans:
            current = plans[0]
            found = catalog.find_products(
                session, category=current.category, max_price=Decimal(current.monthly_price) - _PENNY, limit=5
            )
            if not found:
                dispatcher.utter_message(
                    response="utter_no_cheaper_plan", plan=current.name, price=fmt.money(current.monthly_price)
                )
                return []
            reason = f"Less than the {fmt.money(current.monthly_price)} a month of your {current.name}"
            dispatcher.utter_message(
                response="utter_cheaper_plans",
                plan=current.name,
                price=fmt.money(current.monthly_price),
                products=_describe_views(found),
                json_message=product_cards(found, reason),
            )
            return [SlotSet(LAST_RECOMMENDATIONS, {"category": current.category, "skus": [p.sku for p in found]})]
    shown = [p for p in (catalog.get_product(session, sku) for sku in last.get("skus") or []) if p is not None]
    if not shown:
        return None
    below = min(p.price for p in shown) - _PENNY
    if last.get("model"):
        return show_accessories(dispatcher, session, last, max_price=below)
    result = default_engine().recommend(
        session,
        customer,
        category=last.get("category") or shown[0].category,
        max_price=below,
        n=3,
        solicited=True,
        channel=_channel(tracker),
    )
    if not result.items:
        dispatcher.utter_message(response="utter_no_recommendations", query=f"cheaper than {fmt.money(below + _PENNY)}")
        return []
    _say(dispatcher, result, f"Under {fmt.money(below + _PENNY)}:")
    return [_remember(result)]


def _describe_views(products: list[Any]) -> str:
    return fmt.bullet_list(f"{p.name}: {fmt.money(p.price)}" for p in products)


class ActionMoreLikeThis(ShopAction):
    def name(self) -> str:
        return "action_more_like_this"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        shown = (tracker.get_slot(LAST_RECOMMENDATIONS) or {}).get("skus") or []
        sku = latest_entity(tracker, "product_sku") or tracker.get_slot("product_sku") or (shown[0] if shown else None)
        if not sku:
            dispatcher.utter_message(response="utter_ask_recommendation_category")
            return []
        result = default_engine().recommend(
            session, verified_customer(tracker), focus_skus=[sku], n=3, solicited=True, channel=_channel(tracker)
        )
        if not result.items:
            dispatcher.utter_message(response="utter_no_recommendations", query="that")
            return [failed("no_recommendations")]
        product = catalog.get_product(session, sku)
        _say(dispatcher, result, f"More like the {product.name}:" if product else "More like that:")
        return [SlotSet("product_sku", sku), _remember(result)]


class ActionRecommendationClicked(ShopAction):
    """A suggestion was opened: log the click, show the product, offer "more like this" / "not interested"."""

    def name(self) -> str:
        return "action_recommendation_clicked"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        sku = latest_entity(tracker, "product_sku")
        product = catalog.get_product(session, sku) if sku else None
        if product is None:
            dispatcher.utter_message(response="utter_no_products", query=sku or "that product")
            return [failed("unknown_product")]
        # A product asked about by name is shown, but only a suggestion made in this conversation counts as clicked.
        request_id = shown_in_conversation(tracker).get(product.sku)
        if request_id is not None:
            default_engine().record_click(
                session, verified_customer(tracker), product.sku, request_id=request_id, channel=_channel(tracker)
            )
        dispatcher.utter_message(
            response="utter_product_details",
            name=product.name,
            price=fmt.money(product.price),
            description=product.description,
            buttons=[
                {"title": "More like this", "payload": f'/more_like_this{{"product_sku":"{product.sku}"}}'},
                {"title": "Not interested", "payload": f'/not_interested{{"product_sku":"{product.sku}"}}'},
            ],
        )
        return [SlotSet("product_sku", product.sku)]


class ActionNotInterested(ShopAction):
    """Item named (a button) -> that item; a category named -> that category (on request); else what was
    just suggested."""

    def name(self) -> str:
        return "action_not_interested"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        sku = latest_entity(tracker, "product_sku")
        if sku and from_button(tracker) and sku not in offered_to_dismiss(tracker):
            # A "Not interested" button for a product nobody showed here is forged: it would skew the figures.
            dispatcher.utter_message(response="utter_option_unavailable")
            return []
        category = catalog.normalize_category(latest_entity(tracker, "product_category") or "")
        shown: Sequence[str] = (tracker.get_slot(LAST_RECOMMENDATIONS) or {}).get("skus") or []
        skus = [sku] if sku else ([] if category else list(shown))
        customer = verified_customer(tracker)
        remembered = default_engine().not_interested(
            session, customer, skus=skus, category=category, channel=_channel(tracker)
        )
        if not remembered or not (skus or category):
            dispatcher.utter_message(response="utter_not_interested")
        elif category:
            dispatcher.utter_message(
                response="utter_not_interested_category",
                category=catalog.CATEGORY_NAMES.get(category, category).lower(),
                days=int(default_engine().config.category_exclusion_days),
            )
        else:
            dispatcher.utter_message(response="utter_not_interested_items")
        return [SlotSet(LAST_RECOMMENDATIONS, None)]


class ActionOffer(ShopAction):
    """The customer's next-best-action: a retention offer, an upsell, or nothing (and why not)."""

    def name(self) -> str:
        return "action_offer"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer = verified_customer(tracker)
        if customer is None:
            dispatcher.utter_message(response="utter_offers_sign_in")
            return []
        offer = default_engine().offer(session, customer, solicited=True, channel=_channel(tracker))
        if offer.action == "retention_offer":
            dispatcher.utter_message(response="utter_offer_retention")
            return [SlotSet("next_best_action", offer.action)]
        if offer.action == "upsell":
            _say(dispatcher, offer.recommendations, "You might like these:")
            return [SlotSet("next_best_action", offer.action), _remember(offer.recommendations)]
        if offer.withheld == WITHHELD_OPEN_ISSUE:  # the true reason: promotions wait while a problem is open
            dispatcher.utter_message(response="utter_offers_held_for_open_issue")
            return [SlotSet("next_best_action", "none")]
        if offer.withheld == WITHHELD_NO_CONSENT:
            dispatcher.utter_message(response="utter_offers_need_consent")
            return [SlotSet("next_best_action", "none")]
        dispatcher.utter_message(response="utter_no_offers")  # it asks "suggest something instead?"
        return [SlotSet("next_best_action", "none"), SlotSet(AWAITING, SUGGESTIONS_INSTEAD)]


class ActionUnsubscribe(ShopAction):
    """No more marketing: stored against the account, after which nothing unasked-for is suggested."""

    def name(self) -> str:
        return "action_unsubscribe"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        if not default_engine().set_marketing(session, verified_customer(tracker), False, channel=_channel(tracker)):
            dispatcher.utter_message(response="utter_unsubscribe_sign_in")
            return []
        dispatcher.utter_message(response="utter_unsubscribed")
        return []


class ActionPersonalizationConsent(ShopAction):
    """The customer's answer to "may we personalize?", stored against their account (newest answer wins)."""

    def name(self) -> str:
        return "action_personalization_consent"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        granted = (tracker.latest_message or {}).get("intent", {}).get("name") == "personalization_opt_in"
        if not default_engine().set_consent(session, verified_customer(tracker), granted, channel=_channel(tracker)):
            dispatcher.utter_message(response="utter_consent_sign_in")
            return []
        if granted:
            dispatcher.utter_message(response="utter_consent_granted")
        else:
            dispatcher.utter_message(response="utter_consent_withdrawn")
        return []
