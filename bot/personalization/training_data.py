"""Training data for recommenders, as plain arrays: who interacted with what, when, and how strongly.

Everything a recommender learns from goes through `Interactions` (implicit feedback events) and `ItemCatalog`
(what each item is). Both are built from the shop's database (`bot.personalization.shop_training_data`), from a
MovieLens `ratings.csv`, or by the synthetic shop generator, so the same recommender code is evaluated
offline and served online.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class Interactions:
    """Implicit-feedback events: event k is (users[k], items[k], weights[k], timestamps[k]).

    `user_ids[u]` / `item_ids[i]` are the external ids (customer id, SKU) behind the integer indices.
    Weights are positive strengths (a purchase counts more than a view); timestamps are Unix seconds.
    """

    user_ids: np.ndarray  # object array of str, one per user index
    item_ids: np.ndarray  # object array of str, one per item index
    users: np.ndarray  # int32, one per event
    items: np.ndarray  # int32, one per event
    weights: np.ndarray  # float32, one per event
    timestamps: np.ndarray  # int64 Unix seconds, one per event

    def __post_init__(self) -> None:
        n = len(self.users)
        if not (len(self.items) == len(self.weights) == len(self.timestamps) == n):
            raise ValueError("users, items, weights and timestamps must have one entry per event")

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_events(self) -> int:
        return len(self.users)

    def matrix(self) -> sparse.csr_matrix:
        """Users x items, summed weights (duplicates add up), float32 CSR."""
        m = sparse.csr_matrix(
            (self.weights.astype(np.float32), (self.users, self.items)),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )
        m.sum_duplicates()
        return m

    def select(self, mask: np.ndarray) -> Interactions:
        """The events where `mask` is true, with the same user and item indices."""
        return Interactions(
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            users=self.users[mask],
            items=self.items[mask],
            weights=self.weights[mask],
            timestamps=self.timestamps[mask],
        )

    @classmethod
    def from_records(
        cls,
        records: Sequence[tuple[str, str, float, int]],
        *,
        item_ids: Sequence[str] | None = None,
        user_ids: Sequence[str] | None = None,
    ) -> Interactions:
        """Build from (user_id, item_id, weight, unix_ts) tuples.

        Given `item_ids`/`user_ids` fix the index order (e.g. the whole catalog, items nobody touched
        included); records naming an unknown id are then dropped.
        """
        users_index: dict[str, int] = {u: i for i, u in enumerate(user_ids)} if user_ids is not None else {}
        items_index: dict[str, int] = {s: i for i, s in enumerate(item_ids)} if item_ids is not None else {}
        u_col, i_col, w_col, t_col = [], [], [], []
        for user, item, weight, ts in records:
            if user not in users_index:
                if user_ids is not None:
                    continue
                users_index[user] = len(users_index)
            if item not in items_index:
                if item_ids is not None:
                    continue
                items_index[item] = len(items_index)
            u_col.append(users_index[user])
            i_col.append(items_index[item])
            w_col.append(weight)
            t_col.append(ts)
        return cls(
            user_ids=np.array(list(users_index), dtype=object),
            item_ids=np.array(list(items_index), dtype=object),
            users=np.array(u_col, dtype=np.int32),
            items=np.array(i_col, dtype=np.int32),
            weights=np.array(w_col, dtype=np.float32),
            timestamps=np.array(t_col, dtype=np.int64),
        )


@dataclass(frozen=True)
class ItemCatalog:
    """What each item is, index-aligned with `Interactions.item_ids`.

    `text` feeds content-based similarity (name, description, attribute values); `family` is the device
    family of a device (None for accessories); `fits[i]` are the device families accessory i fits (empty for
    devices and for items that fit anything). `active[i]` false: never recommended.
    """

    item_ids: np.ndarray  # object array of str (SKU)
    names: np.ndarray  # object array of str
    categories: np.ndarray  # object array of str (category slug)
    brands: np.ndarray  # object array of str
    prices: np.ndarray  # float64
    text: np.ndarray  # object array of str
    family: np.ndarray  # object array of str | None
    fits: tuple[frozenset[str], ...]
    active: np.ndarray  # bool
    device_categories: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        n = len(self.item_ids)
        for name in ("names", "categories", "brands", "prices", "text", "family", "active"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"ItemCatalog.{name} must have one entry per item")
        if len(self.fits) != n:
            raise ValueError("ItemCatalog.fits must have one entry per item")

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def index(self) -> Mapping[str, int]:
        return {sku: i for i, sku in enumerate(self.item_ids)}

    def is_device(self) -> np.ndarray:
        """Items that are devices (a customer owns one; a second one soon after is not wanted)."""
        return np.array([c in self.device_categories for c in self.categories], dtype=bool)


@dataclass(frozen=True)
class TrainingData:
    """Everything `Recommender.fit` may use. `segments[u]` is user u's segment label (popularity per segment)."""

    interactions: Interactions
    catalog: ItemCatalog
    segments: np.ndarray | None = None  # object array of str, one per user; None = one global segment
    now: int | None = None  # Unix seconds "now" for recency weighting; default: the newest event


# Implicit-feedback strength of each behaviour kind (see docs/personalization.md). Returns and dismissals
# are negative evidence: they are not training signal, the engine filters them instead.
EVENT_WEIGHTS: Mapping[str, float] = {
    "view": 1.0,
    "mention": 1.0,  # a product named in chat
    "click": 2.0,  # a recommendation clicked
    "rating": 0.0,  # weight = the rating itself (1..5), see rating_weight()
    "purchase": 5.0,
}


def rating_weight(rating: float) -> float:
    """Ratings as implicit strength: 4-5 stars are strong positive, 3 weak, 1-2 no signal."""
    return max(0.0, float(rating) - 2.0)


def returned_purchases(users: np.ndarray, items: np.ndarray, kinds: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """Mask of the purchases undone by a return: per (customer, product), as many of the latest purchases as
    there are returns. Why: a returned item was not wanted, so it must not teach "bought this"."""
    mask = np.zeros(len(users), dtype=bool)
    bought = np.flatnonzero(kinds == "purchase")
    returned = np.flatnonzero(kinds == "return")
    if len(bought) == 0 or len(returned) == 0:
        return mask
    n_items = int(max(items.max(), 0)) + 1
    keys = users.astype(np.int64) * n_items + items.astype(np.int64)
    order = np.lexsort((-timestamps[bought], keys[bought]))  # per pair, newest purchase first
    pair = keys[bought][order]
    new_pair = np.r_[True, pair[1:] != pair[:-1]]
    group_start = np.flatnonzero(new_pair)
    rank = np.arange(len(pair)) - group_start[np.cumsum(new_pair) - 1]
    return_keys, return_counts = np.unique(keys[returned], return_counts=True)
    pos = np.minimum(np.searchsorted(return_keys, pair), len(return_keys) - 1)
    n_returns = np.where(return_keys[pos] == pair, return_counts[pos], 0)
    mask[bought[order][rank < n_returns]] = True
    return mask
