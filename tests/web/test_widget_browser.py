"""The chat widget in a real headless Chromium, against the demo site and a stand-in Rasa socket.io channel."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from bot.identity import verify_token
from bot.web.shop_site import create_app
from tests.web.tandem_web_support import (
    TEST_SECRET,
    BackgroundServer,
    FakeCustomerDirectory,
    SocketRasaStub,
    demo_customers,
    make_settings,
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
SCREENSHOT = Path("/tmp/widget.png")
RECONNECT_BACKOFF_MS = 5_000  # the longest socket.io waits between two tries

USER_BUBBLES = ".tandem-msg--user .tandem-bubble"
BOT_BUBBLES = ".tandem-msg--bot .tandem-bubble"
AGENT_BUBBLES = ".tandem-msg--agent .tandem-bubble"
ERRORS = ".tandem-msg--error .tandem-bubble"
QUICK_REPLIES = ".tandem-quick-reply"
WELCOME = "Hi! I can help with orders, deliveries, returns and our products. How can I help?"

PRODUCTS = [
    {
        "sku": "HP-SONY-XM5",
        "name": "Sony WH-1000XM5",
        "price": "£299.00",
        "image": None,
        "reason": "Customers who bought a Pixel 8 liked these",
        "open_payload": '/open_product{"sku": "HP-SONY-XM5"}',
        "not_interested_payload": '/not_interested{"sku": "HP-SONY-XM5"}',
    },
    {
        "sku": "HP-BOSE-QC",
        "name": "Bose QuietComfort Ultra",
        "price": "£349.00",
        "image": "/static/products/headphones.svg",
        "reason": "Top rated for noise cancelling",
        "open_payload": '/open_product{"sku": "HP-BOSE-QC"}',
        "not_interested_payload": '/not_interested{"sku": "HP-BOSE-QC"}',
    },
]
CSAT = {
    "type": "csat",
    "question": "How would you rate this conversation?",
    "options": [
        {"score": score, "title": title, "payload": f'/csat{{"score": {score}}}'}
        for score, title in enumerate(["Very poor", "Poor", "OK", "Good", "Excellent"], start=1)
    ],
}


def agent(text: str, name: str = "Alice") -> tuple[str, dict]:
    return ("bot_uttered", {"from": "agent", "agent_name": name, "text": text})


def handoff(status: str, **fields) -> tuple[str, dict]:
    return ("handoff", {"status": status, "queue": "support", **fields})


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}; the browser tests need it. "
            "Install it with `apt-get update && apt-get install -y chromium` (never `playwright install`).",
            pytrace=False,
        )
    expect.set_options(timeout=5000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    stub = SocketRasaStub().start()
    directory = FakeCustomerDirectory(demo_customers(30))
    settings = make_settings(tmp_path_factory.mktemp("site"), rasa_public_url=stub.url)
    site = BackgroundServer(create_app(directory, settings)).start()
    yield {"stub": stub, "directory": directory, "site_url": site.url}
    site.stop()
    stub.stop()


@pytest.fixture
def stub(servers) -> SocketRasaStub:
    stub = servers["stub"]
    if not stub.running:  # a test that stopped it failed half-way
        stub.start()
    stub.reset()
    servers["directory"].get_calls.clear()
    return stub


class Session:
    """One fresh browser context (empty storage) on the demo page, with what it saw."""

    def __init__(self, browser, url: str, clock: bool = False, init_script: str = "", **context_options) -> None:
        self.context = browser.new_context(**context_options)
        self.context.set_default_timeout(5000)
        if init_script:
            self.context.add_init_script(init_script)
        self.page = self.context.new_page()
        if clock:
            self.page.clock.install()  # time runs as usual until a test jumps ahead
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []
        self.websockets: list[str] = []
        self.page.on("dialog", self._on_dialog)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("console", self._on_console)
        self.page.on("websocket", lambda ws: self.websockets.append(ws.url))
        self.url = url
        self.load()

    def load(self) -> None:
        self.page.goto(self.url)
        self.page.wait_for_function("() => window.TandemWidget !== undefined")

    def _on_console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.page_errors.append(message.text)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def sign_in(self, customer_id: str) -> None:
        self.page.select_option("#demo-customer", customer_id)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.locator("#demo-status")).to_contain_text(customer_id)

    def open_chat(self) -> None:
        self.page.locator(".tandem-launcher").click()
        expect(self.page.locator("#tandem-input")).to_be_focused()

    def send(self, text: str) -> None:
        self.page.fill("#tandem-input", text)
        self.page.locator(".tandem-send").click()

    def texts(self, selector: str) -> list[str]:
        """Visible texts of the bubbles, without the screen-reader prefix."""
        return self.page.eval_on_selector_all(
            selector,
            "nodes => nodes.map(n => Array.from(n.childNodes)"
            ".filter(c => c.nodeType === Node.TEXT_NODE).map(c => c.textContent).join(''))",
        )

    def expect_reply(self, text: str) -> None:
        expect(self.page.locator(BOT_BUBBLES).last).to_contain_text(text)


@pytest.fixture
def session(browser, servers, stub):
    sessions = []

    def open_session(clock: bool = False, init_script: str = "", **context_options) -> Session:
        context_options.setdefault("viewport", {"width": 1280, "height": 800})
        s = Session(browser, servers["site_url"], clock=clock, init_script=init_script, **context_options)
        sessions.append(s)
        return s

    yield open_session
    for s in sessions:
        assert s.page_errors == [], f"uncaught errors in the page: {s.page_errors}"
        s.context.close()


def wait_for(items: list, n: int, timeout: float = 5.0) -> list:
    """Waits until the stub recorded exactly `n` items (session requests or messages)."""
    deadline = time.monotonic() + timeout
    while len(items) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(items) == n, items
    return items


def reconnect_now(s: Session) -> None:
    """Jumps over socket.io's reconnection backoff (twice at most: queued messages wait 15 s) until connected."""
    status = s.page.locator(".tandem-connection")
    for _ in range(2):
        s.page.clock.fast_forward(RECONNECT_BACKOFF_MS)
        try:
            expect(status).to_be_hidden(timeout=1000)
            return
        except AssertionError:
            continue
    expect(status).to_be_hidden()


