"""A personalized shop: the small demo shop with consent answers and browsing, and a trained model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import Customer, CustomerDevice, Product
from bot.db.session import session_scope
from bot.personalization.demo_behaviour import seed_demo_behaviour
from bot.personalization.jobs.recommender_training import train


@dataclass(frozen=True)
class PersonalizedShop:
    url: str
    models_dir: Path


def build_personalized_shop(db_factory, seed_shop_fn, models_dir: Path) -> PersonalizedShop:
    url = db_factory.create()
    seed_shop_fn(url)
    with session_scope(url) as session:
        seed_demo_behaviour(session)
    with session_scope(url) as session:
        train(session, models_dir, progress=False)
    return PersonalizedShop(url, models_dir)


@pytest.fixture(scope="session")
def personalized_shop(db_factory, tmp_path_factory, shop) -> PersonalizedShop:
    """Shared across tests: each test works on its own customers (see `customers_owning`)."""
    from tests.conftest import seed_small_shop

    with_models = tmp_path_factory.mktemp(f"recs-models-{db_factory.backend}")
    return build_personalized_shop(db_factory, seed_small_shop, with_models)


def customers_owning(url: str, family: str, *, only: bool = True) -> list[str]:
    """External ids of customers owning a device of `family` (and, with `only`, no other phone family)."""
    with session_scope(url) as session:
        rows = session.execute(
            select(Customer.external_id, Product.family, Product.category)
            .join(CustomerDevice, CustomerDevice.customer_id == Customer.id)
            .join(Product, Product.id == CustomerDevice.product_id)
            .order_by(Customer.external_id)
        ).all()
    families: dict[str, set[str]] = {}
    for customer, fam, _category in rows:
        families.setdefault(customer, set()).add(fam)
    return [
        c
        for c, fams in families.items()
        if family in fams
        and (
            not only
            or fams == {family}
            or all(f == family or f not in {"iphone", "galaxy", "pixel", "oneplus", "moto"} for f in fams)
        )
    ]
