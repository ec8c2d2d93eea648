"""Best sellers, now: recency-weighted interaction counts, one list per customer segment.

The cold-start answer (new customers, no consent) and the hybrid's floor. Counts decay exponentially so
last year's hit does not outrank this month's; a segment's list is shrunk toward the global one in
proportion to how little evidence the segment has, so a segment of five customers does not get a list
made of their five purchases.
"""

from __future__ import annotations

import numpy as np

from bot.personalization.recommenders.base import Recommender, UserHistory
from bot.personalization.training_data import TrainingData

_DAY = 86_400.0


def _share(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total > 0 else np.zeros_like(counts)


class PopularityRecommender(Recommender):
    """Recency-weighted popularity, global and per segment (`TrainingData.segments`)."""

    name = "popularity"

    def __init__(self, half_life_days: float = 30.0, min_segment_events: int = 50) -> None:
        if half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        self.half_life_days = float(half_life_days)
        self.min_segment_events = int(min_segment_events)

    def fit(self, data: TrainingData) -> PopularityRecommender:
        inter = data.interactions
        n_items = inter.n_items
        if inter.n_events:
            now = data.now if data.now is not None else int(inter.timestamps.max())
            age_days = np.maximum(now - inter.timestamps, 0) / _DAY
            weights = inter.weights.astype(np.float64) * np.exp2(-age_days / self.half_life_days)
        else:
            weights = np.zeros(0)
        global_share = _share(np.bincount(inter.items, weights=weights, minlength=n_items))
        self.global_scores_ = global_share.astype(np.float32)
        self.segment_scores_: dict[str, np.ndarray] = {}
        self.segment_events_: dict[str, int] = {}
        if data.segments is not None and inter.n_events:
            labels = np.asarray(data.segments, dtype=object)[inter.users]
            labelled = np.array([isinstance(s, str) and s != "" for s in labels], dtype=bool)
            names, codes = np.unique(labels[labelled].astype(str), return_inverse=True)
            items, w = inter.items[labelled], weights[labelled]
            counts = np.bincount(codes * n_items + items, weights=w, minlength=len(names) * n_items)
            counts = counts.reshape(len(names), n_items)
            events = np.bincount(codes, minlength=len(names))
            for k, segment in enumerate(names):
                # Shrinkage: the segment's own list weighs n / (n + m), the global list the rest.
                own = events[k] / (events[k] + self.min_segment_events) if self.min_segment_events > 0 else 1.0
                scores = own * _share(counts[k]) + (1.0 - own) * global_share
                self.segment_scores_[str(segment)] = scores.astype(np.float32)
                self.segment_events_[str(segment)] = int(events[k])
        return self

    def uses_segment(self, segment: str | None) -> bool:
        """True when `segment`'s list is mostly its own evidence (at least `min_segment_events` events), so
        "popular with customers like you" is true; otherwise the list is (nearly) the global one."""
        return segment in self.segment_events_ and self.segment_events_[segment] >= self.min_segment_events

    def score(self, history: UserHistory) -> np.ndarray:
        """The segment's list for a known segment, the global list otherwise; history items play no part."""
        if history.segment is None:
            return self.global_scores_.copy()
        return self.segment_scores_.get(history.segment, self.global_scores_).copy()
