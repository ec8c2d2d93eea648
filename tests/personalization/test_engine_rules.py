"""Every rule that makes recommendations trustworthy, on the real databases (SQLite and PostgreSQL) with a
model trained on the demo shop's behaviour."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from bot.db.models import BehaviourEvent, Customer, CustomerDevice, CustomerSegment, Product
from bot.db.session import session_scope
from bot.personalization import store
from bot.personalization.config import PersonalizationConfig
from bot.personalization.engine import (
    BEST_SELLERS,
    WITHHELD_FREQUENCY_CAP,
    WITHHELD_NO_MODEL,
    WITHHELD_OPEN_ISSUE,
    WITHHELD_UNSUBSCRIBED,
    PersonalizationEngine,
)
from bot.personalization.experiments import NON_PERSONALIZED
from bot.personalization.model_store import ModelCache
from bot.personalization.open_issues import StaticOpenIssues
from bot.personalization.recommenders.base import REASON_POPULAR
from bot.personalization.shop_training_data import load_training_data
from bot.personalization.strategy_report import strategy_report
from bot.shop.customers import customer_pk
from tests.personalization.conftest import customers_owning

ANDROID = {"galaxy", "pixel", "oneplus", "moto"}
CONFIG = PersonalizationConfig(
    exclusion_days=30,
    category_exclusion_days=90,
    unsolicited_cap=2,
    unsolicited_window_hours=24,
    strategies={"hybrid": 1.0},
)


@pytest.fixture
def engine(personalized_shop) -> PersonalizationEngine:
    return PersonalizationEngine(ModelCache(personalized_shop.models_dir), config=CONFIG)


def _customers(url: str) -> list[str]:
    with session_scope(url) as session:
        return list(session.execute(select(Customer.external_id).order_by(Customer.external_id)).scalars())


def _consent(url: str, customer: str, granted: bool) -> int:
    with session_scope(url) as session:
        cid = customer_pk(session, customer)
        store.set_consent(session, cid, granted)
        return cid


_CLAIMED: set[tuple[str, str]] = set()


def _pick(url: str, candidates: list[str] | None = None, *, consent: bool = True) -> str:
    """A customer no other test in this module has touched (tests share one database per backend)."""
    for customer in candidates if candidates is not None else _customers(url):
        if (url, customer) not in _CLAIMED:
            _CLAIMED.add((url, customer))
            _consent(url, customer, consent)
            return customer
    raise LookupError("no unclaimed customer left")


def test_every_suggestion_carries_a_reason_a_customer_understands(personalized_shop, engine, shop) -> None:
    customer = _pick(personalized_shop.url, customers_owning(personalized_shop.url, "iphone"))
    with session_scope(personalized_shop.url) as session:
        result = engine.recommend(session, customer, n=5, now=shop.now)
    assert result.personalized and result.strategy == "hybrid" and len(result.items) == 5
    for item in result.items:
        assert item.reason and item.reason[0].islower() and "{" not in item.reason
    assert any(r.reason.startswith(("because you", "fits your", "similar to")) for r in result.items)


def test_not_interested_keeps_an_item_out_for_the_configured_time(personalized_shop, engine, shop) -> None:
    customer = _pick(personalized_shop.url)
    with session_scope(personalized_shop.url) as session:
        first = engine.recommend(session, customer, category="headphones", n=3, now=shop.now)
        dropped = first.items[0].sku
        assert engine.not_interested(session, customer, skus=[dropped], now=shop.now)
    with session_scope(personalized_shop.url) as session:
        later = engine.recommend(session, customer, category="headphones", n=50, now=shop.now + timedelta(days=29))
        assert dropped not in {r.sku for r in later.items}
        after_expiry = engine.recommend(
            session, customer, category="headphones", n=50, now=shop.now + timedelta(days=31)
        )
        assert dropped in {r.sku for r in after_expiry.items}
        dismissals = session.execute(
            select(func.count())
            .select_from(BehaviourEvent)
            .where(BehaviourEvent.kind == "dismissal", BehaviourEvent.customer_id == customer_pk(session, customer))
        ).scalar_one()
        assert dismissals == 1


def test_not_interested_in_a_category_on_request_excludes_the_whole_category(personalized_shop, engine, shop) -> None:
    customer = _pick(personalized_shop.url)
    with session_scope(personalized_shop.url) as session:
        engine.not_interested(session, customer, category="phone_accessories", now=shop.now)
    with session_scope(personalized_shop.url) as session:
        unasked = engine.recommend(session, customer, n=60, now=shop.now + timedelta(days=1))
        assert unasked.items and all(r.category != "phone_accessories" for r in unasked.items)
        # Asking for the category again is the customer's call.
        asked = engine.recommend(session, customer, category="phone_accessories", n=3, now=shop.now)
        assert asked.items and all(r.category == "phone_accessories" for r in asked.items)
        expired = engine.recommend(session, customer, n=60, now=shop.now + timedelta(days=91))
        assert any(r.category == "phone_accessories" for r in expired.items)


def test_unsolicited_suggestions_are_capped_per_time_window(personalized_shop, engine, shop) -> None:
    customer = _pick(personalized_shop.url)
    with session_scope(personalized_shop.url) as session:
        shown = [
            engine.recommend(session, customer, solicited=False, now=shop.now + timedelta(hours=h)) for h in (0, 1, 2)
        ]
        assert [bool(r.items) for r in shown] == [True, True, False]
        assert shown[2].withheld == WITHHELD_FREQUENCY_CAP
        # Asked-for suggestions are never capped; the window moves on.
        assert engine.recommend(session, customer, solicited=True, now=shop.now + timedelta(hours=3)).items
        assert engine.recommend(session, customer, solicited=False, now=shop.now + timedelta(hours=25)).items


def test_an_unsubscribed_customer_gets_nothing_unasked_for_but_still_what_they_ask(
    personalized_shop, engine, shop
) -> None:
    customer = _pick(personalized_shop.url)
    with session_scope(personalized_shop.url) as session:
        assert engine.recommend(session, customer, solicited=False, now=shop.now).items
        assert engine.set_marketing(session, customer, False, channel="chat")
    with session_scope(personalized_shop.url) as session:
        later = shop.now + timedelta(days=2)  # past the frequency window: only the unsubscribe holds it back
        assert engine.recommend(session, customer, solicited=False, now=later).withheld == WITHHELD_UNSUBSCRIBED
        assert engine.offer(session, customer, solicited=False, now=later).withheld == WITHHELD_UNSUBSCRIBED
        assert engine.recommend(session, customer, solicited=True, now=later).items
        assert engine.set_marketing(session, customer, True)
    with session_scope(personalized_shop.url) as session:
        assert engine.recommend(session, customer, solicited=False, now=shop.now + timedelta(days=3)).items
        assert not engine.set_marketing(session, "CUST-NOBODY", False)


def test_no_promotion_while_the_customer_has_an_open_issue(personalized_shop, shop) -> None:
    customer = _pick(personalized_shop.url)
    with session_scope(personalized_shop.url) as session:
        cid = customer_pk(session, customer)
        session.merge(
            CustomerSegment(
                customer_id=cid,
                recency_score=1,
                frequency_score=1,
                monetary_score=5,
                rfm_segment="cant_lose",
                cluster=0,
                cluster_label="lapsed buyers",
                churn_risk=0.9,
                next_best_action="retention_offer",
                next_best_action_reason="churn risk 0.90",
                refreshed_at=shop.now,
                model_version="test",
            )
        )
    blocked = PersonalizationEngine(
        ModelCache(personalized_shop.models_dir), config=CONFIG, open_issues=StaticOpenIssues({cid})
    )
    free = PersonalizationEngine(ModelCache(personalized_shop.models_dir), config=CONFIG)
    with session_scope(personalized_shop.url) as session:
        assert blocked.recommend(session, customer, solicited=False, now=shop.now).withheld == WITHHELD_OPEN_ISSUE
        assert blocked.offer(session, customer, solicited=True, now=shop.now).withheld == WITHHELD_OPEN_ISSUE
        # Help the customer asked for is not a promotion.
        assert blocked.recommend(session, customer, solicited=True, now=shop.now).items
        assert free.offer(session, customer, solicited=True, now=shop.now).action == "retention_offer"


def test_without_consent_suggestions_are_not_personalized_and_behaviour_is_not_used(
    personalized_shop, engine, shop
) -> None:
    a, b = _pick(personalized_shop.url, consent=False), _pick(personalized_shop.url, consent=False)
    with session_scope(personalized_shop.url) as session:
        ra = engine.recommend(session, a, n=5, now=shop.now)
        rb = engine.recommend(session, b, n=5, now=shop.now)
        assert ra.strategy == NON_PERSONALIZED and not ra.personalized
        assert all(r.reason_code == REASON_POPULAR for r in ra.items)
        # Different histories, same suggestions: nothing of theirs was read.
        assert [r.sku for r in ra.items] == [r.sku for r in rb.items]
        data = load_training_data(session, now=shop.now)
        assert a not in set(data.interactions.user_ids) and b not in set(data.interactions.user_ids)
        assert engine.offer(session, a, solicited=True, now=shop.now).action == "none"


def test_an_iphone_owner_never_gets_android_accessories(personalized_shop, engine, shop) -> None:
    customer = _pick(personalized_shop.url, customers_owning(personalized_shop.url, "iphone"))
    with session_scope(personalized_shop.url) as session:
        result = engine.recommend(session, customer, category="phone_accessories", n=20, now=shop.now)
        bundle = engine.models.get()
        assert result.items
        for item in result.items:
            fits = bundle.catalog.fits[bundle.index_of_sku(item.sku)]
            assert not fits or "iphone" in fits or not (fits & ANDROID), item


def test_no_second_laptop_soon_after_the_first_but_its_accessories_yes(personalized_shop, engine, shop) -> None:
    customer = _pick(personalized_shop.url)
    with session_scope(personalized_shop.url) as session:
        cid = customer_pk(session, customer)
        session.execute(delete(CustomerDevice).where(CustomerDevice.customer_id == cid))
        laptop = session.execute(
            select(Product).where(Product.category == "laptops", Product.family == "macbook").limit(1)
        ).scalar_one()
        session.add(
            CustomerDevice(
                customer_id=cid,
                product_id=laptop.id,
                acquired_at=shop.now - timedelta(days=7),
                serial_number=f"TEST-{cid}-LAPTOP",
            )
        )
    with session_scope(personalized_shop.url) as session:
        result = engine.recommend(session, customer, n=30, now=shop.now)
        categories = {r.category for r in result.items}
        assert "laptops" not in categories
        assert "laptop_accessories" in categories


def test_budget_and_brand_are_hard_limits(personalized_shop, engine, shop) -> None:
    customer = _pick(personalized_shop.url)
    with session_scope(personalized_shop.url) as session:
        result = engine.recommend(session, customer, category="headphones", max_price=150, n=10, now=shop.now)
        assert result.items and all(r.price <= 150 for r in result.items)
        sony = engine.recommend(session, customer, brand="sony", n=10, now=shop.now)
        assert sony.items and all(r.brand == "Sony" for r in sony.items)


def test_impressions_and_clicks_close_the_loop_per_strategy(personalized_shop, engine, shop) -> None:
    customer = _pick(personalized_shop.url)
    with session_scope(personalized_shop.url) as session:
        result = engine.recommend(session, customer, n=3, now=shop.now, channel="web")
        assert engine.record_click(
            session, customer, result.items[0].sku, request_id=result.request_id, now=shop.now + timedelta(minutes=1)
        )
    with session_scope(personalized_shop.url) as session:
        cid = customer_pk(session, customer)
        rows = session.execute(
            select(BehaviourEvent.kind, BehaviourEvent.strategy, BehaviourEvent.request_id).where(
                BehaviourEvent.customer_id == cid, BehaviourEvent.kind.in_(("impression", "click"))
            )
        ).all()
        assert sorted(k for k, _, _ in rows) == ["click", "impression", "impression", "impression"]
        assert {(s, r) for _, s, r in rows} == {("hybrid", result.request_id)}
        figures = {
            f.strategy: f
            for f in strategy_report(
                session, since=shop.now - timedelta(minutes=1), until=shop.now + timedelta(minutes=1)
            )
        }
        assert figures["hybrid"].clicks >= 1 and 0 < figures["hybrid"].ctr <= 1


def test_anonymous_visitors_get_best_sellers_and_nothing_is_stored(personalized_shop, engine, shop) -> None:
    with session_scope(personalized_shop.url) as session:
        before = session.execute(select(func.count()).select_from(BehaviourEvent)).scalar_one()
        result = engine.recommend(session, None, n=3, now=shop.now)
        unknown = engine.recommend(session, "CUST-99999", n=3, now=shop.now)
        after = session.execute(select(func.count()).select_from(BehaviourEvent)).scalar_one()
    assert result.items and all(r.reason_code == REASON_POPULAR for r in result.items)
    assert [r.sku for r in unknown.items] == [r.sku for r in result.items]
    assert before == after


def test_before_any_model_is_trained_the_best_sellers_are_served(personalized_shop, tmp_path, shop) -> None:
    engine = PersonalizationEngine(ModelCache(tmp_path), config=CONFIG)
    with session_scope(personalized_shop.url) as session:
        result = engine.recommend(session, _customers(personalized_shop.url)[0], category="laptops", now=shop.now)
        assert result.strategy == BEST_SELLERS and not result.personalized
        assert result.items and all(r.category == "laptops" and r.reason_code == REASON_POPULAR for r in result.items)
        nothing = engine.recommend(session, None, category="laptops", max_price=1, now=shop.now)
        assert not nothing.items and nothing.withheld == WITHHELD_NO_MODEL


def test_a_customer_with_history_gets_other_suggestions_than_best_sellers(personalized_shop, engine, shop) -> None:
    customers = [_pick(personalized_shop.url, customers_owning(personalized_shop.url, "galaxy")) for _ in range(3)]
    with session_scope(personalized_shop.url) as session:
        anonymous = [r.sku for r in engine.recommend(session, None, n=5, now=shop.now).items]
        personal = [[r.sku for r in engine.recommend(session, c, n=5, now=shop.now).items] for c in customers]
    assert all(p != anonymous for p in personal)
    assert np.unique([tuple(p) for p in personal], axis=0).shape[0] > 1


def test_accessories_of_the_product_under_discussion_say_they_go_with_it(personalized_shop, engine, shop) -> None:
    customer = _pick(personalized_shop.url)
    with session_scope(personalized_shop.url) as session:
        phone = session.execute(
            select(Product).where(Product.category == "phones", Product.family == "iphone").limit(1)
        ).scalar_one()
        result = engine.recommend(
            session, customer, focus_skus=[phone.sku], category="phone_accessories", n=5, now=shop.now
        )
    assert result.items
    assert any(r.reason == f"goes with the {phone.name}" for r in result.items), [r.reason for r in result.items]


def test_an_upsell_next_best_action_comes_with_suggestions_and_none_with_nothing(
    personalized_shop, engine, shop
) -> None:
    upsell, nothing = _pick(personalized_shop.url), _pick(personalized_shop.url)
    with session_scope(personalized_shop.url) as session:
        for customer, action in ((upsell, "upsell"), (nothing, "none")):
            session.merge(
                CustomerSegment(
                    customer_id=customer_pk(session, customer),
                    recency_score=5,
                    frequency_score=3,
                    monetary_score=3,
                    rfm_segment="loyal",
                    cluster=1,
                    cluster_label="steady buyers",
                    churn_risk=0.1,
                    next_best_action=action,
                    next_best_action_reason=f"{action} because",
                    refreshed_at=shop.now,
                    model_version="test",
                )
            )
    with session_scope(personalized_shop.url) as session:
        offer = engine.offer(session, upsell, solicited=True, now=shop.now)
        assert offer.action == "upsell" and offer.recommendations.items and offer.reason == "upsell because"
        idle = engine.offer(session, nothing, solicited=True, now=shop.now)
        assert idle.action == "none" and idle.withheld == "nothing_to_offer"


def test_before_any_model_not_interested_still_counts(personalized_shop, tmp_path, shop) -> None:
    engine = PersonalizationEngine(ModelCache(tmp_path), config=CONFIG)
    customer = _pick(personalized_shop.url)
    with session_scope(personalized_shop.url) as session:
        first = engine.recommend(session, customer, category="laptops", n=3, now=shop.now)
        engine.not_interested(session, customer, skus=[first.items[0].sku], now=shop.now)
        again = engine.recommend(session, customer, category="laptops", n=3, now=shop.now)
    assert first.items[0].sku not in {r.sku for r in again.items}


def test_an_open_issue_journey_holds_promotions_back_until_it_is_resolved(personalized_shop, shop) -> None:
    """The real boundary: the journeys table, not a stand-in."""
    from bot.db.models import Journey
    from bot.journeys.open_issues import JourneyOpenIssues

    customer = _pick(personalized_shop.url)
    engine = PersonalizationEngine(
        ModelCache(personalized_shop.models_dir), config=CONFIG, open_issues=JourneyOpenIssues()
    )
    with session_scope(personalized_shop.url) as session:
        journey = Journey(
            customer_id=customer_pk(session, customer),
            workflow="no_internet",
            problem_key="no_internet",
            state="waiting_for_customer",
            context={},
            opened_at=shop.now,
            updated_at=shop.now,
        )
        session.add(journey)
        session.flush()
        journey_id = journey.id
    with session_scope(personalized_shop.url) as session:
        assert engine.recommend(session, customer, solicited=False, now=shop.now).withheld == WITHHELD_OPEN_ISSUE
        session.get(Journey, journey_id).state = "resolved"
    with session_scope(personalized_shop.url) as session:
        assert engine.recommend(session, customer, solicited=False, now=shop.now).items
