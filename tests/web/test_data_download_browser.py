"""The widget's "Download your data" in a real headless Chromium: a bot message offering the download saves the
signed-in customer's own data as a JSON file; a visitor who is not signed in is told why there is nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from bot.db.migrate import upgrade
from bot.db.session import dispose_engine
from bot.identity import sign_customer
from bot.privacy.config import DataLocations
from bot.web.shop_site import create_app
from tests.conftest import seed_small_shop
from tests.web.tandem_web_support import (
    TEST_SECRET,
    BackgroundServer,
    FakeCustomerDirectory,
    SocketRasaStub,
    demo_customers,
    make_settings,
)
from tests.web.test_widget_browser import CHROMIUM, CHROMIUM_ARGS

OFFER = ("bot_uttered", {"text": "Here is a copy of everything we hold about you.", "custom": {"type": "data_export"}})
BUTTON = ".tandem-export__button"
STATUS = ".tandem-export__status"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; the browser tests need it.", pytrace=False)
    expect.set_options(timeout=6000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo page on a real (SQLite) shop database, beside a stand-in Rasa channel."""
    folder = tmp_path_factory.mktemp("download")
    url = f"sqlite:///{folder / 'shop.db'}"
    upgrade(url)
    seed_small_shop(url)
    stub = SocketRasaStub().start()
    settings = make_settings(folder, rasa_public_url=stub.url)
    data = DataLocations(url, "", None, TEST_SECRET)
    server = BackgroundServer(create_app(FakeCustomerDirectory(demo_customers(30)), settings, data=data)).start()
    yield {"url": server.url, "stub": stub}
    server.stop()
    stub.stop()
    dispose_engine(url)


@pytest.fixture
def page(browser, site):
    site["stub"].reset()
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(6000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(site["url"])
    page.wait_for_function("() => window.TandemWidget !== undefined")
    yield page
    assert errors == [], errors
    context.close()


def offer_download(page, stub) -> None:
    page.locator(".tandem-launcher").click()
    page.fill("#tandem-input", "I'd like a copy of my data")
    page.locator(".tandem-send").click()
    expect(page.locator(".tandem-msg--bot .tandem-bubble").last).to_contain_text("You said:")
    stub.push(stub.session_id(), [OFFER])
    expect(page.locator(BUTTON)).to_have_text("Download your data")


def test_the_download_button_saves_the_customers_own_data_as_a_json_file(page, site):
    page.select_option("#demo-customer", "CUST-00003")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#demo-status")).to_contain_text("CUST-00003")
    offer_download(page, site["stub"])

    button = page.locator(BUTTON)
    button.focus()  # the keyboard works it like every other button
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    assert download.suggested_filename == "tandem-data-CUST-00003.json"
    document = json.loads(Path(download.path()).read_text())
    assert document["format"] == "tandem-customer-export/1"
    assert document["customer"] == "CUST-00003"
    assert document["profile"]["external_id"] == "CUST-00003"
    assert document["orders"] and all(o["customer_id"] == document["profile"]["id"] for o in document["orders"])
    expect(page.locator(STATUS)).to_have_text("Saved tandem-data-CUST-00003.json to your downloads.")
    expect(button).to_be_enabled()


def test_a_visitor_who_is_not_signed_in_is_told_to_sign_in(page, site):
    offer_download(page, site["stub"])
    page.locator(BUTTON).click()
    expect(page.locator(STATUS)).to_have_text("Sign in to download your data.")
    expect(page.locator(STATUS)).to_have_class("tandem-export__status tandem-export__status--error")


def test_an_expired_session_that_cannot_be_renewed_shows_a_clear_line(page, site):
    """The token expired and the shop will not renew it: one clear line, no file."""
    page.select_option("#demo-customer", "CUST-00004")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#demo-status")).to_contain_text("CUST-00004")
    offer_download(page, site["stub"])
    page.route("**/api/session", lambda route: route.fulfill(status=503, body='{"error": "down"}'))
    expired = sign_customer("CUST-00004", ttl_seconds=-30, secret=TEST_SECRET)
    page.evaluate("(token) => TandemWidget.setCustomer(token, {external_id: 'CUST-00004'})", expired)
    page.locator(BUTTON).last.click()
    status = page.locator(STATUS).last
    expect(status).to_have_text("Your session has expired. Please sign in again to download your data.")