def start_conversation(s: Session, stub: SocketRasaStub, text: str = "hello") -> str:
    """Opens the chat, sends `text`, waits for the echo and gives the conversation id."""
    s.open_chat()
    s.send(text)
    s.expect_reply("You said: " + text)
    return stub.uttered[-1]["session_id"]


# ------------------------------------------------------------------ identity and conversations


def test_signed_in_message_carries_a_verifiable_token_and_buttons_send_their_payload(session, stub):
    s = session()
    assert s.page.locator("#demo-customer option").count() == 25
    s.sign_in("CUST-00003")
    s.open_chat()
    expect(s.page.locator(".tandem-status")).to_have_text(re.compile("Signed in as .* 3"))
    s.send("Where is my order TD104233?")

    s.expect_reply("You said: Where is my order TD104233?")
    [request] = wait_for(stub.session_requests, 1)
    assert set(request) == {"session_id", "customer_token", "since"}
    assert request["session_id"] is None and request["since"] is None  # a new conversation
    assert verify_token(request["customer_token"], secret=TEST_SECRET) == "CUST-00003"
    [first] = wait_for(stub.uttered, 1)
    assert set(first) == {"session_id", "message", "metadata", "message_id"}
    assert first["message"] == "Where is my order TD104233?"
    assert isinstance(first["message_id"], str) and first["message_id"]  # a retry resends it: stored once
    assert isinstance(first["session_id"], str) and len(first["session_id"]) >= 16
    assert verify_token(first["metadata"]["customer_token"], secret=TEST_SECRET) == "CUST-00003"

    buttons = s.page.locator(QUICK_REPLIES)
    expect(buttons).to_have_text(["Track my order", "Talk to a human"])
    buttons.first.click()

    s.expect_reply("You said: /order_status")
    second = wait_for(stub.uttered, 2)[1]
    assert second["message"] == "/order_status"
    assert second["session_id"] == first["session_id"]
    assert second["message_id"] != first["message_id"]  # a new message, not a retry
    assert s.texts(USER_BUBBLES) == ["Where is my order TD104233?", "Track my order"]
    expect(buttons).to_have_count(2)  # only the newest reply keeps its quick replies
    expect(s.page.locator("#tandem-input")).to_be_focused()
    # socket.io stays on long-polling, the only transport Tandem's channel serves (no upgrade attempted).
    assert s.websockets == []


def test_the_newest_quick_replies_are_scrolled_into_view(session, stub):
    """A long conversation: the answers to the newest question are on screen, not clipped below the last
    message (which reads as a dead end)."""
    s = session()
    s.open_chat()
    for i in range(12):
        s.send(f"message number {i} " + "with quite a few words in it " * 4)
        s.expect_reply(f"You said: message number {i} " + "with quite a few words in it " * 3)
    buttons = s.page.locator(QUICK_REPLIES)
    expect(buttons).to_have_count(2)
    expect(buttons.last).to_be_in_viewport(ratio=1)  # wholly on screen, not cut at the edge of the log
    log = s.page.locator(".tandem-log")
    assert log.evaluate("l => l.scrollHeight > l.clientHeight")  # it did overflow
    assert log.evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight") < 2  # scrolled to the very end


def test_quick_replies_pushed_while_nobody_waits_are_scrolled_into_view_too(session, stub):
    """A question arriving when no typing indicator is shown (a follow-up in two messages): its quick replies
    are appended after the message scrolled into view, and must be followed. (The first message has none, so
    the log grows by the whole row of buttons.)"""
    s = session()
    s.open_chat()
    for i in range(8):
        s.send(f"message number {i} " + "with quite a few words in it " * 4)
        s.expect_reply(f"You said: message number {i} " + "with quite a few words in it " * 3)
    stub.push(
        stub.session_id(),
        [
            ("bot_uttered", {"text": "Checking in about your late parcel TD105841."}),
            (
                "bot_uttered",
                {
                    "text": "Has it arrived?",
                    "buttons": [
                        {"title": "Yes, it's here", "payload": "/affirm"},
                        {"title": "Not yet", "payload": "/deny"},
                    ],
                },
            ),
        ],
    )
    buttons = s.page.locator(QUICK_REPLIES)
    expect(buttons.last).to_have_text("Not yet")
    expect(buttons.last).to_be_in_viewport(ratio=1)
    log = s.page.locator(".tandem-log")
    assert log.evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight") < 2  # scrolled to the very end


def test_the_picker_says_what_to_ask_about_each_customer(session, stub):
    """Labels beside each customer, and a first message to type that names their own order or device."""
    s = session()
    picker = s.page.locator("#demo-customer")
    expect(picker.locator("option[value='CUST-00005']")).to_have_text(
        "Eun-ji Kim 5 (CUST-00005) · order TD100005 on its way · owns Pixel 8"
    )
    s.page.select_option("#demo-customer", "CUST-00005")
    expect(s.page.locator("#demo-try")).to_have_text(
        "Try asking the assistant: \u201cwhere is my order TD100005?\u201d"
    )
    s.page.select_option("#demo-customer", "CUST-00001")
    expect(s.page.locator("#demo-try")).to_have_text("")
    s.sign_in("CUST-00006")
    expect(s.page.locator("#demo-try")).to_contain_text("what goes well with my Galaxy S24?")


def test_anonymous_visitor_sends_no_token_and_each_customer_has_own_conversation(session, stub):
    s = session()
    s.open_chat()
    expect(s.page.locator(".tandem-status")).to_have_text("You are chatting as a guest.")
    s.send("hello")
    s.expect_reply("You said: hello")
    anonymous = wait_for(stub.uttered, 1)[0]
    assert anonymous["metadata"] == {}
    assert stub.session_requests[0]["customer_token"] is None

    s.page.get_by_role("button", name="Close chat").click()
    s.sign_in("CUST-00005")
    s.open_chat()
    expect(s.page.locator(USER_BUBBLES)).to_have_count(0)
    s.send("my orders")
    s.expect_reply("You said: my orders")
    signed = wait_for(stub.uttered, 2)[1]
    assert signed["session_id"] != anonymous["session_id"]
    assert verify_token(signed["metadata"]["customer_token"], secret=TEST_SECRET) == "CUST-00005"

    s.page.get_by_role("button", name="Sign out").click()
    expect(s.page.locator("#demo-status")).to_have_text("You are chatting anonymously.")
    assert s.texts(USER_BUBBLES) == ["hello"]
    s.send("back again")
    s.expect_reply("You said: back again")
    assert wait_for(stub.uttered, 3)[2]["session_id"] == anonymous["session_id"]
    assert stub.session_requests[-1]["session_id"] == anonymous["session_id"]


