"""Matrix factorisation for implicit feedback (Hu, Koren & Volinsky 2008), trained with `implicit`.

Only the item factors are kept. A customer is scored by *folding in*: solving the same least-squares
problem ALS solves for a user row, against the fixed item factors, from the history at hand. That costs a
k x k solve per request (YtY is precomputed) and gives a customer who joined, or bought something, after
training a personal score without retraining; training users are folded in the same way, so scores do not
depend on whether the model has seen the customer.
"""

from __future__ import annotations

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from bot.personalization.recommenders.base import REASON_BOUGHT, Recommender, UserHistory
from bot.personalization.training_data import TrainingData


class ALSRecommender(Recommender):
    """Implicit ALS with confidence 1 + alpha * weight; histories folded in at request time.

    Defaults chosen by validation NDCG@10 inside the training period (bench/tune_recommenders.py): few
    factors, strong regularization and a mild alpha. With about ten events per customer, 64+ factors and
    alpha 10 overfit the few items each customer touched and fell below plain popularity.
    """

    name = "als"
    explain_reason = REASON_BOUGHT

    def __init__(
        self,
        factors: int = 16,
        regularization: float = 3.5,
        iterations: int = 22,
        alpha: float = 1.7,
        random_state: int | None = 0,
        num_threads: int = 0,
    ) -> None:
        self.factors = int(factors)
        self.regularization = float(regularization)
        self.iterations = int(iterations)
        self.alpha = float(alpha)
        self.random_state = random_state
        self.num_threads = int(num_threads)

    def fit(self, data: TrainingData) -> ALSRecommender:
        confidence = data.interactions.matrix()
        # implicit uses the matrix values as the confidence itself (A += (c - 1) y y^T): pass 1 + alpha * w.
        confidence.data = 1.0 + self.alpha * confidence.data
        with threadpool_limits(1, "blas"):  # implicit's own threads do the work; BLAS threads only contend
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=1.0,
                iterations=self.iterations,
                random_state=self.random_state,
                num_threads=self.num_threads,
            )
            model.fit(confidence, show_progress=False)
        # Only plain arrays are kept, so the fitted recommender pickles without implicit's model object.
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        y = self.item_factors_.astype(np.float64)
        self.gram_ = y.T @ y + self.regularization * np.eye(y.shape[1])
        return self

    @property
    def n_items(self) -> int:
        return self.item_factors_.shape[0]

    def _system(self, history: UserHistory) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The fold-in normal equations A x = Y_h^T c for this history: (A, Y_h, c, history items)."""
        items, inverse = np.unique(np.asarray(history.items, dtype=np.int64), return_inverse=True)
        weights = np.bincount(inverse, weights=np.maximum(history.weights, 0), minlength=len(items))
        y_h = self.item_factors_[items].astype(np.float64)
        confidence = 1.0 + self.alpha * weights
        a = self.gram_ + (y_h.T * (confidence - 1.0)) @ y_h
        return a, y_h, confidence, items

    def user_vector(self, history: UserHistory) -> np.ndarray:
        """The customer's factors, solved from their history against the fixed item factors."""
        if history.is_empty:
            return np.zeros(self.factors)
        a, y_h, confidence, _ = self._system(history)
        return np.linalg.solve(a, y_h.T @ confidence)

    def score(self, history: UserHistory) -> np.ndarray:
        if history.is_empty:
            return np.zeros(self.n_items, dtype=np.float32)
        return self.item_factors_ @ self.user_vector(history).astype(np.float32)

    def explain_many(self, history: UserHistory, items: np.ndarray) -> np.ndarray:
        """Per item, the history item with the largest share of its score; -1 where none is positive.

        The folded-in score splits exactly into one term per history item,
        score_i = sum_h c_h * y_i^T A^-1 y_h (the decomposition `implicit`'s explain uses)."""
        items = np.asarray(items, dtype=np.int64)
        if history.is_empty or len(items) == 0:
            return np.full(len(items), -1, dtype=np.int64)
        a, y_h, confidence, history_items = self._system(history)
        per_history = np.linalg.solve(a, (y_h * confidence[:, None]).T)  # k x H
        contributions = self.item_factors_[items].astype(np.float64) @ per_history  # n x H
        contributions[items[:, None] == history_items[None, :]] = -np.inf  # "because you bought X" never names X
        best = contributions.argmax(axis=1)
        return np.where(contributions.max(axis=1) > 0, history_items[best], -1)

    def explain(self, history: UserHistory, item: int) -> int | None:
        anchor = int(self.explain_many(history, np.array([item]))[0])
        return anchor if anchor >= 0 else None
