"""A customer in a real browser: the shop page, the widget, Rasa, the actions and the database, all real."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

from bot.db.models import Customer, Order
from bot.db.session import session_scope
from bot.shop.customers import customer_pk
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.slow


def test_a_signed_in_customer_asks_where_their_order_is(shop_page, postgres_shop, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium", pytrace=False)
    with session_scope(postgres_shop) as session:
        number, tracking, customer = session.execute(
            select(Order.order_number, Order.tracking_number, Customer.external_id)
            .join(Customer)
            .where(Order.status == "out_for_delivery", Customer.external_id <= "CUST-00025")
            .order_by(Order.order_number)
        ).first()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(shop_page)
        page.wait_for_function("() => window.TandemWidget !== undefined")
        page.select_option("#demo-customer", customer)
        page.get_by_role("button", name="Sign in").click()
        page.locator(".tandem-launcher").click()
        log = page.get_by_role("log")

        page.fill("#tandem-input", f"hi, where is my order {number.lower()}?")
        page.keyboard.press("Enter")
        expect(log).to_contain_text(f"Order {number}", timeout=30_000)
        # Facts from the database, not one of the response's random wordings.
        expect(log).to_contain_text(tracking, timeout=5_000)

        page.fill("#tandem-input", "and where is TD000001")
        page.keyboard.press("Enter")
        expect(log).to_contain_text(re.compile(r"(couldn't find an order|there's no order) TD000001"), timeout=30_000)
        page.screenshot(path=str(tmp_path / "widget-full-stack.png"))
        browser.close()


def test_a_customer_taps_a_suggestion_and_the_click_is_stored(shop_page, postgres_shop, tmp_path):
    from bot.db.models import BehaviourEvent
    from bot.personalization import store

    customer = "CUST-00007"
    with session_scope(postgres_shop) as session:
        customer_id = customer_pk(session, customer)
        store.set_consent(session, customer_id, True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(shop_page)
        page.wait_for_function("() => window.TandemWidget !== undefined")
        page.select_option("#demo-customer", customer)
        page.get_by_role("button", name="Sign in").click()
        page.locator(".tandem-launcher").click()
        log = page.get_by_role("log")

        page.fill("#tandem-input", "can you recommend some headphones?")
        page.keyboard.press("Enter")
        expect(log).to_contain_text("headphones you might like", timeout=30_000)
        card = page.locator(".tandem-card").first  # picture, price and the reason, as product cards
        expect(card.locator(".tandem-card__reason")).not_to_be_empty()
        card.get_by_role("button", name="View details").click()
        expect(page.get_by_role("button", name="More like this")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(tmp_path / "widget-recommendation.png"))
        page.locator(".tandem-quick-reply", has_text="Not interested").click()
        expect(log).to_contain_text(re.compile(r"won't suggest|keep those out"), timeout=30_000)
        browser.close()
    with session_scope(postgres_shop) as session:
        kinds = [
            k
            for (k,) in session.execute(
                select(BehaviourEvent.kind).where(
                    BehaviourEvent.customer_id == customer_id,
                    BehaviourEvent.kind.in_(("impression", "click", "dismissal")),
                )
            )
        ]
    assert kinds.count("click") == 1 and kinds.count("dismissal") == 1 and kinds.count("impression") >= 1
