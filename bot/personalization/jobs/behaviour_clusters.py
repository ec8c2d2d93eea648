"""Behaviour clusters with readable labels: groups RFM cannot see (browsers who rarely buy, serial returners).

Computed over whatever customers they are given: the refresh passes only consented customers, so nobody
else's behaviour shapes the clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from bot.personalization.jobs.customer_activity import CustomerActivity

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