def test_transcript_and_conversation_survive_a_reload(session, stub):
    s = session()
    s.sign_in("CUST-00010")
    session_id = start_conversation(s, stub, "first message")
    expect(s.page.locator(QUICK_REPLIES)).to_have_count(2)

    s.page.reload()
    expect(s.page.locator("#demo-status")).to_contain_text("CUST-00010")
    expect(s.page.locator("#tandem-panel")).to_be_visible()  # it was open before the reload
    assert s.texts(USER_BUBBLES) == ["first message"]
    s.expect_reply("You said: first message")
    expect(s.page.locator(QUICK_REPLIES)).to_have_count(2)
    request = wait_for(stub.session_requests, 2)[1]
    assert request["session_id"] == session_id
    assert request["since"] == stub.history[session_id][-1]["timestamp"]  # the newest message shown

    s.send("second message")
    s.expect_reply("You said: second message")
    second = wait_for(stub.uttered, 2)[1]
    assert second["session_id"] == session_id
    assert verify_token(second["metadata"]["customer_token"], secret=TEST_SECRET) == "CUST-00010"
    assert s.texts(USER_BUBBLES) == ["first message", "second message"]
    stored = s.page.evaluate(f"JSON.parse(localStorage.getItem('tandem:transcript:{session_id}'))")
    assert [e["text"] for e in stored] == [
        "first message",
        "You said: first message",
        "second message",
        "You said: second message",
    ]


def test_a_message_sent_while_the_page_was_closed_appears_after_the_reload(session, stub, servers):
    s = session()
    session_id = start_conversation(s, stub)
    s.page.goto("about:blank")

    stub.push(
        session_id,
        [agent("Sorry for the wait, your refund is on its way."), ("bot_uttered", {"text": "Anything else?"})],
    )
    stub.ignore_since = True  # the server repeats everything: the widget must not show anything twice
    s.load()

    expect(s.page.locator(AGENT_BUBBLES)).to_have_count(1)
    expect(s.page.locator(AGENT_BUBBLES)).to_contain_text("Sorry for the wait, your refund is on its way.")
    s.expect_reply("Anything else?")
    assert s.texts(USER_BUBBLES) == ["hello"]
    assert s.texts(BOT_BUBBLES) == [WELCOME, "You said: hello", "Anything else?"]
    echo_timestamp = stub.history[session_id][1]["timestamp"]
    assert stub.session_requests[-1] == {"session_id": session_id, "customer_token": None, "since": echo_timestamp}

    s.page.reload()  # and once more: still nothing twice
    expect(s.page.locator(AGENT_BUBBLES)).to_have_count(1)
    assert s.texts(BOT_BUBBLES) == [WELCOME, "You said: hello", "Anything else?"]


# ------------------------------------------------------------------ rendering


def test_html_in_any_field_is_shown_as_text_and_never_runs(session, stub):
    s = session()
    s.open_chat()
    img = "<img src=x onerror=alert(1)>"
    script = "<script>window.__tandemPwned = true; alert(2)</script>"
    s.send(img)
    s.expect_reply("You said: " + img)
    stub.replies.append(
        [
            ("bot_uttered", {"text": script, "image": "javascript:alert(3)"}),
            agent("<b>bold</b> " + img, name=img),
            (
                "bot_uttered",
                {
                    "custom": {
                        "type": "product_cards",
                        "products": [
                            {
                                "sku": "X",
                                "name": script,
                                "price": "<i>£1</i>",
                                "image": "javascript:alert(4)",
                                "reason": img,
                                "open_payload": "/open",
                                "not_interested_payload": "/no",
                            },
                        ],
                    }
                },
            ),
            ("bot_uttered", {"custom": {**CSAT, "question": img}}),
            ("bot_uttered", {"text": "Pick one", "buttons": [{"title": img, "payload": "/html_button"}]}),
            handoff("assigned", agent_name=img),
        ]
    )
    s.send(script)
    expect(s.page.locator(".tandem-handoff")).to_have_text(f"You're chatting with {img} (a person)")
    s.page.wait_for_timeout(200)  # an injected image's onerror would have fired by now

    assert s.texts(USER_BUBBLES) == [img, script]
    assert s.texts(BOT_BUBBLES)[-3:] == ["You said: " + img, script, "Pick one"]
    expect(s.page.locator(QUICK_REPLIES)).to_have_text([img])
    expect(s.page.locator(".tandem-msg--agent .tandem-msg__name")).to_have_text(img + " · support agent")
    assert s.texts(AGENT_BUBBLES) == ["<b>bold</b> " + img]
    expect(s.page.locator(".tandem-card__name")).to_have_text(script)
    expect(s.page.locator(".tandem-card__price")).to_have_text("<i>£1</i>")
    expect(s.page.locator(".tandem-card__reason")).to_have_text(img)
    expect(s.page.locator(".tandem-card__image--placeholder")).to_have_count(1)  # javascript: is no image
    expect(s.page.locator(".tandem-csat__question")).to_have_text(img)
    assert s.page.locator(".tandem-widget img").count() == 0
    assert s.page.locator(".tandem-widget script, .tandem-widget b, .tandem-widget i").count() == 0
    assert s.page.evaluate("window.__tandemPwned") is None
    assert s.dialogs == []

    s.page.locator(QUICK_REPLIES).click()  # a button whose title is HTML still sends its payload
    assert wait_for(stub.uttered, 3)[2]["message"] == "/html_button"


