"""The NLU inbox in a real headless Chromium: a CX user finds it in the navigation, sees the messages the bot was
unsure about without their personal data, relabels one, a group of two that mean the same, marks an entity in another,
and (a copy of) the training data gains exactly those examples with the file's comments intact; an invalid intent name and a duplicate example are
refused with a clear sentence; an agent gets 403. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.console.app import create_app
from bot.db.session import dispose_engine
from tests.console.console_support import CX_PAGES, PASSWORD, BackgroundApp, add_agent, make_settings
from tests.console.review_support import PERSONAL_REDACTED, PERSONAL_VALUES, seed_inbox, training_copy
from tests.console.test_browser import browser  # noqa: F401  (the module's Chromium)
from tests.review.test_nlu_files import changes

SCREENSHOT = Path("/tmp/console-review.png")
SELECT = """(needle) => {
  const box = document.getElementById("annotate-text");
  const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.textContent.indexOf(needle);
    if (at >= 0) {
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + needle.length);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      return true;
    }
  }
  return false;
}"""


@pytest.fixture
def inbox_console(db_factory, tmp_path: Path) -> Iterator[dict]:
    url = db_factory.create()
    ids = seed_inbox(url)
    add_agent(url, "cara", role="cx", queues=(), name="Cara Lee")
    add_agent(url, "alice", role="agent", queues=("billing",))
    with training_copy(tmp_path) as data:
        app = create_app(make_settings(url), database_url=url, review_data=data, poll_seconds=0.2)
        console = BackgroundApp(app).start()
        try:
            yield {"url": console.url, "ids": ids, "data": data}
        finally:
            console.stop()
            dispose_engine(url)


def _sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _open(page, message_id: int):  # type: ignore[no-untyped-def]
    page.locator(f'.inbox-item[data-message-id="{message_id}"]').get_by_role("button", name="Annotate").click()
    dialog = page.locator("#annotate-dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_a_cx_user_annotates_inbox_messages_and_the_training_data_gains_exactly_them(browser, inbox_console):
    base, ids, data = inbox_console["url"], inbox_console["ids"], inbox_console["data"]
    returns, products = data.nlu_dir / "returns_refunds.yml", data.nlu_dir / "products.yml"
    returns_before, products_before = returns.read_text(), products.read_text()
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "409" not in msg.text else None)
    try:
        _sign_in(page, base, "cara")
        nav = page.get_by_role("navigation", name="Console")
        expect(nav.get_by_role("link")).to_have_text(CX_PAGES)
        nav.get_by_role("link", name="NLU inbox").click()
        expect(page).to_have_url(base + "/review/inbox")
        expect(page.get_by_role("heading", name="NLU inbox", exact=True)).to_be_visible()
        expect(page.locator("#inbox-summary")).to_contain_text("8 messages the bot was unsure about, 7 distinct")
        personal = page.locator(f'.inbox-item[data-message-id="{ids["personal"]}"]')
        expect(personal.locator(".inbox-text")).to_have_text(PERSONAL_REDACTED)
        expect(personal.locator(".placeholder")).to_have_count(3)
        expect(personal).to_contain_text("order_status (0.50)")
        html = page.content()
        assert not any(value in html for value in PERSONAL_VALUES)

        # The filters narrow the list (and keep it a link).
        page.locator("#reason-fallback").check()
        page.get_by_role("button", name="Apply").click()
        expect(page).to_have_url(base + "/review/inbox?reason=fallback&since=&until=&intent=")
        expect(page.locator(".inbox-item")).to_have_count(1)
        expect(page.locator(".inbox-item .inbox-text")).to_have_text("blorp zzz")
        page.get_by_role("link", name="Reset the filters").click()
        expect(page.locator(".inbox-item")).to_have_count(7)

        # Relabel the message with personal data: its placeholders of known entities are marked.
        dialog = _open(page, ids["personal"])
        expect(dialog.locator("#annotate-text mark.entity")).to_have_count(2)
        dialog.get_by_label("Another intent").check()
        dialog.get_by_label("The right intent").select_option("return_item")
        dialog.get_by_role("button", name="Save").click()
        example = "pls send back [TD010001](order_id), mail [customer1@example.com](email) or ring <phone>"
        expect(page.locator("#review-notice")).to_have_text(
            f"Added “{example}” to data/nlu/returns_refunds.yml as an example of return_item."
        )
        expect(dialog).to_be_hidden()
        expect(personal.locator(".inbox-result")).to_have_text("Added to data/nlu/returns_refunds.yml as return_item.")
        after = returns.read_text()
        assert changes(returns_before, after) == ([], [f"    - {example}\n"])
        comments = [line for line in returns_before.splitlines() if line.lstrip().startswith("#")]
        assert comments and all(line in after.splitlines() for line in comments)
        assert not any(value in after for value in PERSONAL_VALUES)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # Two messages that mean the same, annotated as a group.
        group = page.locator(".inbox-group", has=page.locator(f'[data-message-id="{ids["headphones"]}"]'))
        expect(group.get_by_role("heading")).to_have_text("2 messages that mean the same 2×")
        group.get_by_role("button", name="Annotate all 2…").click()
        expect(dialog.locator("#annotate-texts li")).to_have_text(
            ["i want to send my headphones back", "can i return my headphones"]
        )
        expect(dialog.locator("#entities-fields")).to_be_hidden()
        dialog.get_by_label("Another intent").check()
        dialog.get_by_label("The right intent").select_option("return_item")
        dialog.get_by_role("button", name="Save").click()
        expect(page.locator("#review-notice")).to_have_text(
            "Added 2 examples of return_item to data/nlu/returns_refunds.yml."
        )
        expect(group.locator(".inbox-result")).to_have_text(
            ["Added to data/nlu/returns_refunds.yml as return_item."] * 2
        )
        expect(group.get_by_role("button", name="Annotate all 2…")).to_be_hidden()
        assert changes(returns_before, returns.read_text()) == (
            [],
            [
                f"    - {example}\n",
                "    - i want to send my headphones back\n",
                "    - can i return my headphones\n",
            ],
        )

        # Confirm the product question with "pixel 9" marked as a device, selected in the message.
        dialog = _open(page, ids["pixel"])
        expect(dialog.get_by_label("The bot was right: product_question (0.52)")).to_be_checked()
        assert page.evaluate(SELECT, "pixel 9")
        dialog.get_by_label("Entity").select_option("device")
        dialog.get_by_role("button", name="Mark the selected text").click()
        expect(dialog.locator(".entity-chip")).to_have_text(["pixel 9 is device Unmark"])
        dialog.get_by_role("button", name="Save").click()
        expect(page.locator("#review-notice")).to_contain_text(
            "to data/nlu/products.yml as an example of product_question"
        )
        assert changes(products_before, products.read_text()) == (
            [],
            ["    - do u have the [pixel 9](device) in blue\n"],
        )

        # A new intent needs a valid name; an example the data has already is refused.
        dialog = _open(page, ids["blorp"])
        expect(dialog.get_by_label("The bot was right", exact=False)).to_be_disabled()
        dialog.get_by_label("A new intent").check()
        dialog.get_by_label("Intent name").fill("Store Hours")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog.locator("#annotate-error")).to_have_text(
            "“Store Hours” is not an intent name: lower case letters, digits and _, starting with a letter."
        )
        dialog.get_by_role("button", name="Cancel").click()
        dialog = _open(page, ids["known"])
        dialog.get_by_role("button", name="Save").click()
        expect(dialog.locator("#annotate-error")).to_have_text(
            "'where is my order' is already an example of order_status in orders.yml."
        )
        dialog.get_by_role("button", name="Cancel").click()

        # The decisions are recorded with who made them, and the annotated messages left the inbox.
        page.reload()
        expect(page.locator("#inbox-summary")).to_contain_text("4 messages the bot was unsure about, 3 distinct")
        expect(page.locator("#recent tbody tr")).to_have_count(4)
        expect(page.locator("#recent tbody tr").first).to_contain_text("cara")
        expect(page.locator("#recent tbody tr").first).to_contain_text("data/nlu/products.yml")
        assert errors == []
    finally:
        context.close()


def test_an_agent_gets_403_on_the_inbox(browser, inbox_console):
    context = browser.new_context()
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        _sign_in(page, inbox_console["url"], "alice")
        expect(page.get_by_role("navigation", name="Console").get_by_role("link")).to_have_text(["Queue"])
        response = page.goto(inbox_console["url"] + "/review/inbox")
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", name="Not yours to see")).to_be_visible()
        expect(page.get_by_text("The NLU inbox is for the customer-experience team and admins.")).to_be_visible()
    finally:
        context.close()
