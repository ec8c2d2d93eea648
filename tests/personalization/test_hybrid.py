"""The hybrid as the engine serves it: blended scores, the request context's hard rules, boosts and reasons."""

from __future__ import annotations

import joblib
import numpy as np
import pytest

from bot.personalization.recommenders.base import (
    REASON_BOUGHT,
    REASON_FITS,
    REASON_POPULAR,
    REASON_SEGMENT,
    REASON_SIMILAR,
    RequestContext,
    UserHistory,
)
from bot.personalization.recommenders.hybrid import HybridRecommender
from tests.personalization.test_recommenders import AUDIO, IDX, ITEMS, POWER, build_tiny_shop, history

ALL = len(ITEMS)  # ask for every item: whatever comes back is what the rules let through
IPHONE_OWNER = RequestContext(owned_families=frozenset({"iphone"}))


@pytest.fixture(scope="module")
def hybrid() -> HybridRecommender:
    return HybridRecommender(
        component_params={
            "popularity": {"min_segment_events": 10},
            "item_knn": {"k": 5},
            "als": {"factors": 5, "iterations": 20, "random_state": 0, "num_threads": 1},
        }
    ).fit(build_tiny_shop())


def skus(picks) -> list[str]:
    return [ITEMS[p.item][0] for p in picks]


def by_sku(picks) -> dict:
    return {ITEMS[p.item][0]: p for p in picks}


def rank_of(sku: str, picks) -> int:
    return skus(picks).index(sku)


def test_an_iphone_owner_never_gets_a_galaxy_case_and_gets_an_iphone_case_because_it_fits(hybrid):
    for h in (history("SONY", "BOSE"), history("GAL"), UserHistory()):
        assert "GAC" not in skus(hybrid.recommend(h, IPHONE_OWNER, n=ALL))
    for h in (history("SONY", "BOSE"), UserHistory()):
        owner = hybrid.recommend(h, IPHONE_OWNER, n=ALL)
        assert by_sku(owner)["IPC"].reason == REASON_FITS
        assert rank_of("IPC", owner) < rank_of("IPC", hybrid.recommend(h, RequestContext(), n=ALL))


def test_a_recent_laptop_buyer_gets_no_second_laptop_but_gets_the_laptop_bag(hybrid):
    context = RequestContext(owned_families=frozenset({"iphone"}), recent_device_items=(IDX["TPD"],))
    picks = hybrid.recommend(history("TPD", "SONY"), context, n=ALL)
    assert "TPD" not in skus(picks) and "MBA" not in skus(picks)
    assert "BAG" in skus(picks)  # fits the ThinkPad, although the account only lists an iPhone
    cold = hybrid.recommend(UserHistory(), RequestContext(recent_device_items=(IDX["TPD"],)), n=ALL)
    assert by_sku(cold)["BAG"].reason == REASON_FITS
    assert rank_of("BAG", cold) < rank_of("BAG", hybrid.recommend(UserHistory(), RequestContext(), n=ALL))
    # A purchase days ago says more about what they need now than a device owned for years.
    owned = hybrid.recommend(UserHistory(), RequestContext(owned_families=frozenset({"thinkpad"})), n=ALL)
    assert by_sku(cold)["BAG"].score > by_sku(owned)["BAG"].score


def test_collaborative_picks_name_the_bought_item_that_drove_them(hybrid):
    picks = by_sku(hybrid.recommend(history("IPH"), RequestContext(), n=ALL, exclude=np.array([IDX["IPH"]])))
    assert (picks["IPC"].reason, picks["IPC"].reason_item) == (REASON_BOUGHT, IDX["IPH"])
    assert skus(hybrid.recommend(history("IPH"), RequestContext(), n=1, exclude=np.array([IDX["IPH"]]))) == ["IPC"]


