"""Item-to-item collaborative filtering: "customers who bought this also bought".

Similarity is the cosine between items' customer vectors, shrunk for items with little support
(`dot / (|a| |b| + shrinkage)`, so two items bought once by the same person do not look identical), and
only each item's `k` nearest neighbours are kept: the model is a sparse items x items matrix, a history is
scored by adding up its items' neighbour rows, and the row that contributed most explains a pick.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from bot.personalization.recommenders.base import REASON_BOUGHT, Recommender, UserHistory
from bot.personalization.training_data import TrainingData


def gather_rows(matrix: sparse.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in `matrix.data`/`.indices` of the stored entries of `rows` (in order), and each row's count."""
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[rows + 1] - starts
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(lengths.sum()), lengths


def top_k_per_row(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask keeping, for each row, its `k` largest values (ties: lower column first)."""
    order = np.lexsort((cols, -values, rows))
    sorted_rows = rows[order]
    first = np.r_[0, np.flatnonzero(np.diff(sorted_rows)) + 1]  # where each row's run starts
    run_start = np.repeat(first, np.diff(np.r_[first, len(order)]))
    keep = np.zeros(len(order), dtype=bool)
    keep[order[np.arange(len(order)) - run_start < k]] = True
    return keep


def cosine_knn(user_items: sparse.csr_matrix, k: int, shrinkage: float, block_size: int = 2048) -> sparse.csr_matrix:
    """Shrunk cosine similarity between the columns of `user_items`, top `k` per item, as items x items CSR.

    Computed a block of items at a time so the co-occurrence counts of a big catalog never sit in memory
    at once; the diagonal (an item and itself) is dropped."""
    item_users = user_items.T.tocsr().astype(np.float32)
    n_items = item_users.shape[0]
    norms = np.sqrt(np.asarray(item_users.multiply(item_users).sum(axis=1)).ravel())
    kept_rows, kept_cols, kept_vals = [], [], []
    for start in range(0, n_items, block_size):
        block = (item_users[start : start + block_size] @ user_items).tocsr()
        rows = np.repeat(np.arange(start, start + block.shape[0], dtype=np.int32), np.diff(block.indptr))
        cols = block.indices
        values = block.data / (norms[rows] * norms[cols] + shrinkage)
        useful = (rows != cols) & (values > 0)
        rows, cols, values = rows[useful], cols[useful], values[useful]
        keep = top_k_per_row(rows, cols, values, k)
        kept_rows.append(rows[keep])
        kept_cols.append(cols[keep])
        kept_vals.append(values[keep].astype(np.float32))
    similarity = sparse.csr_matrix(
        (np.concatenate(kept_vals), (np.concatenate(kept_rows), np.concatenate(kept_cols))),
        shape=(n_items, n_items),
        dtype=np.float32,
    )
    similarity.sort_indices()
    return similarity


class ItemKNNRecommender(Recommender):
    """score = history weights @ similarity, over the top-k neighbour matrix."""

    name = "item_knn"
    explain_reason = REASON_BOUGHT

    def __init__(self, k: int = 50, shrinkage: float = 10.0) -> None:
        self.k = int(k)
        self.shrinkage = float(shrinkage)

    def fit(self, data: TrainingData) -> ItemKNNRecommender:
        self.similarity_ = cosine_knn(data.interactions.matrix(), self.k, self.shrinkage)
        return self

    @property
    def n_items(self) -> int:
        return self.similarity_.shape[0]

    def score(self, history: UserHistory) -> np.ndarray:
        if history.is_empty:
            return np.zeros(self.n_items, dtype=np.float32)
        neighbours, contributions, _ = self._contributions(history)
        return np.bincount(neighbours, weights=contributions, minlength=self.n_items).astype(np.float32)

    def explain_many(self, history: UserHistory, items: np.ndarray) -> np.ndarray:
        """Per item, the history item that added most to its score; -1 where none did."""
        items = np.asarray(items, dtype=np.int64)
        anchors = np.full(len(items), -1, dtype=np.int64)
        if history.is_empty or len(items) == 0:
            return anchors
        neighbours, contributions, sources = self._contributions(history)
        slot = np.full(self.n_items, -1, dtype=np.int64)
        slot[items] = np.arange(len(items))
        hit = slot[neighbours] >= 0
        slots, contributions, sources = slot[neighbours[hit]], contributions[hit], sources[hit]
        order = np.lexsort((-contributions, slots))  # per picked item, its largest contribution first
        first = order[np.r_[True, np.diff(slots[order]) != 0]] if len(order) else order
        positive = contributions[first] > 0
        anchors[slots[first[positive]]] = sources[first[positive]]
        return anchors

    def explain(self, history: UserHistory, item: int) -> int | None:
        """The history item that contributed most to `item`'s score ("because you bought X"), or None."""
        anchor = int(self.explain_many(history, np.array([item]))[0])
        return anchor if anchor >= 0 else None

    def _contributions(self, history: UserHistory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (neighbour, weight x similarity, history item) the history's rows hold.

        Read straight from the CSR arrays: a handful of numpy calls per request, cheaper than scipy's
        fancy indexing or building a sparse row vector."""
        items = np.asarray(history.items, dtype=np.int64)
        positions, lengths = gather_rows(self.similarity_, items)
        weights = np.repeat(np.asarray(history.weights, dtype=np.float32), lengths)
        sim = self.similarity_
        return sim.indices[positions], sim.data[positions] * weights, np.repeat(items, lengths)

    def neighbours(self, item: int) -> np.ndarray:
        """`item`'s kept neighbours, most similar first."""
        row = self.similarity_[item]
        return row.indices[np.lexsort((row.indices, -row.data))]
