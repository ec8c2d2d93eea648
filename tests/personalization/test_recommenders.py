"""The single recommenders and the shared ranking rules, on a tiny shop built by hand.

The shop has two taste groups (audio fans buy headphones, power users buy chargers), iPhone and Galaxy
owners who buy their phone's case, and laptop buyers who buy a laptop bag; one discontinued (inactive)
headphone is the audio group's favourite.
"""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from bot.personalization.recommenders import RECOMMENDER_NAMES, build_recommender
from bot.personalization.recommenders.als import ALSRecommender
from bot.personalization.recommenders.base import (
    REASON_BOUGHT,
    REASON_POPULAR,
    REASON_SEGMENT,
    RequestContext,
    UserHistory,
)
from bot.personalization.recommenders.content import ContentRecommender
from bot.personalization.recommenders.item_knn import ItemKNNRecommender
from bot.personalization.recommenders.popularity import PopularityRecommender
from bot.personalization.recommenders.ranking import context_mask, recommend_with, top_n
from bot.personalization.training_data import Interactions, ItemCatalog, TrainingData

NOW = 1_700_000_000
DAY = 86_400

# (sku, name/text, category, brand, price, family, fits, active)
ITEMS = [
    ("IPH", "iPhone 15 smartphone", "phones", "Apple", 999.0, "iphone", (), True),
    ("GAL", "Galaxy S24 smartphone", "phones", "Samsung", 899.0, "galaxy", (), True),
    ("IPC", "iPhone 15 silicone case", "phone_accessories", "Apple", 49.0, None, ("iphone",), True),
    ("GAC", "Galaxy S24 clear case", "phone_accessories", "Samsung", 29.0, None, ("galaxy",), True),
    ("TPD", "ThinkPad X1 Carbon laptop", "laptops", "Lenovo", 1499.0, "thinkpad", (), True),
    ("MBA", "MacBook Air 13 laptop", "laptops", "Apple", 1199.0, "macbook", (), True),
    ("BAG", "Targus laptop bag 14 inch", "laptop_accessories", "Targus", 59.0, None, ("thinkpad", "xps"), True),
    ("SONY", "Sony WH-1000XM5 wireless noise cancelling headphones", "headphones", "Sony", 349.0, None, (), True),
    ("BOSE", "Bose QuietComfort wireless noise cancelling headphones", "headphones", "Bose", 299.0, None, (), True),
    ("JBL", "JBL Tune wireless on-ear headphones", "headphones", "JBL", 49.0, None, (), True),
    ("ANK", "Anker USB-C fast charger 30W", "chargers_cables", "Anker", 25.0, None, (), True),
    ("BEL", "Belkin USB-C braided cable", "chargers_cables", "Belkin", 19.0, None, (), True),
    ("UGR", "Ugreen USB-C power bank charger", "chargers_cables", "Ugreen", 39.0, None, (), True),
    ("OLD", "Beats wireless headphones", "headphones", "Apple", 199.0, None, (), False),
    ("AIRP", "AirPods Pro wireless earbuds", "headphones", "Apple", 249.0, None, (), True),
]
IDX = {sku: i for i, (sku, *_rest) in enumerate(ITEMS)}

AUDIO = ["SONY", "BOSE", "JBL", "AIRP"]
POWER = ["ANK", "BEL", "UGR"]


def build_catalog() -> ItemCatalog:
    return ItemCatalog(
        item_ids=np.array([i[0] for i in ITEMS], dtype=object),
        names=np.array([i[1] for i in ITEMS], dtype=object),
        categories=np.array([i[2] for i in ITEMS], dtype=object),
        brands=np.array([i[3] for i in ITEMS], dtype=object),
        prices=np.array([i[4] for i in ITEMS], dtype=np.float64),
        text=np.array([i[1] for i in ITEMS], dtype=object),
        family=np.array([i[5] for i in ITEMS], dtype=object),
        fits=tuple(frozenset(i[6]) for i in ITEMS),
        active=np.array([i[7] for i in ITEMS], dtype=bool),
        device_categories=frozenset({"phones", "laptops", "tablets", "smartwatches"}),
    )


