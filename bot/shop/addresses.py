"""Delivery addresses as customers type them: what can be stored, and the address a request carries with it."""

from __future__ import annotations

import re

MAX_ADDRESS_CHARS = 300
# How customers lead into an address they type ("it's 9 Orchard Road ...", "the new address is ..."): not part of it.
_ADDRESS_LEAD_IN = re.compile(
    r"^(?:(?:ok|okay|sure|yes|yeah)[,!.]?\s+)?(?:(?:the\s+|my\s+)?(?:new\s+)?(?:address|addy)\s*(?:is\s*:?|:)\s*"
    r"|it['’]?s\s+|it\s+is\s+|(?:please\s+)?(?:send|deliver)\s+it\s+to\s+)",
    re.IGNORECASE,
)
# A UK postcode ("YO21 3PU", "gu1 4ex"): the shop delivers in the UK, and without one a request's address is a guess.
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
# Where an address starts: a house number (after a flat or unit when there is one) followed by a word.
_PREMISES = re.compile(
    r"\b(?:(?:flat|apartment|apt|unit|suite)\s+\d+[a-z]?\b[\s,]*)?\d{1,4}[a-z]?\b(?=[\s,]+[^\W\d_])", re.IGNORECASE
)
# The words that lead from a request into its address ("... to 27 Harbour Street", "its 3 station approach").
_INTO_ADDRESS = re.compile(r"\b(?:to|is|it['’]?s|at)\b|:", re.IGNORECASE)


def clean_address(text: str | None) -> str | None:
    """The address as it will be stored (one line, single spaces), or None when the text cannot be one: a
    courier needs a number (house or postcode) and at least a street or town beside it."""
    if not text:
        return None
    lines = (re.sub(r"\s+", " ", line).strip(" ,") for line in text.splitlines())
    address = _ADDRESS_LEAD_IN.sub("", ", ".join(line for line in lines if line)).strip(" ,.")
    words = re.findall(r"[^\W\d_]{2,}", address)
    named = len(words) >= 2 and any(len(word) >= 3 for word in words)  # a street or town, not a postcode alone
    if not (8 <= len(address) <= MAX_ADDRESS_CHARS) or not re.search(r"\d", address) or not named:
        return None
    return address


def address_in_request(text: str | None) -> str | None:
    """The new address a request to change one already holds ("... TD106043 to 27 Harbour Street, Whitby YO21
    3PU"), from its house number to its postcode; None unless the whole address is there, so that the customer
    is asked for it rather than a part of it being stored."""
    if not text or len(text) > 4 * MAX_ADDRESS_CHARS:
        return None
    postcodes = list(_POSTCODE.finditer(text))
    if not postcodes:
        return None
    before = text[: postcodes[-1].start()]
    starts = [m.start() for m in _PREMISES.finditer(before)]
    if not starts:
        return None
    # The first house number after the last lead-in word before a house number ("2 weeks ago ... to 5 Oak Rd").
    lead = max((m.end() for m in _INTO_ADDRESS.finditer(before) if m.end() <= starts[-1]), default=0)
    start = next(s for s in starts if s >= lead)
    return clean_address(text[start : postcodes[-1].end()])
