"""The recommenders behind one interface (`base.Recommender`), by name, for training and evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.personalization.recommenders.als import ALSRecommender
from bot.personalization.recommenders.base import Recommender
from bot.personalization.recommenders.content import ContentRecommender
from bot.personalization.recommenders.hybrid import HybridRecommender
from bot.personalization.recommenders.item_knn import ItemKNNRecommender
from bot.personalization.recommenders.popularity import PopularityRecommender

RECOMMENDERS: Mapping[str, type[Recommender]] = {
    "popularity": PopularityRecommender,
    "item_knn": ItemKNNRecommender,
    "als": ALSRecommender,
    "content": ContentRecommender,
    "hybrid": HybridRecommender,
}
RECOMMENDER_NAMES: tuple[str, ...] = tuple(RECOMMENDERS)


def build_recommender(name: str, **params: Any) -> Recommender:
    """A new, unfitted recommender; `params` go to its constructor."""
    try:
        cls = RECOMMENDERS[name]
    except KeyError:
        raise ValueError(f"unknown recommender {name!r}; known: {', '.join(RECOMMENDER_NAMES)}") from None
    return cls(**params)


__all__ = [
    "ALSRecommender",
    "ContentRecommender",
    "HybridRecommender",
    "ItemKNNRecommender",
    "PopularityRecommender",
    "RECOMMENDERS",
    "RECOMMENDER_NAMES",
    "build_recommender",
]
