"""A synthetic shop whose structure is known, so that offline evaluation can check what recommenders recover.

Real data tells us how good a recommender is, not why; here every regularity was planted on purpose, and a
benchmark on it can cite this list. `generate_shop(seed=...)` is reproducible per seed and fully vectorised
(100,000 customers x 10,000 products, about 1.1 M events, in about 2 s).

Catalog (`n_products`, sorted by category):
- products in the shop's categories (`CATEGORY_NAMES`) in fixed shares: accessories most (phone accessories
  28 %, chargers and cables 20 %, laptop accessories 16 %), headphones 10 %, devices 20 %, plans 6 %;
- devices (`DEVICE_CATEGORIES`) belong to a family of their category (`DEVICE_FAMILIES`) and carry its brand;
- phone accessories, chargers/cables and laptop accessories `fit` one (70 %) or two phone/laptop families;
  15 %, 50 % and 45 % of them respectively fit everything (empty `fits`), as do headphones and plans;
- a brand of the category (`CATEGORY_BRANDS`), a log-normal price around the category's median (price band =
  the price's tertile within its category), one of `n_tastes` styles, and a text: the name, three words of
  the category's vocabulary, the brand, three words of the style's vocabulary and, for 15 %, one stray word
  of another style;
- Zipf-like base popularity: 1 / rank^0.9 over a random order.

Customers (`n_customers`, ids "SYN-000001"...):
- a taste cluster t (uneven sizes) that sets an affinity over categories (Dirichlet, tilted per customer),
  over brands (log-normal), a preferred price band, and style t: products of style t are 12x as attractive;
- one owned phone family, drawn by the taste's brand affinity, and for 45 % a laptop family likewise;
- a signup time uniform over the two years before `now`; activity starts at max(signup, now - days);
- churn ground truth: about 30 % churn at a uniform time between their first activity and four weeks before
  `now`; their activity decays linearly to 10 % over the six weeks before `churn_at` and stops there. The
  others stay active at a constant rate until `now`.

Events over the last `days` days, a Poisson process per customer (rate log-normal, about 15 a year):
- views: a category by the customer's affinity, then an item of it by popularity x brand affinity x
  price-band fit x style match x compatibility (accessories fitting none of their families x0.05,
  phones/laptops of a family they do not own x0.3);
- purchases (about 1 in 6 views): a view converts with a per-category probability (accessories and plans more
  often than devices), 2x for the customer's style, never for an accessory that fits none of their families
  nor for a phone/laptop of a family they do not own (they upgrade within their family); minutes to days after
  the view; for 15 % of purchases the view is dropped (bought directly);
- returns: 4 % of purchases, 2-30 days later; ratings: 30 % of kept purchases, 1-21 days later, 1-5 stars
  centred one star higher for the customer's style. Nothing happens after a churned customer's `churn_at`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterator, Mapping

import numpy as np

from bot.db.models import BEHAVIOUR_KINDS
from bot.personalization.data import (
    EVENT_WEIGHTS,
    Interactions,
    ItemCatalog,
    TrainingData,
    rating_weight,
    returned_purchases,
)
from bot.shop.catalog import CATEGORY_BRANDS, CATEGORY_NAMES, DEVICE_CATEGORIES, DEVICE_FAMILIES

DAY = 86_400
DEFAULT_NOW = 1_793_534_400  # 2026-11-01 12:00 UTC, the demo shop's anchor: reproducible without a clock

# Category -> share of the catalog, median price, chance that a view of it converts into a purchase, the words
# its product texts draw from, and the nouns its product names use.
_SHARE = {
    "phones": 0.07, "laptops": 0.05, "tablets": 0.04, "smartwatches": 0.04, "headphones": 0.10,
    "phone_accessories": 0.28, "chargers_cables": 0.20, "laptop_accessories": 0.16,
    "mobile_plans": 0.03, "home_internet": 0.03,
}
_MEDIAN_PRICE = {
    "phones": 700.0, "laptops": 1200.0, "tablets": 500.0, "smartwatches": 300.0, "headphones": 150.0,
    "phone_accessories": 30.0, "chargers_cables": 25.0, "laptop_accessories": 60.0,
    "mobile_plans": 25.0, "home_internet": 40.0,
}
_BUY_RATE = {
    "phones": 0.04, "laptops": 0.03, "tablets": 0.05, "smartwatches": 0.06, "headphones": 0.10,
    "phone_accessories": 0.16, "chargers_cables": 0.18, "laptop_accessories": 0.12,
    "mobile_plans": 0.10, "home_internet": 0.08,
}
_WORDS = {
    "phones": "smartphone camera display battery 5g storage screen",
    "laptops": "laptop keyboard processor ssd memory display battery",
    "tablets": "tablet screen stylus storage battery display",
    "smartwatches": "watch fitness heart gps strap sensor",
    "headphones": "headphones audio noise cancelling bass wireless earbuds",
    "phone_accessories": "case cover protector magsafe grip shield",
    "chargers_cables": "charger cable usb fast charging adapter",
    "laptop_accessories": "mouse keyboard dock hub sleeve backpack",
    "mobile_plans": "sim data unlimited 5g roaming minutes",
    "home_internet": "broadband fibre router wifi speed connection",
}
_NOUNS = {
    "headphones": ("Earbuds", "Headphones", "Headset"),
    "phone_accessories": ("Case", "Screen Protector", "Grip", "Folio"),
    "chargers_cables": ("Charger", "Cable", "Power Bank", "Charging Pad"),
    "laptop_accessories": ("Mouse", "Dock", "Sleeve", "Backpack", "Keyboard"),
    "mobile_plans": ("SIM Plan",),
    "home_internet": ("Fibre Plan",),
}
# Accessory category -> (device category whose families it fits, share that fits everything).
_FITS = {
    "phone_accessories": ("phones", 0.15),
    "chargers_cables": ("phones", 0.50),
    "laptop_accessories": ("laptops", 0.45),
}
_STYLES = (
    "rugged waterproof tough adventure trail shockproof",
    "sleek slim minimal clean matte thin",
    "gaming rgb performance esports turbo overclocked",
    "business professional secure productivity executive enterprise",
    "value essential basic affordable everyday simple",
    "creative studio colour design artist vivid",
    "sport active fitness training running workout",
    "travel compact portable lightweight journey pocket",
)
_FAMILY_BRAND = {
    "iphone": "Apple", "galaxy": "Samsung", "pixel": "Google", "oneplus": "OnePlus", "moto": "Motorola",
    "macbook": "Apple", "thinkpad": "Lenovo", "xps": "Dell", "hp": "HP", "zenbook": "Asus",
    "ipad": "Apple", "galaxy_tab": "Samsung", "fire": "Amazon", "tab_p": "Lenovo",
    "apple_watch": "Apple", "galaxy_watch": "Samsung", "pixel_watch": "Google", "garmin": "Garmin",
}
_FAMILY_LABEL = {
    "iphone": "iPhone", "oneplus": "OnePlus", "apple_watch": "Watch", "ipad": "iPad", "macbook": "MacBook",
    "xps": "XPS", "hp": "HP", "tab_p": "Tab P",
}

_STYLE_BOOST = 12.0  # products of the customer's own style are this much more attractive
_STYLE_BUY = 2.0  # and a view of one converts this much more often
_BAND_FIT = np.array([1.0, 0.4, 0.15])  # by distance between preferred and actual price band
_STRAY_ACCESSORY = 0.05  # view weight of accessories fitting none of the customer's families
_OTHER_FAMILY_DEVICE = 0.3  # view weight of phones/laptops of families the customer does not own
_EVENTS_PER_YEAR = 15.0
_CHURN_SHARE = 0.30
_CHURN_DECAY = 42 * DAY
_DIRECT_PURCHASE = 0.15
_RETURN_SHARE = 0.04
_RATING_SHARE = 0.30
_OWNED_CATEGORIES = ("phones", "laptops")  # the device families customers own (accessories fit these)

_KINDS = np.asarray(BEHAVIOUR_KINDS)
_VIEW, _PURCHASE, _RETURN, _RATING = (BEHAVIOUR_KINDS.index(k) for k in ("view", "purchase", "return", "rating"))


@dataclass(frozen=True)
class SyntheticEvents:
    """Event k: customer `users[k]` did `kinds[k]` to product `items[k]` at `timestamps[k]` (sorted by time)."""

    users: np.ndarray  # int32 customer index
    items: np.ndarray  # int32 product index
    kinds: np.ndarray  # str, from BEHAVIOUR_KINDS
    values: np.ndarray  # float64: the rating for ratings, NaN otherwise
    timestamps: np.ndarray  # int64 Unix seconds

    def __len__(self) -> int:
        return len(self.users)


@dataclass(frozen=True)
class ViewModel:
    """The generator's own view distribution: P(item | customer) = P(category | customer) x P(item | category,
    taste, owned families). Ranking by it is the best any recommender can do at predicting a customer's next
    views: the benchmark's ceiling, not a method (it reads the ground truth)."""

    category_affinity: np.ndarray  # (n_customers, n_categories)
    combo: np.ndarray  # int32 per customer: their row of item_given_category
    item_given_category: np.ndarray  # (n_combos, n_items), sums to 1 within each category
    item_category: np.ndarray  # category index per item

    def probabilities(self, customer: int) -> np.ndarray:
        return self.category_affinity[customer, self.item_category] * self.item_given_category[self.combo[customer]]


