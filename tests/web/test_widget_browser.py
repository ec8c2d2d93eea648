"""The chat widget in a real headless Chromium, against the demo site and a stand-in Rasa webhook."""

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
    RasaStub,
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

USER_BUBBLES = ".tandem-msg--user .tandem-bubble"
BOT_BUBBLES = ".tandem-msg--bot .tandem-bubble"
ERRORS = ".tandem-msg--error .tandem-bubble"
QUICK_REPLIES = ".tandem-quick-reply"


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
    stub = RasaStub()
    rasa = BackgroundServer(stub.app()).start()
    directory = FakeCustomerDirectory(demo_customers(30))
    settings = make_settings(tmp_path_factory.mktemp("site"), rasa_public_url=rasa.url)
    site = BackgroundServer(create_app(directory, settings)).start()
    yield {"stub": stub, "directory": directory, "site_url": site.url, "rasa_url": rasa.url}
    site.stop()
    rasa.stop()


@pytest.fixture
def stub(servers) -> RasaStub:
    servers["stub"].reset()
    servers["directory"].get_calls.clear()
    return servers["stub"]


class Session:
    """One fresh browser context (empty storage) on the demo page, with what it saw."""

    def __init__(self, browser, url: str, **context_options) -> None:
        self.context = browser.new_context(**context_options)
        self.context.set_default_timeout(5000)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []
        self.page.on("dialog", self._on_dialog)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.url = url
        self.page.goto(url)
        self.page.wait_for_function("() => window.TandemWidget !== undefined")

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


@pytest.fixture
def session(browser, servers, stub):
    sessions = []

    def open_session(**context_options) -> Session:
        context_options.setdefault("viewport", {"width": 1280, "height": 800})
        s = Session(browser, servers["site_url"], **context_options)
        sessions.append(s)
        return s

    yield open_session
    for s in sessions:
        assert s.page_errors == [], f"uncaught errors in the page: {s.page_errors}"
        s.context.close()


