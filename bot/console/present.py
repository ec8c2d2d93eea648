"""How handoffs look to the console's pages and its JSON (one place, so the queue, the conversation view
and the live feed agree)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.handoff.routing import HandoffRules
from bot.handoff.store import HandoffView

VISITOR = "Visitor"


def iso(moment: datetime) -> str:
    """A naive UTC datetime as ISO 8601 with its zone, for the browser's `Date`."""
    return moment.isoformat() + "Z"


def customer_label(handoff: HandoffView) -> str:
    return handoff.customer_name or VISITOR


def handoff_json(handoff: HandoffView, rules: HandoffRules) -> dict[str, Any]:
    data = handoff.as_json()
    data["queue_name"] = rules.queue_name(handoff.queue)
    data["customer_label"] = customer_label(handoff)
    data["reason_label"] = handoff.reason.replace("_", " ")
    return data