@dataclass(frozen=True)
class SyntheticShop:
    """A generated shop with its ground truth (taste, owned families, churn) beside the observable events."""

    catalog: ItemCatalog
    customer_ids: np.ndarray  # object array of str
    events: SyntheticEvents
    taste: np.ndarray  # int32 taste cluster per customer
    product_style: np.ndarray  # int32 style per product (= the taste it appeals to)
    owned_families: tuple[frozenset[str], ...]
    owned_devices: np.ndarray  # int32 (n_customers, 2): a phone / laptop product of each owned family, -1 none
    signup_at: np.ndarray  # int64 Unix seconds
    churned: np.ndarray  # bool
    churn_at: np.ndarray  # int64 Unix seconds, -1 for customers who stay
    now: int
    params: Mapping[str, Any] = field(default_factory=dict)
    view_model: ViewModel | None = field(default=None, repr=False)

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def amounts(self) -> np.ndarray:
        """Per event, the price of its product (what a purchase or a return was worth)."""
        return self.catalog.prices[self.events.items]

    def interactions(self) -> Interactions:
        """Training signal: views, mentions, clicks, kept purchases and ratings, weighted like the live shop.

        Returns, impressions and dismissals are no signal, and a purchase that was returned does not count.
        """
        ev = self.events
        weights = np.zeros(len(ev), dtype=np.float32)
        for kind, weight in EVENT_WEIGHTS.items():
            weights[ev.kinds == kind] = weight
        is_rating = ev.kinds == "rating"
        ratings = ev.values[is_rating]
        levels, inverse = np.unique(ratings, return_inverse=True)
        weights[is_rating] = np.array([rating_weight(v) for v in levels], dtype=np.float32)[inverse]
        weights[returned_purchases(ev.users, ev.items, ev.kinds, ev.timestamps)] = 0.0
        keep = weights > 0
        return Interactions(
            user_ids=self.customer_ids,
            item_ids=self.catalog.item_ids,
            users=ev.users[keep].astype(np.int32),
            items=ev.items[keep].astype(np.int32),
            weights=weights[keep],
            timestamps=ev.timestamps[keep],
        )

    def describe(self) -> str:
        """One paragraph a benchmark prints so its figures say what data they come from."""
        p = self.params
        ev = self.events
        purchases = int((ev.kinds == "purchase").sum())
        return (
            f"synthetic shop (seed {p['seed']}): {p['n_customers']:,} customers in {p['n_tastes']} taste clusters "
            f"(own style x{_STYLE_BOOST:g}, brand, category and price-band affinity), {p['n_products']:,} products "
            f"(Zipf 0.9 popularity; accessories fit owned phone/laptop families), {p['days']} days: "
            f"{len(ev):,} events, {len(ev) / self.n_customers:.1f} per customer, {purchases:,} purchases; "
            f"{self.churned.mean():.0%} of customers churn"
        )

    def training_data(self) -> TrainingData:
        return TrainingData(interactions=self.interactions(), catalog=self.catalog, now=self.now)

    # --- rows for the database (column names of bot/db/models.py) ------------------------------------------

    def product_rows(self, first_id: int = 1) -> Iterator[dict[str, Any]]:
        """`products` rows with explicit ids `first_id`.. (on PostgreSQL, move the id sequence past them)."""
        cat = self.catalog
        for i in range(cat.n_items):
            yield {
                "id": first_id + i,
                "sku": cat.item_ids[i],
                "name": cat.names[i],
                "category": cat.categories[i],
                "brand": cat.brands[i],
                "price": Decimal(f"{cat.prices[i]:.2f}"),
                "description": cat.text[i][len(cat.names[i]) + 1:],
                "attributes": {"synthetic": True, "style": int(self.product_style[i]), "fits": sorted(cat.fits[i])},
                "family": cat.family[i],
                "active": bool(cat.active[i]),
            }

    def customer_rows(self, first_id: int = 1) -> Iterator[dict[str, Any]]:
        """`customers` rows with explicit ids `first_id`.. (on PostgreSQL, move the id sequence past them)."""
        created = _datetimes(self.signup_at)
        for u, external_id in enumerate(self.customer_ids):
            number = external_id.split("-")[-1]
            yield {
                "id": first_id + u,
                "external_id": external_id,
                "name": f"Synthetic Customer {number}",
                "email": f"syn-{number}@example.com",
                "phone": None,
                "created_at": created[u],
            }

    def device_rows(self, first_customer_id: int = 1, first_product_id: int = 1) -> Iterator[dict[str, Any]]:
        """`customer_devices` rows: one device product per owned family, acquired at signup."""
        created = _datetimes(self.signup_at)
        for u, slot in zip(*np.nonzero(self.owned_devices >= 0)):
            yield {
                "customer_id": first_customer_id + int(u),
                "product_id": first_product_id + int(self.owned_devices[u, slot]),
                "acquired_at": created[u],
                "serial_number": f"{self.customer_ids[u]}-D{slot + 1}",
                "order_id": None,
            }

    def event_rows(
        self, first_customer_id: int = 1, first_product_id: int = 1, chunk: int = 50_000
    ) -> Iterator[dict[str, Any]]:
        """`behaviour_events` rows (`source="synthetic"`, `external_id` = the event's number, so re-loads are
        idempotent); `value` is the rating, or the quantity 1 for purchases and returns."""
        ev = self.events
        quantity = np.where(np.isin(ev.kinds, ("purchase", "return")), 1.0, np.nan)
        values = np.where(np.isnan(ev.values), quantity, ev.values)
        for start in range(0, len(ev), chunk):
            stop = min(start + chunk, len(ev))
            occurred = _datetimes(ev.timestamps[start:stop])
            users = (ev.users[start:stop] + first_customer_id).tolist()
            items = ev.items[start:stop]
            products = (items + first_product_id).tolist()
            categories = self.catalog.categories[items].tolist()
            kinds = ev.kinds[start:stop].tolist()
            vals = [None if v != v else v for v in values[start:stop].tolist()]
            for k in range(stop - start):
                yield {
                    "customer_id": users[k],
                    "product_id": products[k],
                    "category": categories[k],
                    "kind": kinds[k],
                    "value": vals[k],
                    "occurred_at": occurred[k],
                    "channel": "web",
                    "strategy": None,
                    "request_id": None,
                    "solicited": None,
                    "source": "synthetic",
                    "external_id": f"SYN-E{start + k + 1:09d}",
                }


