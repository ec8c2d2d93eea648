"""Recommendation actions run for real: signed trackers in, the engine with a trained model, a real shop."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from actions.recommendations import (
    LAST_RECOMMENDATIONS,
    ActionMoreLikeThis,
    ActionNotInterested,
    ActionOffer,
    ActionRecommendationClicked,
    ActionRecommendProducts,
)
from bot.db.models import BehaviourEvent, CustomerSegment, Product, RecommendationExclusion, utcnow
from bot.db.session import session_scope
from bot.personalization import store
from bot.personalization.demo_behaviour import seed_demo_behaviour
from bot.personalization.jobs.recommender_training import train
from bot.shop.customers import customer_pk
from tests.actions.conftest import bot_said, run_action, tracker
from tests.conftest import ROOT

CUSTOMER = "CUST-00005"


@pytest.fixture
def recs_shop(writable_shop_url: str, private_models_dir) -> str:
    with session_scope(writable_shop_url) as session:
        seed_demo_behaviour(session)
        store.set_consent(session, customer_pk(session, CUSTOMER), True)
    with session_scope(writable_shop_url) as session:
        train(session, private_models_dir, progress=False)
    return writable_shop_url


def _slot(events, name):
    return next(e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name)


def _events_of(url: str, kind: str) -> list[BehaviourEvent]:
    with session_scope(url) as session:
        cid = customer_pk(session, CUSTOMER)
        return list(
            session.execute(
                select(BehaviourEvent).where(BehaviourEvent.customer_id == cid, BehaviourEvent.kind == kind)
            ).scalars()
        )


def _suggest_laptops() -> tuple[list, list]:
    """The signed-in customer asks for laptops: (messages, events) of the suggestion."""
    return run_action(
        ActionRecommendProducts(),
        tracker(
            "recommend a laptop",
            intent="ask_recommendation",
            entities={"product_category": "laptops"},
            customer=CUSTOMER,
        ),
    )


def test_a_budget_holds_while_the_customer_goes_on_about_the_same_kind_of_product(recs_shop: str) -> None:
    """ "headphones under £150" then "noise cancelling ones?": still under £150; another kind starts afresh."""
    _, first = run_action(
        ActionRecommendProducts(),
        tracker(
            "any headphones under £150?",
            intent="ask_recommendation",
            entities={"product_category": "headphones"},
            customer=CUSTOMER,
        ),
    )
    slots = {LAST_RECOMMENDATIONS: _slot(first, LAST_RECOMMENDATIONS), "product_category": "headphones"}
    messages, events = run_action(
        ActionRecommendProducts(),
        tracker("noise cancelling ones?", intent="ask_recommendation", customer=CUSTOMER, slots=slots),
    )
    assert "under £150.00" in messages[0]["heading"]
    with session_scope(recs_shop) as session:
        prices = [
            session.execute(select(Product.price).where(Product.sku == sku)).scalar_one()
            for sku in _slot(events, LAST_RECOMMENDATIONS)["skus"]
        ]
    assert prices and all(p <= 150 for p in prices)
    messages, _ = run_action(
        ActionRecommendProducts(),
        tracker(
            "and a laptop?",
            intent="ask_recommendation",
            entities={"product_category": "laptops"},
            customer=CUSTOMER,
            slots=slots,
        ),
    )
    assert "under" not in messages[0]["heading"]


def _any_sku(url: str) -> str:
    with session_scope(url) as session:
        return session.execute(select(Product.sku).order_by(Product.sku).limit(1)).scalar_one()


def test_suggestions_come_with_reasons_and_a_tap_each_and_are_stored_before_the_answer(recs_shop: str) -> None:
    messages, events = run_action(
        ActionRecommendProducts(),
        tracker(
            "any headphones under £150?",
            intent="ask_recommendation",
            entities={"product_category": "headphones"},
            customer=CUSTOMER,
        ),
    )
    [message] = messages
    assert message["response"] == "utter_recommendations"
    assert "under £150.00" in message["heading"]
    assert message["products"].count("•") == len(message["buttons"]) >= 1
    assert "(" in message["products"]  # each line ends with its reason
    shown = _slot(events, LAST_RECOMMENDATIONS)
    payloads = [b["payload"] for b in message["buttons"]]
    assert [f'/recommendation_clicked{{"product_sku":"{sku}"}}' for sku in shown["skus"]] == payloads
    impressions = _events_of(recs_shop, "impression")
    assert {e.request_id for e in impressions} == {shown["request_id"]}
    assert all(e.solicited for e in impressions)
    # The widget shows the same suggestions as cards: picture, price, the reason, open and not interested.
    cards = message["custom"]
    assert cards["type"] == "product_cards"
    assert [c["sku"] for c in cards["products"]] == shown["skus"]
    assert [c["open_payload"] for c in cards["products"]] == payloads
    for card in cards["products"]:
        assert card["price"].startswith("£") and card["reason"]
        assert card["not_interested_payload"] == f'/not_interested{{"product_sku":"{card["sku"]}"}}'
        picture = card["image"].rsplit("/", 1)[-1]
        assert (ROOT / "bot" / "web" / "static" / "products" / picture).exists(), picture


def test_a_visitor_who_says_nothing_about_what_they_want_is_asked(recs_shop: str) -> None:
    messages, _ = run_action(ActionRecommendProducts(), tracker("what should i buy", intent="ask_recommendation"))
    assert [m["response"] for m in messages] == ["utter_ask_recommendation_category"]


def test_tapping_a_suggestion_logs_the_click_and_offers_more_or_not_interested(recs_shop: str) -> None:
    suggested, events = _suggest_laptops()
    shown = _slot(events, LAST_RECOMMENDATIONS)
    sku = shown["skus"][0]
    messages, events = run_action(
        ActionRecommendationClicked(),
        tracker(
            f'/recommendation_clicked{{"product_sku":"{sku}"}}',
            intent="recommendation_clicked",
            entities={"product_sku": sku},
            customer=CUSTOMER,
            slots={LAST_RECOMMENDATIONS: shown},
            events=events + bot_said(suggested),
        ),
    )
    assert messages[0]["response"] == "utter_product_details"
    assert [b["title"] for b in messages[0]["buttons"]] == ["More like this", "Not interested"]
    [click] = _events_of(recs_shop, "click")
    assert click.request_id == shown["request_id"] and click.strategy is not None


def test_not_interested_drops_what_was_just_suggested_or_the_category_named(recs_shop: str) -> None:
    _, events = run_action(
        ActionRecommendProducts(),
        tracker(
            "recommend headphones",
            intent="ask_recommendation",
            entities={"product_category": "headphones"},
            customer=CUSTOMER,
        ),
    )
    shown = _slot(events, LAST_RECOMMENDATIONS)
    messages, events = run_action(
        ActionNotInterested(),
        tracker("not interested", intent="not_interested", customer=CUSTOMER, slots={LAST_RECOMMENDATIONS: shown}),
    )
    assert messages[0]["response"] == "utter_not_interested_items"
    assert _slot(events, LAST_RECOMMENDATIONS) is None
    messages, _ = run_action(
        ActionNotInterested(),
        tracker(
            "stop suggesting cases", intent="not_interested", entities={"product_category": "cases"}, customer=CUSTOMER
        ),
    )
    assert messages[0]["response"] == "utter_not_interested_category"
    assert messages[0]["category"] == "phone accessories"
    with session_scope(recs_shop) as session:
        rows = session.execute(select(RecommendationExclusion)).scalars().all()
        excluded_ids = {r.product_id for r in rows if r.product_id}
        assert len(excluded_ids) == len(shown["skus"])
        assert {r.category for r in rows if r.category} == {"phone_accessories"}


def test_more_like_this_builds_on_the_product_under_discussion(recs_shop: str) -> None:
    _, events = run_action(
        ActionRecommendProducts(),
        tracker(
            "recommend a phone", intent="ask_recommendation", entities={"product_category": "phones"}, customer=CUSTOMER
        ),
    )
    shown = _slot(events, LAST_RECOMMENDATIONS)
    messages, events = run_action(
        ActionMoreLikeThis(),
        tracker("more like this", intent="more_like_this", customer=CUSTOMER, slots={LAST_RECOMMENDATIONS: shown}),
    )
    assert messages[0]["response"] == "utter_recommendations"
    assert _slot(events, "product_sku") == shown["skus"][0]
    assert shown["skus"][0] not in _slot(events, LAST_RECOMMENDATIONS)["skus"]


def test_offers_follow_the_next_best_action_and_need_a_signed_in_customer(recs_shop: str) -> None:
    messages, _ = run_action(ActionOffer(), tracker("any deals for me?", intent="ask_offers"))
    assert messages[0]["response"] == "utter_offers_sign_in"
    with session_scope(recs_shop) as session:
        session.merge(
            CustomerSegment(
                customer_id=customer_pk(session, CUSTOMER),
                recency_score=1,
                frequency_score=4,
                monetary_score=5,
                rfm_segment="cant_lose",
                cluster=0,
                cluster_label="lapsed buyers",
                churn_risk=0.8,
                next_best_action="retention_offer",
                next_best_action_reason="churn risk 0.80",
                refreshed_at=utcnow(),
                model_version="test",
            )
        )
    messages, events = run_action(ActionOffer(), tracker("any deals for me?", intent="ask_offers", customer=CUSTOMER))
    assert messages[0]["response"] == "utter_offer_retention"
    assert _slot(events, "next_best_action") == "retention_offer"


def test_before_the_first_training_the_best_sellers_are_suggested(writable_shop_url: str) -> None:
    messages, _ = run_action(
        ActionRecommendProducts(),
        tracker("recommend a laptop", intent="ask_recommendation", entities={"product_category": "laptops"}),
    )
    assert messages[0]["response"] == "utter_recommendations"
    assert "best sellers" in messages[0]["products"]


def test_a_customer_turns_personalization_off_and_on_in_the_chat(recs_shop: str) -> None:
    from actions.recommendations import ActionPersonalizationConsent

    messages, _ = run_action(
        ActionPersonalizationConsent(),
        tracker("stop personalizing", intent="personalization_opt_out", customer=CUSTOMER),
    )
    assert messages[0]["response"] == "utter_consent_withdrawn"
    with session_scope(recs_shop) as session:
        assert not store.has_consent(session, customer_pk(session, CUSTOMER))
    run_action(
        ActionRecommendProducts(),
        tracker(
            "recommend headphones",
            intent="ask_recommendation",
            entities={"product_category": "headphones"},
            customer=CUSTOMER,
        ),
    )
    assert {e.strategy for e in _events_of(recs_shop, "impression")} == {"non_personalized"}
    messages, _ = run_action(
        ActionPersonalizationConsent(),
        tracker("personalize my suggestions", intent="personalization_opt_in", customer=CUSTOMER),
    )
    assert messages[0]["response"] == "utter_consent_granted"
    with session_scope(recs_shop) as session:
        assert store.has_consent(session, customer_pk(session, CUSTOMER))
    messages, _ = run_action(
        ActionPersonalizationConsent(), tracker("personalize my suggestions", intent="personalization_opt_in")
    )
    assert messages[0]["response"] == "utter_consent_sign_in"


@pytest.mark.parametrize("sku", ["NOPE-0000", "", "x" * 10_000])
def test_tapping_an_unknown_product_says_so_and_logs_nothing(recs_shop: str, sku: str) -> None:
    messages, events = run_action(
        ActionRecommendationClicked(),
        tracker(
            "/recommendation_clicked", intent="recommendation_clicked", entities={"product_sku": sku}, customer=CUSTOMER
        ),
    )
    assert messages[0]["response"] == "utter_no_products"
    assert _events_of(recs_shop, "click") == []


# --- payloads the bot never offered (typed by hand, or replayed from elsewhere) change nothing ---------------------


def test_a_click_on_a_product_never_suggested_in_this_conversation_stores_no_click(recs_shop: str) -> None:
    # Another conversation showed the suggestions; this one did not: nothing here counts as their click.
    _, elsewhere = _suggest_laptops()
    sku = _slot(elsewhere, LAST_RECOMMENDATIONS)["skus"][0]
    messages, _ = run_action(
        ActionRecommendationClicked(),
        tracker(
            f'/recommendation_clicked{{"product_sku":"{sku}"}}',
            intent="recommendation_clicked",
            entities={"product_sku": sku},
            customer=CUSTOMER,
        ),
    )
    assert messages[0]["response"] == "utter_product_details"  # the catalogue is public; the click is not made up
    assert _events_of(recs_shop, "click") == []


def test_a_click_needs_the_impression_of_this_customer(recs_shop: str) -> None:
    # The conversation's slot history claims a suggestion that was never stored for this customer.
    sku = _any_sku(recs_shop)
    forged = {"event": "slot", "name": LAST_RECOMMENDATIONS, "value": {"request_id": "made-up", "skus": [sku]}}
    run_action(
        ActionRecommendationClicked(),
        tracker(
            f'/recommendation_clicked{{"product_sku":"{sku}"}}',
            intent="recommendation_clicked",
            entities={"product_sku": sku},
            customer=CUSTOMER,
            events=[forged],
        ),
    )
    assert _events_of(recs_shop, "click") == []


def test_not_interested_in_a_product_nobody_offered_here_is_refused_politely(recs_shop: str) -> None:
    sku = _any_sku(recs_shop)
    with session_scope(recs_shop) as session:
        exclusions = len(session.execute(select(RecommendationExclusion)).scalars().all())
    dismissals = len(_events_of(recs_shop, "dismissal"))
    messages, events = run_action(
        ActionNotInterested(),
        tracker(
            f'/not_interested{{"product_sku":"{sku}"}}',
            intent="not_interested",
            entities={"product_sku": sku},
            customer=CUSTOMER,
        ),
    )
    assert [m["response"] for m in messages] == ["utter_option_unavailable"]
    assert events == [] or all(e.get("name") != LAST_RECOMMENDATIONS for e in events)
    assert len(_events_of(recs_shop, "dismissal")) == dismissals
    with session_scope(recs_shop) as session:
        assert len(session.execute(select(RecommendationExclusion)).scalars().all()) == exclusions


def test_not_interested_in_a_card_that_was_shown_is_taken(recs_shop: str) -> None:
    suggested, events = _suggest_laptops()
    sku = _slot(events, LAST_RECOMMENDATIONS)["skus"][1]
    dismissals = len(_events_of(recs_shop, "dismissal"))
    messages, _ = run_action(
        ActionNotInterested(),
        tracker(
            f'/not_interested{{"product_sku":"{sku}"}}',
            intent="not_interested",
            entities={"product_sku": sku},
            customer=CUSTOMER,
            events=bot_said(suggested),
        ),
    )
    assert [m["response"] for m in messages] == ["utter_not_interested_items"]
    assert len(_events_of(recs_shop, "dismissal")) == dismissals + 1


# --- accessories for a device: the exact model and the asked type, with a reason that is true ------------------


def _asking(text: str, *, category_word: str, customer: str | None = None, intent: str = "ask_recommendation"):
    """A tracker for `text` whose product_category entity is `category_word`, where it stands in the text."""
    start = text.index(category_word)
    tr = tracker(text, intent=intent, customer=customer)
    tr.latest_message["entities"] = [
        {
            "entity": "product_category",
            "start": start,
            "end": start + len(category_word),
            "value": "phone_accessories",
            "extractor": "test",
        }
    ]
    return tr


def _fits(url: str, skus: list[str], model: str) -> bool:
    from bot.db.models import Product, ProductCompatibility

    with session_scope(url) as session:
        devices = [
            p.id
            for p in session.execute(select(Product).where(Product.category == "phones")).scalars()
            if (p.attributes or {}).get("model") == model
        ]
        fitting = set(
            session.execute(
                select(Product.sku)
                .join(ProductCompatibility, ProductCompatibility.product_id == Product.id)
                .where(ProductCompatibility.compatible_product_id.in_(devices))
            ).scalars()
        )
    return bool(skus) and set(skus) <= fitting


def test_a_case_for_a_named_model_is_a_case_made_for_that_exact_model(shop_url) -> None:
    from actions.recommendations import ActionRecommendProducts
    from bot.db.models import Product

    messages, _ = run_action(
        ActionRecommendProducts(), _asking("need a case for the iPhone 13 pls", category_word="case")
    )
    [message] = messages
    assert message["response"] == "utter_accessories_for_model" and message["model"] == "iPhone 13"
    cards = message["custom"]["products"]
    skus = [c["sku"] for c in cards]
    assert _fits(shop_url, skus, "iPhone 13")  # not the 14, 15 or 16: the compatibility table, not the family
    with session_scope(shop_url) as session:
        types = {p.attributes["type"] for p in session.execute(select(Product).where(Product.sku.in_(skus))).scalars()}
    assert types == {"case"}  # a case is a case, not a screen protector
    assert {c["reason"] for c in cards} == {"Made for the iPhone 13"}


def test_a_case_for_my_phone_fits_the_phone_the_customer_owns_and_says_so_truthfully(shop_url) -> None:
    from actions.products import ActionProductLookup
    from bot.shop import catalog
    from bot.shop.customers import customer_devices

    with session_scope(shop_url) as session:
        owner = next(
            c
            for c in (f"CUST-{i:05d}" for i in range(1, 60))
            if any(d.category == "phones" for d in customer_devices(session, c))
        )
        phone = next(d for d in customer_devices(session, owner) if d.category == "phones")
        model = catalog.get_product(session, phone.sku).attributes["model"]
    messages, _ = run_action(
        ActionProductLookup(),
        _asking(
            "any screen protectors for my phone?",
            category_word="screen protectors",
            customer=owner,
            intent="product_question",
        ),
    )
    [message] = messages
    cards = message["custom"]["products"]
    assert {c["reason"] for c in cards} == {f"Fits your {model}"}  # true: the customer bought that phone
    assert _fits(shop_url, [c["sku"] for c in cards], model)
    assert all("screen protector" in c["name"].lower() for c in cards)


def test_for_another_device_right_after_accessories_narrows_the_same_request_to_it(shop_url) -> None:
    """Cases for the iPhone 13, then "for my iPhone 15 Pro": cases for the 15 Pro, not iPhones."""
    from actions.products import ActionProductLookup
    from actions.recommendations import ActionRecommendProducts

    _, events = run_action(
        ActionRecommendProducts(), _asking("need a case for the iPhone 13 pls", category_word="case")
    )
    last = _slot(events, LAST_RECOMMENDATIONS)
    messages, _ = run_action(
        ActionProductLookup(),
        tracker(
            "for my iPhone 15 Pro",
            intent="inform",
            entities={"product": "iphone 15 pro"},
            slots={LAST_RECOMMENDATIONS: last},
        ),
    )
    [message] = messages
    assert message["response"] == "utter_accessories_for_model" and message["model"] == "iPhone 15 Pro"
    assert _fits(shop_url, [c["sku"] for c in message["custom"]["products"]], "iPhone 15 Pro")
    messages, _ = run_action(
        ActionProductLookup(),
        tracker(  # nothing of the kind just shown: a search
            "for my iPhone 15 Pro", intent="inform", entities={"product": "iphone 15 pro"}
        ),
    )
    assert messages[0]["response"] == "utter_product_results"


def test_what_goes_with_a_device_of_their_own_is_accessories_made_for_it(shop_url) -> None:
    """ "just got the <phone>, what else should i get?": things for that phone, not the week's best sellers; a
    phone they do not own, named alone, is no such request."""
    from actions.recommendations import ActionRecommendProducts
    from bot.shop import catalog
    from bot.shop.customers import customer_devices

    with session_scope(shop_url) as session:
        owner = next(
            c
            for c in (f"CUST-{i:05d}" for i in range(1, 60))
            if any(d.category == "phones" for d in customer_devices(session, c))
        )
        phone = next(d for d in customer_devices(session, owner) if d.category == "phones")
        model = catalog.get_product(session, phone.sku).attributes["model"]
        owned = {catalog.get_product(session, d.sku).attributes.get("model") for d in customer_devices(session, owner)}
        other = next(m for m, category in catalog.device_models(session) if category == "phones" and m not in owned)
    messages, _ = run_action(
        ActionRecommendProducts(),
        tracker(f"just got the {model}, what else should i get with it?", intent="ask_recommendation", customer=owner),
    )
    [message] = messages
    cards = message["custom"]["products"]
    assert message["response"] == "utter_accessories_for_model" and {c["reason"] for c in cards} == {
        f"Fits your {model}"
    }
    assert _fits(shop_url, [c["sku"] for c in cards], model)
    messages, _ = run_action(
        ActionRecommendProducts(),
        tracker(f"what else goes with the {other}?", intent="ask_recommendation", customer=owner),
    )
    assert messages[0]["response"] != "utter_accessories_for_model"


def test_an_offer_held_back_for_an_open_problem_says_so_and_no_offer_offers_suggestions(recs_shop: str) -> None:
    """Every reason shown is true: not "no offer for you" while one waits behind the customer's open problem."""
    from bot.db.models import Journey

    with session_scope(recs_shop) as session:
        customer_id = customer_pk(session, CUSTOMER)
        session.merge(
            CustomerSegment(
                customer_id=customer_id,
                recency_score=1,
                frequency_score=4,
                monetary_score=5,
                rfm_segment="cant_lose",
                cluster=0,
                cluster_label="lapsed buyers",
                churn_risk=0.8,
                next_best_action="retention_offer",
                next_best_action_reason="churn risk 0.80",
                refreshed_at=utcnow(),
                model_version="test",
            )
        )
        session.add(Journey(customer_id=customer_id, workflow="no_internet", problem_key="no_internet", state="open"))
    messages, events = run_action(ActionOffer(), tracker("any deals for me?", intent="ask_offers", customer=CUSTOMER))
    assert [m["response"] for m in messages] == ["utter_offers_held_for_open_issue"]
    assert not [e for e in events if e.get("name") == "awaiting"]  # no question asked
    with session_scope(recs_shop) as session:
        session.execute(Journey.__table__.delete().where(Journey.customer_id == customer_id))
        session.merge(
            CustomerSegment(
                customer_id=customer_id,
                recency_score=1,
                frequency_score=4,
                monetary_score=5,
                rfm_segment="cant_lose",
                cluster=0,
                cluster_label="lapsed buyers",
                churn_risk=0.1,
                next_best_action="none",
                next_best_action_reason="nothing fits",
                refreshed_at=utcnow(),
                model_version="test",
            )
        )
    messages, events = run_action(ActionOffer(), tracker("any deals for me?", intent="ask_offers", customer=CUSTOMER))
    assert [m["response"] for m in messages] == ["utter_no_offers"]  # "... suggest something instead?"
    assert _slot(events, "awaiting") == "suggestions_instead"  # the rules take the yes to suggestions
    messages, events = run_action(
        ActionRecommendProducts(),
        tracker("yes", intent="affirm", customer=CUSTOMER, slots={"awaiting": "suggestions_instead"}),
    )
    assert messages[0]["response"] == "utter_recommendations" and _slot(events, "awaiting") is None