def build_tiny_shop() -> TrainingData:
    """Deterministic purchases (weight 5) over the last days; segments label the two taste groups."""
    baskets: list[tuple[str, str | None, list[str]]] = []
    for u in range(8):  # each audio fan buys 3 of the 4 headphones, plus the discontinued favourite
        baskets.append((f"audio{u}", "audio", [AUDIO[(u + k) % 4] for k in range(3)] + ["OLD"]))
    for u in range(8):
        baskets.append((f"power{u}", "power", [POWER[(u + k) % 3] for k in range(2)]))
    baskets += [(f"iphone{u}", None, ["IPH", "IPC"]) for u in range(4)]
    baskets += [(f"galaxy{u}", None, ["GAL", "GAC"]) for u in range(3)]
    baskets += [(f"laptop{u}", None, ["TPD", "BAG"]) for u in range(3)]
    baskets += [("mac0", None, ["MBA"])]
    records = [
        (user, sku, 5.0, NOW - (k + u) * DAY)
        for u, (user, _segment, skus) in enumerate(baskets)
        for k, sku in enumerate(skus)
    ]
    interactions = Interactions.from_records(records, item_ids=[i[0] for i in ITEMS], user_ids=[b[0] for b in baskets])
    return TrainingData(
        interactions=interactions,
        catalog=build_catalog(),
        segments=np.array([b[1] for b in baskets], dtype=object),
        now=NOW,
    )


def history(*skus: str, weight: float = 5.0, segment: str | None = None) -> UserHistory:
    return UserHistory(
        items=np.array([IDX[s] for s in skus], dtype=np.int32),
        weights=np.full(len(skus), weight, dtype=np.float32),
        segment=segment,
    )


def best(scores: np.ndarray, exclude: tuple[str, ...] = ()) -> str:
    scores = scores.astype(np.float64).copy()
    scores[[IDX[s] for s in exclude]] = -np.inf
    return ITEMS[int(np.argmax(scores))][0]


@pytest.fixture(scope="module")
def tiny_shop() -> TrainingData:
    return build_tiny_shop()


@pytest.fixture(scope="module")
def fitted(tiny_shop: TrainingData) -> dict:
    return {
        "popularity": PopularityRecommender(min_segment_events=10).fit(tiny_shop),
        "item_knn": ItemKNNRecommender(k=5).fit(tiny_shop),
        "als": ALSRecommender(factors=5, iterations=20, random_state=0, num_threads=1).fit(tiny_shop),
        "content": ContentRecommender().fit(tiny_shop),
    }


# --- popularity ---------------------------------------------------------------------------------------------


def _recency_shop(half_life_days: float) -> PopularityRecommender:
    """OLDHIT sold 6 times 200 days ago; NEWHIT 3 times this week."""
    records = [(f"old{u}", "OLDHIT", 5.0, NOW - 200 * DAY) for u in range(6)]
    records += [(f"new{u}", "NEWHIT", 5.0, NOW - u * DAY) for u in range(3)]
    records += [("x", "OTHER", 1.0, NOW)]
    inter = Interactions.from_records(records, item_ids=["OLDHIT", "NEWHIT", "OTHER"])
    catalog = ItemCatalog(
        item_ids=inter.item_ids,
        names=inter.item_ids,
        categories=np.array(["a"] * 3, dtype=object),
        brands=np.array(["b"] * 3, dtype=object),
        prices=np.ones(3),
        text=inter.item_ids,
        family=np.array([None] * 3, dtype=object),
        fits=(frozenset(),) * 3,
        active=np.ones(3, dtype=bool),
    )
    return PopularityRecommender(half_life_days=half_life_days).fit(TrainingData(inter, catalog, now=NOW))


def test_popularity_ranks_the_recent_best_seller_above_an_old_one_that_sold_more():
    scores = _recency_shop(half_life_days=30).score(UserHistory())
    assert np.argmax(scores) == 1  # NEWHIT
    # Without decay the old hit would win: recency is what decides.
    assert np.argmax(_recency_shop(half_life_days=1e9).score(UserHistory())) == 0


def test_popularity_keeps_one_list_per_segment(fitted):
    pop = fitted["popularity"]
    audio = pop.score(UserHistory(segment="audio"))
    power = pop.score(UserHistory(segment="power"))
    assert best(audio, exclude=("OLD",)) in AUDIO
    assert best(power) in POWER
    assert pop.uses_segment("audio") and pop.uses_segment("power")