def generate_shop(
    n_customers: int = 20_000,
    n_products: int = 2_000,
    n_tastes: int = 8,
    days: int = 365,
    seed: int = 7,
    now: int | None = None,
) -> SyntheticShop:
    """Generate the shop described in the module docstring; the same arguments give the same shop."""
    categories = tuple(CATEGORY_NAMES)
    if n_products < len(categories):
        raise ValueError(f"n_products must be at least {len(categories)} (one per category)")
    if n_customers < 1 or n_tastes < 1 or days < 1:
        raise ValueError("n_customers, n_tastes and days must be positive")
    now = DEFAULT_NOW if now is None else int(now)
    rng = np.random.default_rng(seed)
    products = _make_products(rng, categories, n_products, n_tastes)
    tastes = _make_tastes(rng, products, n_tastes)
    customers = _make_customers(rng, products, tastes, n_customers, days, now)
    view_model = _view_model(products, tastes, customers)
    events = _make_events(rng, products, customers, view_model)
    params = {
        "n_customers": n_customers, "n_products": n_products, "n_tastes": n_tastes, "days": days, "seed": seed,
        "now": now,
    }
    return SyntheticShop(
        catalog=products.catalog,
        customer_ids=np.array([f"SYN-{u + 1:06d}" for u in range(n_customers)], dtype=object),
        events=events,
        taste=customers.taste,
        product_style=products.style,
        owned_families=customers.owned_families(),
        owned_devices=customers.devices,
        signup_at=customers.signup,
        churned=customers.churned,
        churn_at=np.where(customers.churned, customers.end, -1).astype(np.int64),
        now=now,
        params=params,
        view_model=view_model,
    )


