"""The hard rules every strategy obeys, and picking the top items, shared by the hybrid and single recommenders.

A filter here is never a soft penalty: an item that breaks one (inactive, wrong category or brand, over the
budget, an accessory for a device family the customer does not own, a second laptop a week after the
first, something excluded) is not returned, however well it scores. The catalog's strings are turned into
integer codes once (`CatalogRules`), so a request costs a few vectorised comparisons over the catalog.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from bot.personalization.recommenders.base import (
    REASON_POPULAR,
    REASON_SEGMENT,
    Recommender,
    RequestContext,
    ScoredItem,
    UserHistory,
)
from bot.personalization.recommenders.popularity import PopularityRecommender
from bot.personalization.training_data import ItemCatalog


def _key(text: str | None) -> str:
    return (text or "").strip().lower()


def _codes(values: Iterable[object]) -> tuple[np.ndarray, dict[str, int]]:
    """Case-insensitive integer codes for a column of strings (so filters compare ints, not objects)."""
    index: dict[str, int] = {}
    codes = [index.setdefault(_key(v if isinstance(v, str) else None), len(index)) for v in values]
    return np.array(codes, dtype=np.int32), index


@dataclass(frozen=True)
class CatalogRules:
    """The catalog as integer codes and boolean tables, built once per catalog (fit time or first request)."""

    active: np.ndarray  # bool
    prices: np.ndarray  # float64
    category_codes: np.ndarray  # int32
    category_index: Mapping[str, int]  # lower-cased category -> code
    brand_codes: np.ndarray  # int32
    brand_index: Mapping[str, int]  # lower-cased brand -> code
    is_device: np.ndarray  # bool
    family_codes: np.ndarray  # int32, -1 for items that are not a device of a family
    family_index: Mapping[str, int]  # family -> column of `fits`
    fits: np.ndarray  # bool, items x families: accessory i fits family f
    has_fits: np.ndarray  # bool: accessory fits specific families (False = fits anything / not an accessory)

    @property
    def n_items(self) -> int:
        return len(self.active)

    @classmethod
    def from_catalog(cls, catalog: ItemCatalog) -> CatalogRules:
        category_codes, category_index = _codes(catalog.categories)
        brand_codes, brand_index = _codes(catalog.brands)
        families = sorted({f for f in catalog.family if f} | {f for fits in catalog.fits for f in fits})
        family_index = {f: k for k, f in enumerate(families)}
        fits = np.zeros((catalog.n_items, len(families)), dtype=bool)
        rows = [i for i, fam in enumerate(catalog.fits) for _ in fam]
        cols = [family_index[f] for fam in catalog.fits for f in fam]
        fits[rows, cols] = True
        family_codes = np.array([family_index.get(f, -1) if f else -1 for f in catalog.family], dtype=np.int32)
        return cls(
            active=np.asarray(catalog.active, dtype=bool).copy(),
            prices=np.asarray(catalog.prices, dtype=np.float64).copy(),
            category_codes=category_codes,
            category_index=category_index,
            brand_codes=brand_codes,
            brand_index=brand_index,
            is_device=catalog.is_device(),
            family_codes=family_codes,
            family_index=family_index,
            fits=fits,
            has_fits=fits.any(axis=1),
        )

    def families_of(self, items: Iterable[int]) -> frozenset[str]:
        """Device families of these items (accessories and family-less items add nothing)."""
        names = {code: name for name, code in self.family_index.items()}
        return frozenset(names[c] for c in self.family_codes[np.asarray(list(items), dtype=np.int64)] if c >= 0)

    def fitting(self, families: Iterable[str]) -> np.ndarray:
        """Accessories made for at least one of these families."""
        cols = [self.family_index[f] for f in families if f in self.family_index]
        if not cols:
            return np.zeros(self.n_items, dtype=bool)
        return self.fits[:, cols].any(axis=1)

    def mask(self, context: RequestContext) -> np.ndarray:
        """Items the request may return: every hard rule of `RequestContext` applied."""
        allowed = self.active.copy()
        if context.category is not None:
            allowed &= self._equals(self.category_codes, self.category_index, context.category)
        if context.brand is not None:
            allowed &= self._equals(self.brand_codes, self.brand_index, context.brand)
        if context.max_price is not None:
            allowed &= self.prices <= float(context.max_price)
        recent = np.asarray(context.recent_device_items, dtype=np.int64)
        if context.owned_families:
            # A device bought recently may not be on the account's device list yet, and a device the customer
            # is asking about may be their next one (or a gift): accessories for either stay.
            yours = set(context.owned_families) | self.families_of(recent) | self.families_of(context.focus_items)
            allowed &= ~self.has_fits | self.fitting(yours)
        if len(recent):
            taken = np.unique(self.category_codes[recent[self.is_device[recent]]])
            allowed &= ~(self.is_device & np.isin(self.category_codes, taken))
            allowed[recent] = False
        if context.focus_items:
            # The product under discussion is the question, not an answer to it.
            allowed[np.asarray(context.focus_items, dtype=np.int64)] = False
        return allowed

    @staticmethod
    def _equals(codes: np.ndarray, index: Mapping[str, int], value: str) -> np.ndarray:
        code = index.get(_key(value))
        if code is None:  # asked for something the catalog does not have: nothing matches
            return np.zeros(len(codes), dtype=bool)
        return codes == code


_rules_lock = threading.Lock()
_rules_cache: dict[int, tuple[weakref.ref, CatalogRules]] = {}


def catalog_rules(catalog: ItemCatalog | CatalogRules) -> CatalogRules:
    """The `CatalogRules` of a catalog, built on first use and kept as long as the catalog lives.

    `ItemCatalog` holds arrays, so it cannot be hashed; the cache is keyed by identity and a weak reference
    drops the entry when a reloaded model replaces the catalog."""
    if isinstance(catalog, CatalogRules):
        return catalog
    key = id(catalog)
    entry = _rules_cache.get(key)
    if entry is not None and entry[0]() is catalog:
        return entry[1]
    rules = CatalogRules.from_catalog(catalog)

    def forget(_ref: weakref.ref[ItemCatalog]) -> None:
        _rules_cache.pop(key, None)

    with _rules_lock:
        _rules_cache[key] = (weakref.ref(catalog, forget), rules)
    return rules


def context_mask(catalog: ItemCatalog | CatalogRules, context: RequestContext) -> np.ndarray:
    """Boolean mask of the items `context` allows (active, category, brand, price, devices and families)."""
    return catalog_rules(catalog).mask(context)


def exclusion_mask(exclude: np.ndarray | None, n_items: int) -> np.ndarray:
    """`exclude` as a boolean mask: accepts None, a boolean mask over the catalog, or an array of indices."""
    if exclude is None:
        return np.zeros(n_items, dtype=bool)
    exclude = np.asarray(exclude)
    if exclude.dtype == bool:
        if exclude.shape != (n_items,):
            raise ValueError(f"exclude mask has shape {exclude.shape}, the catalog has {n_items} items")
        return exclude
    mask = np.zeros(n_items, dtype=bool)
    mask[exclude.astype(np.int64, copy=False)] = True
    return mask


def top_n(scores: np.ndarray, n: int, allowed_mask: np.ndarray | None = None) -> np.ndarray:
    """Indices of the `n` best allowed items, best first; equal scores keep catalog order (deterministic).

    argpartition finds the n-th best score without sorting the catalog; only the items at or above it
    are sorted. NaN scores count as the worst."""
    candidates = np.flatnonzero(allowed_mask) if allowed_mask is not None else np.arange(len(scores))
    if n <= 0 or len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    values = np.nan_to_num(scores[candidates].astype(np.float64), nan=-np.inf)
    if len(candidates) > n:
        threshold = values[np.argpartition(-values, n - 1)[:n]].min()
        keep = values >= threshold
        candidates, values = candidates[keep], values[keep]
    order = np.lexsort((candidates, -values))[:n]
    return candidates[order]


def popularity_reason(recommender: PopularityRecommender, history: UserHistory) -> str:
    """ "Popular with customers like you" only when the customer's segment has a list of its own."""
    return REASON_SEGMENT if recommender.uses_segment(history.segment) else REASON_POPULAR


