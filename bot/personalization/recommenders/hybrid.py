"""The served recommender: a weighted blend of the others, shaped by what the conversation and account say.

Each component's scores are min-max normalised over the items this request may return (its scale is
otherwise arbitrary: cosine sums, factor dot products, shares of sales), weighted and added; the weights
sum to 1, so the blend of the best item is about 1 (popularity alone, at full weight, for a customer with
no history). The request context adds boosts on that scale: items like the product under discussion and
the accessories that fit it (`focus_weight`, as much as the whole blend: what the customer asks about now
outweighs what they did before), and accessories that fit a device the customer owns (`fits_weight`) or
bought days ago (`recent_fits_weight`). Hard rules (ranking.CatalogRules) remove what must never be
shown, whatever it scores.

Every pick gets the reason of the strongest part of its score that can be put into words, so "because you
bought X" names the item that actually drove it, and "popular" is said only when nothing personal did
("fits your iPhone" beats "popular" whenever it is true).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bot.personalization.recommenders.als import ALSRecommender
from bot.personalization.recommenders.base import (
    REASON_BOUGHT,
    REASON_FITS,
    REASON_SIMILAR,
    Recommender,
    RequestContext,
    ScoredItem,
    UserHistory,
)
from bot.personalization.recommenders.content import ContentRecommender
from bot.personalization.recommenders.item_knn import ItemKNNRecommender
from bot.personalization.recommenders.popularity import PopularityRecommender
from bot.personalization.recommenders.ranking import (
    CatalogRules,
    exclusion_mask,
    popularity_reason,
    top_n,
)
from bot.personalization.training_data import TrainingData

COMPONENTS: Mapping[str, type[Recommender]] = {
    "popularity": PopularityRecommender,
    "item_knn": ItemKNNRecommender,
    "als": ALSRecommender,
    "content": ContentRecommender,
}
# Chosen by validation NDCG@10 inside the training period, with the components' defaults inside
# (bench/tune_recommenders.py --hybrid-knn default); blends near it score within 0.002 of it.
DEFAULT_WEIGHTS: Mapping[str, float] = {"popularity": 0.3, "item_knn": 0.2, "als": 0.4, "content": 0.1}

# Names of the context boosts among a score's parts (component names are the other parts).
FOCUS = "focus"
FITS = "fits"


def normalise(scores: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Scores mapped so the best allowed item is 1 and "no signal" (0, or the worst when negative) is 0.

    Only allowed items set the range: a component's favourite that this request filters out must not
    squash the scores of the items that can be shown."""
    values = scores[allowed]
    if len(values) == 0:
        return np.zeros(len(scores), dtype=np.float32)
    hi, lo = float(values.max()), min(float(values.min()), 0.0)
    if hi - lo <= 1e-12:
        return np.zeros(len(scores), dtype=np.float32)
    return ((scores - lo) / (hi - lo)).astype(np.float32, copy=False)


