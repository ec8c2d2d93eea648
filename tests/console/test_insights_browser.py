"""The insights page in a real headless Chromium: a CX user signs in and lands on it, the charts render, a filter
changes the figures, a table unfolds as the chart's alternative and downloads as CSV; an agent gets 403."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.console.app import create_app
from bot.db.session import dispose_engine, session_scope
from tests.console.console_support import CX_PAGES, PASSWORD, BackgroundApp, FakeRasa, add_agent, make_settings
from tests.console.test_browser import browser  # noqa: F401  (the module's Chromium)
from tests.insights.dashboard_seed import seed_week

SATURDAY = datetime(2026, 11, 8, 12, 0)  # the console's clock: "the last 7 days" is the seeded week
SCREENSHOT = Path("/tmp/console-insights.png")


@pytest.fixture
def insights_console(db_factory):
    from tests.conftest import seed_small_shop

    url = db_factory.create()
    seed_small_shop(url)
    with session_scope(url) as session:
        seed_week(session)
    add_agent(url, "cara", role="cx", queues=(), name="Cara Lee")
    add_agent(url, "alice", role="agent", queues=("billing",))
    rasa = BackgroundApp(FakeRasa().app()).start()
    settings = make_settings(url, rasa_url=rasa.url, rasa_token="browser-token")
    console = BackgroundApp(create_app(settings, database_url=url, clock=lambda: SATURDAY, poll_seconds=0.2)).start()
    yield console.url
    console.stop()
    rasa.stop()
    dispose_engine(url)


def _sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _tile(page, label: str):  # type: ignore[no-untyped-def]
    return page.locator(".tile", has=page.get_by_text(label, exact=True)).locator(".tile-value")


def test_a_cx_user_reads_filters_and_downloads_the_insights(browser, insights_console):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        _sign_in(page, insights_console, "cara")
        expect(page).to_have_url(insights_console + "/insights")
        expect(page.get_by_role("heading", name="Insights", exact=True)).to_be_visible()
        expect(page.get_by_role("navigation", name="Console").get_by_role("link")).to_have_text(CX_PAGES)
        expect(_tile(page, "Conversations")).to_have_text("5")
        expect(_tile(page, "Containment (no person needed)")).to_have_text("60.0%")

        # Charts render as SVG: both periods' points per day, bars per handoff reason, the recommendation whiskers.
        expect(page.get_by_role("img", name="Conversations per day")).to_be_visible()  # the caption names it
        volume = page.locator('svg[data-chart="chart-volume"]')
        expect(volume).to_be_visible()
        expect(volume.locator("circle.chart-point--current")).to_have_count(7)
        expect(page.locator('svg[data-chart="chart-handoff-reasons"] rect.chart-bar')).to_have_count(2)
        expect(page.locator('svg[data-chart="chart-recommendations"] line.chart-whisker')).to_have_count(6)
        expect(page.locator('svg[data-chart="chart-unknown-questions"] rect.chart-bar')).to_have_count(2)
        assert page.locator("svg.chart-svg").count() >= 15
        expect(page.locator("#recommendations-verdict")).to_contain_text("hybrid beats popularity on conversion")

        # The chart's table alternative unfolds.
        table = page.locator("#table-volume")
        table.get_by_text("Show the table").click()
        expect(table.locator("tbody tr")).to_have_count(7)
        expect(table.locator("tbody tr").first.locator("td").nth(1)).to_have_text("1")

        # A filter changes the figures (and keeps the period).
        page.locator("#filter-channel").select_option("rest")
        page.get_by_role("button", name="Apply").click()
        expect(page).to_have_url(
            insights_console + "/insights?since=2026-11-02&until=2026-11-08&channel=rest&segment=&workflow="
        )
        expect(_tile(page, "Conversations")).to_have_text("2")
        expect(page.locator("#insights-period")).to_contain_text("channel: rest")
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # Every table downloads as CSV, with the filters of the page.
        with page.expect_download() as download:
            page.locator("#table-handoff-reasons .csv-link").click()
        path = download.value.path()
        assert download.value.suggested_filename == "insights-handoff-reasons-2026-11-02-2026-11-08.csv"
        rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
        assert [(r["reason"], r["handoffs"]) for r in rows] == [("workflow_escalation", "1"), ("asked", "0")]
        assert errors == []
    finally:
        context.close()


def test_an_agent_gets_403_on_the_insights(browser, insights_console):
    context = browser.new_context()
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        _sign_in(page, insights_console, "alice")
        expect(page).to_have_url(insights_console + "/")
        expect(page.get_by_role("navigation", name="Console").get_by_role("link")).to_have_text(["Queue"])
        response = page.goto(insights_console + "/insights")
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", name="Not yours to see")).to_be_visible()
    finally:
        context.close()
