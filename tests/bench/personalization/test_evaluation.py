"""Offline evaluation: metrics match hand-computed values, and the time split never leaks the future."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.personalization.evaluation import (
    catalog_coverage,
    evaluate,
    ndcg_at_k,
    recall_at_k,
    time_cutoff,
    time_split,
)
from bench.personalization.movielens import load_ratings, read_catalog, read_ratings
from bench.personalization.synthetic import generate_shop
from bot.personalization.training_data import Interactions


def test_perfect_list_scores_one():
    assert recall_at_k(np.array([3, 1, 2]), [1, 2, 3], k=3) == 1.0
    assert ndcg_at_k(np.array([3, 1, 2]), [1, 2, 3], k=3) == pytest.approx(1.0)


def test_list_without_hits_scores_zero():
    assert recall_at_k(np.array([4, 5, 6]), [1, 2], k=3) == 0.0
    assert ndcg_at_k(np.array([4, 5, 6]), [1, 2], k=3) == 0.0


def test_partial_hits_score_by_rank():
    recommended = np.array([9, 1, 8, 2, 7])
    relevant = [1, 2, 3, 4, 5, 6]
    assert recall_at_k(recommended, relevant, k=5) == pytest.approx(2 / 5)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = sum(1 / math.log2(r + 2) for r in range(5))
    assert ndcg_at_k(recommended, relevant, k=5) == pytest.approx(dcg / ideal)


def test_fewer_relevant_than_k_can_still_reach_full_recall():
    recommended = np.array([7, 5, 1, 2, 3])
    assert recall_at_k(recommended, [5], k=5) == 1.0
    assert ndcg_at_k(recommended, [5], k=5) == pytest.approx(1 / math.log2(3))


def test_only_the_top_k_count():
    assert recall_at_k(np.array([9, 8, 1]), [1], k=2) == 0.0
    assert ndcg_at_k(np.array([9, 8, 1]), [1], k=2) == 0.0


def test_metrics_refuse_users_without_relevant_items():
    with pytest.raises(ValueError):
        recall_at_k(np.array([1]), [], k=1)


def test_catalog_coverage_counts_distinct_items_over_the_catalog():
    assert catalog_coverage([np.array([0, 1]), np.array([1, 2]), np.array([], dtype=int)], n_items=8) == 3 / 8


def _toy() -> Interactions:
    # user 0: items 0,1 early, item 1 again and item 2 late; user 1: only late events (not in train);
    # user 2: item 3 early, item 4 late.
    records = [
        ("a", "i0", 1.0, 100),
        ("a", "i1", 1.0, 110),
        ("c", "i3", 1.0, 120),
        ("a", "i0", 5.0, 130),
        ("a", "i1", 1.0, 300),
        ("a", "i2", 5.0, 310),
        ("b", "i2", 1.0, 320),
        ("c", "i4", 1.0, 330),
    ]
    return Interactions.from_records(records)


def test_time_split_has_one_cutoff_and_no_leakage():
    inter = _toy()
    train, test = time_split(inter, test_fraction=0.5)
    cutoff = time_cutoff(inter.timestamps, 0.5)
    assert cutoff == 300
    assert (train.timestamps < cutoff).all() and (test.timestamps >= cutoff).all()
    train_pairs = set(zip(train.users.tolist(), train.items.tolist()))
    assert not train_pairs & set(zip(test.users.tolist(), test.items.tolist()))
    # b has no training history; a's re-view of i1 is not a new item: both are left out of test.
    pairs = {(inter.user_ids[u], inter.item_ids[i]) for u, i in zip(test.users, test.items)}
    assert pairs == {("a", "i2"), ("c", "i4")}
    assert train.n_users == test.n_users == inter.n_users


def test_time_split_of_a_synthetic_shop_keeps_the_test_period_after_training():
    inter = generate_shop(n_customers=400, n_products=120, days=90, seed=3).interactions()
    train, test = time_split(inter, 0.2)
    assert train.timestamps.max() < test.timestamps.min()
    assert 0.1 < test.n_events / inter.n_events <= 0.2
    n = inter.n_items
    test_pairs = test.users.astype(np.int64) * n + test.items
    assert not np.isin(test_pairs, train.users.astype(np.int64) * n + train.items).any()
    assert np.isin(test.users, train.users).all()


def test_evaluate_scores_an_oracle_perfectly_and_excludes_training_items():
    inter = _toy()
    train, test = time_split(inter, 0.5)
    truth = {int(u): set() for u in test.users}
    for u, i in zip(test.users, test.items):
        truth[int(u)].add(int(i))
    asked = []

    def oracle(user, history, k):
        asked.append((user, set(history.items.tolist())))
        # a training item first: evaluation must drop it rather than count it against the list
        return np.array([*history.items[:1], *sorted(truth[user])])

    result = evaluate(oracle, train, test, k=2, progress=False)
    assert result.recall == 1.0 and result.ndcg == pytest.approx(1.0) and result.hit_rate == 1.0
    assert result.users == 2 and result.coverage == pytest.approx(2 / inter.n_items)
    a = int(np.flatnonzero(inter.user_ids == "a")[0])
    assert (a, {0, 1}) in asked


def test_evaluate_gives_a_useless_recommender_zero_and_samples_users_reproducibly():
    inter = generate_shop(n_customers=400, n_products=120, days=90, seed=3).interactions()
    train, test = time_split(inter, 0.2)
    nothing = evaluate(lambda u, h, k: np.zeros(0, dtype=int), train, test, k=10, progress=False)
    assert nothing.recall == 0.0 and nothing.coverage == 0.0 and nothing.users > 20
    first = evaluate(lambda u, h, k: np.array([u % 120]), train, test, max_users=20, seed=5, progress=False)
    again = evaluate(lambda u, h, k: np.array([u % 120]), train, test, max_users=20, seed=5, progress=False)
    assert first.users == 20 and first.as_dict() | {"seconds": 0} == again.as_dict() | {"seconds": 0}


# --- MovieLens files ------------------------------------------------------------------------------------------

RATINGS = """userId,movieId,rating,timestamp
1,10,5.0,1000
1,20,3.5,1010
1,30,1.0,1020
2,10,4.0,1030
2,oops,4.0,1040
3,20,4.5
2,20,9.5,1050

