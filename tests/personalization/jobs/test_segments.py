"""RFM scores and segments, and behaviour clusters, on activity built by hand."""

from __future__ import annotations

import numpy as np

from bot.personalization.jobs.behaviour_clusters import ARCHETYPES, cluster_customers
from bot.personalization.jobs.customer_activity import DAY, from_events
from bot.personalization.jobs.rfm import NO_PURCHASE_SEGMENT, quintile_scores, rfm_scores, rfm_segment

NOW = 1_000 * DAY


def ten_buyers_and_two_browsers():
    """Buyer i (0..9) bought i+1 times, last `10 - i` days ago, spending 100 * (i+1) each time; two more
    customers only viewed."""
    users, kinds, amounts, stamps = [], [], [], []
    for i in range(10):
        for j in range(i + 1):
            users.append(i)
            kinds.append("purchase")
            amounts.append(100.0 * (i + 1))
            stamps.append(NOW - (10 - i) * DAY - j * 30 * DAY)
    for u in (10, 11):
        users.append(u)
        kinds.append("view")
        amounts.append(0.0)
        stamps.append(NOW - DAY)
    ids = [f"C{i}" for i in range(12)]
    return from_events(ids, np.array(users), np.array(kinds), np.array(amounts), np.array(stamps), NOW)


def test_quintile_scores_split_distinct_values_into_five_equal_bands():
    assert quintile_scores(np.arange(10.0)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_tied_values_share_one_quintile_score():
    scores = quintile_scores(np.array([1, 1, 1, 1, 1, 1, 2, 3, 4, 5]))
    assert len(set(scores[:6].tolist())) == 1
    assert scores[-1] == 5


def test_rfm_scores_rank_recency_frequency_and_spend_among_buyers():
    rfm = rfm_scores(ten_buyers_and_two_browsers())
    # Buyer 9 bought most recently, most often and spent most; buyer 0 the opposite.
    assert rfm.recency[:10].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm.frequency[:10].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm.monetary[:10].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm.segment[9] == "champions"


def test_customers_who_never_bought_score_one_and_are_prospects_not_lost():
    rfm = rfm_scores(ten_buyers_and_two_browsers())
    assert rfm.recency[10:].tolist() == rfm.frequency[10:].tolist() == rfm.monetary[10:].tolist() == [1, 1]
    assert rfm.segment[10:].tolist() == [NO_PURCHASE_SEGMENT] * 2


def test_named_segments_follow_the_standard_rfm_grid():
    r = np.array([5, 5, 4, 5, 1, 1, 2, 1, 2, 3])
    f = np.array([5, 1, 4, 3, 5, 3, 3, 1, 1, 3])
    m = np.array([5, 1, 4, 2, 5, 4, 3, 1, 2, 3])
    assert rfm_segment(r, f, m).tolist() == [
        "champions",  # bought recently, often, a lot
        "new",  # bought recently, once, little
        "loyal",
        "potential_loyalist",
        "cant_lose",  # used to be among the best, gone quiet
        "at_risk",
        "at_risk",
        "lost",
        "hibernating",
        "need_attention",
    ]


def planted_groups(n_per_group: int = 40, seed: int = 3):
    """Three planted groups: recent big spenders, browsers who view a lot and never buy, and buyers who
    stopped a year ago."""
    rng = np.random.default_rng(seed)
    users, kinds, amounts, stamps = [], [], [], []
    created = np.full(3 * n_per_group, NOW - 900 * DAY)
    for g in range(3):
        for c in range(g * n_per_group, (g + 1) * n_per_group):
            if g == 0:
                k = rng.integers(8, 15)
                users += [c] * k
                kinds += ["purchase"] * k
                amounts += list(rng.uniform(300, 900, k))
                stamps += list(NOW - rng.uniform(1, 120, k) * DAY)
            elif g == 1:
                k = rng.integers(20, 40)
                users += [c] * k
                kinds += ["view"] * k
                amounts += [0.0] * k
                stamps += list(NOW - rng.uniform(1, 60, k) * DAY)
            else:
                k = rng.integers(2, 5)
                users += [c] * k
                kinds += ["purchase"] * k
                amounts += list(rng.uniform(50, 200, k))
                stamps += list(NOW - rng.uniform(380, 600, k) * DAY)
    ids = [f"C{i}" for i in range(3 * n_per_group)]
    return from_events(
        ids, np.array(users), np.array(kinds), np.array(amounts), np.array(stamps), NOW, created_at=created
    )


def test_clusters_are_deterministic_for_a_random_state():
    activity = planted_groups()
    first, second = cluster_customers(activity, k=3), cluster_customers(activity, k=3)
    assert np.array_equal(first.labels, second.labels)
    assert first.names == second.names


def test_clusters_recover_planted_groups_with_readable_labels():
    activity = planted_groups()
    clusters = cluster_customers(activity, k=3)
    labels = clusters.label_of()
    groups = [labels[g * 40 : (g + 1) * 40] for g in range(3)]
    assert all(len(set(group.tolist())) == 1 for group in groups)  # each planted group is one cluster
    assert groups[0][0] == "frequent high spenders"
    assert groups[1][0] == "browsers who rarely buy"
    assert groups[2][0] == "lapsed buyers"
    assert clusters.labels[0] == 0  # cluster 0 is the biggest spenders


def test_every_cluster_gets_a_distinct_label_at_the_default_k():
    clusters = cluster_customers(planted_groups(), k=6)
    assert len(clusters.names) == 6
    assert len(set(clusters.names)) == 6
    assert set(clusters.names) <= set(ARCHETYPES)
