""" "under £500", "no more than 300 quid", "£1,200 max": the most a customer wants to spend, as a number."""

from __future__ import annotations

import re

_AMOUNT = r"[£$€]?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*(k\b)?\s*(?:pounds?|quid|gbp|dollars?|euros?)?"
_CAP_WORDS = r"(?:under|below|less than|up to|upto|max(?:imum)?|at most|no more than|not more than|within|budget(?: is| of)?|around|about)"
_CAPPED = re.compile(rf"{_CAP_WORDS}\s*{_AMOUNT}", re.IGNORECASE)
_TRAILING_MAX = re.compile(rf"{_AMOUNT}\s*(?:max|maximum|or less|tops|budget)\b", re.IGNORECASE)
_CURRENCY_ONLY = re.compile(r"[£$€]\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*(k\b)?", re.IGNORECASE)


def _number(whole: str, cents: str | None, thousands: str | None) -> float:
    value = float(whole.replace(",", "")) + (float(f"0.{cents}") if cents else 0.0)
    return value * 1000 if thousands else value


def parse_budget(text: str | None) -> float | None:
    """The budget a message states, or None. A bare number without a currency or a cap word is not a budget
    ("my order 104233", "iPhone 15")."""
    if not text:
        return None
    for pattern in (_CAPPED, _TRAILING_MAX, _CURRENCY_ONLY):
        match = pattern.search(text[:2000])
        if match:
            value = _number(*match.groups()[:3])
            return value if value > 0 else None
    return None
