"""The whole handoff story in two real browsers: a customer in the widget, an agent in the console.

Real Rasa, action server, console, shop page and PostgreSQL. The customer asks for a person; the agent
signs in, claims the conversation and replies; the customer sees the reply, marked as from a person, and
answers; the agent sees it live and hands back; the bot answers the customer's next message again.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

from bot.console.agents import create_agent
from bot.db.models import Customer, Handoff, HandoffMessage, Order
from bot.db.session import session_scope
from bot.handoff.routing import default_rules
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.slow

PASSWORD = "a-long-enough-password"


def test_a_customer_asks_for_a_person_an_agent_answers_and_hands_back(shop_page, console, postgres_shop, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium", pytrace=False)
    username = f"alice{uuid.uuid4().hex[:6]}"
    with session_scope(postgres_shop) as session:
        create_agent(
            session,
            username,
            "Alice Example",
            PASSWORD,
            role="agent",
            queues=["general", "delivery"],
            known_queues=default_rules().queue_keys,
        )
        customer, order, tracking = session.execute(
            select(Customer.external_id, Order.order_number, Order.tracking_number)
            .join(Order)
            .where(Order.status == "out_for_delivery", Customer.external_id <= "CUST-00025")
            .order_by(Customer.external_id.desc())
        ).first()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        agent = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        widget = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # a phone
        dialogs: list[str] = []
        for page in (agent, widget):
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        # The agent signs in; the open console counts them as online, so the customer is queued, not deferred.
        agent.goto(console + "/")
        agent.get_by_label("Username").fill(username)
        agent.get_by_label("Password").fill(PASSWORD)
        agent.get_by_role("button", name="Sign in").click()
        expect(agent.locator("#live-status")).to_have_text("Live", timeout=10_000)

        widget.goto(shop_page)
        widget.wait_for_function("() => window.TandemWidget !== undefined")
        widget.select_option("#demo-customer", customer)
        widget.get_by_role("button", name="Sign in").click()
        widget.locator(".tandem-launcher").click()
        log = widget.get_by_role("log")
        widget.fill("#tandem-input", "I want to talk to a person please")
        widget.keyboard.press("Enter")
        expect(log).to_contain_text("in the queue", timeout=30_000)

        # The queue updates live; the agent claims this customer's conversation (other tests of the stack may
        # have left handoffs in the queue too) and replies.
        with session_scope(postgres_shop) as session:
            handoff_id = (
                session.execute(
                    select(Handoff.id)
                    .join(Customer, Customer.id == Handoff.customer_id)
                    .where(Customer.external_id == customer)
                    .order_by(Handoff.id.desc())
                )
                .scalars()
                .first()
            )
        row = agent.locator(f'#queue-rows tr[data-handoff-id="{handoff_id}"]')
        expect(row).to_be_visible(timeout=15_000)
        row.locator("button", has_text="Claim").click()
        expect(agent.locator("#status-badge")).to_contain_text("you", timeout=15_000)
        expect(widget.locator(".tandem-handoff")).to_contain_text("Alice Example", timeout=15_000)
        agent.locator("#composer-text").fill("Hi, I'm Alice. <b>How</b> can I help?")
        agent.locator("#composer-text").press("Control+Enter")
        expect(agent.locator("#timeline .msg--agent").last.locator(".delivery")).to_have_text(
            "Delivered", timeout=15_000
        )

        # The customer sees it, marked as a person's, as text; their answer reaches the agent live.
        reply = widget.locator(".tandem-msg--agent").last
        expect(reply).to_contain_text("Hi, I'm Alice. <b>How</b> can I help?", timeout=15_000)
        expect(reply).to_contain_text("Alice Example")
        widget.fill("#tandem-input", "My parcel has not arrived yet")
        widget.keyboard.press("Enter")
        expect(agent.locator("#timeline .msg--customer").last).to_contain_text(
            "My parcel has not arrived yet", timeout=15_000
        )
        widget.screenshot(path=str(tmp_path / "widget-with-agent.png"))
        agent.screenshot(path=str(tmp_path / "console-conversation.png"))

        # Hand back with a summary: the bot answers again.
        agent.locator("#handback-button").click()
        agent.locator("#handback-summary").fill("Parcel question; the bot can track it.")
        agent.locator("#handback-form").get_by_role("button", name="Hand back").click()
        expect(log).to_contain_text("back with our assistant", timeout=15_000)
        widget.fill("#tandem-input", f"where is my order {order}?")
        widget.keyboard.press("Enter")
        expect(log).to_contain_text(tracking, timeout=30_000)
        expect(widget.locator(".tandem-msg--bot").last).to_contain_text(re.compile(order))
        assert dialogs == []
        browser.close()

    with session_scope(postgres_shop) as session:
        handoff = (
            session.execute(
                select(Handoff)
                .join(Customer, Customer.id == Handoff.customer_id)
                .where(Customer.external_id == customer)
                .order_by(Handoff.id.desc())
            )
            .scalars()
            .first()
        )
        said = session.execute(
            select(HandoffMessage.kind, HandoffMessage.text)
            .where(HandoffMessage.handoff_id == handoff.id)
            .order_by(HandoffMessage.id)
        ).all()
    assert (handoff.status, handoff.reason, handoff.summary) == (
        "handed_back",
        "asked",
        "Parcel question; the bot can track it.",
    )
    assert ("agent", "Hi, I'm Alice. <b>How</b> can I help?") in said
    assert ("customer", "My parcel has not arrived yet") in said
