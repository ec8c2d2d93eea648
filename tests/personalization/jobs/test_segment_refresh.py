"""The segment refresh on real databases (SQLite and PostgreSQL): one row per customer, consent respected,
re-runs replace rows; and the activity it reads is what the shop's tables say."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import joblib
import numpy as np
import pytest
from sqlalchemy import func, insert, select

from bot.db.models import (
    BehaviourEvent,
    Customer,
    CustomerDevice,
    CustomerSegment,
    Order,
    PersonalizationConsent,
    Product,
)
from bot.db.session import session_scope
from bot.personalization.jobs.customer_activity import to_unix
from bot.personalization.jobs.segment_refresh import NO_CONSENT_SEGMENT, RefreshSummary, refresh_segments
from bot.personalization.jobs.shop_activity import load_activity
from bot.personalization.store import segment_of
from tests.conftest import seed_small_shop


def give_consents(url: str) -> dict[str, bool | None]:
    """Half the customers consent, a quarter refused, a quarter never answered (no row)."""
    answers: dict[str, bool | None] = {}
    with session_scope(url) as session:
        customers = session.execute(select(Customer.id, Customer.external_id).order_by(Customer.id)).all()
        rows = []
        for i, (cid, external_id) in enumerate(customers):
            answer = {0: True, 1: False, 2: True, 3: None}[i % 4]
            answers[external_id] = answer
            if answer is not None:
                rows.append({"customer_id": cid, "granted": answer, "source": "test"})
        session.execute(insert(PersonalizationConsent), rows)
    return answers


def stored_rows(url: str) -> dict[str, CustomerSegment]:
    with session_scope(url) as session:
        rows = session.execute(
            select(Customer.external_id, CustomerSegment).join(
                CustomerSegment, CustomerSegment.customer_id == Customer.id
            )
        ).all()
    return {external_id: row for external_id, row in rows}


@dataclass(frozen=True)
class Refreshed:
    url: str
    answers: dict[str, bool | None]
    summary: RefreshSummary
    model_path: Path


@pytest.fixture(scope="module")
def refreshed(db_factory, shop, tmp_path_factory) -> Refreshed:
    """One seeded shop with consents, refreshed once (per backend), shared by the tests that only read it."""
    url = db_factory.create()
    seed_small_shop(url)
    answers = give_consents(url)
    path = tmp_path_factory.mktemp("models") / "churn.joblib"
    with session_scope(url) as session:
        summary = refresh_segments(session, now=shop.now, progress=False, model_path=path)
    return Refreshed(url, answers, summary, path)


def test_refresh_writes_one_row_per_customer_and_neutral_rows_without_consent(refreshed):
    answers, summary = refreshed.answers, refreshed.summary
    rows = stored_rows(refreshed.url)
    assert set(rows) == set(answers)
    assert summary.customers == len(answers)
    assert summary.consented == sum(1 for a in answers.values() if a)
    for external_id, answer in answers.items():
        row = rows[external_id]
        if answer:
            assert row.rfm_segment != NO_CONSENT_SEGMENT
            assert row.cluster >= 0 and row.cluster_label != "no consent"
        else:  # refused or never asked: behaviour is not used
            assert (row.recency_score, row.frequency_score, row.monetary_score) == (1, 1, 1)
            assert (row.rfm_segment, row.churn_risk, row.next_best_action) == (NO_CONSENT_SEGMENT, 0.0, "none")
            assert row.next_best_action_reason == "no consent to personalization"
    consenting = [rows[e] for e, a in answers.items() if a]
    assert len({r.rfm_segment for r in consenting}) > 1
    assert all(0.0 <= r.churn_risk <= 1.0 for r in consenting)
    assert len({round(r.churn_risk, 6) for r in consenting}) > 1
    assert sum(summary.actions.values()) == len(answers)


def test_segment_of_reads_one_customers_row_for_the_engine(refreshed):
    consenting = next(e for e, a in refreshed.answers.items() if a)
    refused = next(e for e, a in refreshed.answers.items() if a is False)
    with session_scope(refreshed.url) as session:
        view = segment_of(session, consenting)
        assert view is not None and view.customer_external_id == consenting
        assert view.next_best_action in ("retention_offer", "upsell", "none") and view.next_best_action_reason
        assert view.model_version == refreshed.summary.model_version
        assert segment_of(session, refused).rfm_segment == NO_CONSENT_SEGMENT
        assert segment_of(session, "CUST-NOBODY") is None


def test_a_saved_churn_model_is_reused_and_scores_the_same(refreshed, shop):
    risks = {e: r.churn_risk for e, r in stored_rows(refreshed.url).items()}
    assert refreshed.summary.model_path == str(refreshed.model_path)
    assert joblib.load(refreshed.model_path).kind == refreshed.summary.churn_model
    with session_scope(refreshed.url) as session:
        again = refresh_segments(session, now=shop.now, progress=False, churn_model=refreshed.model_path)
    assert again.model_path is None  # nothing newly trained, nothing saved
    assert {e: r.churn_risk for e, r in stored_rows(refreshed.url).items()} == risks


def test_rerunning_the_refresh_replaces_rows_instead_of_adding_them(fresh_shop_db, shop):
    give_consents(fresh_shop_db)
    with session_scope(fresh_shop_db) as session:
        assert segment_of(session, "CUST-00001") is None  # not refreshed yet
        refresh_segments(session, now=shop.now, progress=False, k=6)
    with session_scope(fresh_shop_db) as session:
        refresh_segments(session, now=shop.now, progress=False, k=3)
        count = session.execute(select(func.count()).select_from(CustomerSegment)).scalar_one()
        customers = session.execute(select(func.count()).select_from(Customer)).scalar_one()
        versions = set(session.execute(select(CustomerSegment.model_version)).scalars())
        clusters = set(session.execute(select(CustomerSegment.cluster).where(CustomerSegment.cluster >= 0)).scalars())
    assert count == customers
    assert len(versions) == 1 and versions.pop().startswith("k3-")
    assert clusters <= {0, 1, 2}


def test_activity_from_the_database_matches_the_shop_tables(session, shop):
    first, second = session.execute(select(Customer.id).order_by(Customer.id).limit(2)).scalars().all()
    case = session.execute(select(Product).where(Product.category == "phone_accessories").limit(1)).scalar_one()
    session.execute(
        insert(BehaviourEvent),
        [
            {
                "customer_id": first,
                "product_id": case.id,
                "kind": "purchase",
                "value": 2.0,
                "occurred_at": shop.now - timedelta(days=3),
                "source": "test",
            },
            {
                "customer_id": second,
                "product_id": case.id,
                "kind": "view",
                "value": None,
                "occurred_at": shop.now - timedelta(days=2),
                "source": "test",
            },
            {
                "customer_id": second,
                "product_id": case.id,
                "kind": "view",
                "value": None,
                "occurred_at": shop.now + timedelta(days=2),
                "source": "test",
            },  # after "now": not counted
        ],
    )
    session.flush()
    activity = load_activity(session, shop.now)

    orders, money, devices = defaultdict(int), defaultdict(float), defaultdict(int)
    for order in session.execute(select(Order)).scalars():
        if order.status != "cancelled" and order.placed_at <= shop.now:
            orders[order.customer_id] += 1
            money[order.customer_id] += sum(float(line.quantity * line.unit_price) for line in order.lines)
    for device in session.execute(select(CustomerDevice)).scalars():
        devices[device.customer_id] += device.acquired_at <= shop.now
    orders[first] += 1
    money[first] += 2 * float(case.price)

    ids = activity.db_ids.tolist()
    assert activity.purchases.tolist() == [orders[c] for c in ids]
    assert np.allclose(activity.monetary, [money[c] for c in ids])
    assert activity.devices.tolist() == [devices[c] for c in ids]
    assert activity.views.tolist() == [1 if c == second else 0 for c in ids]
    assert activity.last_purchase_at[0] >= to_unix(shop.now - timedelta(days=3))
    assert activity.accessories[0] >= 2


def test_activity_at_a_past_time_ignores_what_came_later(session, shop):
    then = shop.now - timedelta(days=200)
    past = load_activity(session, then)
    placed = defaultdict(int)
    for customer_id, placed_at, status, cancelled_at in session.execute(
        select(Order.customer_id, Order.placed_at, Order.status, Order.cancelled_at)
    ):
        if placed_at <= then and not (status == "cancelled" and cancelled_at <= then):
            placed[customer_id] += 1
    assert past.purchases.tolist() == [placed[c] for c in past.db_ids.tolist()]
    assert np.nanmax(past.last_purchase_at) <= to_unix(then)
    assert past.purchases.sum() < load_activity(session, shop.now).purchases.sum()


def test_a_shop_where_nobody_consented_gets_only_neutral_rows(fresh_shop_db, shop):
    with session_scope(fresh_shop_db) as session:
        summary = refresh_segments(session, now=shop.now, progress=False)
    rows = stored_rows(fresh_shop_db)
    assert summary.consented == 0 and summary.churn_model is None
    assert len(rows) == summary.customers
    assert {(r.rfm_segment, r.next_best_action) for r in rows.values()} == {(NO_CONSENT_SEGMENT, "none")}