# --------------------------------------------------------------------------------------------------------------
# Generation steps
# --------------------------------------------------------------------------------------------------------------

_FAMILIES = tuple(DEVICE_FAMILIES)  # bit f of a fits/owned mask = _FAMILIES[f]


@dataclass(frozen=True)
class _Products:
    catalog: ItemCatalog
    category: np.ndarray  # int category index, non-decreasing
    category_start: np.ndarray  # first item of each category (len n_categories + 1)
    brand: np.ndarray  # int index into `brands`
    brands: tuple[str, ...]
    band: np.ndarray  # 0 budget, 1 mid, 2 premium (tertile of price within the category)
    style: np.ndarray
    popularity: np.ndarray
    fits_mask: np.ndarray  # int64 bitmask of families; 0 fits everything
    owned_family: np.ndarray  # bitmask of the item's family if it is a phone/laptop, else 0
    buy_rate: np.ndarray


@dataclass(frozen=True)
class _Tastes:
    size: np.ndarray  # share of customers
    category: np.ndarray  # (n_tastes, n_categories) affinity
    brand: np.ndarray  # (n_tastes, n_brands)
    band: np.ndarray  # preferred price band


@dataclass(frozen=True)
class _Customers:
    taste: np.ndarray
    phone: np.ndarray  # family index into _FAMILIES
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
        phones = [_FAMILIES[f] for f in self.phone]
        laptops = [_FAMILIES[f] if f >= 0 else None for f in self.laptop]
        return tuple(frozenset(f for f in pair if f) for pair in zip(phones, laptops))


