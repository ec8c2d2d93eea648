"""The console in a real headless Chromium: sign in, a handoff arrives live, claim it, read the context and the
mood chart, see customer HTML as text (no dialog ever fires), get a live message, and reply."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from bot.console.app import create_app
from bot.console.timeline import epoch
from tests.console.console_support import (
    PASSWORD,
    BackgroundApp,
    FakeRasa,
    add_agent,
    bot_event,
    customer_says,
    make_settings,
    messages,
    open_handoff,
    rename_customer,
    user_event,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOT = Path("/tmp/console.png")
QUEUE_SCREENSHOT = Path("/tmp/console-queue.png")
EVIL_NAME = '<b>Bob</b><img src=x onerror=alert("name")>'
EVIL_MESSAGE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}; the browser tests need it "
            "(`apt-get install -y chromium`, never `playwright install`).",
            pytrace=False,
        )
    expect.set_options(timeout=6000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def stack(fresh_shop_db):
    rasa = FakeRasa()
    rasa_server = BackgroundApp(rasa.app()).start()
    settings = make_settings(fresh_shop_db, rasa_url=rasa_server.url, rasa_token="browser-token")
    console = BackgroundApp(create_app(settings, database_url=fresh_shop_db, poll_seconds=0.2)).start()
    yield {"url": fresh_shop_db, "rasa": rasa, "console": console.url}
    console.stop()
    rasa_server.stop()


def test_an_agent_works_a_handoff_and_customer_html_stays_text(browser, stack):
    url, rasa = stack["url"], stack["rasa"]
    add_agent(url, "alice", name="Alice Smith", queues=("billing",))
    rename_customer(url, "CUST-00001", EVIL_NAME)
    context = browser.new_context(viewport={"width": 1366, "height": 820})
    context.set_default_timeout(6000)
    page = context.new_page()
    dialogs, errors = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(stack["console"] + "/")
        expect(page).to_have_url(stack["console"] + "/login?next=/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#queue-empty")).to_be_visible()
        expect(page.locator("#live-status")).to_have_text("Live")

        # A handoff arrives while the queue is open: it appears without a reload.
        h = open_handoff(url, "c-browser", queue="billing", sentiment=-0.6)
        said = customer_says(url, h.id, EVIL_MESSAGE)
        ts = epoch(h.requested_at)
        rasa.trackers["c-browser"] = [
            user_event("hello", 0.3, ts - 40),
            bot_event("Hi! How can I help?", ts - 39),
            user_event("I was charged twice", -0.6, ts - 30),
            bot_event("Let me get a person for you.", ts - 29),
            user_event(EVIL_MESSAGE, -0.9, epoch(said.at)),
        ]
        row = page.locator(f'tr[data-handoff-id="{h.id}"]')
        expect(row).to_be_visible()
        expect(row.locator(".customer-link")).to_have_text(EVIL_NAME)
        expect(row).to_contain_text("Billing")
        page.screenshot(path=str(QUEUE_SCREENSHOT))

        row.locator("button", has_text="Claim").click()
        page.wait_for_url(f"**/handoffs/{h.id}")
        expect(page.locator("#convo-title")).to_have_text(EVIL_NAME)
        expect(page.locator("#status-badge")).to_contain_text("you")
        expect(page.locator("#sentiment-chart circle.sentiment-point")).to_have_count(3)
        expect(page.locator("#sentiment-summary")).to_contain_text("3 customer messages")
        expect(page.locator("#sentiment-table tbody tr")).to_have_count(3)
        customer_texts = page.locator("#timeline .msg--customer .msg-text")
        expect(customer_texts).to_have_count(3)  # the message in Rasa and in the log is shown once
        expect(customer_texts.last).to_have_text(EVIL_MESSAGE)
        expect(page.locator("#customer-profile")).to_contain_text("CUST-00001")
        assert page.locator("main img").count() == 0 and page.locator("#timeline b").count() == 0

        # A live message from the customer, then a reply with the keyboard.
        customer_says(url, h.id, "<script>alert(3)</script> still there?")
        expect(customer_texts.last).to_have_text("<script>alert(3)</script> still there?")
        page.locator("#composer-text").fill("Sorry about that, I'm refunding the second charge now.")
        page.locator("#composer-text").press("Control+Enter")
        mine = page.locator("#timeline .msg--agent").last
        expect(mine).to_contain_text("Sorry about that")
        expect(mine.locator(".delivery")).to_have_text("Delivered")
        expect(page.locator("#composer-text")).to_have_value("")
        assert [m.kind for m in messages(url, h.id)] == ["customer", "customer", "agent"]
        assert {
            "event": "bot",
            "text": "Sorry about that, I'm refunding the second charge now.",
            "metadata": {"from": "agent", "agent_name": "Alice Smith", "reply_id": messages(url, h.id)[-1].id},
        } in rasa.events_for("c-browser")
        # Replies typed one after another without waiting for the last to go: each is sent, in order, none lost
        # (the box used to be emptied when a send came back, taking what was typed meanwhile with it).
        for i in range(3):
            page.locator("#composer-text").fill(f"Quick reply {i}")
            page.locator("#composer-text").press("Control+Enter")
        agent_texts = page.locator("#timeline .msg--agent .msg-text")
        expect(agent_texts).to_have_count(4)
        assert agent_texts.all_inner_texts()[1:] == ["Quick reply 0", "Quick reply 1", "Quick reply 2"]
        assert [m.text for m in messages(url, h.id)][-3:] == ["Quick reply 0", "Quick reply 1", "Quick reply 2"]
        expect(page.locator("#composer-text")).to_have_value("")
        expect(page.locator("#claim-button")).to_be_hidden()
        page.screenshot(path=str(SCREENSHOT))
        assert dialogs == []
        assert errors == []
    finally:
        context.close()
