"""The synthetic shop's numbers: the catalog it plants (`catalog.yml`) and the strengths of its regularities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from bot.db.models import BEHAVIOUR_KINDS
from bot.shop.catalog import DEVICE_FAMILIES

DAY = 86_400
DEFAULT_NOW = 1_793_534_400  # 2026-11-01 12:00 UTC, the demo shop's anchor: reproducible without a clock

_CATALOG = yaml.safe_load((Path(__file__).with_name("catalog.yml")).read_text(encoding="utf-8"))
_CATEGORIES = _CATALOG["categories"]
# Category -> share of the catalog, median price, chance that a view of it converts into a purchase, the words
# its product texts draw from, and the nouns its product names use.
SHARE: dict[str, float] = {c: float(v["share"]) for c, v in _CATEGORIES.items()}
MEDIAN_PRICE: dict[str, float] = {c: float(v["median_price"]) for c, v in _CATEGORIES.items()}
BUY_RATE: dict[str, float] = {c: float(v["buy_rate"]) for c, v in _CATEGORIES.items()}
WORDS: dict[str, str] = {c: v["words"] for c, v in _CATEGORIES.items()}
NOUNS: dict[str, tuple[str, ...]] = {c: tuple(v["nouns"]) for c, v in _CATEGORIES.items() if "nouns" in v}
# Accessory category -> (device category whose families it fits, share that fits everything).
FITS: dict[str, tuple[str, float]] = {
    c: (v["fits"]["device_category"], float(v["fits"]["universal"])) for c, v in _CATEGORIES.items() if "fits" in v
}
STYLES: tuple[str, ...] = tuple(_CATALOG["styles"])
FAMILY_BRAND: dict[str, str] = dict(_CATALOG["family_brands"])
FAMILY_LABEL: dict[str, str] = dict(_CATALOG["family_labels"])

STYLE_BOOST = 12.0  # products of the customer's own style are this much more attractive
STYLE_BUY = 2.0  # and a view of one converts this much more often
BAND_FIT = np.array([1.0, 0.4, 0.15])  # by distance between preferred and actual price band
STRAY_ACCESSORY = 0.05  # view weight of accessories fitting none of the customer's families
OTHER_FAMILY_DEVICE = 0.3  # view weight of phones/laptops of families the customer does not own
EVENTS_PER_YEAR = 15.0
CHURN_SHARE = 0.30
CHURN_DECAY = 42 * DAY
DIRECT_PURCHASE = 0.15
RETURN_SHARE = 0.04
RATING_SHARE = 0.30
OWNED_CATEGORIES = ("phones", "laptops")  # the device families customers own (accessories fit these)

KINDS = np.asarray(BEHAVIOUR_KINDS)
VIEW, PURCHASE, RETURN, RATING = (BEHAVIOUR_KINDS.index(k) for k in ("view", "purchase", "return", "rating"))
FAMILIES = tuple(DEVICE_FAMILIES)  # bit f of a fits/owned mask = FAMILIES[f]
