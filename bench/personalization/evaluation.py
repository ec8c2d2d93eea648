"""Offline evaluation of recommenders: a time-based split and top-K ranking metrics.

Why one global time cutoff: a recommender serves the future from the past. A random split lets it learn
from events that happen after the ones it is asked to predict (co-views of next month), which flatters
collaborative methods; a per-user "leave last out" split mixes time periods across users. With one cutoff,
every test event happened after every training event.

Metrics use binary relevance: an item is relevant to a user when the user interacted with it in the test
period and not in training (re-finding an item they already had is not a recommendation's achievement).
Recall@K = hits in the top K / min(K, number of relevant items); NDCG@K discounts hits by log2(rank + 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from bot.personalization.recommenders.base import UserHistory
from bot.personalization.training_data import Interactions

RecommendFn = Callable[[int, UserHistory, int], np.ndarray]


def time_cutoff(timestamps: np.ndarray, test_fraction: float) -> int:
    """The timestamp at which the newest `test_fraction` of events starts (events at it go to test)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be between 0 and 1")
    if len(timestamps) == 0:
        raise ValueError("no events to split")
    return int(np.quantile(timestamps, 1.0 - test_fraction, method="higher"))


def time_split(interactions: Interactions, test_fraction: float = 0.2) -> tuple[Interactions, Interactions]:
    """(train, test) at one global cutoff: train before it, test from it on.

    Test keeps only users present in train (a recommender cannot personalise for strangers; cold start is
    a separate question) and, per user, items they did not already have in train. Both keep the full
    user and item index spaces, so indices agree.
    """
    cutoff = time_cutoff(interactions.timestamps, test_fraction)
    in_train = interactions.timestamps < cutoff
    train = interactions.select(in_train)
    n_items = max(interactions.n_items, 1)
    train_pairs = np.unique(train.users.astype(np.int64) * n_items + train.items)
    pairs = interactions.users.astype(np.int64) * n_items + interactions.items
    known_user = np.zeros(interactions.n_users, dtype=bool)
    known_user[train.users] = True
    in_test = ~in_train & known_user[interactions.users] & ~np.isin(pairs, train_pairs)
    return train, interactions.select(in_test)


def recall_at_k(recommended: np.ndarray, relevant: Collection[int] | np.ndarray, k: int) -> float:
    """Recall@K = hits in the top K / min(K, number of relevant items).

    The min() makes 1.0 reachable for users with more relevant items than K, so the figure says how much of
    what a K-slot list could have caught it did catch.
    """
    relevant = np.asarray(list(relevant) if not isinstance(relevant, np.ndarray) else relevant)
    if len(relevant) == 0:
        raise ValueError("recall is undefined without relevant items")
    hits = np.isin(np.asarray(recommended)[:k], relevant).sum()
    return float(hits / min(k, len(relevant)))


def ndcg_at_k(recommended: np.ndarray, relevant: Collection[int] | np.ndarray, k: int) -> float:
    """NDCG@K with binary relevance: hits discounted by log2(rank + 1), over the best possible for this user."""
    relevant = np.asarray(list(relevant) if not isinstance(relevant, np.ndarray) else relevant)
    if len(relevant) == 0:
        raise ValueError("NDCG is undefined without relevant items")
    top = np.asarray(recommended)[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(discounts[: len(top)][np.isin(top, relevant)].sum())
    ideal = float(discounts[: min(k, len(relevant))].sum())
    return dcg / ideal


def catalog_coverage(recommendations: Iterable[np.ndarray], n_items: int) -> float:
    """Share of the catalog that appears in at least one list (low: everyone gets the same best sellers)."""
    seen = np.zeros(n_items, dtype=bool)
    for items in recommendations:
        seen[np.asarray(items, dtype=np.int64)] = True
    return float(seen.mean()) if n_items else 0.0


@dataclass(frozen=True)
class EvaluationResult:
    """Mean Recall@K and NDCG@K over `users` evaluated users; coverage over the whole catalog."""

    recall: float
    ndcg: float
    coverage: float
    users: int
    k: int
    hit_rate: float  # share of users with at least one hit
    seconds: float  # time spent producing and scoring the lists

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(
    recommend_fn: RecommendFn,
    train: Interactions,
    test: Interactions,
    k: int = 10,
    max_users: int | None = None,
    seed: int = 0,
    segments: np.ndarray | None = None,
    progress: bool | None = None,
) -> EvaluationResult:
    """Ask `recommend_fn(user_index, history, k)` for each test user's list and score it against their test items.

    `history` is the user's training row (items and summed weights). The function should not return the
    user's training items; any it does are dropped here before the top K is cut, so they count as misses.
    `max_users` evaluates a random sample (seeded) instead of every test user. `progress`: None shows a
    tqdm bar on a terminal for long runs, False never.
    """
    train_m = train.matrix()
    test_m = test.matrix()
    users = np.flatnonzero(np.diff(test_m.indptr) > 0)
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))
    lists: list[np.ndarray] = []
    recalls = np.zeros(len(users))
    ndcgs = np.zeros(len(users))
    started = time.perf_counter()
    if progress is None:  # tqdm's disable=None: no bar when stderr is not a terminal
        disable: bool | None = None if len(users) >= 1000 else True
    else:
        disable = not progress
    for row, u in enumerate(tqdm(users, desc="evaluating", unit="user", disable=disable, leave=False)):
        lo, hi = train_m.indptr[u], train_m.indptr[u + 1]
        history = UserHistory(
            items=train_m.indices[lo:hi].astype(np.int32),
            weights=train_m.data[lo:hi].astype(np.float32),
            user_index=int(u),
            segment=None if segments is None else segments[u],
        )
        recommended = np.asarray(recommend_fn(int(u), history, k), dtype=np.int64)
        recommended = recommended[~np.isin(recommended, history.items)][:k]
        relevant = test_m.indices[test_m.indptr[u] : test_m.indptr[u + 1]]
        recalls[row] = recall_at_k(recommended, relevant, k)
        ndcgs[row] = ndcg_at_k(recommended, relevant, k)
        lists.append(recommended)
    n = len(users)
    return EvaluationResult(
        recall=float(recalls.mean()) if n else 0.0,
        ndcg=float(ndcgs.mean()) if n else 0.0,
        coverage=catalog_coverage(lists, train.n_items),
        users=n,
        k=k,
        hit_rate=float((recalls > 0).mean()) if n else 0.0,
        seconds=time.perf_counter() - started,
    )
