"""RFM micro-segments: recency, frequency and monetary scores 1..5, and the segment names CX teams use.

RFM gives the CX team the vocabulary they already use ("champions", "at risk"); behaviour clusters
(`behaviour_clusters`) find the groups RFM cannot see. Scores are computed over whatever customers they are
given: the refresh passes only consented customers, so nobody else's behaviour shapes the quintiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from bot.personalization.jobs.customer_activity import CustomerActivity

NO_PURCHASE_SEGMENT = "prospect"  # signed up, never bought: not "lost", there was nothing to lose yet

# The classic R x FM grid (rows: recency score 1..5, columns: FM = (frequency + monetary) / 2 rounded up).
#   R\FM   1               2                   3                   4           5
#   5      new             potential_loyalist  potential_loyalist  champions   champions
#   4      promising       potential_loyalist  potential_loyalist  loyal       loyal
#   3      about_to_sleep  about_to_sleep      need_attention      loyal       loyal
#   2      hibernating     hibernating         at_risk             at_risk     cant_lose
#   1      lost            lost                at_risk             at_risk     cant_lose
RFM_GRID: tuple[tuple[str, ...], ...] = (
    ("lost", "lost", "at_risk", "at_risk", "cant_lose"),  # R = 1
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),  # R = 2
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),  # R = 3
    ("promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"),  # R = 4
    ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),  # R = 5
)
RFM_SEGMENTS: tuple[str, ...] = tuple(dict.fromkeys(s for row in RFM_GRID for s in row)) + (NO_PURCHASE_SEGMENT,)


@dataclass(frozen=True)
class RfmScores:
    """Scores 1..5 per customer (5 = most recent / most often / most spent) and the named segment."""

    recency: np.ndarray  # int64
    frequency: np.ndarray
    monetary: np.ndarray
    segment: np.ndarray  # object array of str


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """1..5 by quintile of rank; tied values share one score (average rank), so equal customers score equally."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    percentile = rankdata(values, method="average") / n
    return np.clip(np.ceil(percentile * 5), 1, 5).astype(np.int64)


def rfm_scores(activity: CustomerActivity) -> RfmScores:
    """Quintiles among buyers; customers who never bought get R = F = M = 1 and the `prospect` segment."""
    n = activity.n_customers
    buyers = activity.purchases > 0
    recency, frequency, monetary = (np.ones(n, dtype=np.int64) for _ in range(3))
    recency[buyers] = quintile_scores(activity.last_purchase_at[buyers])  # later purchase = higher score
    frequency[buyers] = quintile_scores(activity.purchases[buyers])
    monetary[buyers] = quintile_scores(activity.monetary[buyers])
    segment = rfm_segment(recency, frequency, monetary)
    segment[~buyers] = NO_PURCHASE_SEGMENT
    return RfmScores(recency=recency, frequency=frequency, monetary=monetary, segment=segment)


def rfm_segment(recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
    """The RFM_GRID name for each (R, F, M) score triple, with FM = (F + M) / 2 rounded up."""
    r = np.asarray(recency, dtype=np.int64)
    fm = (np.asarray(frequency, dtype=np.int64) + np.asarray(monetary, dtype=np.int64) + 1) // 2
    return np.array(RFM_GRID, dtype=object)[r - 1, fm - 1]