class HybridRecommender(Recommender):
    """Weighted blend of popularity, item-kNN, ALS and content, with the request context applied."""

    name = "hybrid"

    def __init__(
        self,
        weights: Mapping[str, float] | None = None,
        components: Mapping[str, Recommender] | None = None,
        *,
        component_params: Mapping[str, Mapping[str, Any]] | None = None,
        focus_weight: float = 1.0,
        fits_weight: float = 0.25,
        recent_fits_weight: float = 0.5,
    ) -> None:
        self.weights = {k: float(v) for k, v in (weights if weights is not None else DEFAULT_WEIGHTS).items()}
        given = dict(components or {})
        params = component_params or {}
        unknown = [k for k in {*self.weights, *params} if k not in given and k not in COMPONENTS]
        if unknown:
            raise ValueError(f"unknown hybrid components {sorted(unknown)}; known: {sorted(COMPONENTS)}")
        # Popularity is always there: it is the whole answer for an empty history.
        for name in {*self.weights, "popularity"} - set(given):
            given[name] = COMPONENTS[name](**params.get(name, {}))
        self.components: dict[str, Recommender] = given
        self.focus_weight = float(focus_weight)
        self.fits_weight = float(fits_weight)
        self.recent_fits_weight = float(recent_fits_weight)

    @property
    def popularity(self) -> PopularityRecommender:
        return self.components["popularity"]  # type: ignore[return-value]

    def fit(self, data: TrainingData) -> HybridRecommender:
        for component in self.components.values():
            component.fit(data)
        self.rules_ = CatalogRules.from_catalog(data.catalog)
        return self

    def score(self, history: UserHistory) -> np.ndarray:
        """The blend without any request context (normalised over the active catalog)."""
        return _total(self._parts(history, self.rules_.active), self.rules_.n_items)

    def recommend(
        self,
        history: UserHistory,
        context: RequestContext | None = None,
        n: int = 10,
        exclude: np.ndarray | None = None,
    ) -> list[ScoredItem]:
        """The `n` best items this request allows, each with its reason; fewer when the filters leave fewer."""
        context = context if context is not None else RequestContext()
        rules = self.rules_
        allowed = rules.mask(context) & ~exclusion_mask(exclude, rules.n_items)
        if n <= 0 or not allowed.any():
            return []
        parts = self._parts(history, allowed)
        if context.focus_items:
            parts[FOCUS] = self.focus_weight * self._focus(context.focus_items, allowed)
        fits = self._fits(context)
        if fits is not None:
            parts[FITS] = fits
        total = _total(parts, rules.n_items)
        picked = top_n(total, n, allowed)
        return self._reasons(history, context, picked, total, parts)

    # --- scoring ----------------------------------------------------------------------------------------------

    def _parts(self, history: UserHistory, allowed: np.ndarray) -> dict[str, np.ndarray]:
        """Each component's weighted, normalised scores (popularity alone, at full weight, for no history)."""
        if history.is_empty:
            return {"popularity": normalise(self.popularity.score(history), allowed)}
        return {
            name: weight * normalise(self.components[name].score(history), allowed)
            for name, weight in self.weights.items()
            if weight > 0
        }

    def _focus(self, focus_items: tuple[int, ...], allowed: np.ndarray) -> np.ndarray:
        """How much each item is like the focus products (words, and co-purchases), 1 for their accessories."""
        focus = _as_history(focus_items)
        similar = [
            normalise(self.components[name].score(focus), allowed)
            for name in ("content", "item_knn")
            if name in self.components
        ]
        boost = np.mean(similar, axis=0) if similar else np.zeros(self.rules_.n_items, dtype=np.float32)
        accessories = self.rules_.fitting(self.rules_.families_of(focus_items))
        return np.maximum(boost, accessories).astype(np.float32)

    def _fits(self, context: RequestContext) -> np.ndarray | None:
        """The boost for accessories that fit the customer's devices; bigger for a device bought days ago,
        whose owner is shopping for its bag or charger now, than for one owned for years."""
        owned = self.rules_.fitting(context.owned_families)
        recent = self.rules_.fitting(self.rules_.families_of(context.recent_device_items))
        if not (owned.any() or recent.any()):
            return None
        return np.maximum(self.fits_weight * owned, self.recent_fits_weight * recent).astype(np.float32)

    # --- reasons ----------------------------------------------------------------------------------------------

    def _reasons(
        self,
        history: UserHistory,
        context: RequestContext,
        picked: np.ndarray,
        total: np.ndarray,
        parts: Mapping[str, np.ndarray],
    ) -> list[ScoredItem]:
        names = list(parts)
        shares = np.stack([parts[name][picked] for name in names])  # parts x picked
        anchors = _LazyAnchors(self, history, context, picked)
        popular = popularity_reason(self.popularity, history)
        results = []
        for j, item in enumerate(picked):
            reason, anchor = popular, None
            fits_yours = FITS in parts and shares[names.index(FITS), j] > 0
            for k in np.argsort(-shares[:, j], kind="stable"):
                name = names[k]
                if shares[k, j] <= 0:
                    break
                if name == "popularity":
                    if fits_yours:  # "fits your iPhone" says more than "popular"
                        continue
                    break
                if name == FITS:
                    reason = REASON_FITS
                    break
                found = anchors.get(name, j)
                if found is not None:
                    reason, anchor = found
                    break
            results.append(ScoredItem(int(item), float(total[item]), reason, anchor))
        return results


def _total(parts: Mapping[str, np.ndarray], n_items: int) -> np.ndarray:
    return sum(parts.values(), np.zeros(n_items, dtype=np.float32))


def _as_history(items: tuple[int, ...] | np.ndarray) -> UserHistory:
    items = np.asarray(items, dtype=np.int32)
    return UserHistory(items=items, weights=np.ones(len(items), dtype=np.float32))


class _LazyAnchors:
    """The item each picked item's reason refers to, per score part; each explainer runs once, if needed."""

    def __init__(self, hybrid: HybridRecommender, history: UserHistory, context: RequestContext, picked: np.ndarray):
        self.hybrid, self.history, self.context, self.picked = hybrid, history, context, picked
        self._cache: dict[str, np.ndarray] = {}

    def get(self, part: str, j: int) -> tuple[str, int] | None:
        """(reason code, anchor item) for picked item j explained by `part`, or None when it names nothing."""
        if part not in self._cache:
            self._cache[part] = self._compute(part)
        anchor = int(self._cache[part][j])
        if anchor < 0:
            return None
        if part == FOCUS:
            return REASON_SIMILAR, anchor
        return getattr(self.hybrid.components[part], "explain_reason", REASON_BOUGHT), anchor

    def _compute(self, part: str) -> np.ndarray:
        if part == FOCUS:
            return self._focus_anchors()
        explain: Callable[[UserHistory, np.ndarray], np.ndarray] | None = getattr(
            self.hybrid.components.get(part), "explain_many", None
        )
        if explain is None:
            return np.full(len(self.picked), -1)
        return explain(self.history, self.picked)

    def _focus_anchors(self) -> np.ndarray:
        """The focus product each pick fits, else the one it is most like (words, then co-purchases)."""
        rules, focus_items = self.hybrid.rules_, self.context.focus_items
        focus = _as_history(focus_items)
        anchors = np.full(len(self.picked), -1, dtype=np.int64)
        for name in ("item_knn", "content"):  # later wins: words are the clearer "similar to"
            explain = getattr(self.hybrid.components.get(name), "explain_many", None)
            if explain is not None:
                found = explain(focus, self.picked)
                anchors = np.where(found >= 0, found, anchors)
        for device in focus_items:
            family = rules.family_codes[device]
            if family >= 0:
                anchors = np.where(rules.fits[self.picked, family], device, anchors)
        return np.where(anchors >= 0, anchors, focus_items[0])