def _counts(shares: np.ndarray, total: int) -> np.ndarray:
    """Largest-remainder rounding with at least one per category."""
    extra = total - len(shares)
    raw = shares / shares.sum() * extra
    counts = np.floor(raw).astype(int)
    counts[np.argsort(counts - raw)[: extra - counts.sum()]] += 1
    return counts + 1


def _make_products(rng: np.random.Generator, categories: tuple[str, ...], n: int, n_tastes: int) -> _Products:
    counts = _counts(np.array([_SHARE.get(c, 0.05) for c in categories]), n)
    category = np.repeat(np.arange(len(categories)), counts)
    category_start = np.r_[0, np.cumsum(counts)]
    brand_names = np.empty(n, dtype=object)
    family = np.full(n, None, dtype=object)
    prices = np.empty(n)
    band = np.empty(n, dtype=np.int32)
    fits_mask = np.zeros(n, dtype=np.int64)
    owned_family = np.zeros(n, dtype=np.int64)
    for c, cat in enumerate(categories):
        lo, hi = category_start[c], category_start[c + 1]
        k = hi - lo
        families = [f for f in _FAMILIES if DEVICE_FAMILIES[f] == cat]
        if families:
            # Every family gets a device when the category has room for one of each; the rest at random.
            picked = np.r_[rng.permutation(len(families)), rng.integers(len(families), size=k)][:k]
            family[lo:hi] = np.array(families, dtype=object)[picked]
            brand_names[lo:hi] = [_FAMILY_BRAND.get(f, CATEGORY_BRANDS.get(cat, ("Tandem",))[0]) for f in family[lo:hi]]
            if cat in _OWNED_CATEGORIES:
                owned_family[lo:hi] = 1 << np.array([_FAMILIES.index(f) for f in families])[picked]
        else:
            choices = np.array(CATEGORY_BRANDS.get(cat, ("Tandem",)), dtype=object)
            brand_names[lo:hi] = choices[rng.integers(len(choices), size=k)]
        prices[lo:hi] = np.round(_MEDIAN_PRICE.get(cat, 50.0) * rng.lognormal(0.0, 0.35, size=k), 2)
        band[lo:hi] = np.argsort(np.argsort(prices[lo:hi])) * 3 // k
        if cat in _FITS:
            device_category, universal = _FITS[cat]
            bits = np.array([1 << f for f, name in enumerate(_FAMILIES) if DEVICE_FAMILIES[name] == device_category])
            first = bits[rng.integers(len(bits), size=k)]
            second = np.where(rng.random(k) < 0.3, bits[rng.integers(len(bits), size=k)], 0)
            fits_mask[lo:hi] = np.where(rng.random(k) < universal, 0, first | second)
    style = rng.integers(n_tastes, size=n).astype(np.int32)
    popularity = 1.0 / (rng.permutation(n) + 1.0) ** 0.9
    brands = tuple(sorted(set(brand_names)))
    brand = np.searchsorted(np.array(brands, dtype=object), brand_names).astype(np.int32)
    fits = tuple(frozenset(_FAMILIES[f] for f in range(len(_FAMILIES)) if m >> f & 1) for m in fits_mask.tolist())
    names, texts = _texts(rng, categories, category, brand_names, family, fits, style)
    catalog = ItemCatalog(
        item_ids=np.array([f"SYN-P{i + 1:06d}" for i in range(n)], dtype=object),
        names=names,
        categories=np.array(categories, dtype=object)[category],
        brands=brand_names,
        prices=prices,
        text=texts,
        family=family,
        fits=fits,
        active=np.ones(n, dtype=bool),
        device_categories=frozenset(DEVICE_CATEGORIES),
    )
    buy_rate = np.array([_BUY_RATE.get(c, 0.1) for c in categories])[category]
    return _Products(catalog, category, category_start, brand, brands, band, style, popularity, fits_mask,
                     owned_family, buy_rate)


