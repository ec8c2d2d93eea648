"""Whether to ask a survey now, and which: `config/surveys.yml`'s caps applied to what the customer was asked.

A pure decision on what the store read, so every cap is tested without a database:
- nothing in a conversation that already had `per_conversation` surveys;
- nothing within `days_between_surveys` of the customer's last survey, of any kind;
- at each moment, the first of its kinds that is allowed: NPS only if the customer was asked fewer than
  `nps_per_quarter` NPS surveys this calendar quarter (UTC), and not while they have an open issue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.surveys.config import SurveyConfig
from bot.surveys.store import SurveyView

# Why nothing was asked (or what was), for the logs and the tests.
NOTHING_AT_MOMENT = "nothing_at_this_moment"
CONVERSATION_CAP = "already_asked_in_conversation"
RECENTLY_ASKED = "asked_within_days"
NPS_THIS_QUARTER = "nps_asked_this_quarter"
ISSUE_OPEN = "issue_open"
DUE = "due"


@dataclass(frozen=True)
class Decision:
    kind: str | None  # the survey to ask, or None
    reason: str  # DUE, or why not (of the last kind tried)


def quarter_start(at: datetime) -> datetime:
    """The first moment of `at`'s calendar quarter (January, April, July, October)."""
    return datetime(at.year, 3 * ((at.month - 1) // 3) + 1, 1)


def history_since(config: SurveyConfig, now: datetime) -> datetime:
    """How far back the customer's asks matter: the cooldown, and the quarter's NPS count."""
    return min(now - config.between_surveys, quarter_start(now))


def choose(
    config: SurveyConfig,
    moment: str,
    *,
    customer_asks: Sequence[SurveyView],
    conversation_asks: int,
    open_issue: bool,
    now: datetime,
) -> Decision:
    """The survey to ask at `moment`, given the customer's asks since `history_since(now)` and how many surveys
    this conversation already had."""
    kinds = config.moments.get(moment, ())
    if not kinds:
        return Decision(None, NOTHING_AT_MOMENT)
    if conversation_asks >= config.per_conversation:
        return Decision(None, CONVERSATION_CAP)
    if any(a.asked_at > now - config.between_surveys for a in customer_asks):
        return Decision(None, RECENTLY_ASKED)
    reason = NOTHING_AT_MOMENT
    for kind in kinds:
        if kind == "nps":
            this_quarter = sum(1 for a in customer_asks if a.kind == "nps" and a.asked_at >= quarter_start(now))
            if this_quarter >= config.nps_per_quarter:
                reason = NPS_THIS_QUARTER
                continue
            if open_issue and not config.nps_while_issue_open:
                reason = ISSUE_OPEN
                continue
        return Decision(kind, DUE)
    return Decision(None, reason)