def test_after_a_resync_the_widget_shows_the_message_it_missed_once(session, stub):
    """An instance whose Redis subscription came back asks its widgets to resync: what they missed live comes from
    the history, and nothing they already show appears twice."""
    s = session()
    session_id = start_conversation(s, stub)
    requests, shown = len(stub.session_requests), s.page.locator(BOT_BUBBLES).count()
    stub.push(session_id, [("lost", {"text": "Your replacement ships tomorrow."}), ("resync", {})])
    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("Your replacement ships tomorrow.")
    wait_for(stub.session_requests, requests + 1)
    expect(s.page.locator(BOT_BUBBLES)).to_have_count(shown + 1)  # the missed message, and nothing twice
    s.send("thanks")
    s.expect_reply("You said: thanks")


def test_a_conversation_that_cannot_be_loaded_right_now_is_asked_for_again(session, stub):
    """A 503 session_error (the tracker store is away) is not a refusal: the widget asks again after retry_after,
    then works, and shows no error."""
    s = session()
    stub.session_errors.append(
        {"status": 503, "error": "the conversation cannot be loaded right now", "retry_after": 1}
    )
    s.open_chat()
    wait_for(stub.session_requests, 2, timeout=10)
    s.send("hello again")
    s.expect_reply("You said: hello again")
    expect(s.page.locator(ERRORS)).to_have_count(0)


def test_malformed_server_messages_are_ignored_without_breaking_the_page(session, stub):
    s = session()
    session_id = start_conversation(s, stub)
    stub.push(
        session_id,
        [
            ("bot_uttered", "just a string"),
            ("bot_uttered", {}),
            ("bot_uttered", {"text": None, "buttons": "nope", "image": 5, "custom": []}),
            ("bot_uttered", {"text": "   "}),
            ("bot_uttered", {"custom": {"type": "product_cards", "products": "nope"}}),
            ("bot_uttered", {"custom": {"type": "product_cards", "products": [{"price": "£1"}, None]}}),
            ("bot_uttered", {"custom": {"type": "csat", "options": [{"score": 9, "payload": "/x"}, "y"]}}),
            ("bot_uttered", {"custom": {"type": "unknown_widget"}}),
            ("bot_uttered", {"custom": {"type": "constructor"}}),
            ("bot_uttered", {"custom": {"type": "__proto__"}}),
            ("bot_uttered", {"buttons": [{"title": "no payload"}, {"payload": ""}, 3]}),
            ("handoff", {"status": "bogus"}),
            ("handoff", None),
            ("typing", "x"),
            ("conversation_state", {"messages": "nope"}),
            ("conversation_state", None),
            ("bot_uttered", {"text": "still here"}),
        ],
    )
    s.expect_reply("still here")
    assert s.texts(BOT_BUBBLES) == [WELCOME, "You said: hello", "still here"]
    expect(s.page.locator(".tandem-card, .tandem-csat, .tandem-widget img")).to_have_count(0)
    expect(s.page.locator(".tandem-handoff")).to_be_hidden()
    expect(s.page.locator(QUICK_REPLIES)).to_have_count(0)


def test_product_cards_render_and_their_buttons_send_payloads(session, stub):
    s = session()
    s.open_chat()
    stub.replies.append(
        [
            (
                "bot_uttered",
                {"text": "Some headphones you might like:", "custom": {"type": "product_cards", "products": PRODUCTS}},
            )
        ]
    )
    s.send("can you recommend some headphones?")

    cards = s.page.locator(".tandem-card")
    expect(cards).to_have_count(2)
    expect(s.page.get_by_role("list", name="Suggested products")).to_be_visible()
    expect(cards.locator(".tandem-card__name")).to_have_text(["Sony WH-1000XM5", "Bose QuietComfort Ultra"])
    expect(cards.locator(".tandem-card__price")).to_have_text(["£299.00", "£349.00"])
    expect(cards.locator(".tandem-card__reason")).to_have_text(
        ["Customers who bought a Pixel 8 liked these", "Top rated for noise cancelling"]
    )
    expect(cards.first.locator(".tandem-card__image--placeholder")).to_be_visible()  # image null
    image = cards.nth(1).locator("img.tandem-card__image")
    expect(image).to_have_attribute("src", re.compile(r"/static/products/headphones\.svg$"))
    s.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    expect(cards.first).to_have_accessible_name("Sony WH-1000XM5")

    cards.nth(1).get_by_role("button", name="View details").click()
    assert wait_for(stub.uttered, 2)[1]["message"] == '/open_product{"sku": "HP-BOSE-QC"}'
    s.expect_reply('You said: /open_product{"sku": "HP-BOSE-QC"}')
    expect(s.page.locator("#tandem-input")).to_be_focused()

    cards.first.get_by_role("button", name="Not interested").click()
    assert wait_for(stub.uttered, 3)[2]["message"] == '/not_interested{"sku": "HP-SONY-XM5"}'
    assert s.texts(USER_BUBBLES)[-2:] == ["View details: Bose QuietComfort Ultra", "Not interested: Sony WH-1000XM5"]
    expect(cards.first).to_have_class(re.compile("tandem-card--dismissed"))
    expect(cards.first.get_by_role("button", name="Not interested")).to_be_disabled()
    expect(cards.nth(1).get_by_role("button", name="Not interested")).to_be_enabled()

    s.page.reload()  # the cards and what was dismissed stay
    expect(cards).to_have_count(2)
    expect(cards.first.get_by_role("button", name="Not interested")).to_be_disabled()


def test_buttons_a_card_already_offers_are_not_shown_twice(session, stub):
    s = session()
    s.open_chat()
    opens = [{"title": p["name"], "payload": p["open_payload"]} for p in PRODUCTS]
    stub.replies.append(
        [
            (
                "bot_uttered",
                {
                    "text": "Some headphones you might like:",
                    "buttons": opens + [{"title": "Something else", "payload": "/ask_recommendation"}],
                    "custom": {"type": "product_cards", "products": PRODUCTS},
                },
            )
        ]
    )
    s.send("can you recommend some headphones?")
    expect(s.page.locator(".tandem-card")).to_have_count(2)
    expect(s.page.locator(QUICK_REPLIES)).to_have_text(["Something else"])


