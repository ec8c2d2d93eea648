"""Reasons a customer understands, from the recommender's reason codes."""

from __future__ import annotations

from collections.abc import Mapping

from bot.personalization.recommenders.base import (
    REASON_BOUGHT,
    REASON_FITS,
    REASON_POPULAR,
    REASON_SEGMENT,
    REASON_SIMILAR,
)

# How the customer met the item a "because you ..." reason refers to.
_VERBS = {
    "purchase": "bought",
    "rating": "rated",
    "click": "looked at",
    "view": "looked at",
    "mention": "asked about",
}


def reason_sentence(
    code: str,
    *,
    item_name: str | None = None,
    item_kind: str | None = None,
    device_name: str | None = None,
    accessory_of_item: bool = False,
) -> str:
    """ "because you bought the MacBook Air 13", "fits your iPhone 15", "popular with customers like you".

    `accessory_of_item`: the recommended item is an accessory of the item the reason names (a case for the
    phone under discussion): "goes with", not "similar to"."""
    if accessory_of_item and item_name and code in (REASON_SIMILAR, REASON_BOUGHT):
        return f"goes with the {item_name}"
    if code == REASON_BOUGHT and item_name:
        return f"because you {_VERBS.get(item_kind or 'purchase', 'bought')} the {item_name}"
    if code == REASON_SIMILAR and item_name:
        return f"similar to the {item_name}"
    if code == REASON_FITS:
        return f"fits your {device_name}" if device_name else "fits a device you own"
    if code == REASON_SEGMENT:
        return "popular with customers like you"
    return "one of our best sellers right now"


def strongest_kinds(kinds_by_item: Mapping[int, list[str]]) -> dict[int, str]:
    """Per item, the strongest way the customer met it (a purchase beats a view)."""
    order = ["purchase", "rating", "click", "mention", "view"]
    return {
        item: min(kinds, key=lambda k: order.index(k) if k in order else len(order))
        for item, kinds in kinds_by_item.items()
        if kinds
    }


__all__ = ["reason_sentence", "strongest_kinds", "REASON_POPULAR"]
