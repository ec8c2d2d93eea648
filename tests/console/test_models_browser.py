"""The model page in a real headless Chromium: a CX user finds it in the navigation, sees the serving model, the one a
rollback brings back, a candidate whose check passed (Publish enabled) and one refused by its check with the failing
conversation test story and the per-intent differences shown and no enabled Publish; "Check the current data" starts
a real check (of a copy of the data that does not validate, so it ends after `rasa data validate`, never training)
whose steps and percentage the page follows until it ends and says why; an agent gets 403. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.console.app import create_app
from bot.console.model_jobs import ModelRelease
from bot.db.session import dispose_engine
from tests.console.console_support import PASSWORD, BackgroundApp, add_agent, make_settings
from tests.console.models_support import PASSED, REFUSED, SERVED_BEFORE, SERVING, broken_data, check_of, workspace
from tests.console.test_browser import browser  # noqa: F401  (the module's Chromium)

SCREENSHOT = Path("/tmp/console-models.png")
CHECK_SECONDS = 180_000  # ms: `rasa data validate` imports Rasa (10 s alone, a minute on a busy machine)


@pytest.fixture
def models_console(db_factory, tmp_path: Path) -> Iterator[dict]:
    url = db_factory.create()
    add_agent(url, "cara", role="cx", queues=(), name="Cara Lee")
    add_agent(url, "alice", role="agent", queues=("billing",))
    ws = workspace(tmp_path)
    release = ModelRelease.of(ws, check_of(broken_data(tmp_path)))
    app = create_app(make_settings(url), database_url=url, model_release=release, poll_seconds=0.2)
    console = BackgroundApp(app).start()
    try:
        yield {"url": console.url, "workspace": ws}
    finally:
        console.stop()
        dispose_engine(url)


def _sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_cx_user_sees_why_a_model_was_refused_and_follows_a_check_to_its_end(browser, models_console):
    base = models_console["url"]
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        _sign_in(page, base, "cara")
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Models").click()
        expect(page).to_have_url(base + "/review/models")
        expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
        expect(page.locator(".model-card")).to_have_count(4)
        card = {
            name: page.locator(f'.model-card[data-model="{name}"]')
            for name in (SERVED_BEFORE, SERVING, PASSED, REFUSED)
        }
        expect(card[SERVING].locator(".model-state")).to_have_text("Serving")
        expect(card[SERVED_BEFORE].locator(".model-state")).to_have_text("Kept for rollback")
        expect(card[SERVING].get_by_role("button", name="Publish")).to_have_count(0)
        expect(card[PASSED].get_by_role("button", name="Publish")).to_be_enabled()
        expect(page.get_by_role("button", name=f"Roll back to {SERVED_BEFORE}")).to_be_enabled()

        # The refused candidate: its failing story and the intent that got worse, and no way to publish it.
        refused = card[REFUSED]
        expect(refused.locator(".model-state")).to_have_text("Refused by its check")
        expect(refused.get_by_role("button", name="Publish")).to_be_disabled()
        expect(refused).to_contain_text(f"{REFUSED} failed its check, so it may not be published.")
        story = refused.locator(".failing-story")
        expect(story.locator(".story-name")).to_have_text("cancel then keep it")
        expect(story).to_contain_text("in tests/conversations/test_orders.yml")
        expect(story.locator("tbody tr").first.locator("td")).to_have_text(
            ["action: utter_keep_order", "utter_goodbye"]
        )
        worse = refused.locator('.intent-differences tr[data-intent="order_status"]')
        expect(worse.locator("td")).to_have_text(
            [
                "order_status worse",
                "1.00",
                "0.67",
                "-0.33",
                "“wheres my stuff” → cancel_order“track my order pls” → cancel_order",
            ]
        )
        expect(refused.locator(".check-step[data-passed='no']")).to_have_count(2)
        expect(card[PASSED].locator(".check-details")).to_contain_text("Check passed")
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # A check of the current data: its steps and percentage while it runs, then why it failed.
        page.get_by_role("button", name="Check the current data").click()
        job = page.locator("#model-job")
        expect(job).to_be_visible()
        expect(page.locator("#job-summary")).to_contain_text("Check of the current data by cara")
        validate = job.locator('.job-step[data-step="validate"]')
        expect(validate).to_contain_text("Validate the data running")
        expect(job.locator(".job-step")).to_have_text(
            [
                "Validate the data running · rasa data validate and the workflows' validator",
                "Train waiting",
                "Conversation tests waiting",
                "NLU regression check waiting",
            ]
        )
        expect(page.locator("#job-percent")).to_have_text("0%")
        expect(page.get_by_role("button", name="Check the current data")).to_be_disabled()
        expect(card[PASSED].get_by_role("button", name="Publish")).to_be_disabled()
        expect(job).to_have_attribute("data-state", "failed", timeout=CHECK_SECONDS)
        expect(page.locator("#job-summary")).to_contain_text("failed: the model may not be published")
        expect(job.locator(".job-step .job-step-state")).to_have_text(["failed", "skipped", "skipped", "skipped"])
        expect(page.locator("#job-progress")).to_be_hidden()
        expect(job.locator(".job-reasons li").first).to_have_text("1 problem(s) in the data")
        expect(job.locator(".job-reasons")).to_contain_text("YamlSyntaxException")
        expect(page.get_by_role("button", name="Check the current data")).to_be_enabled()
        expect(card[PASSED].get_by_role("button", name="Publish")).to_be_enabled()
        page.screenshot(path=str(SCREENSHOT.with_name("console-models-job.png")), full_page=True)
        assert models_console["workspace"].registry.current().name == SERVING
        assert errors == []
    finally:
        context.close()


def test_an_agent_gets_403_on_the_model_page(browser, models_console):
    context = browser.new_context()
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        _sign_in(page, models_console["url"], "alice")
        expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Models")).to_have_count(0)
        response = page.goto(models_console["url"] + "/review/models")
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", name="Not yours to see")).to_be_visible()
        expect(
            page.get_by_text("Checking and publishing models is for the customer-experience team and admins.")
        ).to_be_visible()
    finally:
        context.close()