def _style_words(style: int) -> list[str]:
    if style < len(_STYLES):
        return _STYLES[style].split()
    return [f"style{style}{suffix}" for suffix in "abcdef"]


def _label(family: str) -> str:
    return _FAMILY_LABEL.get(family, family.replace("_", " ").title())


def _texts(
    rng: np.random.Generator,
    categories: tuple[str, ...],
    category: np.ndarray,
    brands: np.ndarray,
    family: np.ndarray,
    fits: tuple[frozenset[str], ...],
    style: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Names and texts (name + description). One pass over products at generation, not on a hot path."""
    n = len(category)
    n_styles = int(style.max()) + 1
    style_words = [_style_words(s) for s in range(n_styles)]
    picks = rng.integers(6, size=(n, 4))  # word positions: 1 for the name, 3 for the description
    cat_picks = rng.integers(1 << 30, size=(n, 4))
    stray = np.where(rng.random(n) < 0.15, rng.integers(n_styles, size=n), -1)
    models = rng.integers(100, 1000, size=n)
    names, texts = [], []
    for i in range(n):
        cat = categories[category[i]]
        words = style_words[style[i]]
        cat_words = _WORDS.get(cat, cat.replace("_", " ")).split()
        headline = words[picks[i, 0]].title()
        if family[i] is not None:
            label = _label(family[i])
            line = label if label.startswith(brands[i]) else f"{brands[i]} {label}"
            name = f"{line} {headline} {models[i]}"
        else:
            nouns = _NOUNS.get(cat, (CATEGORY_NAMES[cat],))
            name = f"{brands[i]} {nouns[cat_picks[i, 3] % len(nouns)]} {headline}"
            if len(fits[i]) == 1:
                name += f" for {_label(next(iter(fits[i])))}"
        description = [cat_words[p % len(cat_words)] for p in cat_picks[i, :3]]
        description += [brands[i].lower()] + [words[p] for p in picks[i, 1:]]
        if stray[i] >= 0:
            description.append(style_words[stray[i]][picks[i, 0]])
        names.append(name)
        texts.append(f"{name} {' '.join(description)}")
    return np.array(names, dtype=object), np.array(texts, dtype=object)


def _make_tastes(rng: np.random.Generator, products: _Products, n_tastes: int) -> _Tastes:
    n_categories = len(products.category_start) - 1
    shares = np.diff(products.category_start) / products.category_start[-1]
    return _Tastes(
        size=rng.dirichlet(np.full(n_tastes, 4.0)),
        category=0.5 * shares + 0.5 * rng.dirichlet(np.ones(n_categories), size=n_tastes),
        brand=rng.lognormal(0.0, 0.8, size=(n_tastes, len(products.brands))),
        band=rng.integers(3, size=n_tastes),
    )


def _sample_rows(cdf: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Column drawn for each (row, uniform) pair from row-wise cumulative distributions, in one search."""
    n_rows, n_cols = cdf.shape
    flat = (cdf + np.arange(n_rows)[:, None]).ravel()
    pos = np.searchsorted(flat, rows + u, side="right") - rows * n_cols
    return np.clip(pos, 0, n_cols - 1)


def _family_choice(
    rng: np.random.Generator, tastes: _Tastes, products: _Products, taste: np.ndarray, device_category: str
) -> np.ndarray:
    """A family of `device_category` per customer, drawn by their taste's affinity for the family's brand."""
    families = [f for f, name in enumerate(_FAMILIES) if DEVICE_FAMILIES[name] == device_category]
    brand_index = {b: k for k, b in enumerate(products.brands)}
    weights = np.stack(
        [tastes.brand[:, brand_index[_FAMILY_BRAND[_FAMILIES[f]]]] if _FAMILY_BRAND[_FAMILIES[f]] in brand_index
         else np.ones(len(tastes.size)) for f in families],
        axis=1,
    )
    cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    return np.array(families)[_sample_rows(cdf, taste, rng.random(len(taste)))]


def _make_customers(
    rng: np.random.Generator, products: _Products, tastes: _Tastes, n: int, days: int, now: int
) -> _Customers:
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
    churned = (rng.random(n) < _CHURN_SHARE) & (latest_churn - start > 14 * DAY)
    churn_at = start + (rng.uniform(0.05, 1.0, size=n) * (latest_churn - start)).astype(np.int64)
    rate = rng.lognormal(np.log(_EVENTS_PER_YEAR) - 0.32, 0.8, size=n) / (365 * DAY)

    devices = np.full((n, 2), -1, dtype=np.int32)
    for slot, owned in enumerate((phone, laptop)):
        devices[:, slot] = _device_of_family(rng, products, owned)
    return _Customers(
        taste=taste, phone=phone, laptop=laptop, owned_mask=owned_mask, devices=devices,
        category_cdf=np.cumsum(affinity, axis=1), rate=rate, signup=signup.astype(np.int64),
        start=start.astype(np.int64), end=np.where(churned, churn_at, now).astype(np.int64), churned=churned,
    )


def _device_of_family(rng: np.random.Generator, products: _Products, family: np.ndarray) -> np.ndarray:
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


def _view_model(products: _Products, tastes: _Tastes, customers: _Customers) -> ViewModel:
    combos, combo_of = np.unique(np.stack([customers.taste, customers.owned_mask]), axis=1, return_inverse=True)
    weights = _view_weights(products, tastes, combos[0], combos[1])
    per_category = np.add.reduceat(weights, products.category_start[:-1], axis=1)
    return ViewModel(
        category_affinity=np.diff(customers.category_cdf, axis=1, prepend=0.0),
        combo=combo_of.astype(np.int32),
        item_given_category=weights / per_category[:, products.category],
        item_category=products.category,
    )


def _make_events(
    rng: np.random.Generator, products: _Products, customers: _Customers, view_model: ViewModel
) -> SyntheticEvents:
    # Intents: a Poisson number per customer, uniform over their active span, thinned before churn.
    span = (customers.end - customers.start).astype(np.float64)
    n_intents = rng.poisson(customers.rate * span)
    users = np.repeat(np.arange(len(span), dtype=np.int32), n_intents)
    t = customers.start[users] + (rng.random(len(users)) * span[users]).astype(np.int64)
    fade = np.where(customers.churned[users], (customers.end[users] - t) / _CHURN_DECAY, 1.0)
    keep = rng.random(len(users)) < np.clip(fade, 0.1, 1.0)
    users, t = users[keep], t[keep]

    # What: a category by personal affinity, then an item of it by the customer's (taste, owned families).
    category = _sample_rows(customers.category_cdf, users, rng.random(len(users)))
    p = view_model.item_given_category
    n_items = p.shape[1]
    total = np.cumsum(p, axis=1)
    before = np.concatenate([np.zeros((len(p), 1)), total[:, products.category_start[1:-1] - 1]], axis=1)
    within = total - before[:, products.category]  # cumulative within each category, ends at 1
    combo = view_model.combo[users]
    n_categories = len(products.category_start) - 1
    offsets = within + (np.arange(len(p))[:, None] * n_categories + products.category[None, :])
    flat_pos = np.searchsorted(offsets.ravel(), combo * n_categories + category + rng.random(len(users)), side="right")
    first, last = products.category_start[category], products.category_start[category + 1] - 1
    items = np.clip(flat_pos - combo * n_items, first, last).astype(np.int32)

    # Purchases: some views convert, within the rules (own families' accessories, upgrades within family).
    owned = customers.owned_mask[users]
    fits = products.fits_mask[items]
    device_family = products.owned_family[items]
    allowed = ((fits == 0) | (fits & owned != 0)) & ((device_family == 0) | (device_family & owned != 0))
    in_style = products.style[items] == customers.taste[users]
    p_buy = products.buy_rate[items] * np.where(in_style, _STYLE_BUY, 1.0) * allowed
    bought = np.flatnonzero(rng.random(len(users)) < p_buy)
    t_buy = t[bought] + 60 + rng.exponential(0.5 * DAY, size=len(bought)).astype(np.int64)
    bought_ok = t_buy < customers.end[users[bought]]
    bought, t_buy = bought[bought_ok], t_buy[bought_ok]
    direct = bought[rng.random(len(bought)) < _DIRECT_PURCHASE]
    view_kept = np.ones(len(users), dtype=bool)
    view_kept[direct] = False

    # Returns and ratings follow purchases; nothing after the customer's end.
    end_b = customers.end[users[bought]]
    t_ret = t_buy + rng.integers(2 * DAY, 30 * DAY, size=len(bought))
    returned = (rng.random(len(bought)) < _RETURN_SHARE) & (t_ret < end_b)
    t_rate = t_buy + rng.integers(1 * DAY, 21 * DAY, size=len(bought))
    rated = ~returned & (rng.random(len(bought)) < _RATING_SHARE) & (t_rate < end_b)
    stars = np.clip(np.rint(rng.normal(3.3 + in_style[bought], 1.0)), 1, 5)

    parts = [
        (users[view_kept], items[view_kept], _VIEW, np.nan, t[view_kept]),
        (users[bought], items[bought], _PURCHASE, np.nan, t_buy),
        (users[bought[returned]], items[bought[returned]], _RETURN, np.nan, t_ret[returned]),
        (users[bought[rated]], items[bought[rated]], _RATING, stars[rated], t_rate[rated]),
    ]
    all_users = np.concatenate([p[0] for p in parts]).astype(np.int32)
    all_items = np.concatenate([p[1] for p in parts]).astype(np.int32)
    kinds = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int8) for p in parts])
    values = np.concatenate([np.broadcast_to(np.asarray(p[3], dtype=np.float64), len(p[0])) for p in parts])
    stamps = np.concatenate([p[4] for p in parts]).astype(np.int64)
    order = np.lexsort((kinds, all_users, stamps))
    return SyntheticEvents(
        users=all_users[order],
        items=all_items[order],
        kinds=_KINDS[kinds[order]],
        values=values[order],
        timestamps=stamps[order],
    )


def _view_weights(products: _Products, tastes: _Tastes, taste: np.ndarray, owned: np.ndarray) -> np.ndarray:
    """(n_combos, n_items) attractiveness of each item to a customer of each (taste, owned families) pair."""
    fits = products.fits_mask[None, :]
    device_family = products.owned_family[None, :]
    owned = owned[:, None]
    compat = np.where((fits != 0) & (fits & owned == 0), _STRAY_ACCESSORY, 1.0)
    compat *= np.where((device_family != 0) & (device_family & owned == 0), _OTHER_FAMILY_DEVICE, 1.0)
    return (
        products.popularity[None, :]
        * tastes.brand[taste][:, products.brand]
        * _BAND_FIT[np.abs(tastes.band[taste][:, None] - products.band[None, :])]
        * np.where(products.style[None, :] == taste[:, None], _STYLE_BOOST, 1.0)
        * compat
    )


def _datetimes(timestamps: np.ndarray) -> list[datetime]:
    """Unix seconds -> naive UTC datetimes (the database's convention), in one numpy conversion."""
    return np.asarray(timestamps, dtype="datetime64[s]").astype(object).tolist()