def wait_for_requests(stub: RasaStub, n: int, timeout: float = 5.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(stub.requests) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(stub.requests) == n, stub.requests
    return stub.requests


# ------------------------------------------------------------------ tests


def test_signed_in_message_carries_a_verifiable_token_and_buttons_send_their_payload(session, stub):
    s = session()
    assert s.page.locator("#demo-customer option").count() == 25
    s.sign_in("CUST-00003")
    s.open_chat()
    expect(s.page.locator(".tandem-status")).to_have_text(re.compile("Signed in as .* 3"))
    s.send("Where is my order TD104233?")

    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("You said: Where is my order TD104233?")
    [first] = wait_for_requests(stub, 1)
    assert set(first) == {"sender", "message", "metadata"}
    assert first["message"] == "Where is my order TD104233?"
    assert isinstance(first["sender"], str) and len(first["sender"]) >= 16
    assert verify_token(first["metadata"]["customer_token"], secret=TEST_SECRET) == "CUST-00003"

    buttons = s.page.locator(QUICK_REPLIES)
    expect(buttons).to_have_text(["Track my order", "Talk to a human"])
    buttons.first.click()

    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("You said: /order_status")
    second = wait_for_requests(stub, 2)[1]
    assert second["message"] == "/order_status"
    assert second["sender"] == first["sender"]
    assert s.texts(USER_BUBBLES) == ["Where is my order TD104233?", "Track my order"]
    expect(buttons).to_have_count(2)  # only the newest reply keeps its quick replies
    expect(s.page.locator("#tandem-input")).to_be_focused()


def test_anonymous_visitor_sends_no_token_and_each_customer_has_own_conversation(session, stub):
    s = session()
    s.open_chat()
    expect(s.page.locator(".tandem-status")).to_have_text("You are chatting as a guest.")
    s.send("hello")
    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("You said: hello")
    anonymous = wait_for_requests(stub, 1)[0]
    assert anonymous["metadata"] == {}

    s.page.get_by_role("button", name="Close chat").click()
    s.sign_in("CUST-00005")
    s.open_chat()
    expect(s.page.locator(USER_BUBBLES)).to_have_count(0)
    s.send("my orders")
    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("You said: my orders")
    signed = wait_for_requests(stub, 2)[1]
    assert signed["sender"] != anonymous["sender"]
    assert verify_token(signed["metadata"]["customer_token"], secret=TEST_SECRET) == "CUST-00005"

    s.page.get_by_role("button", name="Sign out").click()
    expect(s.page.locator("#demo-status")).to_have_text("You are chatting anonymously.")
    assert s.texts(USER_BUBBLES) == ["hello"]


def test_html_in_messages_is_shown_as_text_and_never_runs(session, stub):
    s = session()
    s.open_chat()
    img = "<img src=x onerror=alert(1)>"
    script = "<script>window.__tandemPwned = true; alert(2)</script>"
    s.send(img)
    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("You said: " + img)
    s.send(script)
    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("You said: " + script)
    s.page.wait_for_timeout(200)  # an injected image's onerror would have fired by now

    assert s.texts(USER_BUBBLES) == [img, script]
    assert s.texts(BOT_BUBBLES)[-2:] == ["You said: " + img, "You said: " + script]
    assert s.page.locator(".tandem-widget img").count() == 0
    assert s.page.locator(".tandem-widget script").count() == 0
    assert s.page.evaluate("window.__tandemPwned") is None
    assert s.dialogs == []


def test_empty_or_blank_input_sends_nothing(session, stub):
    s = session()
    s.open_chat()
    s.page.keyboard.press("Enter")
    s.send("     ")
    s.page.fill("#tandem-input", "\t  ")
    s.page.keyboard.press("Enter")
    s.page.wait_for_timeout(300)

    assert stub.requests == []
    expect(s.page.locator(USER_BUBBLES)).to_have_count(0)
    expect(s.page.locator(".tandem-typing")).to_have_count(0)
    expect(s.page.locator("#tandem-input")).to_be_focused()


def test_transcript_and_conversation_survive_a_reload(session, stub):
    s = session()
    s.sign_in("CUST-00010")
    s.open_chat()
    s.send("first message")
    expect(s.page.locator(QUICK_REPLIES)).to_have_count(2)

    s.page.reload()
    expect(s.page.locator("#demo-status")).to_contain_text("CUST-00010")
    expect(s.page.locator("#tandem-panel")).to_be_visible()  # it was open before the reload
    assert s.texts(USER_BUBBLES) == ["first message"]
    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("You said: first message")
    expect(s.page.locator(QUICK_REPLIES)).to_have_count(2)

    s.send("second message")
    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("You said: second message")
    first, second = wait_for_requests(stub, 2)
    assert second["sender"] == first["sender"]
    assert verify_token(second["metadata"]["customer_token"], secret=TEST_SECRET) == "CUST-00010"


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
    expect(page.locator(".tandem-launcher")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#tandem-input")).to_be_focused()

    page.keyboard.type("Hello from the keyboard")
    page.keyboard.press("Enter")
    expect(page.locator(BOT_BUBBLES).last).to_contain_text("You said: Hello from the keyboard")
    assert wait_for_requests(stub, 1)[0]["message"] == "Hello from the keyboard"
    expect(page.locator("#tandem-input")).to_have_value("")

    page.keyboard.press("Shift+Tab")  # the quick replies come just before the input
    expect(page.locator(QUICK_REPLIES).last).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(BOT_BUBBLES).last).to_contain_text("You said: /ask_human")
    assert wait_for_requests(stub, 2)[1]["message"] == "/ask_human"
    expect(page.locator("#tandem-input")).to_be_focused()

    page.keyboard.press("Escape")
    expect(page.locator("#tandem-panel")).to_be_hidden()
    expect(page.locator(".tandem-launcher")).to_be_focused()
    expect(page.locator(".tandem-launcher")).to_have_attribute("aria-expanded", "false")


def test_typing_indicator_while_waiting(session, stub):
    stub.delay = 0.6
    s = session()
    s.open_chat()
    s.send("slow answer please")
    expect(s.page.locator(".tandem-typing")).to_be_visible()
    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("You said: slow answer please")
    expect(s.page.locator(".tandem-typing")).to_have_count(0)


def test_expired_token_is_renewed_once_and_the_message_retried(session, stub, servers):
    s = session()
    s.sign_in("CUST-00004")
    s.open_chat()
    sign_ins = len(servers["directory"].get_calls)
    stub.scripted.append((401, {"error": "customer token expired"}))
    s.send("are you there?")

    expect(s.page.locator(BOT_BUBBLES).last).to_contain_text("You said: are you there?")
    first, retry = wait_for_requests(stub, 2)
    assert retry["message"] == first["message"] == "are you there?"
    assert retry["sender"] == first["sender"]
    assert verify_token(retry["metadata"]["customer_token"], secret=TEST_SECRET) == "CUST-00004"
    assert servers["directory"].get_calls[sign_ins:] == ["CUST-00004"]  # one renewal
    expect(s.page.locator(ERRORS)).to_have_count(0)


def test_token_rejected_again_after_renewal_asks_to_sign_in(session, stub):
    s = session()
    s.sign_in("CUST-00004")
    s.open_chat()
    stub.scripted.extend([(401, {"error": "invalid customer token"})] * 3)
    s.send("hello?")

    expect(s.page.locator(ERRORS)).to_have_text(re.compile("Your session has expired"))
    s.page.wait_for_timeout(200)
    assert len(stub.requests) == 2  # the first try and exactly one retry


def test_unreachable_assistant(session, stub, servers):
    s = session()
    s.open_chat()
    s.page.route(servers["rasa_url"] + "/webhooks/**", lambda route: route.abort())
    s.send("anyone?")
    expect(s.page.locator(ERRORS)).to_have_text(re.compile("^I can't reach the assistant right now"))
    expect(s.page.locator(".tandem-typing")).to_have_count(0)
    s.page.unroute(servers["rasa_url"] + "/webhooks/**")

    stub.scripted.append((500, {"error": "boom"}))
    s.send("and now?")
    expect(s.page.locator(ERRORS)).to_have_count(2)
    expect(s.page.locator(ERRORS).last).to_have_text(re.compile("^I can't reach the assistant right now"))


def test_client_error_message_is_shown(session, stub):
    s = session()
    s.open_chat()
    stub.scripted.append((400, {"error": "The message is too long."}))
    s.send("hi")
    expect(s.page.locator(ERRORS)).to_have_text(
        "The assistant couldn't accept that message: The message is too long."
    )


def test_input_is_limited_to_5000_characters(session, stub):
    s = session()
    s.open_chat()
    expect(s.page.locator("#tandem-input")).to_have_attribute("maxlength", "5000")
    s.page.evaluate(
        """() => {
            const input = document.getElementById("tandem-input");
            const data = new DataTransfer();
            data.setData("text/plain", "x".repeat(6000));
            input.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
        }"""
    )
    expect(s.page.locator("#tandem-hint")).to_have_text("Your message was too long, so it was cut to 5000 characters.")
    s.page.locator("#tandem-input").focus()
    s.page.keyboard.insert_text("y" * 6000)
    assert len(s.page.input_value("#tandem-input")) == 5000
    s.page.keyboard.press("Enter")
    wait_for_requests(stub, 1)
    assert stub.requests[0]["message"] == "y" * 5000
    expect(s.page.locator("#tandem-hint")).to_have_text("")


def test_phone_width_has_no_horizontal_scroll(session, stub):
    s = session(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = s.page
    no_horizontal_scroll = "() => document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_horizontal_scroll)

    s.sign_in("CUST-00001")
    s.open_chat()
    s.send("Hi! My Pixel 8 case hasn't arrived yet, can you check order TD104233 for me?")
    expect(page.locator(QUICK_REPLIES)).to_have_count(2)
    s.send("a" * 400)  # one long word
    expect(page.locator(BOT_BUBBLES).last).to_contain_text("aaaa")
    s.send("Where is my order?")
    expect(page.locator(BOT_BUBBLES).last).to_contain_text("You said: Where is my order?")

    assert page.evaluate(no_horizontal_scroll)
    log = page.locator(".tandem-log")
    assert log.evaluate("log => log.scrollWidth <= log.clientWidth")
    box = page.locator("#tandem-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    send_box = page.locator(".tandem-send").bounding_box()
    assert send_box["x"] + send_box["width"] <= 375
    page.screenshot(path=str(SCREENSHOT))
