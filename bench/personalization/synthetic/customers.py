"""Synthetic customers: taste clusters, owned device families, sign-up, activity rate and churn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.personalization.synthetic.parameters import CHURN_SHARE, DAY, EVENTS_PER_YEAR, FAMILIES, FAMILY_BRAND
from bench.personalization.synthetic.products import Products
from bot.shop.catalog import CATEGORY_NAMES, DEVICE_FAMILIES


@dataclass(frozen=True)
class Tastes:
    """What each taste cluster likes: its share of customers, categories, brands and price band."""

    size: np.ndarray  # share of customers
    category: np.ndarray  # (n_tastes, n_categories) affinity
    brand: np.ndarray  # (n_tastes, n_brands)
    band: np.ndarray  # preferred price band


@dataclass(frozen=True)
class Customers:
    """Hidden per-customer facts: taste, owned families and devices, activity span and churn."""

    taste: np.ndarray
    phone: np.ndarray  # family index into FAMILIES
    laptop: np.ndarray  # family index, -1 none
    owned_mask: np.ndarray  # int64 bitmask
    devices: np.ndarray  # (n, 2) product index of a device of each owned family, -1 none
    category_cdf: np.ndarray  # (n, n_categories) cumulative personal category affinity
    rate: np.ndarray  # events per second
    signup: np.ndarray
    start: np.ndarray
    end: np.ndarray  # churn_at for churned customers, else now
    churned: np.ndarray

    def owned_families(self) -> tuple[frozenset[str], ...]:
        phones = [FAMILIES[f] for f in self.phone]
        laptops = [FAMILIES[f] if f >= 0 else None for f in self.laptop]
        return tuple(frozenset(f for f in pair if f) for pair in zip(phones, laptops))


def make_tastes(rng: np.random.Generator, products: Products, n_tastes: int) -> Tastes:
    """`n_tastes` clusters of uneven size, each tilted toward some categories, brands and one price band."""
    n_categories = len(products.category_start) - 1
    shares = np.diff(products.category_start) / products.category_start[-1]
    return Tastes(
        size=rng.dirichlet(np.full(n_tastes, 4.0)),
        category=0.5 * shares + 0.5 * rng.dirichlet(np.ones(n_categories), size=n_tastes),
        brand=rng.lognormal(0.0, 0.8, size=(n_tastes, len(products.brands))),
        band=rng.integers(3, size=n_tastes),
    )


def sample_rows(cdf: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Column drawn for each (row, uniform) pair from row-wise cumulative distributions, in one search."""
    n_rows, n_cols = cdf.shape
    flat = (cdf + np.arange(n_rows)[:, None]).ravel()
    pos = np.searchsorted(flat, rows + u, side="right") - rows * n_cols
    return np.clip(pos, 0, n_cols - 1)


def _family_choice(
    rng: np.random.Generator, tastes: Tastes, products: Products, taste: np.ndarray, device_category: str
) -> np.ndarray:
    """A family of `device_category` per customer, drawn by their taste's affinity for the family's brand."""
    families = [f for f, name in enumerate(FAMILIES) if DEVICE_FAMILIES[name] == device_category]
    brand_index = {b: k for k, b in enumerate(products.brands)}
    weights = np.stack(
        [
            tastes.brand[:, brand_index[FAMILY_BRAND[FAMILIES[f]]]]
            if FAMILY_BRAND[FAMILIES[f]] in brand_index
            else np.ones(len(tastes.size))
            for f in families
        ],
        axis=1,
    )
    cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    return np.array(families)[sample_rows(cdf, taste, rng.random(len(taste)))]


def make_customers(
    rng: np.random.Generator, products: Products, tastes: Tastes, n: int, days: int, now: int
) -> Customers:
    """`n` customers: a taste, owned phone/laptop families and devices, sign-up, event rate, churn."""
    n_tastes = len(tastes.size)
    taste = rng.choice(n_tastes, size=n, p=tastes.size).astype(np.int32)
    phone = _family_choice(rng, tastes, products, taste, "phones")
    laptop = np.where(rng.random(n) < 0.45, _family_choice(rng, tastes, products, taste, "laptops"), -1)
    owned_mask = (1 << phone.astype(np.int64)) | np.where(laptop >= 0, 1 << np.maximum(laptop, 0).astype(np.int64), 0)

    affinity = rng.gamma(20.0 * tastes.category[taste])
    categories = tuple(CATEGORY_NAMES)
    no_laptop = laptop < 0
    for cat in ("laptops", "laptop_accessories"):
        affinity[no_laptop, categories.index(cat)] *= 0.2
    affinity /= affinity.sum(axis=1, keepdims=True)

    signup = now - rng.integers(14 * DAY, 730 * DAY, size=n)
    start = np.maximum(signup, now - days * DAY)
    latest_churn = now - 28 * DAY
    churned = (rng.random(n) < CHURN_SHARE) & (latest_churn - start > 14 * DAY)
    churn_at = start + (rng.uniform(0.05, 1.0, size=n) * (latest_churn - start)).astype(np.int64)
    rate = rng.lognormal(np.log(EVENTS_PER_YEAR) - 0.32, 0.8, size=n) / (365 * DAY)

    devices = np.full((n, 2), -1, dtype=np.int32)
    for slot, owned in enumerate((phone, laptop)):
        devices[:, slot] = _device_of_family(rng, products, owned)
    return Customers(
        taste=taste,
        phone=phone,
        laptop=laptop,
        owned_mask=owned_mask,
        devices=devices,
        category_cdf=np.cumsum(affinity, axis=1),
        rate=rate,
        signup=signup.astype(np.int64),
        start=start.astype(np.int64),
        end=np.where(churned, churn_at, now).astype(np.int64),
        churned=churned,
    )


def _device_of_family(rng: np.random.Generator, products: Products, family: np.ndarray) -> np.ndarray:
    """A device product of each customer's family (by popularity), -1 where none or the family has none."""
    device = np.full(len(family), -1, dtype=np.int32)
    bits = np.where(family >= 0, 1 << np.maximum(family, 0).astype(np.int64), 0)
    for f in np.unique(family[family >= 0]):
        members = np.flatnonzero(products.owned_family == (1 << int(f)))
        if len(members) == 0:
            continue
        who = np.flatnonzero(bits == (1 << int(f)))
        p = products.popularity[members] / products.popularity[members].sum()
        device[who] = members[rng.choice(len(members), size=len(who), p=p)]
    return device
