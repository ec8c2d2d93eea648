"""The synthetic catalog: products by category share, with families, fits, brands, prices, styles and texts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.personalization.synthetic.parameters import (
    BUY_RATE,
    FAMILIES,
    FAMILY_BRAND,
    FAMILY_LABEL,
    FITS,
    MEDIAN_PRICE,
    NOUNS,
    OWNED_CATEGORIES,
    SHARE,
    STYLES,
    WORDS,
)
from bot.personalization.training_data import ItemCatalog
from bot.shop.catalog import CATEGORY_BRANDS, CATEGORY_NAMES, DEVICE_CATEGORIES, DEVICE_FAMILIES


@dataclass(frozen=True)
class Products:
    """The catalog plus the hidden per-product facts the customers and events are drawn from."""

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


def _counts(shares: np.ndarray, total: int) -> np.ndarray:
    """Largest-remainder rounding with at least one per category."""
    extra = total - len(shares)
    raw = shares / shares.sum() * extra
    counts = np.floor(raw).astype(int)
    counts[np.argsort(counts - raw)[: extra - counts.sum()]] += 1
    return counts + 1


def make_products(rng: np.random.Generator, categories: tuple[str, ...], n: int, n_tastes: int) -> Products:
    """`n` products over `categories` in their catalog shares (see the package docstring)."""
    counts = _counts(np.array([SHARE.get(c, 0.05) for c in categories]), n)
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
        families = [f for f in FAMILIES if DEVICE_FAMILIES[f] == cat]
        if families:
            # Every family gets a device when the category has room for one of each; the rest at random.
            picked = np.r_[rng.permutation(len(families)), rng.integers(len(families), size=k)][:k]
            family[lo:hi] = np.array(families, dtype=object)[picked]
            brand_names[lo:hi] = [FAMILY_BRAND.get(f, CATEGORY_BRANDS.get(cat, ("Tandem",))[0]) for f in family[lo:hi]]
            if cat in OWNED_CATEGORIES:
                owned_family[lo:hi] = 1 << np.array([FAMILIES.index(f) for f in families])[picked]
        else:
            choices = np.array(CATEGORY_BRANDS.get(cat, ("Tandem",)), dtype=object)
            brand_names[lo:hi] = choices[rng.integers(len(choices), size=k)]
        prices[lo:hi] = np.round(MEDIAN_PRICE.get(cat, 50.0) * rng.lognormal(0.0, 0.35, size=k), 2)
        band[lo:hi] = np.argsort(np.argsort(prices[lo:hi])) * 3 // k
        if cat in FITS:
            device_category, universal = FITS[cat]
            bits = np.array([1 << f for f, name in enumerate(FAMILIES) if DEVICE_FAMILIES[name] == device_category])
            first = bits[rng.integers(len(bits), size=k)]
            second = np.where(rng.random(k) < 0.3, bits[rng.integers(len(bits), size=k)], 0)
            fits_mask[lo:hi] = np.where(rng.random(k) < universal, 0, first | second)
    style = rng.integers(n_tastes, size=n).astype(np.int32)
    popularity = 1.0 / (rng.permutation(n) + 1.0) ** 0.9
    brands = tuple(sorted(set(brand_names)))
    brand = np.searchsorted(np.array(brands, dtype=object), brand_names).astype(np.int32)
    fits = tuple(frozenset(FAMILIES[f] for f in range(len(FAMILIES)) if m >> f & 1) for m in fits_mask.tolist())
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
    buy_rate = np.array([BUY_RATE.get(c, 0.1) for c in categories])[category]
    return Products(
        catalog, category, category_start, brand, brands, band, style, popularity, fits_mask, owned_family, buy_rate
    )


def _style_words(style: int) -> list[str]:
    if style < len(STYLES):
        return STYLES[style].split()
    return [f"style{style}{suffix}" for suffix in "abcdef"]


def _label(family: str) -> str:
    return FAMILY_LABEL.get(family, family.replace("_", " ").title())


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
        cat_words = WORDS.get(cat, cat.replace("_", " ")).split()
        headline = words[picks[i, 0]].title()
        if family[i] is not None:
            label = _label(family[i])
            line = label if label.startswith(brands[i]) else f"{brands[i]} {label}"
            name = f"{line} {headline} {models[i]}"
        else:
            nouns = NOUNS.get(cat, (CATEGORY_NAMES[cat],))
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