def test_a_cheaper_plan_costs_less_than_the_customers_own(shop_url) -> None:
    from bot.shop.customers import customer_plans

    with session_scope(shop_url) as session:
        customer, plan = next(
            (c, p)
            for c in (f"CUST-{i:05d}" for i in range(1, 60))
            for p in customer_plans(session, c, active_only=True)[:1]
            if p.category == "mobile_plans" and p.monthly_price > 8
        )
    messages, _ = run_action(
        ActionRecommendProducts(),
        tracker("my plan's too pricey, anything cheaper?", intent="ask_recommendation", customer=customer),
    )
    [message] = messages
    assert message["response"] == "utter_cheaper_plans"
    cards = message["custom"]["products"]
    with session_scope(shop_url) as session:
        products = session.execute(select(Product).where(Product.sku.in_([c["sku"] for c in cards]))).scalars().all()
        assert products and all(p.category == "mobile_plans" and p.price < plan.monthly_price for p in products)


def test_anything_cheaper_narrows_the_last_accessory_request(shop_url) -> None:
    """Accessories come cheapest first, so after the iPhone 13 cases "anything cheaper?" has nothing to add:
    it says so, with the price, and shows nothing that breaks the request (no other model, no other type)."""
    from actions.recommendations import ActionRecommendProducts as Recommend

    _, events = run_action(Recommend(), _asking("need a case for the iPhone 13 pls", category_word="case"))
    shown = _slot(events, LAST_RECOMMENDATIONS)
    assert shown["model"] == "iPhone 13" and shown["kind"] == "case"
    with session_scope(shop_url) as session:
        cheapest = min(session.execute(select(Product.price).where(Product.sku.in_(shown["skus"]))).scalars())
    messages, _ = run_action(
        Recommend(), tracker("anything cheaper?", intent="ask_recommendation", slots={LAST_RECOMMENDATIONS: shown})
    )
    assert [m["response"] for m in messages] == ["utter_no_products"]
    assert messages[0]["query"] == f"cases for the iPhone 13 under £{cheapest - Decimal('0.01'):.2f}"