def recommend_with(
    recommender: Recommender,
    history: UserHistory,
    context: RequestContext,
    n: int = 10,
    exclude: np.ndarray | None = None,
    catalog: ItemCatalog | CatalogRules | None = None,
) -> list[ScoredItem]:
    """Serve one recommender as a strategy under the same hard rules as the hybrid.

    Reasons: popularity says popular (or popular in the segment); an explaining recommender (item-kNN,
    ALS, content) names the history item behind each pick, falling back to "popular" when none stands out.
    A personal recommender has nothing to go on for an empty history, so it returns nothing and the
    caller serves its popularity strategy instead of a list of arbitrary items."""
    if catalog is None:
        raise ValueError("recommend_with needs the catalog to apply the hard filters")
    rules = catalog_rules(catalog)
    is_popularity = isinstance(recommender, PopularityRecommender)
    if history.is_empty and not is_popularity:
        return []
    scores = recommender.score(history)
    allowed = rules.mask(context) & ~exclusion_mask(exclude, rules.n_items)
    picked = top_n(scores, n, allowed)
    if isinstance(recommender, PopularityRecommender):
        reason = popularity_reason(recommender, history)
        return [ScoredItem(int(i), float(scores[i]), reason) for i in picked]
    explain_many = getattr(recommender, "explain_many", None)
    anchors = explain_many(history, picked) if explain_many is not None else np.full(len(picked), -1)
    explained_reason = getattr(recommender, "explain_reason", REASON_POPULAR)
    return [
        ScoredItem(int(i), float(scores[i]), explained_reason, int(a))
        if a >= 0
        else ScoredItem(int(i), float(scores[i]), REASON_POPULAR)
        for i, a in zip(picked, anchors)
    ]
