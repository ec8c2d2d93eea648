"""Greeting, billing, products and fallback actions against the real shop."""

from __future__ import annotations

from actions.account import ActionBillingOverview, ActionGreet
from actions.fallback import ActionHandleFallback
from actions.products import ActionProductLookup
from actions.recommendations import ActionRecommendProducts
from bot.db.session import session_scope
from bot.shop.customers import get_customer
from tests.actions.conftest import customer_with_orders, run_action, tracker


def responses(messages):
    return [m["response"] for m in messages]


def test_a_signed_in_customer_is_greeted_by_name(shop_url):
    messages, _ = run_action(ActionGreet(), tracker("hi", intent="greet", customer="CUST-00003"))
    with session_scope(shop_url) as session:
        name = get_customer(session, "CUST-00003").first_name
    assert messages == [{**messages[0], "response": "utter_greet_customer", "name": name}]


def test_an_unknown_or_anonymous_customer_gets_the_plain_greeting(shop_url):
    for customer in (None, "CUST-99999"):
        messages, _ = run_action(ActionGreet(), tracker("hi", intent="greet", customer=customer))
        assert responses(messages) == ["utter_greet"]


def test_billing_lists_the_active_plans_with_a_total(shop_url):
    from bot.shop.customers import customer_plans

    with session_scope(shop_url) as session:
        customer = next(
            f"CUST-{i:05d}" for i in range(1, 81) if customer_plans(session, f"CUST-{i:05d}", active_only=True)
        )
        plans = customer_plans(session, customer, active_only=True)
    messages, _ = run_action(ActionBillingOverview(), tracker(intent="billing_question", customer=customer))
    assert responses(messages) == ["utter_billing_overview"]
    for plan in plans:
        assert plan.name in messages[0]["plans"]


def test_product_lookup_finds_named_products(shop_url):
    messages, events = run_action(
        ActionProductLookup(),
        tracker("how much is the galaxy s24", intent="product_question", entities={"product": "galaxy s24"}),
    )
    assert responses(messages) == ["utter_product_results"]
    assert "Galaxy S24" in messages[0]["products"]
    assert "£" in messages[0]["products"]
    # The widget shows them as cards, and a tap on one counts: they are remembered as shown.
    cards = messages[0]["custom"]["products"]
    assert cards and all("Galaxy S24" in c["name"] and c["reason"] == "Matches what you asked for" for c in cards)
    shown = next(e["value"] for e in events if e.get("name") == "last_recommendations")
    assert shown["skus"] == [c["sku"] for c in cards]


def test_a_kind_of_product_asked_for_a_phone_is_that_kind_not_the_phone(shop_url):
    """ "my iPhone 13 came without earphones, do you sell any?": headphones, shown as matching, not phones."""
    messages, _ = run_action(
        ActionProductLookup(),
        tracker(
            "my iphone 13 came without earphones, do you sell any?",
            intent="product_question",
            entities={"product": "iphone 13", "product_category": "headphones"},
        ),
    )
    cards = messages[0]["custom"]["products"]
    assert cards and all("iPhone" not in c["name"] for c in cards)
    with session_scope(shop_url) as session:
        from bot.shop import catalog

        assert {catalog.get_product(session, c["sku"]).category for c in cards} == {"headphones"}


def test_a_request_for_a_kind_of_product_the_nlu_could_not_settle_goes_to_the_suggestions():
    unsure = tracker(
        "might be time for a new phone tbh", intent="nlu_fallback", entities={"product_category": "phones"}
    )
    unsure.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.35},
        {"name": "ask_recommendation", "confidence": 0.34},
        {"name": "report_problem", "confidence": 0.28},
    ]
    messages, events = run_action(ActionHandleFallback(), unsure)
    assert messages == [] and events == [{"event": "followup", "timestamp": None, "name": "action_recommend_products"}]
    unsure.latest_message["entities"] = []  # no kind of product named: asked to rephrase
    messages, _ = run_action(ActionHandleFallback(), unsure)
    assert responses(messages) == ["utter_ask_rephrase"]


def test_product_lookup_of_something_we_do_not_sell_says_so(shop_url):
    messages, _ = run_action(
        ActionProductLookup(),
        tracker("do you sell the nokia 3310", intent="product_question", entities={"product": "nokia 3310"}),
    )
    assert responses(messages) == ["utter_no_products"]


def test_recommendations_need_a_category_or_brand(shop_url):
    messages, _ = run_action(ActionRecommendProducts(), tracker("what should i buy", intent="ask_recommendation"))
    assert responses(messages) == ["utter_ask_recommendation_category"]
    messages, _ = run_action(
        ActionRecommendProducts(),
        tracker("recommend a laptop", intent="ask_recommendation", entities={"product_category": "laptops"}),
    )
    assert responses(messages) == ["utter_recommendations"]


