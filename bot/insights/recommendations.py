"""The recommendation panel: each strategy (an A/B arm) with its impressions, click-through, conversion and "not
interested" rate, 95 % Wilson intervals, a two-proportion z-test between the two leading arms, and a verdict in
plain words ("hybrid beats popularity on conversion, p = 0.01", or "not enough data yet").

Impressions, clicks and conversions are `tandem recs report`'s (bot.personalization.strategy_report: a conversion is
a purchase of the shown product within TANDEM_RECS_CONVERSION_DAYS); "not interested" is the dismissals the engine
recorded with the strategy that served them. Arms are assigned per customer, so the channel, segment and workflow
filters do not apply here: a filtered view would compare arms on customers chosen by something else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import BehaviourEvent
from bot.insights.dashboard_config import DashboardConfig, dashboard_config
from bot.insights.scope import Compared, Filters, share
from bot.insights.stats import Interval, ZTest, two_proportion_z, wilson
from bot.personalization.config import PersonalizationConfig
from bot.personalization.strategy_report import strategy_report

METRICS = ("conversion", "ctr", "not_interested")
METRIC_WORDS = {"conversion": "conversion", "ctr": "click-through", "not_interested": '"not interested"'}
NOT_ENOUGH = "not enough data yet"


@dataclass(frozen=True)
class Arm:
    strategy: str
    customers: int
    impressions: int
    clicks: int
    conversions: int
    dismissals: int

    def successes(self, metric: str) -> int:
        return {"conversion": self.conversions, "ctr": self.clicks, "not_interested": self.dismissals}[metric]

    def rate(self, metric: str) -> float | None:
        return share(self.successes(metric), self.impressions)

    def interval(self, metric: str) -> Interval | None:
        return wilson(self.successes(metric), self.impressions)


@dataclass(frozen=True)
class Comparison:
    """The two arms with the most impressions, on one metric: which is higher, the test, and the verdict."""

    metric: str
    first: str
    second: str
    test: ZTest | None
    verdict: str


@dataclass(frozen=True)
class Recommendations:
    arms: tuple[Arm, ...]
    comparisons: tuple[Comparison, ...]  # one per METRICS, when there are two arms
    verdict: str  # the conversion comparison's, or why there is none

    def arm(self, strategy: str) -> Arm | None:
        return next((a for a in self.arms if a.strategy == strategy), None)


def _dismissals(session: Session, f: Filters) -> dict[str, int]:
    rows = session.execute(
        select(func.coalesce(BehaviourEvent.strategy, "unknown"), func.count())
        .where(
            BehaviourEvent.kind == "dismissal",
            BehaviourEvent.occurred_at >= f.since,
            BehaviourEvent.occurred_at < f.until,
        )
        .group_by(func.coalesce(BehaviourEvent.strategy, "unknown"))
    )
    return {strategy: int(n) for strategy, n in rows}


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}" if value < 0.01 else f"p = {value:.2f}"


def compare(a: Arm, b: Arm, metric: str, config: DashboardConfig) -> Comparison:
    """The verdict between two arms on one metric, in words a CX lead can repeat."""
    words = METRIC_WORDS[metric]
    if min(a.impressions, b.impressions) < config.min_impressions:
        return Comparison(metric, a.strategy, b.strategy, None, NOT_ENOUGH)
    test = two_proportion_z(a.successes(metric), a.impressions, b.successes(metric), b.impressions)
    if test is None:
        return Comparison(metric, a.strategy, b.strategy, None, f"no difference on {words} (both at the same rate)")
    high, low = (a, b) if test.z >= 0 else (b, a)
    if test.p_value < config.significance:
        # Fewer "not interested" answers is the better result.
        better, worse = (low, high) if metric == "not_interested" else (high, low)
        verb = "beats"
        return Comparison(
            metric,
            high.strategy,
            low.strategy,
            test,
            f"{better.strategy} {verb} {worse.strategy} on {words}, {_p(test.p_value)}",
        )
    return Comparison(
        metric,
        high.strategy,
        low.strategy,
        test,
        f"no clear difference between {high.strategy} and {low.strategy} on {words} yet ({_p(test.p_value)})",
    )


def _recommendations(session: Session, f: Filters, config: DashboardConfig, conversion_days: float) -> Recommendations:
    figures = strategy_report(session, since=f.since, until=f.until, conversion_days=conversion_days)
    dismissed = _dismissals(session, f)
    arms = tuple(
        Arm(r.strategy, r.customers, r.impressions, r.clicks, r.conversions, dismissed.get(r.strategy, 0))
        for r in figures
    )
    leading: Sequence[Arm] = sorted(arms, key=lambda a: (-a.impressions, a.strategy))[:2]
    if len(leading) < 2:
        return Recommendations(arms, (), NOT_ENOUGH if arms else "no recommendations were shown in this period")
    comparisons = tuple(compare(leading[0], leading[1], metric, config) for metric in METRICS)
    return Recommendations(arms, comparisons, comparisons[0].verdict)


def recommendations(
    session: Session, f: Filters, config: DashboardConfig | None = None, conversion_days: float | None = None
) -> Compared[Recommendations]:
    config = config or dashboard_config()
    days = PersonalizationConfig.from_env().conversion_days if conversion_days is None else conversion_days
    return Compared(_recommendations(session, f, config, days), _recommendations(session, f.previous(), config, days))
