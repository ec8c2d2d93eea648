"""The word lists of the shop's text matching, read once from words.yml (no word lists in code)."""

from __future__ import annotations

from pathlib import Path

import yaml

WORDS_FILE = Path(__file__).resolve().parent / "words.yml"

_WORDS = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))

STOPWORDS: frozenset[str] = frozenset(_WORDS["stopwords"])  # query words that name nothing (search)
FILLER: frozenset[str] = frozenset(_WORDS["filler"])  # words of an order change that name no product
NOT_AN_ITEM: frozenset[str] = frozenset(_WORDS["not_an_item"])  # words that say nothing about which order
FEEDBACK_REQUEST: frozenset[str] = frozenset(_WORDS["feedback_request"])  # asking to give feedback, not giving it
# slug -> what people call the category
CATEGORY_SYNONYMS: dict[str, tuple[str, ...]] = {
    slug: tuple(phrases) for slug, phrases in _WORDS["category_synonyms"].items()
}
