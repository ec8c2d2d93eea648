"""Which strategy serves which customer: a deterministic bucket, so a customer sees one strategy throughout
an experiment and strategies can be compared on CTR and conversion (`tandem recs report`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

# Served to customers without consent, whatever their bucket (their behaviour may not be used).
NON_PERSONALIZED = "non_personalized"


def bucket(customer_external_id: str, salt: str, buckets: int = 10_000) -> int:
    """A stable number in [0, buckets) per customer and experiment (sha256, not Python's salted hash)."""
    digest = hashlib.sha256(f"{salt}:{customer_external_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % buckets


def assign_strategy(customer_external_id: str, strategies: Mapping[str, float], salt: str) -> str:
    """The strategy whose share of the bucket range holds this customer's bucket."""
    total = sum(strategies.values())
    point = bucket(customer_external_id, salt) / 10_000 * total
    upper = 0.0
    for name, share in strategies.items():
        upper += share
        if point < upper:
            return name
    return next(reversed(list(strategies)))  # float rounding at the very top of the range