def test_csat_prompt_works_by_keyboard_and_is_disabled_once_answered(session, stub):
    s = session()
    s.open_chat()
    stub.replies.append([("bot_uttered", {"custom": CSAT})])
    s.send("that's all, thanks")
    group = s.page.get_by_role("group", name="How would you rate this conversation?")
    expect(group).to_be_visible()
    options = group.get_by_role("button")
    expect(options.locator(".tandem-csat__score")).to_have_text(["1", "2", "3", "4", "5"])
    expect(options.nth(3)).to_have_accessible_name("4 – Good")

    page = s.page
    page.keyboard.press("Shift+Tab")  # from the input back into the prompt: the last option
    expect(options.nth(4)).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(options.nth(3)).to_be_focused()
    page.keyboard.press("Enter")

    assert wait_for(stub.uttered, 2)[1]["message"] == '/csat{"score": 4}'
    expect(page.locator("#tandem-input")).to_be_focused()
    expect(options).to_have_count(5)
    for i in range(5):
        expect(options.nth(i)).to_be_disabled()
    expect(options.nth(3)).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".tandem-csat__chosen")).to_have_text("You rated 4 – Good. Thank you!")
    assert s.texts(USER_BUBBLES)[-1] == "4 – Good"

    page.reload()
    expect(page.locator(".tandem-csat__chosen")).to_have_text("You rated 4 – Good. Thank you!")
    expect(page.locator(".tandem-csat__option:enabled")).to_have_count(0)


def test_the_recommend_question_shows_its_0_to_10_scale_once_and_sends_the_score(session, stub):
    """The effort and recommend questions (actions/surveys.py) are rating prompts on their own scale; the plain
    buttons Rasa sends beside them for other channels are not shown twice."""
    s = session()
    s.open_chat()
    question = "How likely are you to recommend us to a friend or colleague?"
    options = [
        {
            "score": score,
            "title": {0: "Not at all likely", 10: "Extremely likely"}.get(score, ""),
            "payload": f'/answer_survey{{"survey_id": 3, "survey_kind": "nps", "score": {score}}}',
        }
        for score in range(11)
    ]
    nps = {"type": "survey", "kind": "nps", "question": question, "lowest": 0, "highest": 10, "options": options}
    buttons = [{"title": str(o["score"]), "payload": o["payload"]} for o in options]
    text = f"Glad that's done! One quick question. {question} Tap a number from 0 to 10, or just tell me."
    stub.replies.append([("bot_uttered", {"text": text, "buttons": buttons, "custom": nps})])
    s.send("yes cancel it")

    group = s.page.get_by_role("group", name=question)
    expect(group).to_be_visible()
    scores = group.get_by_role("button")
    expect(scores.locator(".tandem-csat__score")).to_have_text([str(n) for n in range(11)])
    expect(scores.first).to_have_accessible_name("0 – Not at all likely")
    expect(scores.last).to_have_accessible_name("10 – Extremely likely")
    expect(s.page.locator(QUICK_REPLIES)).to_have_count(0)  # the prompt's own buttons replace them
    expect(s.page.locator(".tandem-csat__question")).to_have_count(0)  # asked once, in the bubble

    scores.nth(9).click()
    assert wait_for(stub.uttered, 2)[1]["message"] == options[9]["payload"]
    for i in range(11):
        expect(scores.nth(i)).to_be_disabled()
    expect(scores.nth(9)).to_have_attribute("aria-pressed", "true")


def test_a_survey_prompt_with_a_broken_scale_offers_only_the_usual_one_to_five(session, stub):
    s = session()
    s.open_chat()
    options = [{"score": n, "title": "", "payload": f'/x{{"score": {n}}}'} for n in (0, 3, 7)]
    broken = {"type": "survey", "question": "How easy was it?", "lowest": 7, "highest": 1, "options": options}
    stub.replies.append([("bot_uttered", {"custom": broken})])
    s.send("done")
    expect(s.page.get_by_role("group", name="How easy was it?").get_by_role("button")).to_have_count(1)  # the 3


def test_an_agent_message_is_marked_as_from_a_person_even_when_the_page_is_idle(session, stub):
    s = session()
    session_id = start_conversation(s, stub)
    stub.push(session_id, [agent("Hi, I'm Alice from support. I've found your order.")])

    message = s.page.locator(".tandem-msg--agent")
    expect(message).to_have_count(1)
    expect(message.locator(".tandem-msg__name")).to_have_text("Alice · support agent")
    expect(message.locator(".tandem-bubble")).to_have_text(
        "Alice (support agent) said: Hi, I'm Alice from support. I've found your order."
    )
    expect(message.locator(".tandem-bubble .tandem-sr-only")).to_have_text("Alice (support agent) said: ")
    assert s.page.locator(".tandem-msg--bot.tandem-msg--agent").count() == 0
    styles = s.page.evaluate(
        """() => [".tandem-msg--agent .tandem-bubble", ".tandem-msg--bot .tandem-bubble"].map(
            sel => getComputedStyle(document.querySelector(sel)).backgroundColor)"""
    )
    assert styles[0] != styles[1]

    s.page.get_by_role("button", name="Close chat").click()  # a message while the chat is closed
    stub.push(session_id, [agent("Are you still there?")])
    expect(s.page.locator(".tandem-launcher")).to_have_class(re.compile("tandem-launcher--unread"))
    expect(s.page.locator(".tandem-launcher")).to_have_accessible_name(re.compile("new messages"))
    s.open_chat()
    expect(s.page.locator(".tandem-launcher")).not_to_have_class(re.compile("unread"))
    expect(s.page.locator(AGENT_BUBBLES).last).to_contain_text("Are you still there?")