7,10,4.0,1060,extra
3,30,2.5,1070
"""

MOVIES = """movieId,title,genres
10,"Heat (1995)",Action|Crime|Thriller
20,"American President, The (1995)",Comedy|Drama|Romance
not-a-number,Broken,Drama
"""


def test_movielens_ratings_become_weighted_interactions_and_bad_lines_are_skipped(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(RATINGS)
    read = load_ratings(path)
    inter = read.interactions
    assert read.skipped == 4  # non-numeric id, missing field, rating out of range, extra field
    assert read.dropped == 1  # 1 star: no signal
    assert list(inter.user_ids) == ["1", "2", "3"] and list(inter.item_ids) == ["10", "20", "30"]
    got = {
        (inter.user_ids[u], inter.item_ids[i], float(w), int(t))
        for u, i, w, t in zip(inter.users, inter.items, inter.weights, inter.timestamps)
    }
    assert got == {("1", "10", 3.0, 1000), ("1", "20", 1.5, 1010), ("2", "10", 2.0, 1030), ("3", "30", 0.5, 1070)}
    assert read_ratings(path).n_events == 4


def test_movielens_catalog_uses_titles_and_genres_and_falls_back_without_movies(tmp_path):
    movies = tmp_path / "movies.csv"
    movies.write_text(MOVIES)
    catalog = read_catalog(movies, ["10", "20", "99"])
    assert list(catalog.names) == ["Heat (1995)", "American President, The (1995)", "movie 99"]
    assert list(catalog.categories) == ["action", "comedy", "unknown"]
    assert "Thriller" in catalog.text[0] and catalog.text[2] == ""
    assert all(f is None for f in catalog.family) and catalog.fits == (frozenset(),) * 3
    missing = read_catalog(tmp_path / "absent.csv", ["10"])
    assert list(missing.names) == ["movie 10"] and missing.n_items == 1