@pytest.mark.parametrize(
    "context, holds",
    [
        (RequestContext(category="headphones"), lambda item: item[2] == "headphones"),
        (RequestContext(brand="SONY"), lambda item: item[3] == "Sony"),
        (RequestContext(max_price=50), lambda item: item[4] <= 50),
    ],
    ids=["category", "brand-case-insensitive", "max-price"],
)
def test_category_brand_and_price_filters_are_hard(hybrid, context, holds):
    # A power user's scores favour chargers; the filter still decides what may be shown.
    picks = hybrid.recommend(history("ANK", "BEL"), context, n=ALL)
    assert picks
    assert all(holds(ITEMS[p.item]) for p in picks)


def test_filters_that_leave_fewer_items_than_asked_return_fewer(hybrid):
    picks = hybrid.recommend(history("SONY"), RequestContext(category="headphones", max_price=60), n=10)
    assert skus(picks) == ["JBL"]
    assert hybrid.recommend(history("SONY"), RequestContext(category="no such category"), n=10) == []


def test_inactive_items_are_never_returned_even_as_the_best_seller(hybrid):
    assert hybrid.popularity.score(UserHistory()).argmax() == IDX["OLD"]
    for h in (UserHistory(), history("SONY", "BOSE"), history("SONY", segment="audio")):
        assert "OLD" not in skus(hybrid.recommend(h, RequestContext(), n=ALL))


def test_excluded_items_are_not_returned_given_as_a_mask_or_as_indices(hybrid):
    h = history("SONY")
    first = hybrid.recommend(h, RequestContext(), n=1)[0].item
    mask = np.zeros(ALL, dtype=bool)
    mask[first] = True
    assert first not in [p.item for p in hybrid.recommend(h, RequestContext(), n=ALL, exclude=mask)]
    assert first not in [p.item for p in hybrid.recommend(h, RequestContext(), n=ALL, exclude=np.array([first]))]


def test_an_empty_history_gets_the_best_sellers_as_popular(hybrid):
    picks = hybrid.recommend(UserHistory(), RequestContext(), n=3)
    assert {p.reason for p in picks} == {REASON_POPULAR}
    global_scores = hybrid.popularity.score(UserHistory())
    active = [i for i in np.argsort(-global_scores, kind="stable") if ITEMS[i][7]]
    assert [p.item for p in picks] == active[:3]


def test_an_empty_history_with_a_known_segment_gets_the_segment_list(hybrid):
    picks = hybrid.recommend(UserHistory(segment="power"), RequestContext(), n=3)
    assert {p.reason for p in picks} == {REASON_SEGMENT}
    assert set(skus(picks)) == set(POWER)


def test_an_empty_history_still_obeys_the_context_filters(hybrid):
    picks = hybrid.recommend(UserHistory(segment="power"), RequestContext(category="headphones"), n=ALL)
    assert picks and set(skus(picks)) <= set(AUDIO)


def test_focus_products_bring_up_similar_items_and_their_accessories(hybrid):
    picks = hybrid.recommend(UserHistory(), RequestContext(focus_items=(IDX["SONY"],)), n=2)
    assert "SONY" not in skus(picks)
    assert (picks[0].item, picks[0].reason, picks[0].reason_item) == (IDX["BOSE"], REASON_SIMILAR, IDX["SONY"])
    phone = by_sku(hybrid.recommend(history("ANK"), RequestContext(focus_items=(IDX["IPH"],)), n=3))
    assert (phone["IPC"].reason, phone["IPC"].reason_item) == (REASON_SIMILAR, IDX["IPH"])


def test_scores_are_ranked_best_first(hybrid):
    scores = [p.score for p in hybrid.recommend(history("SONY", "ANK"), IPHONE_OWNER, n=ALL)]
    assert scores == sorted(scores, reverse=True)


def test_the_fitted_hybrid_survives_a_joblib_round_trip(hybrid, tmp_path):
    joblib.dump(hybrid, tmp_path / "hybrid.joblib")
    loaded = joblib.load(tmp_path / "hybrid.joblib")
    h = history("SONY", "IPH", segment="audio")
    context = RequestContext(owned_families=frozenset({"iphone"}), focus_items=(IDX["BOSE"],))
    np.testing.assert_array_equal(loaded.score(h), hybrid.score(h))
    assert loaded.recommend(h, context, n=ALL) == hybrid.recommend(h, context, n=ALL)