def test_fallback_asks_to_rephrase_then_offers_help():
    def fallback_event(text):
        return {"event": "user", "text": text, "parse_data": {"intent": {"name": "nlu_fallback"}}}

    first = tracker("asdf qwer", intent="nlu_fallback")
    messages, events = run_action(ActionHandleFallback(), first)
    assert responses(messages) == ["utter_ask_rephrase"]
    # The message is rewound, but the failure stays for the sentiment policy.
    assert events == [
        {"event": "rewind", "timestamp": None},
        {"event": "slot", "timestamp": None, "name": "flow_failure", "value": "not_understood"},
    ]
    second = tracker(
        "zxcv",
        intent="nlu_fallback",
        events=[
            fallback_event("asdf qwer"),
            {"event": "action", "name": "action_handle_fallback"},
            {"event": "rewind"},
        ],
    )
    second.events[-1]["parse_data"] = {"intent": {"name": "nlu_fallback"}}
    messages, _ = run_action(ActionHandleFallback(), second)
    assert responses(messages) == ["utter_offer_help"]


def test_sorry_i_meant_another_order_asks_the_same_again_about_it(shop_url):
    """ "cancel TD1" -> "already cancelled" -> "sorry i meant TD2": the cancellation is asked about TD2."""
    from actions.inform import ActionHandleInform
    from tests.actions.conftest import find_order

    ref = find_order(shop_url, status="processing")
    earlier = [
        {"event": "user", "text": "cancel TD000001", "parse_data": {"intent": {"name": "cancel_order"}}},
        {"event": "action", "name": "action_cancel_order_check"},
        {"event": "bot", "text": "Order TD000001 is already cancelled."},
        {"event": "action", "name": "action_listen"},
    ]
    meant = tracker(
        f"sorry i meant {ref.number}",
        intent="inform",
        entities={"order_id": ref.number},
        customer=ref.customer,
        events=earlier,
    )
    messages, events = run_action(ActionHandleInform(), meant)
    assert responses(messages) == ["utter_confirm_cancel"] and messages[0]["order_id"] == ref.number
    status = tracker(
        ref.number,
        intent="inform",
        entities={"order_id": ref.number},
        customer=ref.customer,
        events=earlier[:1]
        + [{"event": "action", "name": "action_greet"}, {"event": "action", "name": "action_listen"}],
    )
    messages, _ = run_action(ActionHandleInform(), status)
    assert responses(messages) != ["utter_confirm_cancel"]  # after anything else, a number is a status question


def test_an_order_number_on_its_own_gets_the_order_status(shop_url):
    from actions.inform import ActionHandleInform
    from tests.actions.conftest import find_order

    ref = find_order(shop_url, status="delivered")
    messages, _ = run_action(
        ActionHandleInform(),
        tracker(ref.number, intent="inform", entities={"order_id": ref.number}, customer=ref.customer),
    )
    assert responses(messages) == ["utter_order_delivered"]
    messages, _ = run_action(
        ActionHandleInform(), tracker("galaxy s24", intent="inform", entities={"product": "galaxy s24"})
    )
    assert responses(messages) == ["utter_product_results"]
    messages, _ = run_action(ActionHandleInform(), tracker("blue", intent="inform"))
    assert responses(messages) == ["utter_ask_what_to_do"]


def test_an_order_named_by_its_items_at_which_order_goes_back_to_the_question_however_the_nlu_read_it(shop_url):
    """ "the Ugreen charger one" at "which order?" may read as nothing the NLU knows: it still picks the order."""
    from bot.shop.orders import recent_orders

    customer = customer_with_orders(shop_url, 2)
    with session_scope(shop_url) as session:
        offered = recent_orders(session, customer, limit=5)
        words = {o.number: set(" ".join(line.product_name for line in o.lines).lower().split()) for o in offered}
    number, own = next(
        (n, w - set().union(*(v for k, v in words.items() if k != n))) for n, w in words.items() if len(words) > 1
    )
    assert own, "the seeded orders differ in what they hold"
    answer = tracker(
        f"the {sorted(own)[0]} one", intent="nlu_fallback", customer=customer, slots={"awaiting": "order_for_status"}
    )
    messages, events = run_action(ActionHandleFallback(), answer)
    assert messages == [] and events == [{"event": "followup", "timestamp": None, "name": "action_order_status"}]
    # Words that name none of them are asked to be put another way, as before.
    answer = tracker(
        "that thingamajig", intent="nlu_fallback", customer=customer, slots={"awaiting": "order_for_status"}
    )
    messages, _ = run_action(ActionHandleFallback(), answer)
    assert responses(messages) == ["utter_ask_rephrase"]
