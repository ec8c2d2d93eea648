"""The conversation review in a real headless Chromium: a CX user finds it in the navigation, filters the list, opens a
transcript and sees each message's NLU and each action's policy without the personal data, tags it and marks it
reviewed (still there after a reload), corrects an intent and saves it as a test, and (a copy of) the test file gains a
story that Rasa's own reader parses, redacted; an agent gets 403. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from bot.console.app import create_app
from bot.db.session import dispose_engine
from bot.review.saved_tests import rasa_check
from bot.review.service import TrainingData
from tests.console.console_support import BackgroundApp, add_agent, make_settings
from tests.console.test_browser import browser  # noqa: F401  (the module's Chromium)
from tests.console.test_review_browser import _sign_in
from tests.review.conversation_rows import PERSONAL_REDACTED, PERSONAL_VALUES, seed

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = Path("/tmp/console-conversation-review.png")
LIST_SCREENSHOT = Path("/tmp/console-conversations.png")


@pytest.fixture
def review_console(db_factory, tmp_path: Path) -> Iterator[dict]:
    url = db_factory.create()
    seeded = seed(url, tmp_path)
    add_agent(url, "cara", role="cx", queues=(), name="Cara Lee")
    add_agent(url, "alice", role="agent", queues=("billing",))
    data = TrainingData(nlu_dir=ROOT / "data" / "nlu", domain_dir=ROOT / "domain", root=tmp_path)
    settings = make_settings(url, tracker_db_url=seeded.tracker_url)
    console = BackgroundApp(create_app(settings, database_url=url, review_data=data, poll_seconds=0.2)).start()
    try:
        yield {"url": console.url, "seeded": seeded, "file": tmp_path / "tests" / "conversations" / "test_reviewed.yml"}
    finally:
        console.stop()
        dispose_engine(url)


def test_a_cx_user_reviews_a_conversation_and_saves_it_as_a_test(browser, review_console):
    base, s, file = review_console["url"], review_console["seeded"], review_console["file"]
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        _sign_in(page, base, "cara")
        nav = page.get_by_role("navigation", name="Console")
        nav.get_by_role("link", name="Conversations").click()
        expect(page).to_have_url(base + "/review/conversations")
        expect(page.locator(".conversation-row")).to_have_count(3)

        # Filter: no fallback, mood below -0.5: the return with personal data, shown redacted.
        page.locator("#filter-fallback").select_option("no")
        page.locator("#filter-sentiment_below").fill("-0.5")
        page.get_by_role("button", name="Apply").click()
        rows = page.locator(".conversation-row")
        expect(rows).to_have_count(1)
        expect(rows.locator(".first-message")).to_have_text(PERSONAL_REDACTED)
        page.screenshot(path=str(LIST_SCREENSHOT), full_page=True)
        assert not any(v in page.content() for v in PERSONAL_VALUES)

        rows.get_by_role("link").click()
        expect(page).to_have_url(f"{base}/review/conversations/{s.returns}")
        first = page.locator('.turn--user[data-line="0"]')
        expect(first.locator(".turn-text")).to_have_text(PERSONAL_REDACTED)
        expect(first.locator(".nlu-intent")).to_have_text("return_item")
        expect(first.locator(".nlu-confidence")).to_have_text("(0.81)")
        expect(first.locator(".nlu-entity")).to_have_text(["order_id = TD010001"])
        expect(first.locator(".nlu-sentiment")).to_have_text("negative -0.60")
        action = page.locator('.turn--action[data-line="1"]')
        expect(action.locator(".action-name")).to_have_text("action_journey_start")
        expect(action.locator(".action-policy")).to_have_text("RulePolicy")
        assert not any(v in page.content() for v in PERSONAL_VALUES)

        # Tag it (a suggestion and a typed tag), mark it reviewed: still there after a reload.
        page.get_by_role("button", name="+ misunderstood").click()
        expect(page.locator("#tag-list .tag-chip")).to_have_count(1)
        page.get_by_label("New tag").fill("Refund")
        page.get_by_role("button", name="Add tag").click()
        expect(page.locator("#tag-list .tag-chip")).to_have_count(2)
        page.get_by_label("Reviewed").check()
        expect(page.locator("#review-notice")).to_have_text("Marked reviewed by cara.")
        page.reload()
        expect(page.locator("#tag-list .tag-chip")).to_have_text(["misunderstood ×", "refund ×"])
        expect(page.get_by_label("Reviewed")).to_be_checked()
        expect(page.locator("#reviewed-by")).to_contain_text("by cara")

        # Correct the second message's intent, then save as a test.
        page.get_by_label("Intent in the test for line 3").select_option("goodbye")
        page.get_by_role("button", name="Save as test").click()
        expect(page.locator("#review-notice")).to_contain_text(
            f"Saved as the test story “reviewed conversation {s.returns}” in tests/conversations/test_reviewed.yml",
            timeout=60000,  # Rasa's story reader runs in a child process: a few seconds on a busy machine
        )
        expect(page.locator("#test-diff")).to_contain_text("intent: goodbye")
        expect(page.locator("#saved-tests li")).to_have_count(1)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        written = file.read_text()
        assert not any(v in written for v in PERSONAL_VALUES)
        story = yaml.safe_load(written)["stories"][0]
        assert story["story"] == f"reviewed conversation {s.returns}"
        assert [step.get("intent") or step.get("action") for step in story["steps"]] == [
            "return_item",
            "action_journey_start",
            "goodbye",
            "utter_goodbye",
        ]
        rasa_check(written, file.name, ROOT / "domain")  # Rasa's YAMLStoryReader reads it (raises if not)

        # The list knows it is reviewed and tagged.
        page.goto(base + "/review/conversations?reviewed=yes&tag=refund")
        expect(page.locator(".conversation-row")).to_have_count(1)
        expect(page.locator(".conversation-row .row-tags")).to_have_text("misunderstood refund")
        assert errors == []
    finally:
        context.close()


def test_an_agent_gets_403_on_the_conversation_review(browser, review_console):
    context = browser.new_context()
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        _sign_in(page, review_console["url"], "alice")
        expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Conversations")).to_have_count(
            0
        )
        response = page.goto(review_console["url"] + f"/review/conversations/{review_console['seeded'].returns}")
        assert response is not None and response.status == 403
        expect(
            page.get_by_text("The conversation review is for the customer-experience team and admins.")
        ).to_be_visible()
    finally:
        context.close()
