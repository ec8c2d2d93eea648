"""The insights page in the console: who may see it (the CX team and admins; agents get 403), where the CX team
lands, the figures of the hand-counted week with the filters applied, and every table as CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest

from bot.db.session import dispose_engine, session_scope
from tests.console.console_support import add_agent, running_console
from tests.insights.dashboard_seed import seed_week

WEEK_QUERY = "since=2026-11-02&until=2026-11-08"
SATURDAY = datetime(2026, 11, 8, 12, 0)  # the console's clock: "the last 7 days" is the seeded week


@pytest.fixture(scope="module")
def insights_db(db_factory):
    from tests.conftest import seed_small_shop

    url = db_factory.create()
    seed_small_shop(url)
    with session_scope(url) as session:
        seed_week(session)
    add_agent(url, "cara", role="cx", queues=(), name="Cara Lee")
    add_agent(url, "alice", role="agent", queues=("billing",))
    add_agent(url, "root", role="admin", queues=())
    yield url
    dispose_engine(url)


def _tiles(html: str) -> dict[str, str]:
    pairs = re.findall(r'<span class="tile-label">([^<]+)</span>\s*<strong class="tile-value">([^<]+)</strong>', html)
    return dict(pairs)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_a_cx_user_lands_on_the_insights_and_has_no_queue(insights_db):
    async with running_console(insights_db, clock=lambda: SATURDAY) as console:
        cara = console.client()
        response = await cara.login("cara")
        assert response.status == 200 and response.url.path == "/insights"
        html = await response.text()
        assert 'href="/insights">Insights</a>' in html and 'href="/">Queue</a>' not in html
        assert "live-status" not in html  # no live queue connection on this page
        tiles = _tiles(html)  # the default period is the last 7 days: the seeded week
        assert tiles["Conversations"] == "5" and tiles["Containment (no person needed)"] == "60.0%"
        for path in ("/api/queue", "/api/handoffs/1"):
            assert (await cara.get(path)).status == 403
        assert (await cara.get("/handoffs/1")).status == 403
        assert (await cara.get("/ws", headers={"Origin": console.url})).status == 403
        assert (await cara.get("/privacy")).status == 403
        home = await cara.get("/", allow_redirects=False)
        assert home.status == 302 and home.headers["Location"] == "/insights"


async def test_agents_get_403_and_admins_see_the_insights(insights_db):
    async with running_console(insights_db, clock=lambda: SATURDAY) as console:
        alice = await console.agent("alice")
        page = await alice.get("/insights")
        assert page.status == 403 and "customer-experience team" in await page.text()
        assert (await alice.get(f"/insights/volume.csv?{WEEK_QUERY}")).status == 403
        queue = await (await alice.get("/")).text()
        assert 'href="/insights"' not in queue
        root = await console.agent("root")
        page = await root.get(f"/insights?{WEEK_QUERY}")
        assert page.status == 200
        html = await page.text()
        assert 'href="/">Queue</a>' in html and 'href="/insights">Insights</a>' in html


async def test_the_figures_follow_the_filters_and_the_previous_period(insights_db):
    async with running_console(insights_db, clock=lambda: SATURDAY) as console:
        cara = await console.agent("cara")
        html = await (await cara.get(f"/insights?{WEEK_QUERY}")).text()
        tiles = _tiles(html)
        assert tiles["Conversations"] == "5"
        assert tiles["Fallback rate (messages not understood)"] == "23.1%"
        assert tiles["Handoff rate (conversations)"] == "40.0%"
        assert tiles["CSAT"] == "3.50"
        assert "previous 2" in html  # conversations the week before
        assert "hybrid beats popularity on conversion, p &lt; 0.001" in html
        assert html.count("<svg") >= 15 and 'role="img"' in html
        rest = _tiles(await (await cara.get(f"/insights?{WEEK_QUERY}&channel=rest")).text())
        assert rest["Conversations"] == "2" and rest["Containment (no person needed)"] == "50.0%"  # c3 | c6
        at_risk = _tiles(await (await cara.get(f"/insights?{WEEK_QUERY}&segment=at_risk")).text())
        assert at_risk["Conversations"] == "2" and at_risk["Handoff rate (conversations)"] == "100.0%"  # c2 c6
        bad = await cara.get("/insights?since=2026-11-08&until=2026-11-01")
        assert bad.status == 400


async def test_every_table_downloads_as_csv_with_the_filters(insights_db):
    async with running_console(insights_db, clock=lambda: SATURDAY) as console:
        cara = await console.agent("cara")
        html = await (await cara.get(f"/insights?{WEEK_QUERY}&channel=socketio")).text()
        links = sorted(set(re.findall(r'href="(/insights/[a-z-]+\.csv\?[^"]+)"', html)))
        assert len(links) == 20  # the summary and the 19 tables
        for link in links:
            response = await cara.get(link.replace("&amp;", "&"))
            assert response.status == 200, link
            assert response.headers["Content-Type"].startswith("text/csv")
            assert "attachment" in response.headers["Content-Disposition"]
            assert "channel=socketio" in link
        volume = _csv(await (await cara.get(f"/insights/volume.csv?{WEEK_QUERY}")).text())
        assert [r["conversations"] for r in volume] == ["1", "1", "1", "1", "0", "1", "0"]
        assert volume[0]["day"] == "2026-11-02" and volume[0]["previous_day"] == "2026-10-26"
        socket = _csv(await (await cara.get(f"/insights/summary.csv?{WEEK_QUERY}&channel=socketio")).text())
        assert next(r for r in socket if r["measure"] == "Conversations")["value"] == "3"  # c1 c2 c4
        missing = await cara.get(f"/insights/nothing.csv?{WEEK_QUERY}")
        assert missing.status == 404


def test_chart_labels_and_descriptions_are_text_never_markup():
    from bot.console.charts import Bar, Series, bar_chart, line_chart

    evil = '<script>alert("x")</script>'
    bars = str(bar_chart("c1", evil, evil, [Bar(evil, 3.0, 1.0, 4.0)], value_format=str))
    lines = str(line_chart("c2", "t", evil, [evil], [Series(evil, [0.5])], y_min=0, y_max=1, y_format=str))
    for svg in (bars, lines):
        assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'aria-labelledby="c1-title c1-desc"' in bars and 'class="chart-whisker"' in bars


async def test_an_empty_database_shows_empty_panels_not_errors(db_factory):
    url = db_factory.create()
    add_agent(url, "cara", role="cx", queues=(), name="Cara Lee")
    try:
        async with running_console(url, clock=lambda: SATURDAY) as console:
            cara = await console.agent("cara")
            page = await cara.get("/insights?days=30")
            html = await page.text()
            assert page.status == 200
            assert _tiles(html)["Conversations"] == "0" and _tiles(html)["CSAT"] == "—"
            assert "no recommendations were shown in this period" in html
            csv_page = await cara.get("/insights/unknown-questions.csv?days=30")
            assert (await csv_page.text()) == "group,messages,previous_messages,trend,examples\n"
    finally:
        dispose_engine(url)
