"""Micro-segments: RFM scores and named RFM segments, plus behaviour clusters with readable labels.

RFM gives the CX team the vocabulary they already use ("champions", "at risk"); the clusters find groups
RFM cannot see (browsers who rarely buy, serial returners). Both are computed over whatever customers they
are given: the refresh passes only consented customers, so nobody else's behaviour shapes the quintiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from bot.personalization.activity import CustomerActivity

# --- RFM --------------------------------------------------------------------------------------------------------

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


# --- behaviour clusters ---------------------------------------------------------------------------------------

CLUSTER_FEATURES = ("recency", "frequency", "monetary", "views", "return_rate", "tenure", "devices")

# What a cluster looks like, as the sign of its centroid on each standardised feature (CLUSTER_FEATURES
# order). Each cluster gets the archetype its centroid points to most (one archetype per cluster).
ARCHETYPES: dict[str, tuple[float, ...]] = {
    #                         rec   freq   mon   views  ret   tenure dev
    "frequent high spenders": (-1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.3),
    "lapsed buyers": (1.0, 0.5, 0.5, -0.3, 0.0, 0.3, 0.0),
    "browsers who rarely buy": (0.3, -1.0, -1.0, 1.5, 0.0, 0.0, 0.0),
    "new customers": (-0.5, -0.3, -0.3, 0.0, 0.0, -1.5, 0.0),
    "serial returners": (0.0, 0.3, 0.0, 0.0, 2.0, 0.0, 0.0),
    "multi-device owners": (0.0, 0.3, 0.5, 0.0, 0.0, 0.0, 1.5),
    "long-standing regulars": (-0.5, 0.5, 0.3, 0.0, 0.0, 1.0, 0.0),
    "dormant accounts": (1.0, -1.0, -1.0, -1.0, 0.0, 0.3, -0.5),
    "recent one-off buyers": (-1.0, -1.0, -0.3, 0.0, 0.0, 0.0, 0.0),
    "occasional buyers": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),  # nothing stands out
}


def behaviour_features(activity: CustomerActivity) -> np.ndarray:
    """log1p of CLUSTER_FEATURES (heavy-tailed counts and money would otherwise drown the rest).

    Recency of a customer who never bought is their whole tenure: they have not bought for that long.
    """
    recency = np.where(np.isnan(activity.recency_days), activity.tenure_days, activity.recency_days)
    raw = np.column_stack(
        [
            np.clip(recency, 0, None),
            activity.purchases,
            np.clip(activity.monetary, 0, None),
            activity.views,
            activity.return_rate,
            activity.tenure_days,
            activity.devices,
        ]
    ).astype(np.float64)
    return np.log1p(raw)


@dataclass(frozen=True)
class Clusters:
    """Cluster id per customer (0 = the highest-spending centroid), and each cluster's label and centroid
    (standardised features, CLUSTER_FEATURES order)."""

    labels: np.ndarray  # int64 per customer
    names: tuple[str, ...]  # per cluster id
    centroids: np.ndarray  # k x len(CLUSTER_FEATURES), z-scores

    def label_of(self) -> np.ndarray:
        """The readable label per customer."""
        return np.array(self.names, dtype=object)[self.labels] if len(self.labels) else np.zeros(0, object)


def name_clusters(centroids: np.ndarray) -> tuple[str, ...]:
    """One distinct archetype per cluster, maximising the total match (Hungarian assignment)."""
    names = list(ARCHETYPES)
    directions = np.array([ARCHETYPES[a] for a in names], dtype=np.float64)
    norms = np.linalg.norm(directions, axis=1, keepdims=True)
    directions = np.divide(directions, norms, out=np.zeros_like(directions), where=norms > 0)
    match = centroids @ directions.T  # cluster x archetype: how far the centroid goes that way
    rows, cols = linear_sum_assignment(-match)
    out = [f"cluster {c}" for c in range(len(centroids))]  # more clusters than archetypes
    for r, c in zip(rows, cols):
        out[r] = names[c]
    return tuple(out)


def cluster_customers(activity: CustomerActivity, k: int = 6, random_state: int = 0) -> Clusters:
    """KMeans on standardised log features, deterministic for a given `random_state`.

    Cluster ids are ordered by centroid spend (0 = biggest spenders) so they read the same from run to run.
    """
    n = activity.n_customers
    width = len(CLUSTER_FEATURES)
    if n == 0:
        return Clusters(np.zeros(0, np.int64), (), np.zeros((0, width)))
    z = StandardScaler().fit_transform(behaviour_features(activity))
    k = max(1, min(k, len(np.unique(z, axis=0))))
    with threadpool_limits(limits=1 if n < 20_000 else 2):  # small fits lose more to OpenMP waits than they gain
        model = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit(z)
    centroids = model.cluster_centers_
    order = np.argsort(-centroids[:, CLUSTER_FEATURES.index("monetary")], kind="stable")
    relabel = np.empty(k, dtype=np.int64)
    relabel[order] = np.arange(k)
    centroids = centroids[order]
    return Clusters(labels=relabel[model.labels_], names=name_clusters(centroids), centroids=centroids)
