"""Small pure pieces the engine's rules stand on: budgets in words, configuration, strategy buckets."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.personalization.budget import parse_budget
from bot.personalization.config import PersonalizationConfig
from bot.personalization.experiments import assign_strategy, bucket


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("best headphones under £200", 200.0),
        ("i don't want to spend more than £600", 600.0),
        ("no more than 300 quid", 300.0),
        ("£1,200 max", 1200.0),
        ("a laptop for around 2k", 2000.0),
        ("headphones for £99.99", 99.99),
        ("budget of 250", 250.0),
    ],
)
def test_a_stated_budget_is_read_as_a_price_cap(text: str, budget: float) -> None:
    assert parse_budget(text) == pytest.approx(budget)


@pytest.mark.parametrize("text", ["where is order TD104233", "a case for my iphone 15", "", None, "x" * 100_000])
def test_numbers_that_are_not_money_are_not_a_budget(text: str | None) -> None:
    assert parse_budget(text) is None


def test_configuration_comes_from_the_environment_and_rejects_nonsense() -> None:
    config = PersonalizationConfig.from_env(
        {
            "TANDEM_RECS_EXCLUSION_DAYS": "7",
            "TANDEM_RECS_UNSOLICITED_CAP": "1",
            "TANDEM_RECS_STRATEGIES": "hybrid=50, popularity=50",
        }
    )
    assert config.exclusion_days == 7 and config.unsolicited_cap == 1
    assert config.strategies == {"hybrid": 50.0, "popularity": 50.0}
    assert PersonalizationConfig.from_env({}).strategies == {"hybrid": 80.0, "popularity": 20.0}
    with pytest.raises(ValueError, match="TANDEM_RECS_EXCLUSION_DAYS"):
        PersonalizationConfig.from_env({"TANDEM_RECS_EXCLUSION_DAYS": "a week"})
    with pytest.raises(ValueError, match="no strategy"):
        PersonalizationConfig.from_env({"TANDEM_RECS_STRATEGIES": "hybrid=0"})


def test_a_customer_always_lands_in_the_same_strategy_and_shares_are_respected() -> None:
    shares = {"hybrid": 80.0, "popularity": 20.0}
    customers = [f"CUST-{i:05d}" for i in range(5000)]
    first = [assign_strategy(c, shares, "exp-1") for c in customers]
    assert first == [assign_strategy(c, shares, "exp-1") for c in customers]
    counts = Counter(first)
    assert 0.77 < counts["hybrid"] / len(customers) < 0.83
    # A new experiment (salt) reshuffles the buckets.
    assert sum(bucket(c, "exp-1") != bucket(c, "exp-2") for c in customers) > 4900