def test_handoff_banner_states(session, stub):
    s = session()
    s.open_chat()
    banner = s.page.locator(".tandem-handoff")
    expect(banner).to_be_hidden()
    waiting = {"status": "waiting", "queue": "support", "expected_wait_minutes": 3}
    stub.replies.append(
        [handoff("waiting", expected_wait_minutes=3), ("bot_uttered", {"custom": {"type": "handoff", **waiting}})]
    )
    s.send("I want to talk to a person")
    expect(banner).to_have_text("Waiting for a person · about 3 minutes")
    expect(banner).to_have_attribute("role", "status")
    expect(s.page.locator(".tandem-msg--notice")).to_have_text("Waiting for a person · about 3 minutes")
    expect(s.page.locator(".tandem-typing")).to_have_count(0)  # the assistant is not answering now
    session_id = stub.uttered[0]["session_id"]

    stub.push(session_id, [handoff("waiting", expected_wait_minutes=1, position=2)])
    expect(banner).to_have_text("Waiting for a person · about 1 minute · you're number 2 in the queue")
    stub.push(session_id, [handoff("assigned", agent_name="Alice"), ("typing", {"on": True, "from": "agent"})])
    expect(banner).to_have_text("You're chatting with Alice (a person)")
    expect(s.page.locator(".tandem-typing")).to_be_visible()
    expect(s.page.locator(".tandem-typing .tandem-sr-only")).to_have_text("Alice is typing…")
    stub.push(session_id, [agent("Hello, Alice here.")])
    expect(s.page.locator(AGENT_BUBBLES)).to_contain_text("Hello, Alice here.")
    expect(s.page.locator(".tandem-typing")).to_have_count(0)

    s.page.reload()  # the state comes back with the conversation
    expect(banner).to_have_text("You're chatting with Alice (a person)")
    stub.push(session_id, [handoff("follow_up")])
    expect(banner).to_have_text("Nobody is online right now; a person will get back to you here")
    stub.push(session_id, [handoff("ended")])
    expect(banner).to_have_text("You're back with the assistant")
    s.page.reload()
    expect(s.page.locator(AGENT_BUBBLES)).to_contain_text("Hello, Alice here.")
    expect(banner).to_be_hidden()  # old news after a reload


def test_typing_indicator_while_waiting_and_when_the_server_says_so(session, stub):
    stub.delay = 0.6
    s = session()
    s.open_chat()
    s.send("slow answer please")
    expect(s.page.locator(".tandem-typing")).to_be_visible()
    expect(s.page.locator(".tandem-typing .tandem-sr-only")).to_have_text("The assistant is typing…")
    s.expect_reply("You said: slow answer please")
    expect(s.page.locator(".tandem-typing")).to_have_count(0)

    stub.push(stub.uttered[0]["session_id"], [("typing", {"on": True, "from": "bot"})])
    expect(s.page.locator(".tandem-typing")).to_be_visible()
    stub.push(stub.uttered[0]["session_id"], [("typing", {"on": False, "from": "bot"})])
    expect(s.page.locator(".tandem-typing")).to_have_count(0)


# ------------------------------------------------------------------ keyboard, input and layout


def test_empty_or_blank_input_sends_nothing(session, stub):
    s = session()
    s.open_chat()
    s.page.keyboard.press("Enter")
    s.send("     ")
    s.page.fill("#tandem-input", "\t  ")
    s.page.keyboard.press("Enter")
    assert s.page.evaluate("window.TandemWidget.send('   ')") is False
    s.page.wait_for_timeout(300)

    assert stub.uttered == []
    expect(s.page.locator(USER_BUBBLES)).to_have_count(0)
    expect(s.page.locator(".tandem-typing")).to_have_count(0)
    expect(s.page.locator("#tandem-input")).to_be_focused()


def test_keyboard_only(session, stub):
    s = session()
    page = s.page
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('tandem-launcher')"):
            break
    else:
        pytest.fail("the chat launcher cannot be reached with Tab")

    page.keyboard.press("Enter")
    expect(page.locator("#tandem-panel")).to_be_visible()
    expect(page.get_by_role("dialog", name="Tandem assistant")).to_be_visible()
    expect(page.locator(".tandem-launcher")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#tandem-input")).to_be_focused()
    expect(page.get_by_role("textbox", name="Message the assistant")).to_be_focused()
    expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")

    page.keyboard.type("Hello from the keyboard")
    page.keyboard.press("Enter")
    s.expect_reply("You said: Hello from the keyboard")
    assert wait_for(stub.uttered, 1)[0]["message"] == "Hello from the keyboard"
    expect(page.locator("#tandem-input")).to_have_value("")

    page.keyboard.press("Shift+Tab")  # the quick replies come just before the input
    expect(page.locator(QUICK_REPLIES).last).to_be_focused()
    page.keyboard.press("Enter")
    s.expect_reply("You said: /ask_human")
    assert wait_for(stub.uttered, 2)[1]["message"] == "/ask_human"
    expect(page.locator("#tandem-input")).to_be_focused()

    page.keyboard.press("Escape")
    expect(page.locator("#tandem-panel")).to_be_hidden()
    expect(page.locator(".tandem-launcher")).to_be_focused()
    expect(page.locator(".tandem-launcher")).to_have_attribute("aria-expanded", "false")


def test_input_is_limited_to_5000_characters(session, stub):
    s = session()
    s.open_chat()
    expect(s.page.locator("#tandem-input")).to_have_attribute("maxlength", "5000")
    s.page.evaluate(
        """() => {
            const input = document.getElementById("tandem-input");
            const data = new DataTransfer();
            data.setData("text/plain", "x".repeat(10000));
            input.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
        }"""
    )
    expect(s.page.locator("#tandem-hint")).to_have_text("Your message was too long, so it was cut to 5000 characters.")
    s.page.locator("#tandem-input").focus()
    s.page.keyboard.insert_text("y" * 10000)
    assert len(s.page.input_value("#tandem-input")) == 5000
    s.page.keyboard.press("Enter")
    wait_for(stub.uttered, 1)
    assert stub.uttered[0]["message"] == "y" * 5000
    expect(s.page.locator("#tandem-hint")).to_have_text("")

    s.page.evaluate("window.TandemWidget.send('z'.repeat(10000))")  # the page API is capped too
    assert wait_for(stub.uttered, 2)[1]["message"] == "z" * 5000


def test_phone_width_has_no_horizontal_scroll(session, stub):
    s = session(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = s.page
    no_horizontal_scroll = "() => document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_horizontal_scroll)

    s.sign_in("CUST-00001")
    s.open_chat()
    box = page.locator("#tandem-panel").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 360, "height": 740}  # full screen
    s.send("Hi! My Pixel 8 case hasn't arrived yet, can you check order TD104233 for me?")
    expect(page.locator(QUICK_REPLIES)).to_have_count(2)
    long_products = [{**p, "name": p["name"] + " " + "X" * 200, "reason": "word" * 100} for p in PRODUCTS]
    stub.replies.append(
        [
            ("bot_uttered", {"text": ("long words " * 500) + "b" * 4500}),  # 10,000 characters
            ("bot_uttered", {"custom": {"type": "product_cards", "products": long_products}}),
            ("bot_uttered", {"custom": CSAT}),
            agent("c" * 300, name="A" * 80),
            handoff("assigned", agent_name="B" * 80),
        ]
    )
    s.send("a" * 400)  # one long word
    expect(page.locator(".tandem-csat")).to_be_visible()
    expect(page.locator(AGENT_BUBBLES)).to_be_visible()
    assert len(s.texts(BOT_BUBBLES)[-1]) == 10_000

    assert page.evaluate(no_horizontal_scroll)
    log = page.locator(".tandem-log")
    assert log.evaluate("log => log.scrollWidth <= log.clientWidth")
    box = page.locator("#tandem-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    for selector in (
        ".tandem-send",
        ".tandem-card__dismiss >> nth=1",
        ".tandem-csat__option >> nth=4",
        ".tandem-handoff",
    ):
        part = page.locator(selector)
        part.scroll_into_view_if_needed()
        part_box = part.bounding_box()
        assert part_box["x"] >= 0 and part_box["x"] + part_box["width"] <= 360, selector
    page.locator(".tandem-card").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOT))


