"""The next-best-action rule table: who gets a retention offer, who an upsell, and who nothing, and why."""

from __future__ import annotations

import numpy as np

from bot.db.models import NEXT_BEST_ACTIONS
from bot.personalization.jobs.next_best_action import (
    REASON_NO_CONSENT,
    REASON_OPEN_ISSUE,
    NextBestActionRules,
    next_best_action,
    next_best_actions,
)

LEAVING_BIG_SPENDER = dict(
    churn_risk=0.72,
    recency_score=2,
    monetary_score=4,
    spend_12m=1240.0,
    devices=1,
    accessories=3,
    days_since_device=400.0,
    has_open_issue=False,
    consented=True,
)
HAPPY_OWNER_WITHOUT_KIT = dict(
    churn_risk=0.1,
    recency_score=4,
    monetary_score=3,
    spend_12m=800.0,
    devices=2,
    accessories=1,
    days_since_device=300.0,
    has_open_issue=False,
    consented=True,
)


def test_valuable_customer_at_high_churn_risk_gets_a_retention_offer_with_the_figures():
    nba = next_best_action(**LEAVING_BIG_SPENDER)
    assert nba.action == "retention_offer"
    assert nba.reason == "churn risk 0.72 and spent £1,240 in 12 months"


def test_high_churn_risk_alone_is_not_worth_a_retention_offer():
    nba = next_best_action(**{**LEAVING_BIG_SPENDER, "monetary_score": 2})
    assert nba.action == "none"
    assert "0.72" in nba.reason


def test_active_low_risk_owner_with_few_accessories_gets_an_upsell():
    nba = next_best_action(**HAPPY_OWNER_WITHOUT_KIT)
    assert nba.action == "upsell"
    assert nba.reason == "active with churn risk 0.10; owns 2 devices and 1 accessory"


def test_a_recent_device_purchase_earns_an_upsell_even_with_many_accessories():
    nba = next_best_action(**{**HAPPY_OWNER_WITHOUT_KIT, "accessories": 9, "days_since_device": 12.0})
    assert nba.action == "upsell"
    assert "bought a device 12 days ago" in nba.reason


def test_no_upsell_for_owners_already_kitted_out_or_customers_without_a_device():
    kitted = next_best_action(**{**HAPPY_OWNER_WITHOUT_KIT, "accessories": 9})
    no_device = next_best_action(
        **{**HAPPY_OWNER_WITHOUT_KIT, "devices": 0, "accessories": 0, "days_since_device": None}
    )
    assert kitted.action == no_device.action == "none"


def test_no_upsell_for_inactive_or_risky_customers():
    lapsed = next_best_action(**{**HAPPY_OWNER_WITHOUT_KIT, "recency_score": 1})
    risky = next_best_action(**{**HAPPY_OWNER_WITHOUT_KIT, "churn_risk": 0.45})
    assert lapsed.action == risky.action == "none"


def test_an_open_issue_blocks_any_offer():
    for customer in (LEAVING_BIG_SPENDER, HAPPY_OWNER_WITHOUT_KIT):
        nba = next_best_action(**{**customer, "has_open_issue": True})
        assert nba.action == "none"
        assert nba.reason == REASON_OPEN_ISSUE


def test_without_consent_no_behaviour_based_action_is_made():
    for customer in (LEAVING_BIG_SPENDER, HAPPY_OWNER_WITHOUT_KIT):
        nba = next_best_action(**{**customer, "consented": False, "has_open_issue": True})
        assert nba.action == "none"
        assert nba.reason == REASON_NO_CONSENT


def test_cx_can_tune_the_thresholds():
    stricter = NextBestActionRules(retention_min_risk=0.8)
    assert next_best_action(**LEAVING_BIG_SPENDER, rules=stricter).action == "none"
    generous = NextBestActionRules(upsell_max_accessories_per_device=5.0, upsell_recent_device_days=0)
    assert next_best_action(**{**HAPPY_OWNER_WITHOUT_KIT, "accessories": 9}, rules=generous).action == "upsell"


def test_the_batch_rules_agree_with_the_one_customer_rules():
    customers = [
        LEAVING_BIG_SPENDER,
        HAPPY_OWNER_WITHOUT_KIT,
        {**LEAVING_BIG_SPENDER, "has_open_issue": True},
        {**HAPPY_OWNER_WITHOUT_KIT, "consented": False},
        {**HAPPY_OWNER_WITHOUT_KIT, "devices": 0, "accessories": 0, "days_since_device": None},
    ]
    columns = {key: np.array([c[key] if c[key] is not None else np.nan for c in customers]) for key in customers[0]}
    actions, reasons = next_best_actions(**columns)
    singles = [next_best_action(**c) for c in customers]
    assert actions.tolist() == [s.action for s in singles]
    assert reasons == [s.reason for s in singles]
    assert set(actions.tolist()) <= set(NEXT_BEST_ACTIONS)


def test_cx_teams_tune_the_rule_table_through_the_environment():
    import pytest

    from bot.personalization.jobs.next_best_action import NextBestActionRules

    rules = NextBestActionRules.from_env(
        {"TANDEM_NBA_RETENTION_MIN_RISK": "0.75", "TANDEM_NBA_UPSELL_MIN_RECENCY_SCORE": "4"}
    )
    assert rules.retention_min_risk == 0.75 and rules.upsell_min_recency_score == 4
    assert NextBestActionRules.from_env({}) == NextBestActionRules()
    with pytest.raises(ValueError, match="TANDEM_NBA_RETENTION_MIN_RISK"):
        NextBestActionRules.from_env({"TANDEM_NBA_RETENTION_MIN_RISK": "high"})
