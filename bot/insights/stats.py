"""The statistics of comparing recommendation strategies: Wilson intervals for a rate, and a two-proportion z-test."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm

Z95 = float(norm.ppf(0.975))


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson(successes: int, trials: int, z: float = Z95) -> Interval | None:
    """The Wilson score interval of successes/trials (95 % by default): unlike the normal approximation it stays
    inside 0..1 and is honest for small counts and rates near 0. None without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> ZTest | None:
    """Two-sided pooled two-proportion z-test of x1/n1 against x2/n2; None when it cannot be computed (no trials,
    or both rates 0 or both 1)."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return ZTest(z, float(2 * norm.sf(abs(z))))
