"""The shop's category vocabulary: slugs, display names, brands, device families, and what people call them."""

from __future__ import annotations

import re

from bot.shop.words import CATEGORY_SYNONYMS

# slug -> display name (docs/architecture.md, "Categories").
CATEGORY_NAMES: dict[str, str] = {
    "phones": "Phones",
    "laptops": "Laptops",
    "tablets": "Tablets",
    "smartwatches": "Smartwatches",
    "headphones": "Headphones",
    "phone_accessories": "Phone accessories",
    "chargers_cables": "Chargers and cables",
    "laptop_accessories": "Laptop accessories",
    "mobile_plans": "Mobile plans",
    "home_internet": "Home internet plans",
}

CATEGORY_BRANDS: dict[str, tuple[str, ...]] = {
    "phones": ("Apple", "Samsung", "Google", "OnePlus", "Motorola"),
    "laptops": ("Apple", "Lenovo", "Dell", "HP", "Asus"),
    "tablets": ("Apple", "Samsung", "Lenovo", "Amazon"),
    "smartwatches": ("Apple", "Samsung", "Google", "Garmin"),
    "headphones": ("Apple", "Sony", "Bose", "Samsung", "JBL"),
    "phone_accessories": ("Apple", "Samsung", "Spigen", "OtterBox", "Belkin"),
    "chargers_cables": ("Anker", "Belkin", "Apple", "Samsung", "Ugreen"),
    "laptop_accessories": ("Logitech", "Dell", "Anker", "Targus", "Apple"),
    "mobile_plans": ("Tandem Mobile",),
    "home_internet": ("Tandem Fibre",),
}

# Categories whose products are devices a customer owns (they have a `family`).
DEVICE_CATEGORIES = ("phones", "laptops", "tablets", "smartwatches")

# family -> category of its devices (docs/architecture.md, "Device families").
DEVICE_FAMILIES: dict[str, str] = {
    "iphone": "phones",
    "galaxy": "phones",
    "pixel": "phones",
    "oneplus": "phones",
    "moto": "phones",
    "macbook": "laptops",
    "thinkpad": "laptops",
    "xps": "laptops",
    "hp": "laptops",
    "zenbook": "laptops",
    "ipad": "tablets",
    "galaxy_tab": "tablets",
    "fire": "tablets",
    "tab_p": "tablets",
    "apple_watch": "smartwatches",
    "galaxy_watch": "smartwatches",
    "pixel_watch": "smartwatches",
    "garmin": "smartwatches",
}

ACCESSORY_CATEGORIES = ("phone_accessories", "chargers_cables", "laptop_accessories")
PLAN_CATEGORIES = ("mobile_plans", "home_internet")
# The picture of a product's kind (web/static/products/<name>.svg): categories that share one are mapped.
_PICTURES = {
    "phone_accessories": "accessories",
    "chargers_cables": "accessories",
    "laptop_accessories": "accessories",
    "mobile_plans": "plans",
    "home_internet": "internet",
}


def picture_of(category: str) -> str:
    return _PICTURES.get(category, category)


def singular(word: str) -> str:
    """Crude English singular, enough for shop vocabulary (cases, chargers, batteries, watches)."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def normalise_phrase(text: str) -> str:
    """Lower case, singular words, no punctuation or parenthesised asides: how category phrases compare."""
    text = text.lower().replace("&", " and ")
    text = re.sub(r"\(.*?\)", " ", text)  # "Phone accessories (cases, screen protectors)"
    text = re.sub(r"[-_/.,'’]", " ", text)
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    words = [singular(w) for w in text.split()]
    return " ".join(words)


def _build_category_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for slug, display in CATEGORY_NAMES.items():
        for phrase in (slug, display, *CATEGORY_SYNONYMS.get(slug, ())):
            lookup.setdefault(normalise_phrase(phrase), slug)
    return lookup


_CATEGORY_LOOKUP = _build_category_lookup()


def normalize_category(text: str | None) -> str | None:
    """Map what a customer (or the NLU) calls a category to its slug, or None if it is not one.

    Accepts slugs, display names, singular/plural and common synonyms ("cell phone", "earbuds", "sim only",
    "wifi plan"); a leading "the"/"a"/"my" or a trailing "deals"/"plans" word is ignored.
    """
    if not text or not isinstance(text, str):
        return None
    phrase = normalise_phrase(text)
    if not phrase:
        return None
    candidates = [phrase]
    words = phrase.split()
    if words and words[0] in {"the", "a", "an", "my", "some", "new"}:
        candidates.append(" ".join(words[1:]))
    for candidate in list(candidates):
        parts = candidate.split()
        if len(parts) > 1 and parts[-1] in {"deal", "offer", "product", "item", "option"}:
            candidates.append(" ".join(parts[:-1]))
    for candidate in candidates:
        if candidate in _CATEGORY_LOOKUP:
            return _CATEGORY_LOOKUP[candidate]
    return None


def accessory_kind(word: str | None) -> str | None:
    """The accessory type (products' `attributes.type`) a typed word names: "cases" -> "case", "screen
    protectors" -> "screen_protector", "chargers" -> "charger"; None for a word that names no single type."""
    phrase = normalise_phrase(word or "")
    if not phrase:
        return None
    return "_".join(singular(w) for w in phrase.split())
