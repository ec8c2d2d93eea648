"""Every dashboard panel equals the hand count of the seeded week (tests/insights/dashboard_seed.py), for the
period and for the week before, on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.insights import panels, recommendations, surveys
from bot.insights.dashboard_config import DashboardConfig
from bot.insights.scope import FilterError, Filters
from bot.journeys.kpis import ALL_WORKFLOWS
from tests.insights.dashboard_seed import EXPECTED, SINCE, UNTIL, WEEK, week, week_db  # noqa: F401

E = EXPECTED


def test_the_previous_period_is_the_week_before_with_the_same_filters():
    f = Filters(SINCE, UNTIL, channel="rest", segment="at_risk", workflow="late_delivery")
    before = f.previous()
    assert (before.since, before.until) == (SINCE - timedelta(days=7), SINCE)
    assert before.active() == f.active() == {"channel": "rest", "segment": "at_risk", "workflow": "late_delivery"}
    assert WEEK.days() == [date(2026, 11, 2) + timedelta(days=i) for i in range(7)]
    with pytest.raises(FilterError):
        Filters(UNTIL, SINCE)


def test_volume_counts_conversations_with_a_customer_message_that_started_in_the_period(week):
    v = panels.volume(week, WEEK)
    assert (v.current.conversations, v.previous.conversations) == E["conversations"]
    assert (v.current.customers, v.previous.customers) == E["customers"]
    assert (v.current.anonymous, v.previous.anonymous) == E["anonymous"]
    assert (v.current.customer_messages, v.previous.customer_messages) == E["customer_messages"]
    assert [d.count for d in v.current.per_day] == E["per_day"]
    assert [d.day for d in v.current.per_day] == WEEK.days()


def test_containment_and_fallbacks(week):
    c = panels.containment(week, WEEK)
    assert (c.current.contained, c.previous.contained) == E["contained"]
    assert c.current.rate == pytest.approx(3 / 5)
    assert c.current.handed_off == 2
    assert [(d.part, d.whole) for d in c.current.per_day][:4] == [(1, 1), (0, 1), (1, 1), (1, 1)]
    fb = panels.fallbacks(week, WEEK)
    assert (fb.current.fallbacks, fb.previous.fallbacks) == E["fallbacks"]
    assert fb.current.rate == pytest.approx(3 / 13)
    assert fb.previous.rate == pytest.approx(1 / 5)
    assert (fb.current.conversations_with_fallback, fb.previous.conversations_with_fallback) == E[
        "conversations_with_fallback"
    ]


def test_handoffs_by_reason_and_queue(week):
    h = panels.handoffs(week, WEEK)
    assert (h.current.handed_off, h.previous.handed_off) == E["handed_off"]
    assert h.current.rate == pytest.approx(2 / 5)
    assert {c.key: c.count for c in h.current.by_reason} == E["handoffs_by_reason"]
    assert [(q.queue, q.handoffs) for q in h.current.by_queue] == [("billing", 2)]
    billing = h.current.by_queue[0].wait_to_claim
    assert (billing.median, billing.p90) == pytest.approx(E["billing_waits"])
    assert [(q.queue, q.handoffs) for q in h.previous.by_queue] == [("general", 1)]


def test_response_times_of_the_bot_and_of_agents(week):
    t = panels.response_times(week, WEEK).current
    assert t.customer_messages == 13
    assert t.bot.count == E["bot_answered"]
    assert (t.bot.median, t.bot.p90) == pytest.approx((E["bot_median"], E["bot_p90"]))
    assert (t.agent_first_response.median, t.agent_first_response.p90) == pytest.approx(E["agent_first_response"])
    assert (t.resolution.count, t.resolution.median) == pytest.approx(E["resolution"])


def test_sentiment_per_day_distribution_and_how_negative_conversations_ended(week):
    s = panels.sentiment(week, WEEK)
    assert {c.key: c.count for c in s.current.distribution} == E["moods"]
    averages = [d.average for d in s.current.per_day]
    for got, want in zip(averages, E["daily_mood"]):
        assert (got is None and want is None) or got == pytest.approx(want)
    assert (s.current.turned_negative, s.previous.turned_negative) == E["turned_negative"]
    assert {c.key: c.count for c in s.current.outcomes} == E["outcomes"]
    assert {c.key: c.count for c in s.previous.outcomes} == {"handed_off": 1, "recovered": 0, "abandoned": 0}


def test_journeys_reuse_the_journey_kpis(week):
    j = panels.journeys(week, WEEK).current
    rows = {r.workflow: r for r in j.rows}
    late = rows["late_delivery"]
    assert (late.journeys, late.resolved, late.first_contact_resolved, late.escalated) == (2, 2, 1, 0)
    assert (late.median_hours_to_resolution, late.p90_hours_to_resolution) == pytest.approx((13.0, 21.8))
    assert (late.csat_responses, late.csat_average) == (2, 3.5)
    assert (rows["wrong_charge"].journeys, rows["wrong_charge"].escalated) == (1, 1)
    assert j.overall is not None and j.overall.workflow == ALL_WORKFLOWS
    assert (j.overall.journeys, j.overall.first_contact_resolved) == (3, 1)
    only = panels.journeys(week, replace(WEEK, workflow="wrong_charge")).current
    assert [r.workflow for r in only.rows] == ["wrong_charge"]


def test_the_funnel_shows_where_customers_drop_out(week):
    f = panels.funnel(week, WEEK)
    assert [(s.workflow, s.step, s.reached, s.stopped) for s in f.current.steps] == [
        ("late_delivery", "ask_order", 2, 0),
        ("late_delivery", "check_status", 2, 0),
        ("late_delivery", "confirm", 1, 0),
        ("wrong_charge", "ask_charge", 1, 0),
        ("wrong_charge", "check_charge", 1, 1),
    ]
    assert f.current.of("wrong_charge")[-1].drop_out == 1.0
    assert [(c.key, c.count) for c in f.current.journeys] == [("late_delivery", 2), ("wrong_charge", 1)]
    assert [(s.step, s.reached, s.stopped) for s in f.previous.steps] == [("ask_order", 1, 1)]


def test_csat_overall_per_day_by_workflow_and_by_segment(week):
    s = surveys.surveys(week, WEEK)
    csat = s.current.of("csat")
    assert csat is not None
    assert (csat.overall.responses, csat.overall.average, csat.overall.good_share) == (2, 3.5, 0.5)
    assert [(d.key, d.responses, d.average) for d in csat.per_day if d.responses] == [
        ("2026-11-02", 1, 5.0),
        ("2026-11-04", 1, 2.0),
    ]
    assert len(csat.per_day) == 7
    assert [(g.key, g.responses) for g in csat.by_workflow] == [("late_delivery", 2)]
    assert [(g.key, g.average) for g in csat.by_segment] == [("at_risk", 2.0), ("champions", 5.0)]
    assert s.previous.of("csat").overall.responses == 0


def test_a_survey_measure_is_one_more_entry(week):
    """CES and NPS arrive as measures over their own table; a NET measure summarises as % good minus % bad."""
    nps_like = replace(surveys.CSAT, key="nps_demo", label="NPS-like", good_from=5, bad_to=2, summary=surveys.NET)
    s = surveys.surveys(week, WEEK, measures=(surveys.CSAT, nps_like)).current
    assert [m.measure.key for m in s.measures] == ["csat", "nps_demo"]
    assert s.of("nps_demo").overall.headline(nps_like) == 0.0  # one 5 (good), one 2 (bad)


def test_engagement_returning_repeat_purchases_and_churn_risk(week):
    e = panels.engagement(week, WEEK, churn_threshold=0.6)
    assert (e.current.returning, e.previous.returning) == E["returning"]
    assert e.current.customers == 2
    assert (e.current.resolved_customers, e.current.repurchased_after_resolution) == (
        E["resolved_customers"],
        E["repurchased_after_resolution"],
    )
    assert (e.current.clicked_customers, e.current.repurchased_after_click) == (
        E["clicked_customers"],
        E["repurchased_after_click"],
    )
    assert (e.current.churn_risk_customers, e.current.churn_risk_contacted) == E["churn_risk"]
    assert e.previous.churn_risk_contacted == E["previous_churn_contacted"]


def test_recommendations_per_arm_with_intervals_tests_and_a_verdict(week):
    config = DashboardConfig(min_impressions=100)
    r = recommendations.recommendations(week, WEEK, config=config, conversion_days=14).current
    hybrid, popularity = r.arm("hybrid"), r.arm("popularity")
    assert (hybrid.impressions, hybrid.conversions, hybrid.clicks, hybrid.dismissals) == (120, 30, 12, 6)
    assert (popularity.impressions, popularity.conversions, popularity.clicks, popularity.dismissals) == (120, 6, 10, 3)
    # Wilson 95 % for 30/120, worked by hand: centre (0.25 + 1.96²/240) / (1 + 1.96²/120) = 0.2578,
    # half width 1.96 * sqrt(0.25 * 0.75 / 120 + 1.96²/57600) / 1.032 = 0.0767.
    low, high = hybrid.interval("conversion").low, hybrid.interval("conversion").high
    assert (low, high) == pytest.approx((0.1811, 0.3344), abs=2e-4)
    conversion = r.comparisons[0]
    # Pooled p = 36/240 = 0.15; z = 0.2 / sqrt(0.15 * 0.85 * 2/120) = 4.339; two-sided p = 1.4e-5.
    assert conversion.metric == "conversion" and conversion.test.z == pytest.approx(4.339, abs=1e-3)
    assert conversion.test.p_value == pytest.approx(1.43e-5, rel=0.01)
    assert r.verdict == "hybrid beats popularity on conversion, p < 0.001"
    ctr = r.comparisons[1]
    assert ctr.verdict.startswith("no clear difference between hybrid and popularity on click-through yet (p = 0.")
    # Fewer "not interested" answers is better: 6/120 against 3/120 is no clear difference either.
    assert r.comparisons[2].verdict.startswith("no clear difference")
    # Below the minimum of impressions per arm there is no verdict at all.
    early = recommendations.recommendations(week, WEEK, config=DashboardConfig(min_impressions=500), conversion_days=14)
    assert early.current.verdict == "not enough data yet"
    assert early.previous.verdict == "no recommendations were shown in this period"


def test_top_and_rising_intents(week):
    i = panels.intents(week, WEEK, config=DashboardConfig(rising_min_count=2))
    assert (i.messages, i.previous_messages) == (13, 5)
    assert [(c.intent, c.count, c.previous) for c in i.top[:2]] == [("nlu_fallback", 3, 1), ("thank", 2, 0)]
    assert [(c.intent, c.growth) for c in i.rising] == [("thank", 3.0), ("nlu_fallback", 2.0)]


@pytest.mark.parametrize(
    ("filters", "conversations", "previous"),
    [
        ({"channel": "rest"}, 2, 1),  # c3 c6 | p2
        ({"segment": "at_risk"}, 2, 1),  # B: c2 c6 | D: p2
        ({"workflow": "late_delivery"}, 2, 1),  # c1 (j1), c2 (j3's first step) | p2 (j4)
        ({"workflow": "wrong_charge"}, 1, 0),  # c6
        ({"channel": "socketio", "segment": "champions"}, 2, 1),  # A: c1 c4 | p1
    ],
)
def test_filters_narrow_every_conversation_panel(week, filters, conversations, previous):
    f = replace(WEEK, **filters)
    v = panels.volume(week, f)
    assert (v.current.conversations, v.previous.conversations) == (conversations, previous)
    h = panels.handoffs(week, f).current
    assert h.conversations == conversations


def test_filters_apply_to_handoffs_journeys_and_surveys(week):
    rest = replace(WEEK, channel="rest")
    assert panels.handoffs(week, rest).current.handoffs == 1  # h2
    assert [r.workflow for r in panels.journeys(week, rest).current.rows] == ["wrong_charge", ALL_WORKFLOWS]
    champions = replace(WEEK, segment="champions")
    assert surveys.surveys(week, champions).current.of("csat").overall.responses == 1  # A's 5
    assert panels.sentiment(week, champions).current.turned_negative == 1  # c4


def test_filter_options_list_what_the_data_holds(week):
    options = panels.filter_options(week)
    assert options.channels == ("rest", "socketio")
    assert options.segments == ("at_risk", "champions")
    assert options.workflows == ("late_delivery", "wrong_charge")