# ------------------------------------------------------------------ tokens and errors


def test_expired_token_is_renewed_once_and_the_message_retried(session, stub, servers):
    s = session()
    s.sign_in("CUST-00004")
    s.open_chat()
    sign_ins = len(servers["directory"].get_calls)
    stub.acks.append({"ok": False, "status": 401, "error": "customer token expired"})
    s.send("are you there?")

    s.expect_reply("You said: are you there?")
    first, retry = wait_for(stub.uttered, 2)
    assert retry["message"] == first["message"] == "are you there?"
    assert retry["session_id"] == first["session_id"]
    assert verify_token(retry["metadata"]["customer_token"], secret=TEST_SECRET) == "CUST-00004"
    assert servers["directory"].get_calls[sign_ins:] == ["CUST-00004"]  # one renewal
    expect(s.page.locator(ERRORS)).to_have_count(0)
    expect(s.page.locator(".tandem-msg--failed")).to_have_count(0)


def test_a_rate_limited_message_waits_and_goes_by_itself_in_order(session, stub):
    """A 429 with retry_after: the customer is told, and the message (and the next one) are sent after the
    wait without a tap, in order; the notice goes once they are through."""
    s = session()
    s.open_chat()
    stub.acks.append({"ok": False, "status": 429, "error": "too many messages", "retry_after": 1})
    s.send("first")
    expect(s.page.locator(ERRORS)).to_have_text(re.compile("You're sending messages quickly"))
    s.send("second")
    s.expect_reply("You said: second")
    texts = [m["message"] for m in wait_for(stub.uttered, 3)]
    assert texts == ["first", "first", "second"]  # refused once, then through, in order
    expect(s.page.locator(ERRORS)).to_have_count(0)
    expect(s.page.locator(".tandem-msg--failed")).to_have_count(0)


def test_token_rejected_again_after_renewal_asks_to_sign_in(session, stub):
    s = session()
    s.sign_in("CUST-00004")
    s.open_chat()
    stub.acks.extend([{"ok": False, "status": 401, "error": "invalid customer token"}] * 3)
    s.send("hello?")

    expect(s.page.locator(ERRORS)).to_have_text(re.compile("Your session has expired"))
    expect(s.page.locator(".tandem-msg--failed .tandem-retry")).to_be_visible()
    s.page.wait_for_timeout(200)
    assert len(stub.uttered) == 2  # the first try and exactly one retry


def test_a_refused_session_renews_the_token_and_asks_again(session, stub, servers):
    s = session()
    s.sign_in("CUST-00006")
    sign_ins = len(servers["directory"].get_calls)
    stub.session_errors.append({"status": 401, "error": "customer token expired"})
    s.open_chat()
    first, second = wait_for(stub.session_requests, 2)
    assert verify_token(second["customer_token"], secret=TEST_SECRET) == "CUST-00006"
    assert servers["directory"].get_calls[sign_ins:] == ["CUST-00006"]
    s.send("hi")
    s.expect_reply("You said: hi")
    expect(s.page.locator(ERRORS)).to_have_count(0)


def test_a_session_refused_again_after_renewal_says_it_expired(session, stub):
    s = session()
    s.sign_in("CUST-00006")
    stub.session_errors.extend([{"status": 401, "error": "customer token expired"}] * 2)
    s.open_chat()
    expect(s.page.locator(ERRORS)).to_have_text(re.compile("^Your session has expired"))
    wait_for(stub.session_requests, 2)
    s.send("hello?")
    expect(s.page.locator(ERRORS)).to_have_count(2)
    expect(s.page.locator(".tandem-msg--failed")).to_have_count(1)
    assert stub.uttered == []


def test_client_error_message_is_shown(session, stub):
    s = session()
    s.open_chat()
    stub.acks.append({"ok": False, "status": 400, "error": "The message is too long."})
    s.send("hi")
    expect(s.page.locator(ERRORS)).to_have_text("The assistant couldn't accept that message: The message is too long.")
    expect(s.page.locator(".tandem-msg--failed .tandem-bubble")).to_contain_text("hi")


