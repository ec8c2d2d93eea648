"""Privacy requests in a real headless Chromium: an admin finds the pending erasure request from the navigation,
changes their mind once (nothing happens), then confirms and the customer is erased; names stay text. A request
past its due date is flagged overdue (and counted at the top), one close to it due soon."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bot.console.app import create_app
from tests.console.console_support import (
    PASSWORD,
    BackgroundApp,
    FakeRasa,
    add_agent,
    make_settings,
    rename_customer,
)
from tests.console.test_browser import EVIL_NAME, browser  # noqa: F401 (the module's Chromium fixture)
from tests.console.test_privacy_requests import ask, ask_at, customer_exists, request_of


@pytest.fixture
def stack(fresh_shop_db, tmp_path):
    rasa = FakeRasa()
    rasa_server = BackgroundApp(rasa.app()).start()
    settings = make_settings(
        fresh_shop_db, rasa_url=rasa_server.url, rasa_token="browser-token", models_dir=tmp_path / "models"
    )
    console = BackgroundApp(create_app(settings, database_url=fresh_shop_db, poll_seconds=0.2)).start()
    yield {"url": fresh_shop_db, "console": console.url}
    console.stop()
    rasa_server.stop()


def test_an_admin_sees_the_pending_request_and_erases_the_customer(browser, stack):
    url = stack["url"]
    add_agent(url, "root", role="admin", queues=(), name="Rita Root")
    rename_customer(url, "CUST-00011", EVIL_NAME)
    asked = ask(url, "CUST-00011")
    context = browser.new_context(viewport={"width": 1366, "height": 820})
    context.set_default_timeout(6000)
    page = context.new_page()
    dialogs, errors = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(stack["console"] + "/")
        page.get_by_label("Username").fill("root")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Privacy requests").click()
        page.wait_for_url("**/privacy")

        row = page.locator(f'tr[data-request-id="{asked.id}"]')
        expect(row).to_contain_text(asked.reference)
        expect(row).to_contain_text("CUST-00011")
        expect(row).to_contain_text(EVIL_NAME)  # as text: no element was made of it
        assert page.locator("main img").count() == 0
        expect(page.locator("#pending-count")).to_have_text("1")

        # The keyboard opens the confirm step; keeping the data changes nothing.
        erase = row.get_by_role("button", name=f"Erase now: {asked.reference}")
        erase.focus()
        page.keyboard.press("Enter")
        dialog = page.locator("#erase-dialog")
        expect(dialog).to_be_visible()
        expect(page.locator("#erase-what")).to_contain_text(asked.reference)
        expect(page.locator("#erase-confirm")).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(erase).to_be_focused()
        assert customer_exists(url, "CUST-00011") and request_of(url, asked.id).status == "pending"

        erase.click()
        page.locator("#erase-confirm").click()
        expect(page.locator("#privacy-notice")).to_contain_text(f"Request {asked.reference} is done.")
        expect(page.locator("#pending-empty")).to_be_visible()
        expect(page.locator("#pending-count")).to_have_text("0")
        assert not customer_exists(url, "CUST-00011")
        done = request_of(url, asked.id)
        assert (done.status, done.handled_by) == ("done", "root")
        page.screenshot(path="/tmp/console-privacy.png")
        assert dialogs == []
        assert errors == []
    finally:
        context.close()


def test_an_overdue_request_is_flagged_and_counted_at_the_top(browser, stack):
    url = stack["url"]
    add_agent(url, "root", role="admin", queues=(), name="Rita Root")
    fresh = ask_at(url, "CUST-00015", days_ago=1)
    late = ask_at(url, "CUST-00016", days_ago=34)
    soon = ask_at(url, "CUST-00017", days_ago=29)
    context = browser.new_context(viewport={"width": 1366, "height": 820})
    context.set_default_timeout(6000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(stack["console"] + "/")
        page.get_by_label("Username").fill("root")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Privacy requests").click()
        page.wait_for_url("**/privacy")

        summary = page.locator("#overdue-summary")
        expect(summary).to_be_visible()
        expect(summary).to_contain_text("1 request is overdue")
        rows = page.locator("#pending-rows tr")
        expect(rows).to_have_count(3)
        assert [rows.nth(i).get_attribute("data-reference") for i in range(3)] == [
            late.reference,
            soon.reference,
            fresh.reference,
        ]
        late_row = page.locator(f'tr[data-request-id="{late.id}"]')
        expect(late_row).to_have_class("row--overdue")
        expect(late_row.locator(".badge--overdue")).to_have_text("Overdue")
        expect(page.locator(f'tr[data-request-id="{soon.id}"] .badge--due-soon')).to_have_text("Due soon")
        expect(page.locator(f'tr[data-request-id="{fresh.id}"] .badge')).to_have_count(0)
        page.screenshot(path="/tmp/console-privacy-overdue.png")

        late_row.get_by_role("button", name=f"Cancel request {late.reference}").click()
        expect(page.locator("#privacy-notice")).to_contain_text(f"Request {late.reference} was cancelled")
        expect(summary).to_be_hidden()
        expect(rows).to_have_count(2)
        assert errors == []
    finally:
        context.close()