def test_popularity_uses_the_global_list_for_an_unknown_or_missing_segment(fitted):
    pop = fitted["popularity"]
    global_scores = pop.score(UserHistory())
    np.testing.assert_array_equal(pop.score(UserHistory(segment="never-seen")), global_scores)
    assert not pop.uses_segment(None) and not pop.uses_segment("never-seen")
    assert best(global_scores) == "OLD"  # every audio fan bought it: the overall best seller


def test_a_segment_with_few_events_is_shrunk_toward_the_global_list(tiny_shop):
    pop = PopularityRecommender(min_segment_events=100_000).fit(tiny_shop)
    audio = pop.score(UserHistory(segment="audio"))
    np.testing.assert_allclose(audio, pop.score(UserHistory()), atol=1e-3)
    assert not pop.uses_segment("audio")


# --- item-kNN -----------------------------------------------------------------------------------------------


def test_item_knn_recommends_what_was_bought_together(fitted):
    knn = fitted["item_knn"]
    assert best(knn.score(history("IPH")), exclude=("IPH",)) == "IPC"
    assert best(knn.score(history("TPD")), exclude=("TPD",)) == "BAG"


def test_item_knn_explain_names_the_history_item_that_contributed_most(fitted):
    knn = fitted["item_knn"]
    h = history("IPH", "ANK")
    assert knn.explain(h, IDX["IPC"]) == IDX["IPH"]
    assert knn.explain(h, IDX["BEL"]) == IDX["ANK"]
    assert knn.explain(h, IDX["GAC"]) is None  # nothing in the history co-occurs with it
    # SONY and JBL are each as close to BOSE: the one the customer engaged with more is the reason.
    for strong, weak in (("SONY", "JBL"), ("JBL", "SONY")):
        h = UserHistory(items=np.array([IDX[strong], IDX[weak]], dtype=np.int32), weights=np.array([5.0, 1.0]))
        assert knn.explain(h, IDX["BOSE"]) == IDX[strong]


def test_item_knn_keeps_at_most_k_neighbours_per_item(tiny_shop):
    knn = ItemKNNRecommender(k=1).fit(tiny_shop)
    assert np.diff(knn.similarity_.indptr).max() == 1
    assert knn.similarity_.diagonal().sum() == 0


# --- ALS ----------------------------------------------------------------------------------------------------


def test_als_fold_in_ranks_a_new_customers_taste_group_above_the_other(fitted):
    als = fitted["als"]
    audio_fan = als.score(history("SONY", "BOSE"))  # a customer the model has never seen
    assert min(audio_fan[IDX[s]] for s in ("JBL", "AIRP")) > max(audio_fan[IDX[s]] for s in POWER)
    power_user = als.score(history("ANK"))
    assert min(power_user[IDX[s]] for s in ("BEL", "UGR")) > max(power_user[IDX[s]] for s in AUDIO)


def test_als_fold_in_solves_the_same_least_squares_problem_as_implicit(tiny_shop):
    als = ALSRecommender(factors=5, iterations=5, random_state=3, num_threads=1).fit(tiny_shop)
    confidence = tiny_shop.interactions.matrix()
    confidence.data = 1.0 + als.alpha * confidence.data
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=5, regularization=als.regularization, iterations=5, random_state=3, num_threads=1
        )
        model.fit(confidence, show_progress=False)
    weights = tiny_shop.interactions.matrix()
    for user in (0, 9, 17):
        row = weights[user]
        folded = als.user_vector(UserHistory(items=row.indices.astype(np.int32), weights=row.data))
        np.testing.assert_allclose(folded, model.recalculate_user(user, confidence[user]), rtol=1e-3, atol=1e-4)


def test_als_explain_names_the_history_item_behind_a_score(fitted):
    als = fitted["als"]
    assert als.explain(history("IPH", "ANK"), IDX["IPC"]) == IDX["IPH"]
    assert als.explain(history("SONY", "BOSE"), IDX["SONY"]) == IDX["BOSE"]  # never "because you bought" itself


# --- content ------------------------------------------------------------------------------------------------


def test_content_finds_the_item_described_with_the_same_words(fitted):
    content = fitted["content"]
    assert content.similar_items(IDX["SONY"], n=1).tolist() == [IDX["BOSE"]]  # "wireless noise cancelling"
    assert best(content.score(history("ANK")), exclude=("ANK",)) in ("BEL", "UGR")  # USB-C chargers


