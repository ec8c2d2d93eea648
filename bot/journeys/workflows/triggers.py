"""Which workflow a customer's report starts, from each workflow's `problem:` block.

A workflow matches when the message's intent is one of its `intents` and, if it lists `keywords` or
`entities`, at least one of them is in the message (a one-word keyword of 6 letters or more also when typed
with one typo: "intenet"). A match on keywords or entities beats a workflow that
matches on the intent alone ("my router is down" is `no_internet`, not a generic problem workflow); among
equals the first by workflow id wins, so the choice is stable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.journeys.types import UserInput
from bot.journeys.workflows.schema import Trigger, Workflow

# A keyword this long also matches a word one typo away from it ("intenet", "interent" for "internet").
TYPO_MIN_LENGTH = 6


def _one_typo_apart(word: str, keyword: str) -> bool:
    """One letter added, dropped, changed, or two neighbours swapped (the optimal string alignment distance 1)."""
    if word == keyword or abs(len(word) - len(keyword)) > 1:
        return word == keyword
    if len(word) == len(keyword):
        diffs = [i for i, (a, b) in enumerate(zip(word, keyword)) if a != b]
        return len(diffs) == 1 or (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and word[diffs[0]] == keyword[diffs[1]]
            and word[diffs[1]] == keyword[diffs[0]]
        )
    short, long_ = sorted((word, keyword), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _has_keyword(text: str, keywords: Iterable[str], typos: bool = True) -> bool:
    lowered = text.lower()
    if any(re.search(rf"(?<!\w){re.escape(k)}(?!\w)", lowered) for k in keywords):
        return True
    if not typos:
        return False
    words = set(re.findall(r"[a-z']+", lowered))
    return any(_one_typo_apart(w, k) for k in keywords if len(k) >= TYPO_MIN_LENGTH and k.isalpha() for w in words)


def _has_entity(user_input: UserInput, trigger: Trigger) -> bool:
    for name, values in trigger.entities.items():
        given = user_input.entities.get(name)
        for value in given if isinstance(given, (list, tuple)) else [given]:
            if value is not None and (not values or str(value).strip().lower() in {v.lower() for v in values}):
                return True
    return False


INTENT_MATCH, KEYWORD_MATCH = 1, 2


def match_score(trigger: Trigger, user_input: UserInput) -> int:
    """0: no match; 1 (`INTENT_MATCH`): the intent alone (no keywords or entities listed); 2 (`KEYWORD_MATCH`):
    intent and keyword/entity. The best of the trigger and its `also` reports."""
    return max([_score(trigger, user_input)] + [_score(other, user_input) for other in trigger.also])


def _score(trigger: Trigger, user_input: UserInput) -> int:
    if user_input.intent not in trigger.intents:
        return 0
    if trigger.unless and _has_keyword(user_input.text or "", trigger.unless, typos=False):
        return 0
    if not trigger.keywords and not trigger.entities:
        return INTENT_MATCH
    if _has_keyword(user_input.text or "", trigger.keywords) or _has_entity(user_input, trigger):
        return KEYWORD_MATCH
    return 0


def match_workflow(workflows: Iterable[Workflow], user_input: UserInput) -> str | None:
    """The id of the workflow the report starts, or None when none fits (the bot answers as before)."""
    best: tuple[int, str] | None = None
    for workflow in sorted(workflows, key=lambda w: w.id):
        score = match_score(workflow.problem, user_input)
        if score and (best is None or score > best[0]):
            best = (score, workflow.id)
    return best[1] if best else None
