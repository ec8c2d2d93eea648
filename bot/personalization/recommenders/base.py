"""The one interface every recommender implements, so the hybrid, the evaluation and the engine treat them alike.

A recommender is fitted once on `TrainingData` and then scores *a history*, not a trained user index: at
serving time the customer's newest events (read from the database at request time) may be newer than the
model, and a customer may be new altogether. Scores are "higher is better" over all catalog items; ranking,
filtering (already owned, excluded, inactive) and explanations are the caller's job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from bot.personalization.training_data import TrainingData


@dataclass(frozen=True)
class UserHistory:
    """What we know about one customer when scoring: item indices they interacted with, and how strongly.

    `user_index` is their row in the training data when they were in it (lets ALS use trained factors),
    else None. `segment` picks the popularity list of their segment.
    """

    items: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    user_index: int | None = None
    segment: str | None = None

    @property
    def is_empty(self) -> bool:
        return len(self.items) == 0


class Recommender(ABC):
    """Fit on training data; score every catalog item for one history."""

    name: str = "recommender"

    @abstractmethod
    def fit(self, data: TrainingData) -> Recommender:
        """Learn from `data`; returns self."""

    @abstractmethod
    def score(self, history: UserHistory) -> np.ndarray:
        """float32 scores, one per catalog item, higher is better (any scale; the hybrid normalises)."""


@dataclass(frozen=True)
class RequestContext:
    """What the conversation and the customer's account say about this request (the hybrid uses it).

    - `category` / `brand` / `max_price`: what the customer asked for (hard filters);
    - `focus_items`: catalog indices of products the customer is talking about ("more like this", a
      product they asked about): similar items and their accessories are boosted;
    - `owned_families`: device families they own ("iphone", "galaxy"): accessories fitting another family
      are never recommended, those fitting theirs are boosted;
    - `recent_device_items`: catalog indices of devices bought recently: no second device of that category,
      but its accessories yes.
    """

    category: str | None = None
    brand: str | None = None
    max_price: float | Decimal | None = None  # a budget, or a price (Decimal) from the catalogue
    focus_items: tuple[int, ...] = ()
    owned_families: frozenset[str] = frozenset()
    recent_device_items: tuple[int, ...] = ()


# Why an item was recommended; the engine turns the code (+ the item it refers to) into a sentence.
REASON_BOUGHT = "because_you_bought"  # reason_item: the history item that contributed most
REASON_SIMILAR = "similar_to"  # reason_item: the focus/history item it is most similar to
REASON_FITS = "fits_your_device"  # reason_item: None; the engine names the owned device
REASON_SEGMENT = "popular_with_customers_like_you"
REASON_POPULAR = "popular"  # non-personalized best seller


@dataclass(frozen=True)
class ScoredItem:
    item: int  # catalog index
    score: float
    reason: str  # one of the REASON_* codes
    reason_item: int | None = None  # catalog index the reason refers to, if any