def test_content_similar_items_never_lists_the_item_itself_or_unrelated_items(fitted):
    similar = fitted["content"].similar_items(IDX["IPC"], n=50)
    assert IDX["IPC"] not in similar
    assert len(similar) < len(ITEMS) - 1


# --- ranking ------------------------------------------------------------------------------------------------


def test_top_n_breaks_ties_by_catalog_order_and_respects_the_mask():
    scores = np.array([1.0, 3.0, 3.0, np.nan, 3.0, 2.0], dtype=np.float32)
    allowed = np.array([True, True, True, True, False, True])
    assert top_n(scores, 3, allowed).tolist() == [1, 2, 5]
    assert top_n(scores, 10, allowed).tolist() == [1, 2, 5, 0, 3]  # NaN last, never the masked item
    many_ties = np.random.default_rng(0).integers(0, 3, 1000).astype(np.float32)
    assert top_n(many_ties, 5).tolist() == np.flatnonzero(many_ties == 2)[:5].tolist()


def test_context_mask_applies_every_hard_rule(tiny_shop):
    catalog = tiny_shop.catalog
    ok = context_mask(catalog, RequestContext(category="Headphones", max_price=300))
    assert {ITEMS[i][0] for i in np.flatnonzero(ok)} == {"BOSE", "JBL", "AIRP"}  # OLD is inactive
    iphone_owner = context_mask(catalog, RequestContext(owned_families=frozenset({"iphone"})))
    assert iphone_owner[IDX["IPC"]] and not iphone_owner[IDX["GAC"]]
    laptop_buyer = context_mask(catalog, RequestContext(recent_device_items=(IDX["TPD"],)))
    assert not laptop_buyer[IDX["TPD"]] and not laptop_buyer[IDX["MBA"]] and laptop_buyer[IDX["BAG"]]
    assert not context_mask(catalog, RequestContext(brand="no such brand")).any()


def test_recommend_with_serves_popularity_under_the_hard_rules(fitted, tiny_shop):
    picks = recommend_with(
        fitted["popularity"],
        UserHistory(),
        RequestContext(category="headphones"),
        n=10,
        exclude=np.array([IDX["SONY"]]),
        catalog=tiny_shop.catalog,
    )
    assert {ITEMS[p.item][0] for p in picks} == {"BOSE", "JBL", "AIRP"}
    assert {p.reason for p in picks} == {REASON_POPULAR}
    in_segment = recommend_with(
        fitted["popularity"], UserHistory(segment="audio"), RequestContext(), n=3, catalog=tiny_shop.catalog
    )
    assert {p.reason for p in in_segment} == {REASON_SEGMENT}


def test_recommend_with_names_the_item_behind_a_collaborative_pick(fitted, tiny_shop):
    picks = recommend_with(
        fitted["item_knn"],
        history("IPH"),
        RequestContext(),
        n=1,
        exclude=np.array([IDX["IPH"]]),
        catalog=tiny_shop.catalog,
    )
    assert [(p.item, p.reason, p.reason_item) for p in picks] == [(IDX["IPC"], REASON_BOUGHT, IDX["IPH"])]


def test_recommend_with_returns_nothing_personal_for_an_empty_history(fitted, tiny_shop):
    assert recommend_with(fitted["als"], UserHistory(), RequestContext(), n=5, catalog=tiny_shop.catalog) == []


# --- registry and persistence -------------------------------------------------------------------------------


def test_every_registered_name_builds_its_recommender():
    for name in RECOMMENDER_NAMES:
        assert build_recommender(name).name == name
    assert build_recommender("als", factors=16).factors == 16
    with pytest.raises(ValueError, match="unknown recommender"):
        build_recommender("magic")


@pytest.mark.parametrize("name", ["popularity", "item_knn", "als", "content"])
def test_a_fitted_recommender_survives_a_joblib_round_trip(fitted, name, tmp_path):
    path = tmp_path / f"{name}.joblib"
    joblib.dump(fitted[name], path)
    loaded = joblib.load(path)
    for h in (history("SONY", "ANK", segment="audio"), UserHistory()):
        np.testing.assert_array_equal(loaded.score(h), fitted[name].score(h))