def test_unreachable_assistant_shows_failed_messages_with_retry(session, stub):
    s = session(clock=True)
    session_id = start_conversation(s, stub)
    unreachable = re.compile("^I can't reach the assistant right now")

    stub.acks.append({"ok": False, "status": 503, "error": "try again"})
    s.send("busy?")
    expect(s.page.locator(ERRORS)).to_have_text(unreachable)

    stub.hold_acks = True  # accepted by the socket, never acknowledged
    s.send("anyone?")
    expect(s.page.locator(".tandem-typing")).to_be_visible()
    s.page.clock.fast_forward(16_000)
    expect(s.page.locator(ERRORS)).to_have_count(2)
    expect(s.page.locator(ERRORS).last).to_have_text(unreachable)
    expect(s.page.locator(".tandem-typing")).to_have_count(0)
    stub.hold_acks = False

    stub.stop()  # and now nobody is there at all
    expect(s.page.locator(".tandem-connection")).to_have_text("Reconnecting…")
    s.send("hello?")
    s.page.clock.fast_forward(16_000)
    expect(s.page.locator(ERRORS)).to_have_count(3)
    expect(s.page.locator(ERRORS).last).to_have_text(unreachable)
    failed = s.page.locator(".tandem-msg--failed")
    expect(failed).to_have_count(3)
    expect(failed.locator(".tandem-bubble")).to_have_text([re.compile(t) for t in ("busy\\?", "anyone\\?", "hello\\?")])

    stub.start()
    reconnect_now(s)  # rather than wait for socket.io's next try
    failed.last.get_by_role("button", name="Retry").click()
    s.expect_reply("You said: hello?")
    expect(failed).to_have_count(2)
    retried = dict(stub.uttered[-1])
    assert isinstance(retried.pop("message_id"), str)  # the channel stores a retry of a stored message only once
    assert retried == {"session_id": session_id, "message": "hello?", "metadata": {}}


def test_reconnects_after_a_restart_and_sends_what_was_typed_meanwhile(session, stub):
    s = session(clock=True)
    session_id = start_conversation(s, stub, "before")
    stub.stop()
    expect(s.page.locator(".tandem-connection")).to_have_text("Reconnecting…")
    s.send("typed while offline")
    s.send("and a second one")
    expect(s.page.locator(".tandem-msg--pending")).to_have_count(2)

    stub.start()
    reconnect_now(s)  # rather than wait for socket.io's next try
    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("You said: and a second one")
    expect(s.page.locator(".tandem-connection")).to_be_hidden()
    expect(s.page.locator(".tandem-msg--pending")).to_have_count(0)
    assert [u["message"] for u in stub.uttered] == ["before", "typed while offline", "and a second one"]
    assert {u["session_id"] for u in stub.uttered} == {session_id}
    assert stub.session_requests[-1]["session_id"] == session_id
    assert stub.session_requests[-1]["since"] == stub.history[session_id][1]["timestamp"]
    assert s.texts(USER_BUBBLES) == ["before", "typed while offline", "and a second one"]


def test_a_socket_client_that_cannot_load_fails_the_message_and_retry_works_later(session, stub):
    s = session()
    s.page.route("**/vendor/socket.io.min.js", lambda route: route.abort())
    s.open_chat()
    s.send("hello?")
    expect(s.page.locator(ERRORS)).to_have_text(re.compile("^I can't reach the assistant right now"))
    expect(s.page.locator(".tandem-msg--failed")).to_have_count(1)

    s.page.unroute("**/vendor/socket.io.min.js")
    s.page.get_by_role("button", name="Retry").click()
    s.expect_reply("You said: hello?")
    expect(s.page.locator(".tandem-msg--failed")).to_have_count(0)
    assert s.page.evaluate("typeof window.io") == "undefined"  # the widget leaves no global behind


# A page with an AMD loader (RequireJS, as on Magento): a UMD bundle added as a plain script would call
# its `define` anonymously, which RequireJS rejects; the widget must load socket.io through `require`.
AMD_LOADER = """
window.__amdLoads = [];
window.define = function (factory) {
  if (!window.__amdLoading) throw new Error("Mismatched anonymous define() module");
  window.__amdLoading(factory());
};
window.define.amd = {};
window.require = function (deps, done, failed) {
  const script = document.createElement("script");
  window.__amdLoads.push(deps[0]);
  window.__amdLoading = done;
  script.src = deps[0];
  script.onerror = failed;
  document.head.appendChild(script);
};
"""


def test_socket_io_is_loaded_through_the_pages_amd_loader(session, stub):
    s = session(init_script=AMD_LOADER)
    start_conversation(s, stub)
    assert s.page.evaluate("window.__amdLoads") == [s.url + "/static/vendor/socket.io.min.js"]


def test_a_message_acknowledged_after_the_timeout_counts_as_sent(session, stub):
    s = session(clock=True)
    start_conversation(s, stub)
    stub.ack_delay = 1.0
    s.send("slow turn")
    s.page.clock.fast_forward(16_000)  # the widget gives up on the acknowledgement...
    expect(s.page.locator(".tandem-msg--failed")).to_have_count(1)
    expect(s.page.locator(ERRORS)).to_have_count(1)
    expect(s.page.locator(".tandem-msg--failed")).to_have_count(0)  # ...which then comes after all
    expect(s.page.locator(ERRORS)).to_have_count(0)
    s.expect_reply("You said: slow turn")
    assert [u["message"] for u in stub.uttered] == ["hello", "slow turn"]


def test_the_widget_asks_for_no_websocket_upgrade_and_no_missing_favicon(session, stub):
    # The channel serves long-polling only; an upgrade attempt was a refused request on every load.
    s = session()
    requested: list[str] = []
    s.page.on("request", lambda request: requested.append(request.url))
    s.load()
    start_conversation(s, stub)
    assert s.websockets == []
    assert not [url for url in requested if "transport=websocket" in url or url.endswith("/favicon.ico")]
    assert any("transport=polling" in url for url in requested)


def test_a_rating_question_already_in_the_message_is_not_shown_twice(session, stub):
    s = session()
    s.open_chat()
    asked = "Glad that's sorted! How happy are you with how we handled it?"
    stub.replies.append(
        [("bot_uttered", {"text": asked, "custom": dict(CSAT, question="How happy are you with how we handled it?")})]
    )
    s.send("yes it works now")
    group = s.page.get_by_role("group", name="How happy are you with how we handled it?")
    expect(group).to_be_visible()  # still named for screen readers
    # Shown once, in the bubble; the prompt keeps it only as screen-reader text (clipped to nothing on screen).
    expect(s.page.locator(".tandem-csat__question")).to_have_count(0)
    expect(s.page.locator(".tandem-csat > p.tandem-sr-only")).to_have_text("How happy are you with how we handled it?")
    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text(asked)
