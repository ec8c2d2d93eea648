"""Next-best-action: what the agent console suggests doing for a customer, from a rule table CX can read.

Rules, first match wins (thresholds live in `NextBestActionRules`, so CX tunes numbers, not code):

  1. no consent to personalization        -> none   (behaviour may not be used at all)
  2. an open issue                        -> none   (nobody gets an offer while their problem is unsolved)
  3. churn risk >= retention_min_risk and monetary score >= retention_min_monetary_score
                                          -> retention_offer  (valuable and about to leave)
  4. churn risk <= upsell_max_risk, recency score >= upsell_min_recency_score, owns a device, and
     either few accessories per device or a device bought in the last upsell_recent_device_days
                                          -> upsell  (active, happy, something to complete)
  5. otherwise                            -> none

Every action comes with a one-sentence reason for the agent ("churn risk 0.72 and spent £1,240 in 12
months"). `next_best_actions` applies the table to arrays (the nightly refresh); `next_best_action` to one
customer. Both are the same code, so the console and the refresh can never disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from bot.db.models import NEXT_BEST_ACTIONS
from bot.settings import env_number

RETENTION_OFFER, UPSELL, NONE = NEXT_BEST_ACTIONS
REASON_NO_CONSENT = "no consent to personalization"
REASON_OPEN_ISSUE = "the customer has an open issue: solve it before offering anything"


@dataclass(frozen=True)
class NextBestActionRules:
    """The thresholds of the rule table (module docstring)."""

    retention_min_risk: float = 0.6
    retention_min_monetary_score: int = 3
    upsell_max_risk: float = 0.3
    upsell_min_recency_score: int = 3
    upsell_max_accessories_per_device: float = 1.0  # "few accessories": at most this many per device owned
    upsell_recent_device_days: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NextBestActionRules:
        """Thresholds from `TANDEM_NBA_<FIELD>` variables (e.g. TANDEM_NBA_RETENTION_MIN_RISK=0.7), so CX
        teams tune the rule table without code."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f"TANDEM_NBA_{f.name.upper()}"
            if env.get(name) in (None, ""):
                continue
            value = env_number(env, name, getattr(cls, f.name))
            values[f.name] = int(value) if f.type in (int, "int") else value
        return cls(**values)


DEFAULT_RULES = NextBestActionRules()


@dataclass(frozen=True)
class NextBestAction:
    action: str  # one of bot.db.models.NEXT_BEST_ACTIONS
    reason: str


def _money(amount: float) -> str:
    return f"£{amount:,.0f}"


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def next_best_actions(
    *,
    churn_risk: np.ndarray,
    recency_score: np.ndarray,
    monetary_score: np.ndarray,
    spend_12m: np.ndarray,
    devices: np.ndarray,
    accessories: np.ndarray,
    days_since_device: np.ndarray,
    has_open_issue: np.ndarray | None = None,
    consented: np.ndarray | None = None,
    rules: NextBestActionRules = DEFAULT_RULES,
) -> tuple[np.ndarray, list[str]]:
    """The rule table over arrays (one entry per customer): (actions, reasons).

    `days_since_device` is NaN for customers without a device; missing `has_open_issue` means none and
    missing `consented` means everyone consented.
    """
    risk = np.asarray(churn_risk, dtype=np.float64)
    n = len(risk)
    devices = np.asarray(devices, dtype=np.int64)
    accessories = np.asarray(accessories, dtype=np.int64)
    since_device = np.asarray(days_since_device, dtype=np.float64)
    blocked_consent = np.zeros(n, bool) if consented is None else ~np.asarray(consented, dtype=bool)
    blocked_issue = np.zeros(n, bool) if has_open_issue is None else np.asarray(has_open_issue, dtype=bool)

    retention = (risk >= rules.retention_min_risk) & (np.asarray(monetary_score) >= rules.retention_min_monetary_score)
    few_accessories = (devices > 0) & (accessories <= rules.upsell_max_accessories_per_device * devices)
    recent_device = since_device <= rules.upsell_recent_device_days  # NaN (no device) compares False
    upsell = (
        (risk <= rules.upsell_max_risk)
        & (np.asarray(recency_score) >= rules.upsell_min_recency_score)
        & (few_accessories | recent_device)
    )
    rule = np.select(
        [blocked_consent, blocked_issue, retention, upsell],
        ["no_consent", "open_issue", RETENTION_OFFER, UPSELL],
        default=NONE,
    )
    actions = np.where(np.isin(rule, (RETENTION_OFFER, UPSELL)), rule, NONE).astype(object)
    spend = np.asarray(spend_12m, dtype=np.float64)
    reasons = [
        _reason(str(rule[i]), risk[i], spend[i], devices[i], accessories[i], since_device[i], recent_device[i])
        for i in range(n)
    ]
    return actions, reasons


def _reason(
    rule: str, risk: float, spend: float, devices: int, accessories: int, since_device: float, recent: bool
) -> str:
    """One sentence an agent can say back to themselves before making the offer."""
    if rule == "no_consent":
        return REASON_NO_CONSENT
    if rule == "open_issue":
        return REASON_OPEN_ISSUE
    if rule == RETENTION_OFFER:
        return f"churn risk {risk:.2f} and spent {_money(spend)} in 12 months"
    if rule == UPSELL:
        kit = _count(accessories, "accessory", "accessories")
        if recent:
            owned = f"bought a device {since_device:.0f} days ago and has {kit}"
        else:
            owned = f"owns {_count(devices, 'device', 'devices')} and {kit}"
        return f"active with churn risk {risk:.2f}; {owned}"
    return f"no rule matched: churn risk {risk:.2f}, spent {_money(spend)} in 12 months"


def next_best_action(
    *,
    churn_risk: float,
    recency_score: int,
    monetary_score: int,
    spend_12m: float,
    devices: int,
    accessories: int,
    days_since_device: float | None,
    has_open_issue: bool,
    consented: bool,
    rules: NextBestActionRules = DEFAULT_RULES,
) -> NextBestAction:
    """The rule table for one customer (the agent console); `days_since_device` None = owns no device."""
    actions, reasons = next_best_actions(
        churn_risk=np.array([churn_risk]),
        recency_score=np.array([recency_score]),
        monetary_score=np.array([monetary_score]),
        spend_12m=np.array([spend_12m]),
        devices=np.array([devices]),
        accessories=np.array([accessories]),
        days_since_device=np.array([np.nan if days_since_device is None else days_since_device]),
        has_open_issue=np.array([has_open_issue]),
        consented=np.array([consented]),
        rules=rules,
    )
    return NextBestAction(action=str(actions[0]), reason=reasons[0])