def _types_of(url: str, skus: list[str]) -> set[str]:
    with session_scope(url) as session:
        return {
            p.attributes.get("type") for p in session.execute(select(Product).where(Product.sku.in_(skus))).scalars()
        }


def _suggest_a_kind(url: str, customer: str | None) -> None:
    messages, _ = run_action(
        ActionRecommendProducts(),
        tracker(
            "looking for a laptop bag, nothing fancy",
            intent="ask_recommendation",
            entities={"product_category": "laptop_accessories"},
            customer=customer,
        ),
    )
    assert messages[0]["response"] == "utter_recommendations", [(m["response"], m.get("query")) for m in messages]
    skus = [p["sku"] for p in messages[0]["custom"]["products"]]
    assert skus and _types_of(url, skus) == {"bag"}
    # Going on about the same category keeps the kind ("a wireless mouse", then "bluetooth would be best").
    messages, _ = run_action(
        ActionRecommendProducts(),
        tracker(
            "one with a padded strap would be best",
            intent="ask_recommendation",
            entities={"product_category": "laptop_accessories"},
            customer=customer,
            slots={LAST_RECOMMENDATIONS: {"category": "laptop_accessories", "kind": "bag", "skus": skus}},
        ),
    )
    assert _types_of(url, [p["sku"] for p in messages[0]["custom"]["products"]]) == {"bag"}
    # Words that name no kind of the category ("something for my laptop") keep the whole category.
    messages, _ = run_action(
        ActionRecommendProducts(),
        tracker(
            "something nice for my laptop",
            intent="ask_recommendation",
            entities={"product_category": "laptop_accessories"},
            customer=customer,
        ),
    )
    assert messages[0]["response"] == "utter_recommendations"
    skus = [p["sku"] for p in messages[0]["custom"]["products"]]
    assert len(_types_of(url, skus)) > 1


def test_a_kind_named_within_a_category_is_what_is_suggested(recs_shop: str) -> None:
    """ "a laptop bag" gets bags, not docks and sleeves (a visitor: no devices of theirs for bags to fit)."""
    _suggest_a_kind(recs_shop, customer=None)


def test_a_kind_named_within_a_category_is_what_is_suggested_before_the_first_training(
    writable_shop_url: str,
) -> None:
    _suggest_a_kind(writable_shop_url, customer=CUSTOMER)
