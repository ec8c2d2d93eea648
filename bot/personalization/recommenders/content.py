"""Content-based similarity: items described alike are alike, whether or not anyone bought both.

Covers what collaborative filtering cannot: new products nobody has bought yet, and "more like this" for
the product under discussion. Each item is a TF-IDF vector of its text plus tokens for its category, brand
and price band (so a cheap Samsung case is closer to another cheap Samsung case than to a premium one); a
history is the weighted sum of its items' vectors, and every item is scored by cosine to that profile.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.personalization.recommenders.base import REASON_SIMILAR, Recommender, UserHistory
from bot.personalization.recommenders.item_knn import gather_rows
from bot.personalization.recommenders.ranking import top_n
from bot.personalization.training_data import ItemCatalog, TrainingData

# Price band edges (catalog currency): budget, mid, upper, premium, flagship.
DEFAULT_PRICE_BANDS = (50.0, 150.0, 400.0, 1000.0)


def _token(prefix: str, value: object) -> str:
    return prefix + "_" + "_".join(str(value or "none").lower().split())


def item_documents(catalog: ItemCatalog, price_bands: Sequence[float] = DEFAULT_PRICE_BANDS) -> list[str]:
    """One text per item: its own words plus category, brand and price-band tokens."""
    bands = np.searchsorted(np.asarray(price_bands, dtype=np.float64), np.asarray(catalog.prices, dtype=np.float64))
    return [
        f"{text or ''} {_token('cat', category)} {_token('brand', brand)} price_band_{band}"
        for text, category, brand, band in zip(catalog.text, catalog.categories, catalog.brands, bands)
    ]


class ContentRecommender(Recommender):
    """Cosine between TF-IDF item vectors and the history's weighted profile."""

    name = "content"
    explain_reason = REASON_SIMILAR

    def __init__(self, price_bands: Sequence[float] = DEFAULT_PRICE_BANDS, sublinear_tf: bool = True) -> None:
        self.price_bands = tuple(float(b) for b in price_bands)
        self.sublinear_tf = sublinear_tf

    def fit(self, data: TrainingData) -> ContentRecommender:
        vectorizer = TfidfVectorizer(sublinear_tf=self.sublinear_tf, stop_words="english", dtype=np.float32)
        # Rows are L2-normalised, so a dot product is a cosine. The vectorizer is not kept: only the matrix
        # is needed to score, and the catalog is fixed for the life of a model.
        self.vectors_: sparse.csr_matrix = vectorizer.fit_transform(item_documents(data.catalog, self.price_bands))
        return self

    @property
    def n_items(self) -> int:
        return self.vectors_.shape[0]

    def score(self, history: UserHistory) -> np.ndarray:
        if history.is_empty:
            return np.zeros(self.n_items, dtype=np.float32)
        vectors = self.vectors_
        positions, lengths = gather_rows(vectors, np.asarray(history.items, dtype=np.int64))
        weights = np.repeat(np.asarray(history.weights, dtype=np.float32), lengths)
        profile = np.bincount(
            vectors.indices[positions], weights=vectors.data[positions] * weights, minlength=vectors.shape[1]
        )
        norm = np.linalg.norm(profile)
        if norm == 0:
            return np.zeros(self.n_items, dtype=np.float32)
        return (self.vectors_ @ (profile / norm)).astype(np.float32)

    def similarity(self, items: np.ndarray, others: np.ndarray) -> np.ndarray:
        """Cosine between each of `items` (rows) and each of `others` (columns), dense."""
        a = self.vectors_[np.asarray(items, dtype=np.int64)]
        b = self.vectors_[np.asarray(others, dtype=np.int64)]
        return (a @ b.T).toarray()

    def similar_items(self, item: int, n: int = 10) -> np.ndarray:
        """The `n` items most like `item` (itself excluded, unrelated items never), most similar first."""
        sims = np.asarray((self.vectors_ @ self.vectors_[item].T).todense()).ravel()
        allowed = sims > 0
        allowed[item] = False
        return top_n(sims, n, allowed)

    def explain_many(self, history: UserHistory, items: np.ndarray) -> np.ndarray:
        """Per item, the history item it is most similar to; -1 where it shares no words with any."""
        items = np.asarray(items, dtype=np.int64)
        if history.is_empty or len(items) == 0:
            return np.full(len(items), -1, dtype=np.int64)
        history_items = np.asarray(history.items, dtype=np.int64)
        sims = self.similarity(history_items, items)  # H x n
        sims[history_items[:, None] == items[None, :]] = 0.0  # an item is not "similar to" itself
        best = sims.argmax(axis=0)
        return np.where(sims.max(axis=0) > 0, history_items[best], -1)

    def explain(self, history: UserHistory, item: int) -> int | None:
        anchor = int(self.explain_many(history, np.array([item]))[0])
        return anchor if anchor >= 0 else None
