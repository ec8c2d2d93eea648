"""Response times as a histogram: the buckets the daily rollup counts the bot's answers in, and the median and 90th
percentile read back from them, each within its bucket's width (1 % of the value; 10 ms below 10 ms).

Bucket 0 holds [0, 10 ms) (and anything below 0); bucket k >= 1 holds [10 ms * 1.01**(k-1), 10 ms * 1.01**k). A day's
answers take a few hundred buckets however many there are, and the buckets of any days add up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from bot.insights.scope import Spread

FIRST_EDGE = 0.01  # seconds
RATIO = 1.01  # each bucket's upper edge over its lower one: the estimate's relative error is below RATIO - 1
PERCENTILES = (0.5, 0.9)


def buckets(seconds: Iterable[float]) -> np.ndarray:
    """The bucket of each value."""
    values = np.asarray(list(seconds) if not isinstance(seconds, np.ndarray) else seconds, dtype=float)
    out = np.zeros(values.shape, dtype=np.int64)
    above = values >= FIRST_EDGE
    out[above] = np.floor(np.log(values[above] / FIRST_EDGE) / math.log(RATIO)).astype(np.int64) + 1
    return out


def counts_of(seconds: Iterable[float]) -> dict[int, int]:
    """How many values fall in each bucket."""
    found, n = np.unique(buckets(seconds), return_counts=True)
    return {int(b): int(c) for b, c in zip(found, n)}


def edges(bucket: int) -> tuple[float, float]:
    if bucket <= 0:
        return 0.0, FIRST_EDGE
    return FIRST_EDGE * RATIO ** (bucket - 1), FIRST_EDGE * RATIO**bucket


def spread_of_counts(counts: Mapping[int, int]) -> Spread:
    """The median and 90th percentile as PostgreSQL's percentile_cont takes them (linear between the two values
    around the rank), each value placed evenly within its bucket: within the bucket's width of the exact figure."""
    ordered = sorted((b, n) for b, n in counts.items() if n > 0)
    total = sum(n for _, n in ordered)
    if not total:
        return Spread(0, None, None, approximate=True)
    starts = np.cumsum([0] + [n for _, n in ordered])

    def value(rank: int) -> float:  # the rank-th smallest value (0-based), placed within its bucket
        i = int(np.searchsorted(starts, rank, side="right")) - 1
        bucket, n = ordered[i]
        low, high = edges(bucket)
        return low + (rank - starts[i] + 0.5) / n * (high - low)

    out = []
    for q in PERCENTILES:
        position = q * (total - 1)
        below = math.floor(position)
        low_value = value(below)
        high_value = value(min(below + 1, total - 1))
        out.append(low_value + (position - below) * (high_value - low_value))
    return Spread(total, out[0], out[1], approximate=True)
