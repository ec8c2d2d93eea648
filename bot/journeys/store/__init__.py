"""The journey store: writes down what the workflow runner decided, in the caller's session.

Every function works inside the session it is given and only flushes, so the caller (a Rasa action) commits
the journey together with everything else of the turn, before the bot answers. Nothing here commits.

Two messages of one customer can arrive at the same moment, in two action-server threads or processes. Every
change to a journey therefore (1) locks its row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite has one
writer at a time anyway) and (2) bumps `version` with a compare-and-set UPDATE as its first write. The turn
that computed its result on a state that has changed meanwhile gets `JourneyConflict` (when it passed
`expected_version`) and re-runs on the fresh state; no update is ever lost.

After `JourneyConflict` or `JourneyNotOpen` nothing was written. Roll the session back before re-running
the turn: after a conflict raised by a database constraint (two messages opening the same problem at once)
the transaction is unusable, and on SQLite a conflicting session still holds the write lock.
"""

from bot.journeys.store.views import (
    FINAL_STATES,
    FOLLOW_UP_INTENT,
    JourneyConflict,
    JourneyError,
    JourneyNotFound,
    JourneyNotOpen,
    JourneyView,
    customer_journeys,
    customer_of,
    find_open,
    get,
    journey_view,
    open_journeys,
    open_workflows_of,
)
from bot.journeys.store.writes import (
    TEXT_LIMIT,
    WELCOMED_AT,
    claim_welcome,
    close,
    customer_answered,
    mark_resolved,
    open_journey,
    record_csat,
    record_turn,
    reopen_or_none,
    resolve_by_customer,
)

__all__ = [
    "FINAL_STATES",
    "FOLLOW_UP_INTENT",
    "TEXT_LIMIT",
    "WELCOMED_AT",
    "JourneyConflict",
    "JourneyError",
    "JourneyNotFound",
    "JourneyNotOpen",
    "JourneyView",
    "claim_welcome",
    "close",
    "customer_answered",
    "customer_journeys",
    "customer_of",
    "find_open",
    "get",
    "journey_view",
    "mark_resolved",
    "open_journey",
    "open_journeys",
    "open_workflows_of",
    "record_csat",
    "record_turn",
    "reopen_or_none",
    "resolve_by_customer",
]
