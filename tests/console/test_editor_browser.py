"""The response and workflow editors in a real headless Chromium: a CX user finds "Responses" in the navigation,
searches, edits a sentiment-conditioned variation and a workflow's button, sees "Saved: 1 line changed in ...", and
(a copy of) the files changed by exactly those lines with their comments intact; an invalid edit is refused with its
reason shown under the form and changes nothing; an agent gets 403. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.console.app import create_app
from bot.db.session import dispose_engine
from tests.console.console_support import BackgroundApp, add_agent, make_settings
from tests.console.test_browser import browser  # noqa: F401  (the module's Chromium)
from tests.console.test_review_browser import _sign_in
from tests.review.test_editing import comments, content_copy
from tests.review.test_nlu_files import changes

SCREENSHOT = Path("/tmp/console-editor.png")
SAVING = 30_000  # ms: a save is validated first (Rasa loads the domain in a child process)


@pytest.fixture
def editor_console(db_factory, tmp_path: Path) -> Iterator[dict]:
    url = db_factory.create()
    add_agent(url, "cara", role="cx", queues=(), name="Cara Lee")
    add_agent(url, "alice", role="agent", queues=("billing",))
    data = content_copy(tmp_path)
    app = create_app(make_settings(url), database_url=url, review_data=data, poll_seconds=0.2)
    console = BackgroundApp(app).start()
    try:
        yield {"url": console.url, "data": data}
    finally:
        console.stop()
        dispose_engine(url)


def test_a_cx_user_edits_a_response_variation_and_a_workflow_text(browser, editor_console):
    base, data = editor_console["url"], editor_console["data"]
    orders, workflow = data.domain_dir / "orders.yml", data.root / "workflows" / "late_delivery.yml"
    orders_before, workflow_before = orders.read_text(), workflow.read_text()
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "400" not in msg.text else None)
    try:
        _sign_in(page, base, "cara")
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Responses").click()
        expect(page).to_have_url(base + "/review/responses")
        expect(page.get_by_role("heading", name="Responses", exact=True)).to_be_visible()
        page.get_by_label("Search the names and texts").fill("which order")
        page.get_by_role("button", name="Search").click()
        row = page.locator('tr[data-response="utter_which_order"]')
        expect(row.locator(".badge--condition")).to_have_text("sentiment = negative")
        row.get_by_role("link", name="utter_which_order").click()
        expect(page.get_by_role("heading", name="utter_which_order", exact=True)).to_be_visible()

        # The empathetic variation (sentiment = negative) gets a new text.
        text = page.get_by_role("textbox", name="Variation 1")
        expect(text).to_have_value("I'm sorry about the trouble. Let's sort it out: which order is it?")
        expect(page.locator("#cond-utter_which_order-0")).to_have_value("sentiment=negative")
        text.fill("I'm so sorry about this. Which order is it?")
        page.get_by_role("button", name="Save variation 1 of utter_which_order").click()
        # Rasa reads the whole domain before the file is replaced: a few seconds on a busy machine.
        expect(page.locator("#editor-notice")).to_have_text(
            "Saved: 1 line changed in domain/orders.yml.", timeout=SAVING
        )
        after = orders.read_text()
        assert changes(orders_before, after) == (
            ["      text: \"I'm sorry about the trouble. Let's sort it out: which order is it?\"\n"],
            ['      text: "I\'m so sorry about this. Which order is it?"\n'],
        )
        assert comments(after) == comments(orders_before)
        expect(page.locator("#recent tbody tr").first).to_contain_text("cara")
        expect(page.locator("#recent tbody tr").first).to_contain_text("I'm so sorry about this. Which order is it?")

        # A placeholder nothing fills is refused, with the reason under the form; the file is unchanged.
        page.get_by_role("textbox", name="Variation 2").fill("Which order do you mean, {nickname}?")
        page.get_by_role("button", name="Save variation 2 of utter_which_order").click()
        refusal = page.locator(".variation-form", has=page.get_by_role("textbox", name="Variation 2")).locator(
            ".field-error"
        )
        expect(refusal).to_contain_text(
            "{nickname} is neither a slot of the domain nor a value this response is given", timeout=SAVING
        )
        assert orders.read_text() == after
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # A workflow's button, from the list of workflows.
        page.goto(base + "/review/responses")
        page.locator("#workflows").get_by_role("link", name="Late or missing delivery").click()
        expect(page.get_by_role("heading", name="Late or missing delivery", exact=True)).to_be_visible()
        step = page.locator('[data-step="slightly_late"]')
        expect(step.get_by_role("textbox", name="Button 1")).to_have_value("I'll wait")
        step.get_by_role("textbox", name="Button 1").fill("I'll wait two days")
        step.get_by_role("button", name="Save slightly_late button 1").click()
        expect(page.locator("#editor-notice")).to_have_text(
            "Saved: 1 line changed in workflows/late_delivery.yml.", timeout=SAVING
        )
        assert changes(workflow_before, workflow.read_text()) == (
            ['        - {title: "I\'ll wait", value: wait, next: wait_slightly_late, means: [wait_longer, affirm]}\n'],
            [
                '        - {title: "I\'ll wait two days", value: wait, next: wait_slightly_late, means: [wait_longer, affirm]}\n'
            ],
        )
        assert comments(workflow.read_text()) == comments(workflow_before)
        expect(page.locator("#recent tbody tr").first).to_contain_text("steps.slightly_late.buttons.0.title")
        page.screenshot(path=str(SCREENSHOT.with_name("console-editor-workflow.png")), full_page=True)

        # An empty title is refused with its reason.
        page.get_by_role("textbox", name="Title").fill("   ")
        page.get_by_role("button", name="Save the title").click()
        title_form = page.locator(".workflow-text-form", has=page.get_by_role("textbox", name="Title"))
        expect(title_form.locator(".field-error")).to_have_text("A workflow text is one line, not empty.")
        assert "title: Late or missing delivery" in workflow.read_text()
        assert errors == []
    finally:
        context.close()


def test_an_agent_gets_403_on_the_editors(browser, editor_console):
    context = browser.new_context()
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        _sign_in(page, editor_console["url"], "alice")
        expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Responses")).to_have_count(0)
        for path in ("/review/responses", "/review/workflows/late_delivery"):
            response = page.goto(editor_console["url"] + path)
            assert response is not None and response.status == 403
            expect(
                page.get_by_text("Editing responses and workflows is for the customer-experience team")
            ).to_be_visible()
    finally:
        context.close()
